//! The canonical form of items and bank versions, and the normalized TOML export.
//!
//! The canonical form is compact JSON (RFC 8259) written by hand rather than through a
//! serializer, so that no feature flag elsewhere in the workspace (such as serde_json's
//! `preserve_order`) can change the bytes a published hash was taken over. The rules are in
//! docs/BANK-FORMAT.md, precise enough for a third party to recompute every hash:
//!
//! - objects have their keys in byte order, no whitespace anywhere;
//! - strings are UTF-8 with only `"`, `\` and control characters escaped (`\b \f \n \r \t`,
//!   others as `\u00XX`);
//! - numbers are the shortest decimal that reads back as the same binary64 value, written
//!   positionally (no exponent, no trailing `.0`); points are exact decimals (`2`, `0.5`).

use std::fmt::Write as _;

use crate::Bank;
use crate::model::{Answer, Item, Points};

fn string(out: &mut String, s: &str) {
    out.push('"');
    // Copy runs of characters that need no escape in one go: most text has none.
    let mut start = 0;
    for (i, byte) in s.bytes().enumerate() {
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        out.push_str(&s[start..i]);
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            other => {
                let _ = write!(out, "\\u{:04x}", other);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Shortest round-trip decimal, positional. Rust's `Display` for `f64` is exactly that.
fn number(out: &mut String, n: f64) {
    let n = if n == 0.0 { 0.0 } else { n };
    let _ = write!(out, "{n}");
}

fn points(out: &mut String, p: Points) {
    let _ = write!(out, "{p}");
}

fn string_array(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, s);
    }
    out.push(']');
}

fn answer(out: &mut String, answer: Option<&Answer>) {
    match answer {
        None => out.push_str("null"),
        Some(Answer::Single(id)) => string(out, id),
        Some(Answer::Multiple(ids)) => string_array(out, ids),
        Some(Answer::TrueFalse(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Answer::FillBlank(lists)) => {
            out.push('[');
            for (i, list) in lists.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string_array(out, list);
            }
            out.push(']');
        }
        Some(Answer::Numeric { value, tolerance }) => {
            out.push_str("{\"tolerance\":");
            number(out, *tolerance);
            out.push_str(",\"value\":");
            number(out, *value);
            out.push('}');
        }
        Some(Answer::ShortAnswer(list)) => string_array(out, list),
    }
}

/// The canonical JSON of one item: the bytes its hash is taken over.
pub(crate) fn item_json(item: &Item) -> String {
    let mut out = String::with_capacity(256 + item.stem.len());
    out.push_str("{\"answer\":");
    answer(&mut out, item.answer.as_ref());
    out.push_str(",\"difficulty\":");
    number(&mut out, item.difficulty.get());
    out.push_str(",\"enemies\":");
    string_array(&mut out, &item.enemies);
    out.push_str(",\"id\":");
    string(&mut out, &item.id);
    out.push_str(",\"knowledge_point\":");
    match &item.knowledge_point {
        Some(kp) => string(&mut out, kp),
        None => out.push_str("null"),
    }
    out.push_str(",\"media\":{");
    for (i, (name, hash)) in item.media.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(&mut out, name);
        out.push(':');
        string(&mut out, &hash.to_hex());
    }
    out.push_str("},\"options\":[");
    for (i, option) in item.options.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        string(&mut out, &option.id);
        out.push_str(",\"text\":");
        string(&mut out, &option.text);
        out.push('}');
    }
    out.push_str("],\"points\":");
    points(&mut out, item.points);
    out.push_str(",\"rubric\":[");
    if let Some(rubric) = &item.rubric {
        for (i, criterion) in rubric.criteria.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"criterion\":");
            string(&mut out, &criterion.text);
            out.push_str(",\"points\":");
            points(&mut out, criterion.points);
            out.push('}');
        }
    }
    out.push_str("],\"shuffle_options\":");
    out.push_str(if item.shuffle_options {
        "true"
    } else {
        "false"
    });
    out.push_str(",\"stem\":");
    string(&mut out, &item.stem);
    out.push_str(",\"type\":");
    string(&mut out, item.item_type.as_str());
    out.push('}');
    out
}

