//! What a simulated candidate types: a response of the right shape for each item type of the
//! attempt view (CONTRACT section 3), and the comparison of a stored response with the one
//! sent.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::Rng as _;
use serde_json::{Value, json};

/// One item of the candidate's paper, as the attempt view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PaperItem {
    pub(super) id: String,
    pub(super) kind: String,
    /// The option labels shown (`A`, `B`, ...), in the order shown.
    pub(super) options: Vec<String>,
    /// How many blanks a fill-blank item has (1 when the view does not say).
    pub(super) blanks: usize,
}

/// Reads the items of an attempt view's paper, in the order shown.
pub(super) fn paper_items(view: &Value) -> Vec<PaperItem> {
    let sections = view["paper"]["sections"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    sections
        .iter()
        .flat_map(|section| {
            section["items"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
        })
        .filter_map(|item| {
            let options = item["options"]
                .as_array()
                .map(|options| {
                    options
                        .iter()
                        .filter_map(|option| option["id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Some(PaperItem {
                id: item["id"].as_str()?.to_owned(),
                kind: item["type"].as_str().unwrap_or("short_answer").to_owned(),
                options,
                blanks: item["blanks"]
                    .as_u64()
                    .and_then(|blanks| usize::try_from(blanks).ok())
                    .unwrap_or(1)
                    .max(1),
            })
        })
        .collect()
}

/// Words a candidate might type into an open answer: Chinese and the terms of the trade.
const WORDS: [&str; 16] = [
    "检查",
    "systemctl",
    "日志",
    "kubectl get pods",
    "配置",
    "nginx -t",
    "重启服务",
    "负载均衡",
    "iptables",
    "容器",
    "镜像",
    "docker ps",
    "网络",
    "CIDR 10.0.0.0/16",
    "存储卷",
    "备份",
];

/// A response of the item's type. `seq` is woven into open answers so that every save of the
/// same item differs and a stale stored answer cannot pass for the newest.
pub(super) fn response(item: &PaperItem, seq: u64, rng: &mut ChaCha8Rng) -> Value {
    match item.kind.as_str() {
        "single" if !item.options.is_empty() => {
            json!(item.options[pick(rng, item.options.len())])
        }
        "multiple" if !item.options.is_empty() => {
            let mut chosen: Vec<&String> = item
                .options
                .iter()
                .filter(|_| rng.next_u32() % 2 == 0)
                .collect();
            if chosen.is_empty() {
                chosen.push(&item.options[pick(rng, item.options.len())]);
            }
            json!(chosen)
        }
        "true_false" => json!(rng.next_u32() % 2 == 0),
        "fill_blank" => {
            let blanks: Vec<String> = (0..item.blanks)
                .map(|blank| format!("{} {seq}-{blank}", WORDS[pick(rng, WORDS.len())]))
                .collect();
            json!(blanks)
        }
        // Hundredths: exactly representable in decimal JSON and back.
        "numeric" => json!(f64::from(rng.next_u32() % 1_000_000) / 100.0),
        kind => {
            let words = match kind {
                "essay" | "practical" => 40 + pick(rng, 200),
                _ => 4 + pick(rng, 20),
            };
            let mut text = format!("第{seq}稿:");
            for _ in 0..words {
                text.push(' ');
                text.push_str(WORDS[pick(rng, WORDS.len())]);
            }
            json!(text)
        }
    }
}

/// A uniform index below `n` (n > 0); the modulo bias is irrelevant at these sizes.
fn pick(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// Whether a stored response is the one sent: equal JSON, with numbers compared as numbers
/// (`3` and `3.0` are the same answer whichever way the server re-encodes them).
pub(super) fn same_response(stored: &Value, sent: &Value) -> bool {
    match (stored, sent) {
        (Value::Number(stored), Value::Number(sent)) => stored.as_f64() == sent.as_f64(),
        (Value::Array(stored), Value::Array(sent)) => {
            stored.len() == sent.len()
                && stored
                    .iter()
                    .zip(sent)
                    .all(|(stored, sent)| same_response(stored, sent))
        }
        (Value::Object(stored), Value::Object(sent)) => {
            stored.len() == sent.len()
                && stored.iter().all(|(key, stored)| {
                    sent.get(key)
                        .is_some_and(|sent| same_response(stored, sent))
                })
        }
        _ => stored == sent,
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::SeedableRng as _;

    use super::*;

    fn view() -> Value {
        json!({"id": "a1", "paper": {"sections": [
            {"title": "one", "items": [
                {"id": "S1", "type": "single", "stem": "s", "points": 2,
                 "options": [{"id": "A", "text": "x"}, {"id": "B", "text": "y"}, {"id": "C", "text": "z"}]},
                {"id": "M1", "type": "multiple", "stem": "s", "points": 3,
                 "options": [{"id": "A", "text": "x"}, {"id": "B", "text": "y"}]}
            ]},
            {"title": "two", "items": [
                {"id": "T1", "type": "true_false", "stem": "s", "points": 1},
                {"id": "F1", "type": "fill_blank", "stem": "s", "points": 2, "blanks": 3},
                {"id": "N1", "type": "numeric", "stem": "s", "points": 3},
                {"id": "P1", "type": "practical", "stem": "s", "points": 30}
            ]}
        ]}})
    }

    #[test]
    fn the_items_are_read_in_the_order_shown() {
        let items = paper_items(&view());
        let ids: Vec<&str> = items.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(ids, ["S1", "M1", "T1", "F1", "N1", "P1"]);
        assert_eq!(items[0].options, ["A", "B", "C"]);
        assert_eq!(items[3].blanks, 3);
        assert_eq!(items[4].blanks, 1);
    }

    #[test]
    fn each_response_has_the_shape_its_item_type_takes() {
        let items = paper_items(&view());
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for seq in 1..200 {
            for item in &items {
                let response = response(item, seq, &mut rng);
                match item.kind.as_str() {
                    "single" => assert!(
                        item.options
                            .contains(&response.as_str().unwrap().to_owned())
                    ),
                    "multiple" => {
                        let labels = response.as_array().unwrap();
                        assert!(!labels.is_empty());
                        assert!(labels.iter().all(|label| {
                            item.options.contains(&label.as_str().unwrap().to_owned())
                        }));
                    }
                    "true_false" => assert!(response.is_boolean()),
                    "fill_blank" => assert_eq!(response.as_array().unwrap().len(), 3),
                    "numeric" => assert!(response.as_f64().unwrap().is_finite()),
                    _ => {
                        let text = response.as_str().unwrap();
                        assert_eq!(text, text.trim());
                        assert!(text.contains(&format!("第{seq}稿")));
                    }
                }
            }
        }
    }

    #[test]
    fn numbers_compare_by_value_and_everything_else_exactly() {
        assert!(same_response(&json!(3), &json!(3.0)));
        assert!(same_response(&json!([1.5, "x"]), &json!([1.5, "x"])));
        assert!(!same_response(&json!(["A", "C"]), &json!(["A"])));
        assert!(!same_response(&json!("第1稿"), &json!("第2稿")));
        assert!(!same_response(&json!(true), &json!("true")));
        assert!(same_response(&json!({"a": 1}), &json!({"a": 1.0})));
        assert!(!same_response(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }
}
