//! Timed exam delivery (CONTRACT section 3, candidate flow): starting, saving, the server's
//! clock, submitting, the sweeper, and the rule that no key ever reaches a candidate.
//!
//! Every exam here is built through the staff API from a small bank whose keys, rubric text,
//! difficulties and option ids are distinctive strings, so a scan of every body a candidate
//! receives can look for them.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xcert_server::identity::resident_id_check_character;

use crate::helpers::{Reply, TestApp};

/// A bank of one item per type (two singles), with key material that is easy to search for.
const BANK: &str = r#"
[bank]
certificate = "DLV-TEST"
level = "junior"
version = "2026.1"
title = "Delivery test bank"

[[knowledge_point]]
id = "kpsecretpoint"
title = "Knowledge point title"

[[item]]
id = "DLV-S1"
type = "single"
knowledge_point = "kpsecretpoint"
difficulty = 0.613
points = 2
stem = "Which element marks the main content of a page?"
options = [ { id = "optkeymain", text = "`<main>`" }, { id = "optwrongdiv", text = "`<div>`" }, { id = "optwrongspan", text = "`<span>`" } ]
answer = "optkeymain"

[[item]]
id = "DLV-S2"
type = "single"
knowledge_point = "kpsecretpoint"
difficulty = 0.617
points = 2
stem = "Which element is a heading?"
options = [ { id = "optkeyheading", text = "`<h1>`" }, { id = "optwrongp", text = "`<p>`" }, { id = "optwrongul", text = "`<ul>`" } ]
answer = "optkeyheading"

[[item]]
id = "DLV-M1"
type = "multiple"
knowledge_point = "kpsecretpoint"
difficulty = 0.427
points = 3
stem = "Which are block elements?"
options = [ { id = "optmultikeya", text = "`<div>`" }, { id = "optmultiwrongb", text = "`<span>`" }, { id = "optmultikeyc", text = "`<p>`" }, { id = "optmultiwrongd", text = "`<em>`" } ]
answer = ["optmultikeya", "optmultikeyc"]

[[item]]
id = "DLV-T1"
type = "true_false"
knowledge_point = "kpsecretpoint"
difficulty = 0.733
points = 1
stem = "HTML is a markup language."
answer = true

[[item]]
id = "DLV-F1"
type = "fill_blank"
knowledge_point = "kpsecretpoint"
difficulty = 0.519
points = 2
stem = "The default ports are ___ for one protocol and ___ for the other."
answer = [["blankkeyzebra"], ["blankkeyquokka", "blankkeyokapi"]]

[[item]]
id = "DLV-N1"
type = "numeric"
knowledge_point = "kpsecretpoint"
difficulty = 0.389
points = 2
stem = "Compute the value."
answer = { value = 271.828, tolerance = 0.0005 }

[[item]]
id = "DLV-A1"
type = "short_answer"
knowledge_point = "kpsecretpoint"
difficulty = 0.457
points = 2
stem = "Name the thing."
answer = ["shortkeynarwhal", "Shortkeyaxolotl"]

[[item]]
id = "DLV-E1"
type = "essay"
knowledge_point = "kpsecretpoint"
difficulty = 0.541
points = 5
stem = "Discuss semantic markup."
rubric = [ { criterion = "rubrictextpangolin", points = 5 } ]

[[item]]
id = "DLV-P1"
type = "practical"
knowledge_point = "kpsecretpoint"
difficulty = 0.351
points = 5
stem = "Build a page."
rubric = [ { criterion = "rubrictextcapybara", points = 3 }, { criterion = "rubrictextwombat", points = 2 } ]
"#;

/// One item of every type; the single is one of two.
const BLUEPRINT: &str = r#"
format = 1
title = "Delivery test"
duration_minutes = 60
total_points = 22
pass_score = 12

[fairness]
tolerance = 0.5

[exposure]
max_rate = 1.0

[[section]]
id = "objective"
title = "Objective"
multiple_scoring = "partial"

[[section.rule]]
type = "single"
count = 1

[[section.rule]]
type = "multiple"
count = 1

[[section.rule]]
type = "true_false"
count = 1

[[section.rule]]
type = "fill_blank"
count = 1

[[section.rule]]
type = "numeric"
count = 1

[[section.rule]]
type = "short_answer"
count = 1

[[section]]
id = "written"
title = "Written"
shuffle_items = false

[[section.rule]]
type = "essay"
count = 1

[[section.rule]]
type = "practical"
count = 1
"#;

/// Strings that must never appear in anything a candidate receives.
const KEY_MATERIAL: &[&str] = &[
    "optkeymain",
    "optwrongdiv",
    "optwrongspan",
    "optkeyheading",
    "optwrongp",
    "optwrongul",
    "optmultikeya",
    "optmultiwrongb",
    "optmultikeyc",
    "optmultiwrongd",
    "blankkeyzebra",
    "blankkeyquokka",
    "blankkeyokapi",
    "271.828",
    "0.0005",
    "shortkeynarwhal",
    "shortkeyaxolotl",
    "rubrictextpangolin",
    "rubrictextcapybara",
    "rubrictextwombat",
    "kpsecretpoint",
    "0.613",
    "0.617",
    "0.427",
    "0.733",
    "0.519",
    "0.389",
    "0.457",
    "0.541",
    "0.351",
    // Keys of the bank's and the sitting's own shapes (quoted: `short_answer` is a type name).
    "\"difficulty\"",
    "\"rubric\"",
    "\"answer\"",
    "\"seed\"",
    "\"secret\"",
    "\"knowledge_point\"",
    "\"enemies\"",
    "\"bank_hash\"",
];

