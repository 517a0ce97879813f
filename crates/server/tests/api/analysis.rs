//! Item analysis over HTTP: a real exam taken through the API (candidates start, answer in the
//! labels they were shown, submit), published through `POST /sittings/{id}/results/publish`,
//! then analysed: per-item counts and facility against what the candidates were made to
//! answer, choices mapped back to bank option ids, access rules, the `flagged` filter, and
//! the histogram as a well-formed, self-contained SVG.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xcert_server::Storage;

use crate::helpers::TestApp;
use crate::sittings::{ExamFixture, candidate_token, open_sitting_with_candidates};

/// Moves the sitting's late-entry cutoff to its opening, so nobody may start any more and the
/// sitting may be published.
async fn close_late_entry(storage: &Storage, sitting: &str) {
    let sql = "UPDATE sittings SET late_entry_until = opens_at WHERE id = $1";
    let done = match storage {
        Storage::Sqlite(pool) => sqlx::query(sql)
            .bind(sitting)
            .execute(pool)
            .await
            .map(|_| ()),
        Storage::Postgres(pool) => sqlx::query(sql)
            .bind(sitting)
            .execute(pool)
            .await
            .map(|_| ()),
    };
    done.expect("close late entry");
}

/// The bank option id (fixture bank: single `A` right, `B` wrong, `C` also wrong; multiple
/// `A` right, `B` wrong, `C` right too) behind a shown option's text.
fn bank_option(text: &str) -> &'static str {
    if text.contains("also wrong") || text.contains("right too") {
        "C"
    } else if text.contains("wrong") {
        "B"
    } else {
        "A"
    }
}

/// The shown label of the option whose bank id is `bank_id`.
fn label_of(item: &Value, bank_id: &str) -> Value {
    item["options"]
        .as_array()
        .expect("options")
        .iter()
        .find(|option| bank_option(option["text"].as_str().unwrap_or_default()) == bank_id)
        .map(|option| option["id"].clone())
        .unwrap_or_else(|| panic!("no option {bank_id} in {item}"))
}

/// What the test expects of one item.
#[derive(Debug, Default)]
struct Expected {
    attempts: u64,
    right: u64,
    no_answer: u64,
    chosen: BTreeMap<&'static str, u64>,
}