/// The canonical JSON of a bank version: the bytes the version hash is taken over.
pub(crate) fn bank_json(bank: &Bank) -> String {
    let header = bank.header();
    let mut out = String::with_capacity(128 + bank.items().len() * 90);
    out.push_str("{\"format\":");
    let _ = write!(out, "{}", header.format());
    out.push_str(",\"header\":{\"certificate\":");
    string(&mut out, header.certificate());
    out.push_str(",\"level\":");
    string(&mut out, header.level().as_str());
    out.push_str(",\"title\":");
    string(&mut out, header.title());
    out.push_str(",\"version\":");
    string(&mut out, header.version());
    out.push_str("},\"items\":[");
    for (i, item) in bank.items().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        string(&mut out, item.id());
        out.push(',');
        string(&mut out, &item.content_hash().to_hex());
        out.push(']');
    }
    out.push_str("],\"knowledge_points\":[");
    for (i, kp) in bank.knowledge_points().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        string(&mut out, kp.id());
        out.push_str(",\"title\":");
        string(&mut out, kp.title());
        out.push('}');
    }
    out.push_str("],\"media\":{");
    for (i, (name, hash)) in bank.media_hashes().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(&mut out, name);
        out.push(':');
        string(&mut out, &hash.to_hex());
    }
    out.push_str("}}");
    out
}

/// A TOML basic string with every character TOML requires escaped.
fn toml_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn toml_string_array(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        toml_string(out, s);
    }
    out.push(']');
}

/// A TOML float that reads back as the same value: always with a `.` or an exponent.
fn toml_float(out: &mut String, n: f64) {
    let text = format!("{n:?}");
    out.push_str(&text);
}

fn toml_points(out: &mut String, p: Points) {
    let _ = write!(out, "{p}");
}