/// When a test sitting opens and closes, relative to the server's clock, in seconds.
#[derive(Debug, Clone, Copy)]
struct Times {
    opens_in: i64,
    closes_in: i64,
    duration_secs: i64,
    late_entry_secs: i64,
}

impl Times {
    /// Open now for an hour, one hour per attempt.
    fn open_now() -> Self {
        Self {
            opens_in: -60,
            closes_in: 3600,
            duration_secs: 1800,
            late_entry_secs: 3600,
        }
    }
}

/// A logged-in candidate.
#[derive(Debug, Clone)]
struct Candidate {
    token: String,
    ticket: String,
    id_number: String,
    name: String,
}

/// An exam built through the staff API.
#[derive(Debug)]
struct Exam {
    admin: String,
    site_id: String,
    candidates: Vec<Candidate>,
}

fn resident_id(index: usize) -> String {
    let first_17 = format!("11010519900101{index:03}");
    let mut digits = [0_u8; 17];
    for (digit, byte) in digits.iter_mut().zip(first_17.bytes()) {
        *digit = byte - b'0';
    }
    format!("{first_17}{}", resident_id_check_character(&digits))
}

fn expect(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
}

fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` in {value}"))
        .to_owned()
}

async fn server_now(app: &TestApp) -> i64 {
    let reply = app.get("/api/v1/time", None).await;
    let now: jiff::Timestamp = text(&reply.body, "server_time").parse().expect("RFC 3339");
    now.as_second()
}

fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .expect("a time")
        .to_string()
}

fn millis(time: &Value) -> i64 {
    time.as_str()
        .expect("a time")
        .parse::<jiff::Timestamp>()
        .expect("RFC 3339")
        .as_millisecond()
}

impl Exam {
    /// Organization, certificate, bank, site, a sitting at `times`, and `candidates` registered
    /// and logged in.
    async fn open(app: &TestApp, candidates: usize, times: Times) -> Exam {
        Exam::open_with_bank(app, candidates, times, "application/toml", BANK.into()).await
    }

    /// As [`Exam::open`], with the bank uploaded as `body` of `content_type` (e.g. a tar.gz
    /// of a bank directory with media).
    async fn open_with_bank(
        app: &TestApp,
        candidates: usize,
        times: Times,
        content_type: &str,
        body: Vec<u8>,
    ) -> Exam {
        let admin = app.admin_token().await;
        let token = Some(admin.as_str());
        let organization = app.create_organization(&admin, "DLV-ORG").await;
        let certificate = app
            .post(
                &format!("/api/v1/organizations/{organization}/certificates"),
                token,
                &json!({"code": "DLV-TEST", "level": "junior", "title": "Delivery", "credits": 2}),
            )
            .await;
        expect(&certificate, StatusCode::CREATED, "certificate");
        let certificate = text(&certificate.body, "id");
        let bank = app
            .client
            .post(format!(
                "{}/api/v1/organizations/{organization}/banks",
                app.base
            ))
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("upload");
        let status = bank.status();
        let bank: Value = bank.json().await.expect("JSON");
        assert_eq!(status, StatusCode::CREATED, "bank upload: {bank}");
        let bank = text(&bank, "id");
        let site = app
            .post(
                "/api/v1/sites",
                token,
                &json!({"code": "DLV-SITE", "name": "Delivery test site"}),
            )
            .await;
        expect(&site, StatusCode::CREATED, "site");
        let site_id = text(&site.body, "id");
        let now = server_now(app).await;
        let sitting = app
            .post(
                &format!("/api/v1/organizations/{organization}/sittings"),
                token,
                &json!({
                    "certificate": certificate,
                    "bank_version": bank,
                    "title": "Delivery test sitting",
                    "blueprint": BLUEPRINT,
                    "opens_at": rfc3339(now + times.opens_in),
                    "closes_at": rfc3339(now + times.closes_in),
                    "duration_secs": times.duration_secs,
                    "late_entry_secs": times.late_entry_secs,
                    "sites": [site_id],
                }),
            )
            .await;
        expect(&sitting, StatusCode::CREATED, "sitting");
        let sitting = text(&sitting.body, "id");
        let mut registered = Vec::new();
        for index in 0..candidates {
            let id_number = resident_id(index);
            let name = format!("考生{index:03}");
            let reply = app
                .post(
                    &format!("/api/v1/sittings/{sitting}/registrations"),
                    token,
                    &json!({"id_number": id_number, "name": name, "site": site_id}),
                )
                .await;
            expect(&reply, StatusCode::CREATED, "registration");
            let ticket = text(&reply.body, "ticket");
            let token = login(app, &ticket, &id_number).await;
            registered.push(Candidate {
                token,
                ticket,
                id_number,
                name,
            });
        }
        Exam {
            admin,
            site_id,
            candidates: registered,
        }
    }
}

async fn login(app: &TestApp, ticket: &str, id_number: &str) -> String {
    let reply = app
        .post(
            "/api/v1/candidate/sessions",
            None,
            &json!({"ticket": ticket, "id_number": id_number}),
        )
        .await;
    expect(&reply, StatusCode::OK, "candidate login");
    text(&reply.body, "token")
}

async fn start(app: &TestApp, candidate: &Candidate) -> Reply {
    app.request(
        Method::POST,
        "/api/v1/attempts",
        Some(&candidate.token),
        None,
    )
    .await
}

async fn save(
    app: &TestApp,
    candidate: &Candidate,
    attempt: &str,
    item: &str,
    seq: u64,
    response: &Value,
) -> Reply {
    app.request(
        Method::PUT,
        &format!("/api/v1/attempts/{attempt}/responses/{item}"),
        Some(&candidate.token),
        Some(&json!({"seq": seq, "response": response})),
    )
    .await
}

/// The items of an attempt view by id.
fn items(view: &Value) -> BTreeMap<String, Value> {
    view["paper"]["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|section| section["items"].as_array().expect("items").clone())
        .map(|item| (text(&item, "id"), item))
        .collect()
}

/// The label under which option text `shown` appears.
fn label_of(item: &Value, shown: &str) -> String {
    item["options"]
        .as_array()
        .expect("options")
        .iter()
        .find(|option| option["text"].as_str().is_some_and(|t| t.contains(shown)))
        .map(|option| text(option, "id"))
        .unwrap_or_else(|| panic!("no option shows {shown} in {item}"))
}

/// Fails if `body` carries key material or another candidate's identity.
fn assert_no_key(body: &Value, others: &[&Candidate], what: &str) {
    let text = body.to_string();
    let lower = text.to_lowercase();
    for needle in KEY_MATERIAL {
        assert!(
            !lower.contains(&needle.to_lowercase()),
            "{what}: the body contains `{needle}`: {text}"
        );
    }
    for other in others {
        for needle in [&other.ticket, &other.id_number, &other.name] {
            assert!(
                !text.contains(needle.as_str()),
                "{what}: the body contains another candidate's `{needle}`"
            );
        }
    }
}

#[tokio::test]
async fn a_candidate_walks_a_whole_exam_and_nothing_received_carries_key_material() {
    let app = TestApp::spawn().await;
    let exam = Exam::open(&app, 2, Times::open_now()).await;
    let (me, other) = (&exam.candidates[0], &exam.candidates[1]);
    let others = [other];
    let mut bodies: Vec<(String, Value)> = Vec::new();

    let first = start(&app, me).await;
    expect(&first, StatusCode::CREATED, "first start");
    let again = start(&app, me).await;
    expect(&again, StatusCode::OK, "second start");
    let view = first.body.clone();
    let attempt = text(&view, "id");
    assert_eq!(again.body["id"], view["id"]);
    assert_eq!(again.body["deadline"], view["deadline"]);
    assert_eq!(again.body["paper"], view["paper"]);
    assert_eq!(view["status"], "in_progress");
    for key in ["started_at", "deadline", "server_time"] {
        let time = text(&view, key);
        assert!(time.ends_with('Z') && time.contains('.'), "{key}: {time}");
    }
    let deadline = millis(&view["deadline"]) - millis(&view["started_at"]);
    assert_eq!(deadline, 1_800_000, "start + duration");
    bodies.push(("start".into(), first.body));
    bodies.push(("start again".into(), again.body));

    let items = items(&view);
    assert_eq!(items.len(), 8, "one item of each type: {view}");
    let kinds: Vec<&str> = items
        .values()
        .map(|item| item["type"].as_str().unwrap())
        .collect();
    for kind in [
        "single",
        "multiple",
        "true_false",
        "fill_blank",
        "numeric",
        "short_answer",
        "essay",
        "practical",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    for item in items.values() {
        for key in ["id", "type", "stem", "points", "options"] {
            assert!(item.get(key).is_some(), "{key} in {item}");
        }
        let labels: Vec<String> = item["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|option| text(option, "id"))
            .collect();
        let expected: Vec<String> = ["A", "B", "C", "D"][..labels.len()]
            .iter()
            .map(|label| (*label).to_owned())
            .collect();
        assert_eq!(
            labels, expected,
            "options are relabelled in the order shown"
        );
    }
    let blanks = items
        .values()
        .find(|item| item["type"] == "fill_blank")
        .unwrap();
    assert_eq!(blanks["blanks"], 2);

    // Answer every item: right for the choice and numeric items, wrong for the texts (so the
    // echoed responses cannot contain key text).
    let mut expected_scores: BTreeMap<String, Option<i64>> = BTreeMap::new();
    for (id, item) in &items {
        let (response, score) = match item["type"].as_str().unwrap() {
            "single" => {
                let key = if id == "DLV-S1" { "<main>" } else { "<h1>" };
                (
                    json!(label_of(
                        item,
                        &key.replace('<', "&lt;").replace('>', "&gt;")
                    )),
                    Some(200),
                )
            }
            "multiple" => (
                json!([label_of(item, "&lt;div&gt;")]),
                // Partial credit: one of the two keyed options.
                Some(150),
            ),
            "true_false" => (json!(true), Some(100)),
            "fill_blank" => (json!(["wrong one", "wrong two"]), Some(0)),
            "numeric" => (json!(271.8279), Some(200)),
            "short_answer" => (json!("not the key"), Some(0)),
            _ => (json!("my essay text"), None),
        };
        let reply = save(&app, me, &attempt, id, 1, &response).await;
        expect(&reply, StatusCode::OK, &format!("save {id}"));
        assert_eq!(reply.body, json!({"seq": 1}));
        bodies.push((format!("save {id}"), reply.body));
        expected_scores.insert(id.clone(), score);
    }

    // Reload, and log in again on a "new device": the same attempt with every response.
    let reloaded = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&me.token))
        .await;
    expect(&reloaded, StatusCode::OK, "reload");
    assert_eq!(reloaded.body["responses"].as_object().unwrap().len(), 8);
    assert_eq!(
        reloaded.body["responses"]["DLV-T1"],
        json!({"seq": 1, "response": true})
    );
    bodies.push(("reload".into(), reloaded.body.clone()));
    let token = login(&app, &me.ticket, &me.id_number).await;
    let resumed = app
        .request(Method::POST, "/api/v1/attempts", Some(&token), None)
        .await;
    expect(&resumed, StatusCode::OK, "resume on a new device");
    assert_eq!(resumed.body["id"], view["id"]);
    assert_eq!(resumed.body["paper"], view["paper"]);
    assert_eq!(resumed.body["responses"], reloaded.body["responses"]);
    bodies.push(("resume".into(), resumed.body));

    // The other candidate sees neither this attempt nor its answers.
    let theirs = start(&app, other).await;
    expect(&theirs, StatusCode::CREATED, "the other's start");
    assert_ne!(theirs.body["id"], view["id"]);
    let peek = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&other.token))
        .await;
    peek.assert_error(StatusCode::NOT_FOUND, "not_found");
    let meddle = save(&app, other, &attempt, "DLV-T1", 9, &json!(false)).await;
    meddle.assert_error(StatusCode::NOT_FOUND, "not_found");

    let submitted = app
        .request(
            Method::POST,
            &format!("/api/v1/attempts/{attempt}/submit"),
            Some(&me.token),
            None,
        )
        .await;
    expect(&submitted, StatusCode::OK, "submit");
    assert_eq!(submitted.body, json!({"status": "submitted"}));
    let repeated = app
        .request(
            Method::POST,
            &format!("/api/v1/attempts/{attempt}/submit"),
            Some(&me.token),
            None,
        )
        .await;
    expect(&repeated, StatusCode::OK, "submit again");
    assert_eq!(repeated.body, json!({"status": "submitted"}));
    let late = save(&app, me, &attempt, "DLV-T1", 2, &json!(false)).await;
    late.assert_error(StatusCode::CONFLICT, "attempt_closed");
    let closed = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&me.token))
        .await;
    assert_eq!(closed.body["status"], "submitted");
    bodies.push(("submit".into(), submitted.body));
    bodies.push(("after submit".into(), closed.body));

    for (what, body) in &bodies {
        assert_no_key(body, &others, what);
    }

    // The grading pass scores the closed attempt; written items wait for a grader.
    let storage = app.storage().await;
    let scores = graded_scores(&storage, &attempt).await;
    let stored: BTreeMap<String, Option<i64>> = scores
        .into_iter()
        .map(|score| (score.item_id, score.score))
        .collect();
    assert_eq!(stored, expected_scores);
}

#[tokio::test]
async fn an_older_seq_never_overwrites_a_newer_one_and_concurrent_saves_keep_the_highest() {
    let app = TestApp::spawn().await;
    let exam = Exam::open(&app, 1, Times::open_now()).await;
    let me = &exam.candidates[0];
    let view = start(&app, me).await.body;
    let attempt = text(&view, "id");

    let newer = save(&app, me, &attempt, "DLV-A1", 2, &json!("second")).await;
    assert_eq!(newer.body, json!({"seq": 2}));
    let older = save(&app, me, &attempt, "DLV-A1", 1, &json!("first")).await;
    expect(&older, StatusCode::OK, "an older seq");
    assert_eq!(older.body, json!({"seq": 2}));
    let repeat = save(&app, me, &attempt, "DLV-A1", 2, &json!("second")).await;
    assert_eq!(repeat.body, json!({"seq": 2}));
    let zero = save(&app, me, &attempt, "DLV-T1", 0, &json!(false)).await;
    assert_eq!(zero.body, json!({"seq": 0}));
    let cleared = save(&app, me, &attempt, "DLV-T1", 1, &Value::Null).await;
    assert_eq!(cleared.body, json!({"seq": 1}));

    let mut saves = tokio::task::JoinSet::new();
    for seq in 3..=60_u64 {
        let (app_base, token, attempt) = (app.base.clone(), me.token.clone(), attempt.clone());
        let client = app.client.clone();
        saves.spawn(async move {
            let reply = client
                .put(format!(
                    "{app_base}/api/v1/attempts/{attempt}/responses/DLV-A1"
                ))
                .bearer_auth(token)
                .json(&json!({"seq": seq, "response": format!("draft {seq}")}))
                .send()
                .await
                .expect("a reply");
            assert_eq!(reply.status(), StatusCode::OK);
            let body: Value = reply.json().await.expect("JSON");
            (seq, body["seq"].as_u64().expect("seq"))
        });
    }
    while let Some(done) = saves.join_next().await {
        let (sent, acked) = done.expect("a save task");
        assert!(acked >= sent, "acked {acked} for seq {sent}");
    }
    let reloaded = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&me.token))
        .await;
    assert_eq!(
        reloaded.body["responses"]["DLV-A1"],
        json!({"seq": 60, "response": "draft 60"})
    );
    assert_eq!(
        reloaded.body["responses"]["DLV-T1"],
        json!({"seq": 1, "response": null})
    );
}

#[tokio::test]
async fn a_response_is_checked_against_its_item_and_the_paper() {
    let app = TestApp::spawn().await;
    let exam = Exam::open(&app, 1, Times::open_now()).await;
    let me = &exam.candidates[0];
    let view = start(&app, me).await.body;
    let attempt = text(&view, "id");
    let items = items(&view);
    let single = items
        .values()
        .find(|item| item["type"] == "single")
        .unwrap();
    let single = text(single, "id");

    for (item, response, needle) in [
        (single.as_str(), json!("D"), "A, B, C"),
        (single.as_str(), json!("optkeymain"), "A, B, C"),
        ("DLV-M1", json!(["A", "A"]), "at most once"),
        ("DLV-M1", json!([]), "at least one"),
        ("DLV-T1", json!("yes"), "true or false"),
        ("DLV-F1", json!(["only one"]), "2 strings"),
        ("DLV-N1", json!("12"), "number"),
        ("DLV-E1", json!(42), "string"),
    ] {
        let reply = save(&app, me, &attempt, item, 1, &response).await;
        let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_response");
        assert!(message.contains(needle), "{item} {response}: {message}");
    }
    let unknown = save(&app, me, &attempt, "DLV-NOPE", 1, &json!(true)).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "not_found");
    let not_drawn = if single == "DLV-S1" {
        "DLV-S2"
    } else {
        "DLV-S1"
    };
    let other_item = save(&app, me, &attempt, not_drawn, 1, &json!("A")).await;
    other_item.assert_error(StatusCode::NOT_FOUND, "not_found");
    let stray_field = app
        .request(
            Method::PUT,
            &format!("/api/v1/attempts/{attempt}/responses/DLV-T1"),
            Some(&me.token),
            Some(&json!({"seq": 1, "response": true, "client_time": "2099-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(stray_field.status, StatusCode::UNPROCESSABLE_ENTITY);
    let negative = app
        .request(
            Method::PUT,
            &format!("/api/v1/attempts/{attempt}/responses/DLV-T1"),
            Some(&me.token),
            Some(&json!({"seq": -1, "response": true})),
        )
        .await;
    assert_eq!(negative.status, StatusCode::UNPROCESSABLE_ENTITY);
    let staff = app
        .request(Method::POST, "/api/v1/attempts", Some(&exam.admin), None)
        .await;
    assert_eq!(staff.status, StatusCode::UNAUTHORIZED, "{}", staff.body);
}

#[tokio::test]
async fn twenty_concurrent_starts_make_exactly_one_attempt() {
    let app = TestApp::spawn().await;
    let exam = Exam::open(&app, 1, Times::open_now()).await;
    let me = exam.candidates[0].clone();
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, base, token) = (app.client.clone(), app.base.clone(), me.token.clone());
        starts.spawn(async move {
            let reply = client
                .post(format!("{base}/api/v1/attempts"))
                .bearer_auth(token)
                .send()
                .await
                .expect("a reply");
            let status = reply.status();
            let body: Value = reply.json().await.expect("JSON");
            (status, body)
        });
    }
    let mut created = 0;
    let mut ids = Vec::new();
    let mut deadlines = Vec::new();
    while let Some(done) = starts.join_next().await {
        let (status, body) = done.expect("a start task");
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {body}"
        );
        created += usize::from(status == StatusCode::CREATED);
        ids.push(body["id"].clone());
        deadlines.push(body["deadline"].clone());
    }
    assert_eq!(created, 1, "exactly one start creates the attempt");
    ids.dedup();
    deadlines.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(deadlines.len(), 1, "{deadlines:?}");
}

#[tokio::test]
async fn every_save_acknowledged_around_a_submit_is_stored_and_none_is_acknowledged_after_it() {
    let app = TestApp::spawn().await;
    let exam = Exam::open(&app, 1, Times::open_now()).await;
    let me = exam.candidates[0].clone();
    let attempt = text(&start(&app, &me).await.body, "id");
    let items = ["DLV-A1", "DLV-E1", "DLV-P1"];
    let mut saves = tokio::task::JoinSet::new();
    for round in 1..=40_u64 {
        for item in items {
            let (client, base, token, attempt) = (
                app.client.clone(),
                app.base.clone(),
                me.token.clone(),
                attempt.clone(),
            );
            saves.spawn(async move {
                let reply = client
                    .put(format!("{base}/api/v1/attempts/{attempt}/responses/{item}"))
                    .bearer_auth(token)
                    .json(&json!({"seq": round, "response": format!("{item} round {round}")}))
                    .send()
                    .await
                    .expect("a reply");
                let status = reply.status();
                let body: Value = reply.json().await.expect("JSON");
                (item, round, status, body)
            });
        }
        if round == 20 {
            let submitted = app
                .request(
                    Method::POST,
                    &format!("/api/v1/attempts/{attempt}/submit"),
                    Some(&me.token),
                    None,
                )
                .await;
            expect(&submitted, StatusCode::OK, "submit mid-burst");
        }
    }
    let mut acked: BTreeMap<&str, u64> = BTreeMap::new();
    while let Some(done) = saves.join_next().await {
        let (item, round, status, body) = done.expect("a save task");
        match status {
            StatusCode::OK => {
                let seq = body["seq"].as_u64().expect("seq");
                assert!(seq >= round);
                let best = acked.entry(item).or_default();
                *best = (*best).max(round);
            }
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "attempt_closed"),
            other => panic!("{other}: {body}"),
        }
    }
    let storage = app.storage().await;
    let stored = storage.responses(&attempt).await.expect("responses");
    for response in &stored {
        let best = acked.get(response.item_id.as_str()).copied().unwrap_or(0);
        // Every acknowledged save is there, and nothing beyond the acknowledged ones.
        assert_eq!(
            u64::try_from(response.seq).unwrap(),
            best,
            "{}: stored {} but the highest acknowledged was {best}",
            response.item_id,
            response.seq
        );
    }
    for (item, best) in &acked {
        assert!(
            stored.iter().any(|response| response.item_id == *item),
            "acknowledged {item} seq {best} is missing"
        );
    }
    let attempt_row = storage.attempt(&attempt).await.expect("read").expect("row");
    let finished = attempt_row.finished_at.expect("finished");
    assert!(stored.iter().all(|response| response.saved_at <= finished));
}

#[tokio::test]
async fn a_sitting_that_has_not_opened_refuses_the_start_with_its_opening_time() {
    let app = TestApp::spawn().await;
    let times = Times {
        opens_in: 3600,
        closes_in: 7200,
        duration_secs: 1800,
        late_entry_secs: 600,
    };
    let exam = Exam::open(&app, 1, times).await;
    let reply = start(&app, &exam.candidates[0]).await;
    let message = reply.assert_error(StatusCode::CONFLICT, "not_open");
    assert!(message.contains("opens at"), "{message}");
    assert!(reply.body["error"]["opens_at"].is_string());
}

#[tokio::test]
async fn after_the_late_entry_cutoff_a_new_start_is_refused() {
    let app = TestApp::spawn().await;
    let times = Times {
        opens_in: -600,
        closes_in: 3600,
        duration_secs: 1800,
        late_entry_secs: 60,
    };
    let exam = Exam::open(&app, 1, times).await;
    let reply = start(&app, &exam.candidates[0]).await;
    let message = reply.assert_error(StatusCode::CONFLICT, "late_entry_closed");
    assert!(message.contains("late entry closed at"), "{message}");
}

/// Polls the attempt until its status is `status`, for at most 30 s (a bound against a hung
/// test, not a speed assertion).
async fn wait_for_status(
    app: &TestApp,
    candidate: &Candidate,
    attempt: &str,
    status: &str,
) -> Value {
    for _ in 0..300 {
        let reply = app
            .get(
                &format!("/api/v1/attempts/{attempt}"),
                Some(&candidate.token),
            )
            .await;
        if reply.body["status"] == status {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("attempt {attempt} never reached status {status}");
}

#[tokio::test]
async fn the_sweeper_expires_an_attempt_at_its_deadline_and_later_saves_are_refused() {
    let app = TestApp::spawn().await;
    let times = Times {
        opens_in: -60,
        closes_in: 3600,
        duration_secs: 1,
        late_entry_secs: 3600,
    };
    let exam = Exam::open(&app, 1, times).await;
    let me = &exam.candidates[0];
    // A client clock far in the future must not matter.
    let started = app
        .client
        .post(format!("{}/api/v1/attempts", app.base))
        .bearer_auth(&me.token)
        .header("date", "Fri, 01 Jan 2100 00:00:00 GMT")
        .send()
        .await
        .expect("a reply");
    assert_eq!(started.status(), StatusCode::CREATED);
    let view: Value = started.json().await.expect("JSON");
    let attempt = text(&view, "id");
    let deadline = millis(&view["deadline"]);
    assert_eq!(deadline - millis(&view["started_at"]), 1_000);
    let server = millis(&view["server_time"]);
    assert!(
        (millis(&view["started_at"]) - server).abs() < 60_000,
        "started_at comes from the server's clock"
    );
    let saved = save(&app, me, &attempt, "DLV-T1", 1, &json!(true)).await;
    expect(&saved, StatusCode::OK, "a save in time");

    let expired = wait_for_status(&app, me, &attempt, "expired").await;
    assert_eq!(
        millis(&expired["deadline"]),
        deadline,
        "the deadline is unchanged"
    );
    let storage = app.storage().await;
    let row = storage.attempt(&attempt).await.expect("read").expect("row");
    assert_eq!(row.finished_at, Some(deadline), "finished at the deadline");
    let scores = graded_scores(&storage, &attempt).await;
    assert_eq!(scores.len(), 8, "graded after it expired");
    assert!(
        scores
            .iter()
            .any(|score| score.item_id == "DLV-T1" && score.score == Some(100))
    );

    let late = app
        .client
        .put(format!(
            "{}/api/v1/attempts/{attempt}/responses/DLV-T1",
            app.base
        ))
        .bearer_auth(&me.token)
        .header("date", "Sat, 01 Jan 2000 00:00:00 GMT")
        .json(&json!({"seq": 2, "response": false}))
        .send()
        .await
        .expect("a reply");
    assert_eq!(late.status(), StatusCode::CONFLICT);
    let body: Value = late.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "deadline_passed", "{body}");
    let submit = app
        .request(
            Method::POST,
            &format!("/api/v1/attempts/{attempt}/submit"),
            Some(&me.token),
            None,
        )
        .await;
    expect(&submit, StatusCode::OK, "submit after expiry");
    assert_eq!(submit.body, json!({"status": "expired"}));
    let again = start(&app, me).await;
    expect(
        &again,
        StatusCode::OK,
        "a started candidate can always come back",
    );
    assert_eq!(again.body["status"], "expired");
}

#[tokio::test]
async fn pausing_stops_saves_and_resuming_and_extra_time_move_the_deadline() {
    let app = TestApp::spawn().await;
    let exam = Exam::open(&app, 2, Times::open_now()).await;
    let me = &exam.candidates[0];
    let view = start(&app, me).await.body;
    let attempt = text(&view, "id");
    let deadline = millis(&view["deadline"]);
    let admin = Some(exam.admin.as_str());

    let no_reason = app
        .post(
            &format!("/api/v1/attempts/{attempt}/pause"),
            admin,
            &json!({"reason": "  "}),
        )
        .await;
    no_reason.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let by_candidate = app
        .post(
            &format!("/api/v1/attempts/{attempt}/pause"),
            Some(&me.token),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(by_candidate.status, StatusCode::UNAUTHORIZED);

    let paused = app
        .post(
            &format!("/api/v1/attempts/{attempt}/pause"),
            admin,
            &json!({"reason": "fire alarm in room 3"}),
        )
        .await;
    expect(&paused, StatusCode::OK, "pause");
    assert_eq!(paused.body["status"], "paused");
    let refused = save(&app, me, &attempt, "DLV-T1", 1, &json!(true)).await;
    refused.assert_error(StatusCode::CONFLICT, "attempt_paused");
    let twice = app
        .post(
            &format!("/api/v1/attempts/{attempt}/pause"),
            admin,
            &json!({"reason": "again"}),
        )
        .await;
    twice.assert_error(StatusCode::CONFLICT, "attempt_paused");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resumed = app
        .post(
            &format!("/api/v1/attempts/{attempt}/resume"),
            admin,
            &json!({"reason": "all clear"}),
        )
        .await;
    expect(&resumed, StatusCode::OK, "resume");
    assert_eq!(resumed.body["status"], "in_progress");
    let moved = millis(&resumed.body["deadline"]) - deadline;
    assert!(
        moved >= 300,
        "the deadline moved by the paused time, {moved} ms"
    );
    let saved = save(&app, me, &attempt, "DLV-T1", 1, &json!(true)).await;
    expect(&saved, StatusCode::OK, "a save after resuming");

    let before = millis(&resumed.body["deadline"]);
    let granted = app
        .post(
            &format!("/api/v1/attempts/{attempt}/extra-time"),
            admin,
            &json!({"seconds": 600, "reason": "accommodation: dyslexia"}),
        )
        .await;
    expect(&granted, StatusCode::OK, "extra time");
    assert_eq!(millis(&granted.body["deadline"]) - before, 600_000);
    let zero = app
        .post(
            &format!("/api/v1/attempts/{attempt}/extra-time"),
            admin,
            &json!({"seconds": 0, "reason": "none"}),
        )
        .await;
    zero.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");

    // Extra time granted before the start counts at the start.
    let storage = app.storage().await;
    let other = &exam.candidates[1];
    let me_reply = app.get("/api/v1/candidate/me", Some(&other.token)).await;
    let registration = text(&me_reply.body, "registration");
    let before_start = app
        .post(
            &format!("/api/v1/registrations/{registration}/extra-time"),
            admin,
            &json!({"seconds": 900, "reason": "accommodation granted in advance"}),
        )
        .await;
    expect(&before_start, StatusCode::OK, "extra time before the start");
    assert_eq!(before_start.body["extra_time_secs"], 900);
    let view = start(&app, other).await.body;
    assert_eq!(
        millis(&view["deadline"]) - millis(&view["started_at"]),
        (1800 + 900) * 1000
    );
    let audit = storage.audit_log(50).await.expect("audit");
    for action in ["attempt.pause", "attempt.resume", "registration.extra_time"] {
        assert!(
            audit.iter().any(|entry| entry.action == action),
            "{action} is audited"
        );
    }
    // Staff of another site do not find the attempt.
    let other_site = app
        .post(
            "/api/v1/sites",
            admin,
            &json!({"code": "DLV-ELSEWHERE", "name": "Another site"}),
        )
        .await;
    let other_site = text(&other_site.body, "id");
    assert_ne!(other_site, exam.site_id);
    let desk = app
        .post(
            &format!("/api/v1/sites/{other_site}/staff"),
            admin,
            &json!({"username": "elsewhere.desk", "password": "elsewhere password 1", "role": "site"}),
        )
        .await;
    expect(&desk, StatusCode::CREATED, "site staff");
    let desk = app.token("elsewhere.desk", "elsewhere password 1").await;
    let foreign = app
        .post(
            &format!("/api/v1/attempts/{attempt}/pause"),
            Some(&desk),
            &json!({"reason": "not mine"}),
        )
        .await;
    foreign.assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_submit_rush_closes_and_grades_every_attempt_once() {
    let app = TestApp::spawn().await;
    let exam = Exam::open(&app, 12, Times::open_now()).await;
    let mut attempts = Vec::new();
    for candidate in &exam.candidates {
        let view = start(&app, candidate).await;
        expect(&view, StatusCode::CREATED, "start");
        attempts.push((candidate.clone(), text(&view.body, "id")));
    }
    let mut rush = tokio::task::JoinSet::new();
    for (candidate, attempt) in &attempts {
        for _ in 0..2 {
            let (client, base) = (app.client.clone(), app.base.clone());
            let (token, attempt) = (candidate.token.clone(), attempt.clone());
            rush.spawn(async move {
                let save = client
                    .put(format!("{base}/api/v1/attempts/{attempt}/responses/DLV-T1"))
                    .bearer_auth(&token)
                    .json(&json!({"seq": 1, "response": true}))
                    .send()
                    .await
                    .expect("a reply");
                let saved = save.status();
                let reply = client
                    .post(format!("{base}/api/v1/attempts/{attempt}/submit"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("a reply");
                let status = reply.status();
                let body: Value = reply.json().await.expect("JSON");
                (saved, status, body)
            });
        }
    }
    while let Some(done) = rush.join_next().await {
        let (saved, status, body) = done.expect("a task");
        assert!(
            saved == StatusCode::OK || saved == StatusCode::CONFLICT,
            "{saved}"
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"status": "submitted"}));
    }
    let storage = app.storage().await;
    for (_, attempt) in &attempts {
        let scores = graded_scores(&storage, attempt).await;
        assert_eq!(scores.len(), 8, "every item of {attempt} scored once");
        let true_false = scores
            .iter()
            .find(|score| score.item_id == "DLV-T1")
            .expect("the true/false item");
        // The first of the two saves is always acknowledged before its submit is sent.
        assert_eq!(true_false.score, Some(100), "{attempt}");
    }
}

#[tokio::test]
async fn a_closed_attempt_left_ungraded_by_a_crash_is_graded_by_the_next_pass() {
    let app = TestApp::spawn().await;
    let exam = Exam::open(&app, 2, Times::open_now()).await;
    let mut attempts = Vec::new();
    for candidate in &exam.candidates {
        let view = start(&app, candidate).await;
        expect(&view, StatusCode::CREATED, "start");
        let attempt = text(&view.body, "id");
        let saved = save(&app, candidate, &attempt, "DLV-T1", 1, &json!(true)).await;
        expect(&saved, StatusCode::OK, "save");
        let submitted = app
            .request(
                Method::POST,
                &format!("/api/v1/attempts/{attempt}/submit"),
                Some(&candidate.token),
                None,
            )
            .await;
        expect(&submitted, StatusCode::OK, "submit");
        attempts.push(attempt);
    }
    let storage = app.storage().await;
    for attempt in &attempts {
        assert_eq!(graded_scores(&storage, attempt).await.len(), 8);
    }
    // What a crash between the durable close and the grading pass leaves behind: a closed
    // attempt with neither scores nor graded_at.
    for attempt in &attempts {
        // The same statements on either backend.
        macro_rules! forget {
            ($pool:expr) => {
                for sql in [
                    "DELETE FROM item_scores WHERE attempt_id = $1",
                    "UPDATE attempts SET graded_at = NULL WHERE id = $1",
                ] {
                    sqlx::query(sql)
                        .bind(attempt)
                        .execute($pool)
                        .await
                        .expect("forget the scores");
                }
            };
        }
        match &storage {
            xcert_server::Storage::Sqlite(pool) => forget!(pool),
            xcert_server::Storage::Postgres(pool) => forget!(pool),
        }
    }
    // The pass also runs on its period (as it does right after a restart) and finds them.
    for attempt in &attempts {
        let scores = graded_scores(&storage, attempt).await;
        assert_eq!(scores.len(), 8, "{attempt} graded again");
        let true_false = scores
            .iter()
            .find(|score| score.item_id == "DLV-T1")
            .expect("the true/false item");
        assert_eq!(true_false.score, Some(100), "graded from the saved answer");
    }
}

/// The test bank as a tar.gz of a bank directory whose two single-choice items each show a
/// diagram from `media/`.
fn bank_with_media_tar_gz() -> Vec<u8> {
    let bank = BANK
        .replace(
            "stem = \"Which element marks the main content of a page?\"",
            "stem = \"Which element marks the main content of a page?\\n\\n![a page layout](media/layout.svg)\"",
        )
        .replace(
            "stem = \"Which element is a heading?\"",
            "stem = \"Which element is a heading?\\n\\n![a heading](media/heading.svg)\"",
        );
    assert_ne!(bank, BANK, "the stems were found and changed");
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut add = |path: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, bytes)
            .expect("append to the tar");
    };
    add("dlv/bank.toml", bank.as_bytes());
    add("dlv/media/layout.svg", LAYOUT_SVG.as_bytes());
    add("dlv/media/heading.svg", HEADING_SVG.as_bytes());
    builder
        .into_inner()
        .expect("finish the tar")
        .finish()
        .expect("finish gzip")
}

const LAYOUT_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#ccc"/></svg>"##;
const HEADING_SVG: &str =
    r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="10"><text y="9">H1</text></svg>"#;

#[tokio::test]
async fn a_candidate_gets_the_images_of_their_own_paper_and_nothing_else() {
    let app = TestApp::spawn().await;
    let exam = Exam::open_with_bank(
        &app,
        2,
        Times::open_now(),
        "application/gzip",
        bank_with_media_tar_gz(),
    )
    .await;
    let me = &exam.candidates[0];
    let view = start(&app, me).await;
    expect(&view, StatusCode::CREATED, "start");
    let attempt = text(&view.body, "id");
    let stems = view.body["paper"].to_string();
    // The paper holds one of the two single-choice items, so one of the two images.
    let (shown, other, svg) = if stems.contains("layout.svg") {
        ("layout.svg", "heading.svg", LAYOUT_SVG)
    } else {
        assert!(
            stems.contains("heading.svg"),
            "an image in the paper: {stems}"
        );
        ("heading.svg", "layout.svg", HEADING_SVG)
    };
    assert!(
        stems.contains(&format!("/api/v1/attempts/{attempt}/media/{shown}")),
        "the stem points at this attempt's media route: {stems}"
    );
    let fetch = |path: String, token: String| {
        let client = app.client.clone();
        let base = app.base.clone();
        async move {
            client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .expect("a reply")
        }
    };
    let image = fetch(
        format!("/api/v1/attempts/{attempt}/media/{shown}"),
        me.token.clone(),
    )
    .await;
    assert_eq!(image.status(), StatusCode::OK);
    let headers = image.headers().clone();
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"].to_str().expect("text");
    assert!(
        policy.contains("sandbox") && policy.contains("default-src 'none'"),
        "{policy}"
    );
    assert_eq!(
        image.text().await.expect("body"),
        svg,
        "the bytes as uploaded"
    );

    // A file of the bank that is not in this paper, a file that does not exist, a path that
    // tries to leave media/, and the same image through another candidate's token.
    for path in [
        format!("/api/v1/attempts/{attempt}/media/{other}"),
        format!("/api/v1/attempts/{attempt}/media/missing.svg"),
        format!("/api/v1/attempts/{attempt}/media/..%2Fbank.toml"),
        format!("/api/v1/attempts/{attempt}/media/../bank.toml"),
    ] {
        let refused = fetch(path.clone(), me.token.clone()).await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let someone_else = &exam.candidates[1];
    let theirs = start(&app, someone_else).await;
    expect(&theirs, StatusCode::CREATED, "start");
    let stolen = fetch(
        format!("/api/v1/attempts/{attempt}/media/{shown}"),
        someone_else.token.clone(),
    )
    .await;
    assert_eq!(
        stolen.status(),
        StatusCode::NOT_FOUND,
        "another candidate's attempt"
    );
    let anonymous = app
        .client
        .get(format!(
            "{}/api/v1/attempts/{attempt}/media/{shown}",
            app.base
        ))
        .send()
        .await
        .expect("a reply");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// The objective scores of a closed attempt, once the server's grading pass (which runs right
/// after every close) has recorded them. Gives up after a generous bound, failing the test.
async fn graded_scores(
    storage: &xcert_server::Storage,
    attempt: &str,
) -> Vec<xcert_server::storage::delivery::StoredScore> {
    for _ in 0..600 {
        let scores = storage.item_scores(attempt).await.expect("scores");
        if !scores.is_empty() {
            return scores;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("attempt {attempt} was not graded within 30 s of its close");
}