/// Candidate `k` of six answers single items with the key when `k` is even, with `B` when
/// odd, and not at all when `k == 5`; multiple items with both keys when `k < 3`, else with
/// `B` alone; true/false items `true` (the key) when `k < 4`, else `false`; leaves the written
/// items unanswered. Returns the expectations per item id.
async fn take_exam(app: &TestApp, exam: &ExamFixture) -> BTreeMap<String, Expected> {
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    for (k, candidate) in exam.candidates.iter().enumerate() {
        let token = candidate_token(app, candidate).await;
        let view = app
            .request(Method::POST, "/api/v1/attempts", Some(&token), None)
            .await;
        assert_eq!(view.status, StatusCode::CREATED, "{}", view.body);
        let attempt = view.body["id"].as_str().expect("an id").to_owned();
        let items: Vec<Value> = view.body["paper"]["sections"]
            .as_array()
            .expect("sections")
            .iter()
            .flat_map(|section| section["items"].as_array().expect("items").clone())
            .collect();
        for item in &items {
            let id = item["id"].as_str().expect("an id").to_owned();
            let entry = expected.entry(id.clone()).or_default();
            entry.attempts += 1;
            let (response, right, chosen): (Option<Value>, bool, Vec<&'static str>) =
                match item["type"].as_str().expect("a type") {
                    "single" if k == 5 => (None, false, vec![]),
                    "single" if k % 2 == 0 => (Some(label_of(item, "A")), true, vec!["A"]),
                    "single" => (Some(label_of(item, "B")), false, vec!["B"]),
                    "multiple" if k < 3 => (
                        Some(json!([label_of(item, "A"), label_of(item, "C")])),
                        true,
                        vec!["A", "C"],
                    ),
                    "multiple" => (Some(json!([label_of(item, "B")])), false, vec!["B"]),
                    "true_false" => (Some(json!(k < 4)), k < 4, vec![]),
                    _ => (None, false, vec![]),
                };
            if right {
                entry.right += 1;
            }
            for option in chosen {
                *entry.chosen.entry(option).or_default() += 1;
            }
            let Some(response) = response else {
                entry.no_answer += 1;
                continue;
            };
            let saved = app
                .request(
                    Method::PUT,
                    &format!("/api/v1/attempts/{attempt}/responses/{id}"),
                    Some(&token),
                    Some(&json!({"seq": 1, "response": response})),
                )
                .await;
            assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        }
        let submitted = app
            .post(
                &format!("/api/v1/attempts/{attempt}/submit"),
                Some(&token),
                &json!({}),
            )
            .await;
        assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    }
    expected
}

async fn publish(app: &TestApp, exam: &ExamFixture) {
    close_late_entry(&app.storage().await, &exam.sitting).await;
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/results/publish", exam.sitting),
            Some(&exam.org_token),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// GETs the histogram: status, content type, Content-Security-Policy and the body as text.
async fn histogram(
    app: &TestApp,
    sitting: &str,
    token: &str,
) -> (StatusCode, String, String, String) {
    let response = app
        .client
        .get(format!(
            "{}/api/v1/sittings/{sitting}/analysis/histogram.svg",
            app.base
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let policy = header(reqwest::header::CONTENT_SECURITY_POLICY);
    let status = response.status();
    (
        status,
        content_type,
        policy,
        response.text().await.expect("a body"),
    )
}

#[tokio::test]
async fn a_published_exam_is_analysed_per_item_with_choices_mapped_back_to_bank_options() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    let exam = open_sitting_with_candidates(&app, 6, |_| {}).await;
    let expected = take_exam(&app, &exam).await;
    let path = format!("/api/v1/sittings/{}/analysis", exam.sitting);

    // Before publication: nothing, not even counts.
    let early = app.get(&path, Some(&exam.org_token)).await;
    early.assert_error(StatusCode::CONFLICT, "not_published");
    assert!(!early.body.to_string().contains("facility"));
    let (status, ..) = histogram(&app, &exam.sitting, &exam.org_token).await;
    assert_eq!(status, StatusCode::CONFLICT);

    publish(&app, &exam).await;
    let reply = app.get(&path, Some(&exam.org_token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = &reply.body;
    assert_eq!(body["sitting"], exam.sitting.as_str());
    assert_eq!(body["bank_version"], exam.bank_version.as_str());
    assert_eq!(body["summary"]["attempts"], 6);
    assert_eq!(body["summary"]["max_possible"], 9);
    assert_eq!(body["summary"]["pass_score"], 1);
    assert_eq!(body["summary"]["unscored_item_scores"], 0);
    assert_eq!(body["thresholds"]["min_attempts"], 20);
    let bins = body["histogram"]["bins"].as_array().expect("bins");
    assert_eq!(bins.len(), 10);
    let binned: u64 = bins
        .iter()
        .map(|bin| bin["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(binned, 6);

    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), expected.len(), "every item some paper had");
    assert_eq!(body["items_analysed"], expected.len());
    for item in items {
        let id = item["id"].as_str().expect("an id");
        let want = &expected[id];
        assert_eq!(item["attempts"], want.attempts, "{item}");
        assert_eq!(item["no_answer"], want.no_answer, "{item}");
        assert_eq!(item["knowledge_point"], "basics");
        // One-point items scored right or wrong: facility is the share right.
        let facility = item["facility"].as_f64().expect("a facility");
        #[allow(clippy::cast_precision_loss)]
        let share = want.right as f64 / want.attempts as f64;
        assert!(
            (facility - share).abs() < 1e-9,
            "{id}: {facility} vs {share}"
        );
        match item["discrimination"].as_f64() {
            Some(r) => assert!((-1.0..=1.0).contains(&r), "{item}"),
            None => assert!(
                item["discrimination_undefined"]["reason"].is_string(),
                "{item}"
            ),
        }
        // Six attempts are fewer than 20: figures, but no flags.
        assert_eq!(item["too_few"], true);
        assert_eq!(item["flags"], json!([]));
        match item["type"].as_str().expect("a type") {
            kind @ ("single" | "multiple") => {
                let options = item["options"].as_array().expect("options");
                let ids: Vec<&str> = options.iter().filter_map(|o| o["id"].as_str()).collect();
                assert_eq!(ids, ["A", "B", "C"], "bank order, bank ids");
                for option in options {
                    let option_id = option["id"].as_str().expect("an id");
                    let chosen = want.chosen.get(option_id).copied().unwrap_or(0);
                    assert_eq!(option["chosen"], chosen, "{id} {option_id}: {item}");
                    let key = option_id == "A" || (kind == "multiple" && option_id == "C");
                    assert_eq!(option["key"], key, "{item}");
                }
            }
            _ => assert!(item.get("options").is_none(), "{item}"),
        }
    }

    // The admin reads it too; the filter leaves out every unflagged item.
    let admin = app.get(&path, Some(&exam.admin)).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert_eq!(admin.body["items"], body["items"]);
    let flagged = app
        .get(&format!("{path}?flagged=true"), Some(&exam.org_token))
        .await;
    assert_eq!(flagged.status, StatusCode::OK, "{}", flagged.body);
    assert_eq!(flagged.body["items"], json!([]));
    assert_eq!(flagged.body["items_flagged"], 0);
    app.get(&format!("{path}?flagged=perhaps"), Some(&exam.org_token))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
    app.get(&format!("{path}?flaged=true"), Some(&exam.org_token))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_query");

    // The site desk of the sitting may not; another organization does not even see it.
    app.get(&path, Some(&exam.site_token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let other = open_sitting_with_candidates(&app, 0, |_| {}).await;
    app.get(&path, Some(&other.org_token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(
        "/api/v1/sittings/no-such-sitting/analysis",
        Some(&exam.admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let (status, ..) = histogram(&app, &exam.sitting, &other.org_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The histogram: a standalone SVG image with the counts and the pass line.
    let (status, content_type, policy, svg) = histogram(&app, &exam.sitting, &exam.org_token).await;
    assert_eq!(status, StatusCode::OK, "{svg}");
    assert_eq!(content_type, "image/svg+xml");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert_well_formed_xml(&svg);
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains("pass 11.1 %"), "1 of 9 points: {svg}");
    assert!(svg.contains("Total score (% of maximum)"));
    assert!(svg.contains("6 graded attempts"));
    for bin in bins {
        let count = bin["count"].as_u64().unwrap_or(0);
        let words = format!(
            "{}-{} %: {count} attempts",
            bin["from_percent"], bin["to_percent"]
        );
        assert!(svg.contains(&words), "{words}");
    }
    for external in [
        "<script",
        "<style",
        "href=",
        "url(",
        "<image",
        "<foreignObject",
    ] {
        assert!(!svg.contains(external), "{external}");
    }
}

#[tokio::test]
async fn a_sitting_without_graded_attempts_is_analysed_as_empty_after_publication() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 2, |_| {}).await;
    publish(&app, &exam).await;
    let reply = app
        .get(
            &format!("/api/v1/sittings/{}/analysis", exam.sitting),
            Some(&exam.org_token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["summary"]["attempts"], 0);
    assert_eq!(reply.body["summary"]["alpha"], Value::Null);
    assert_eq!(
        reply.body["summary"]["alpha_undefined"]["code"],
        "too_few_attempts"
    );
    assert_eq!(reply.body["items"], json!([]));
    let (status, _, _, svg) = histogram(&app, &exam.sitting, &exam.org_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_well_formed_xml(&svg);
    assert!(svg.contains("0 graded attempts"));
}

/// A strict XML 1.0 well-formedness check of what the histogram uses: an optional XML
/// declaration, one root element, elements with quoted unique attributes, character data with
/// only the predefined entities or character references, and comments.
fn assert_well_formed_xml(document: &str) {
    fn name_end(text: &str) -> usize {
        text.find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
            .unwrap_or(text.len())
    }
    fn check_text(text: &str, context: &str) {
        assert!(!text.contains('<'), "`<` in {context}: {text}");
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            let end = rest[at..]
                .find(';')
                .unwrap_or_else(|| panic!("unterminated entity in {context}: {text}"));
            let entity = &rest[at + 1..at + end];
            let known = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
                || entity
                    .strip_prefix("#x")
                    .is_some_and(|hex| u32::from_str_radix(hex, 16).is_ok())
                || entity
                    .strip_prefix('#')
                    .is_some_and(|decimal| decimal.parse::<u32>().is_ok());
            assert!(known, "unknown entity &{entity}; in {context}");
            rest = &rest[at + end + 1..];
        }
    }
    let mut rest = document;
    if let Some(after) = rest.strip_prefix("<?xml") {
        let end = after.find("?>").expect("the XML declaration ends");
        rest = &after[end + 2..];
    }
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    loop {
        let next = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..next];
        if open.is_empty() {
            assert!(text.trim().is_empty(), "text outside the root: {text}");
        } else {
            check_text(text, "character data");
        }
        rest = &rest[next..];
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").expect("a comment ends");
            rest = &after[end + 3..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("</") {
            let end = name_end(after);
            let name = &after[..end];
            assert_eq!(open.pop(), Some(name), "closing tag </{name}>");
            let after = after[end..].trim_start();
            rest = after.strip_prefix('>').expect("`>` ends a closing tag");
            continue;
        }
        let after = &rest[1..];
        let end = name_end(after);
        let name = &after[..end];
        assert!(
            name.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_'),
            "element name `{name}`"
        );
        if open.is_empty() {
            roots += 1;
        }
        let mut tag = &after[end..];
        let mut attributes: Vec<&str> = Vec::new();
        loop {
            let trimmed = tag.trim_start();
            if let Some(after) = trimmed.strip_prefix("/>") {
                rest = after;
                break;
            }
            if let Some(after) = trimmed.strip_prefix('>') {
                open.push(name);
                rest = after;
                break;
            }
            assert!(
                trimmed.len() < tag.len(),
                "space before an attribute in <{name}>"
            );
            let end = name_end(trimmed);
            let attribute = &trimmed[..end];
            assert!(
                !attribute.is_empty(),
                "attribute name in <{name}>: {trimmed}"
            );
            assert!(
                !attributes.contains(&attribute),
                "attribute {attribute} twice in <{name}>"
            );
            attributes.push(attribute);
            let value = trimmed[end..]
                .trim_start()
                .strip_prefix('=')
                .expect("`=` after an attribute name")
                .trim_start();
            let quote = value.chars().next().expect("a quoted value");
            assert!(quote == '"' || quote == '\'', "quoted value of {attribute}");
            let close = value[1..].find(quote).expect("the value's quote closes");
            check_text(&value[1..=close], "an attribute value");
            tag = &value[close + 2..];
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    assert_eq!(roots, 1, "one root element");
}