/// The bank as one normalized native TOML file.
pub(crate) fn bank_toml(bank: &Bank) -> String {
    let header = bank.header();
    let mut out = String::new();
    out.push_str("[bank]\nformat = ");
    let _ = write!(out, "{}", header.format());
    out.push_str("\ncertificate = ");
    toml_string(&mut out, header.certificate());
    out.push_str("\nlevel = ");
    toml_string(&mut out, header.level().as_str());
    out.push_str("\nversion = ");
    toml_string(&mut out, header.version());
    out.push_str("\ntitle = ");
    toml_string(&mut out, header.title());
    out.push('\n');
    for kp in bank.knowledge_points() {
        out.push_str("\n[[knowledge_point]]\nid = ");
        toml_string(&mut out, kp.id());
        out.push_str("\ntitle = ");
        toml_string(&mut out, kp.title());
        out.push('\n');
    }
    for item in bank.items() {
        out.push_str("\n[[item]]\nid = ");
        toml_string(&mut out, item.id());
        out.push_str("\ntype = ");
        toml_string(&mut out, item.item_type().as_str());
        if let Some(kp) = item.knowledge_point() {
            out.push_str("\nknowledge_point = ");
            toml_string(&mut out, kp);
        }
        out.push_str("\ndifficulty = ");
        toml_float(&mut out, item.difficulty());
        out.push_str("\npoints = ");
        toml_points(&mut out, item.points());
        out.push_str("\nstem = ");
        toml_string(&mut out, item.stem());
        if !item.options().is_empty() {
            out.push_str("\noptions = [");
            for option in item.options() {
                out.push_str("\n  { id = ");
                toml_string(&mut out, option.id());
                out.push_str(", text = ");
                toml_string(&mut out, option.text());
                out.push_str(" },");
            }
            out.push_str("\n]");
        }
        if let Some(answer) = item.answer() {
            out.push_str("\nanswer = ");
            match answer {
                Answer::Single(id) => toml_string(&mut out, id),
                Answer::Multiple(ids) => toml_string_array(&mut out, ids),
                Answer::TrueFalse(b) => out.push_str(if *b { "true" } else { "false" }),
                Answer::FillBlank(lists) => {
                    out.push('[');
                    for (i, list) in lists.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        toml_string_array(&mut out, list);
                    }
                    out.push(']');
                }
                Answer::Numeric { value, tolerance } => {
                    out.push_str("{ value = ");
                    toml_float(&mut out, *value);
                    out.push_str(", tolerance = ");
                    toml_float(&mut out, *tolerance);
                    out.push_str(" }");
                }
                Answer::ShortAnswer(list) => toml_string_array(&mut out, list),
            }
        }
        if let Some(rubric) = item.rubric() {
            out.push_str("\nrubric = [");
            for criterion in rubric.criteria() {
                out.push_str("\n  { criterion = ");
                toml_string(&mut out, criterion.text());
                out.push_str(", points = ");
                toml_points(&mut out, criterion.points());
                out.push_str(" },");
            }
            out.push_str("\n]");
        }
        if !item.enemies().is_empty() {
            out.push_str("\nenemies = ");
            toml_string_array(&mut out, item.enemies());
        }
        out.push_str("\nshuffle_options = ");
        out.push_str(if item.shuffle_options() {
            "true"
        } else {
            "false"
        });
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{Bank, BankSource};

    const BANK: &str = r#"
[bank]
certificate = "WEB-FE"
level = "junior"
version = "2025.1"
title = "Web \"FE\""

[[knowledge_point]]
id = "html"
title = "HTML"

[[item]]
id = "S1"
type = "single"
knowledge_point = "html"
difficulty = 0.62
points = 2
stem = "Which element?\n"
options = [ { id = "A", text = "`<div>`" }, { id = "B", text = "`<main>`" } ]
answer = "B"

[[item]]
id = "N1"
type = "numeric"
knowledge_point = "html"
difficulty = 0.3
points = 0.5
stem = "How many?"
answer = { value = 120, tolerance = 0.5 }
shuffle_options = false
enemies = ["S1"]
"#;

    fn bank() -> Bank {
        Bank::parse(&BankSource::single("bank.toml", BANK)).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn the_item_canonical_form_is_exactly_as_documented() {
        let bank = bank();
        let numeric = bank.item("N1").map(|i| i.canonical());
        assert_eq!(
            numeric.as_deref(),
            Some(
                r#"{"answer":{"tolerance":0.5,"value":120},"difficulty":0.3,"enemies":["S1"],"id":"N1","knowledge_point":"html","media":{},"options":[],"points":0.5,"rubric":[],"shuffle_options":false,"stem":"How many?","type":"numeric"}"#
            )
        );
        let single = bank.item("S1").map(|i| i.canonical());
        assert_eq!(
            single.as_deref(),
            Some(
                r#"{"answer":"B","difficulty":0.62,"enemies":[],"id":"S1","knowledge_point":"html","media":{},"options":[{"id":"A","text":"`<div>`"},{"id":"B","text":"`<main>`"}],"points":2,"rubric":[],"shuffle_options":true,"stem":"Which element?\n","type":"single"}"#
            )
        );
    }

    #[test]
    fn the_bank_canonical_form_lists_item_hashes_in_id_order() {
        let bank = bank();
        let n1 = bank
            .item("N1")
            .map(|i| i.content_hash().to_hex())
            .unwrap_or_default();
        let s1 = bank
            .item("S1")
            .map(|i| i.content_hash().to_hex())
            .unwrap_or_default();
        assert_eq!(
            bank.canonical(),
            format!(
                r#"{{"format":1,"header":{{"certificate":"WEB-FE","level":"junior","title":"Web \"FE\"","version":"2025.1"}},"items":[["N1","{n1}"],["S1","{s1}"]],"knowledge_points":[{{"id":"html","title":"HTML"}}],"media":{{}}}}"#
            )
        );
        assert_eq!(
            bank.content_hash(),
            crate::ContentHash::of(bank.canonical().as_bytes())
        );
    }

    #[test]
    fn the_normalized_toml_parses_back_to_the_same_hash() {
        let bank = bank();
        let again = Bank::parse(&BankSource::single("x.toml", bank.to_toml()))
            .unwrap_or_else(|d| panic!("{d:#?}"));
        assert_eq!(bank.content_hash(), again.content_hash());
    }
}
