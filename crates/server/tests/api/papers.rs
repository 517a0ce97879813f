//! A sitting's papers: drawn once for the whole sitting under the blueprint's exposure cap,
//! stored, identical on every replica, a latecomer drawn against the stored counts, and every
//! paper re-derived here with the assembly crate from the draw record.

use std::collections::{BTreeMap, HashMap};

use reqwest::StatusCode;
use serde_json::{Value, json};
use xcert_assembly::{Blueprint, Paper, Plan, Pool, Seed, draw_latecomer, draw_sitting_relaxed};
use xcert_bank::{Bank, BankSource};
use xcert_server::identity::resident_id_check_character;

use crate::helpers::{Reply, TestApp};

/// 16 singles of equal difficulty: a rule of 3 under a cap of 0.2 needs 15 of them.
fn bank_text() -> String {
    let mut text = String::from(
        "[bank]\ncertificate = \"EXP-TEST\"\nlevel = \"junior\"\nversion = \"2026.1\"\ntitle = \"Exposure test bank\"\n",
    );
    for index in 1..=16 {
        text.push_str(&format!(
            "\n[[item]]\nid = \"EXP-{index:02}\"\ntype = \"single\"\ndifficulty = 0.5\npoints = 1\nstem = \"Question {index}\"\noptions = [ {{ id = \"a{index}\", text = \"one\" }}, {{ id = \"b{index}\", text = \"two\" }}, {{ id = \"c{index}\", text = \"three\" }} ]\nanswer = \"a{index}\"\n"
        ));
    }
    text
}

/// Three singles a paper; no item in more than 20% of the sitting's papers.
const BLUEPRINT: &str = r#"
format = 1
title = "Exposure test"
duration_minutes = 60
total_points = 3
pass_score = 2

[fairness]
tolerance = 0.5

[exposure]
max_rate = 0.2

[[section]]
id = "single"
title = "Singles"

[[section.rule]]
type = "single"
count = 3
"#;

fn resident_id(index: usize) -> String {
    let first_17 = format!("11010519900202{index:03}");
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

/// A registered candidate with a candidate token.
#[derive(Debug, Clone)]
struct Candidate {
    registration: String,
    token: String,
}

/// An open sitting of the exposure bank and blueprint.
#[derive(Debug)]
struct Sitting {
    admin: String,
    id: String,
    site: String,
    organization: String,
}

impl Sitting {
    async fn open(app: &TestApp) -> Sitting {
        let admin = app.admin_token().await;
        let token = Some(admin.as_str());
        let organization = app.create_organization(&admin, "EXP-ORG").await;
        let certificate = app
            .post(
                &format!("/api/v1/organizations/{organization}/certificates"),
                token,
                &json!({"code": "EXP-TEST", "level": "junior", "title": "Exposure", "credits": 1}),
            )
            .await;
        expect(&certificate, StatusCode::CREATED, "certificate");
        let bank = app
            .client
            .post(format!(
                "{}/api/v1/organizations/{organization}/banks",
                app.base
            ))
            .bearer_auth(&admin)
            .header("content-type", "application/toml")
            .body(bank_text())
            .send()
            .await
            .expect("upload");
        assert_eq!(bank.status(), StatusCode::CREATED);
        let bank: Value = bank.json().await.expect("JSON");
        let site = app
            .post(
                "/api/v1/sites",
                token,
                &json!({"code": "EXP-SITE", "name": "Exposure test site"}),
            )
            .await;
        expect(&site, StatusCode::CREATED, "site");
        let site = text(&site.body, "id");
        let now = jiff::Timestamp::now().as_second();
        let rfc3339 = |seconds: i64| {
            jiff::Timestamp::from_second(seconds)
                .expect("a time")
                .to_string()
        };
        let sitting = app
            .post(
                &format!("/api/v1/organizations/{organization}/sittings"),
                token,
                &json!({
                    "certificate": text(&certificate.body, "id"),
                    "bank_version": text(&bank, "id"),
                    "title": "Exposure test sitting",
                    "blueprint": BLUEPRINT,
                    "opens_at": rfc3339(now - 60),
                    "closes_at": rfc3339(now + 3600),
                    "duration_secs": 1800,
                    "late_entry_secs": 3600,
                    "sites": [site],
                }),
            )
            .await;
        expect(&sitting, StatusCode::CREATED, "sitting");
        Sitting {
            id: text(&sitting.body, "id"),
            admin,
            site,
            organization,
        }
    }

    async fn register(&self, app: &TestApp, index: usize) -> Candidate {
        let id_number = resident_id(index);
        let reply = app
            .post(
                &format!("/api/v1/sittings/{}/registrations", self.id),
                Some(&self.admin),
                &json!({"id_number": id_number, "name": format!("考生{index:03}"), "site": self.site}),
            )
            .await;
        expect(&reply, StatusCode::CREATED, "registration");
        let login = app
            .post(
                "/api/v1/candidate/sessions",
                None,
                &json!({"ticket": text(&reply.body, "ticket"), "id_number": id_number}),
            )
            .await;
        expect(&login, StatusCode::OK, "candidate login");
        Candidate {
            registration: text(&reply.body, "registration"),
            token: text(&login.body, "token"),
        }
    }
}

/// Starts every candidate at once, each on `apps[i % apps.len()]`: the attempt views.
async fn start_all(apps: &[&TestApp], candidates: &[Candidate]) -> Vec<Value> {
    let mut starts = tokio::task::JoinSet::new();
    for (index, candidate) in candidates.iter().enumerate() {
        let app = apps[index % apps.len()];
        let (client, base, token) = (
            app.client.clone(),
            app.base.clone(),
            candidate.token.clone(),
        );
        starts.spawn(async move {
            let reply = client
                .post(format!("{base}/api/v1/attempts"))
                .bearer_auth(token)
                .send()
                .await
                .expect("a reply");
            let status = reply.status();
            let body: Value = reply.json().await.expect("JSON");
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body
        });
    }
    let mut views = Vec::new();
    while let Some(done) = starts.join_next().await {
        views.push(done.expect("a start task"));
    }
    views
}

/// Item ids of an attempt view, in paper order.
fn view_items(view: &Value) -> Vec<String> {
    view["paper"]["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|section| section["items"].as_array().expect("items").iter())
        .map(|item| text(item, "id"))
        .collect()
}

/// Papers per item over the views.
fn exposure(views: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for view in views {
        for item in view_items(view) {
            *counts.entry(item).or_insert(0) += 1;
        }
    }
    counts
}

/// `(item id, bank option ids in the order shown)` of a stored paper (the attempt's JSON).
fn stored_form(paper: &str) -> Vec<(String, Vec<String>)> {
    let paper: Value = serde_json::from_str(paper).expect("a stored paper");
    paper["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|section| section["items"].as_array().expect("items").iter())
        .map(|item| {
            let options = item["options"]
                .as_array()
                .map(|options| {
                    options
                        .iter()
                        .map(|option| option.as_str().expect("an option id").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (text(item, "id"), options)
        })
        .collect()
}

/// The same shape from a paper the assembly crate drew.
fn derived_form(pool: &Pool, paper: &Paper) -> Vec<(String, Vec<String>)> {
    paper
        .items()
        .iter()
        .map(|entry| {
            let item = &pool.items()[entry.item() as usize];
            let options = paper
                .option_order(entry)
                .iter()
                .map(|&index| item.options()[usize::from(index)].clone())
                .collect();
            (item.id().to_owned(), options)
        })
        .collect()
}

/// Re-derives every paper of a sitting from its draw record: the first list through
/// `draw_sitting_relaxed`, then the latecomers in order through `draw_latecomer`.
fn re_derive(record: &Value) -> HashMap<String, Vec<(String, Vec<String>)>> {
    let bank = Bank::parse(&BankSource::single("bank.toml", bank_text())).expect("bank");
    let pool = Pool::from_bank(&bank).expect("pool");
    let blueprint = Blueprint::parse(BLUEPRINT).expect("blueprint");
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let secret = Seed::parse_hex(&text(record, "secret")).expect("the secret");
    let list = |key: &str| -> Vec<String> {
        record[key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|id| id.as_str().expect("an id").to_owned())
            .collect()
    };
    let (first, latecomers) = (list("candidates"), list("latecomers"));
    let mut papers = HashMap::new();
    let report = draw_sitting_relaxed(&plan, &secret, &first, |candidate, paper| {
        papers.insert(candidate.to_owned(), derived_form(&pool, paper));
    })
    .expect("the sitting re-derives");
    let mut counts = report.exposure_counts;
    let mut limit = report.exposure_limit;
    for (index, candidate) in latecomers.iter().enumerate() {
        let (paper, used) = draw_latecomer(
            &plan,
            &secret,
            &mut counts,
            first.len() + index,
            limit,
            candidate,
        )
        .expect("a latecomer re-derives");
        limit = used;
        papers.insert(candidate.clone(), derived_form(&pool, &paper));
    }
    papers
}

/// Checks every started attempt's paper and seed against the re-derived sitting.
async fn assert_attempts_re_derive(app: &TestApp, views: &[Value], record: &Value) {
    let derived = re_derive(record);
    let secret = Seed::parse_hex(&text(record, "secret")).expect("the secret");
    let storage = app.storage().await;
    for view in views {
        let attempt = storage
            .attempt(&text(view, "id"))
            .await
            .expect("read")
            .expect("the attempt");
        assert_eq!(
            stored_form(&attempt.paper),
            derived[&attempt.registration_id],
            "the paper of {} re-derives",
            attempt.registration_id
        );
        assert_eq!(
            attempt.seed,
            secret.paper_seed(&attempt.registration_id).to_string()
        );
        assert_eq!(attempt.bank_hash, text(record, "bank_hash"));
        assert_eq!(attempt.blueprint_hash, text(record, "blueprint_hash"));
    }
}

#[tokio::test]
async fn a_tight_exposure_cap_holds_across_every_started_attempt_and_the_papers_re_derive() {
    let app = TestApp::spawn().await;
    let sitting = Sitting::open(&app).await;
    let mut candidates = Vec::new();
    for index in 0..20 {
        candidates.push(sitting.register(&app, index).await);
    }
    let views = start_all(&[&app], &candidates).await;
    // 20 papers under a cap of 0.2: no item in more than 4 (standalone draws of 3 out of 16
    // would put an item in 3.75 papers on average, and some well above 4).
    let counts = exposure(&views);
    assert!(counts.values().all(|&count| count <= 4), "{counts:?}");
    assert_eq!(counts.values().sum::<usize>(), 60);

    // Only admins and auditors read the record, and reading it is audited.
    let path = format!("/api/v1/sittings/{}/papers/record", sitting.id);
    let org = app
        .create_staff(&sitting.admin, &sitting.organization, "exporg", "org")
        .await;
    expect(&org, StatusCode::CREATED, "org staff");
    let org_token = app.token("exporg", "exporg password 12").await;
    app.get(&path, Some(&org_token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let record = app.get(&path, Some(&sitting.admin)).await;
    expect(&record, StatusCode::OK, "record");
    let record = record.body;
    let mut registrations: Vec<String> = candidates
        .iter()
        .map(|candidate| candidate.registration.clone())
        .collect();
    registrations.sort();
    assert_eq!(record["candidates"], json!(registrations));
    assert_eq!(record["latecomers"], json!([]));
    assert_eq!(record["papers"], json!(20));
    assert_eq!(record["exposure_limit"], json!(4));
    assert_eq!(record["drawn_by"], json!("system"));
    let storage = app.storage().await;
    let audit = storage.audit_log(100).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|entry| entry.action == "sitting.papers_record_read"
                && entry.object == format!("sitting:{}", sitting.id))
    );
    assert!(
        audit
            .iter()
            .any(|entry| entry.action == "sitting.papers_draw" && entry.actor == "system")
    );
    assert_attempts_re_derive(&app, &views, &record).await;
}

#[tokio::test]
async fn two_replicas_starting_at_once_store_one_draw_and_a_latecomer_stays_under_the_cap() {
    let first = TestApp::spawn().await;
    // The first replica has migrated the database before the second one opens it.
    assert_eq!(first.get("/readyz", None).await.status, StatusCode::OK);
    let shared_database = first.database_url.clone();
    let second = TestApp::spawn_with(|config| config.database_url = shared_database).await;
    let sitting = Sitting::open(&first).await;
    let mut candidates = Vec::new();
    // 9 papers under a cap of 0.2 would allow each item in ⌊1.8⌋ = 1 paper, which 16 items
    // cannot give 27 places: the draw takes the next limit that fits, 2.
    for index in 0..9 {
        candidates.push(sitting.register(&first, index).await);
    }
    // Different candidates start on both replicas at the same time: both may draw, one
    // stores, and every candidate gets the stored draw's paper.
    let mut views = start_all(&[&first, &second], &candidates).await;
    let storage = first.storage().await;
    let draw = storage
        .sitting_draw(&sitting.id)
        .await
        .expect("read")
        .expect("one stored draw");
    assert_eq!(draw.candidates.len(), 9);
    assert_eq!(draw.exposure_limit, 2);
    let audit = storage.audit_log(200).await.expect("audit");
    let draws = audit
        .iter()
        .filter(|entry| entry.action == "sitting.papers_draw")
        .count();
    assert_eq!(draws, 1, "one stored draw, one audit entry");

    // A candidate registered after the draw is drawn against the stored counts.
    let latecomer = sitting.register(&second, 9).await;
    let late = start_all(&[&second], std::slice::from_ref(&latecomer)).await;
    assert_eq!(view_items(&late[0]).len(), 3);
    views.extend(late);
    let counts = exposure(&views);
    // 10 papers under a cap of 0.2: at most 2 papers per item.
    assert!(counts.values().all(|&count| count <= 2), "{counts:?}");

    let record = first
        .get(
            &format!("/api/v1/sittings/{}/papers/record", sitting.id),
            Some(&sitting.admin),
        )
        .await;
    expect(&record, StatusCode::OK, "record");
    assert_eq!(record.body["latecomers"], json!([latecomer.registration]));
    assert_eq!(record.body["papers"], json!(10));
    assert_eq!(record.body["exposure_limit"], json!(2));
    assert_attempts_re_derive(&first, &views, &record.body).await;
}

#[tokio::test]
async fn staff_may_draw_the_papers_before_the_first_start() {
    let app = TestApp::spawn().await;
    let sitting = Sitting::open(&app).await;
    let path = format!("/api/v1/sittings/{}/papers", sitting.id);
    // Nothing to draw without candidates.
    app.post(&path, Some(&sitting.admin), &json!({}))
        .await
        .assert_error(StatusCode::CONFLICT, "no_registrations");
    let mut candidates = Vec::new();
    for index in 0..6 {
        candidates.push(sitting.register(&app, index).await);
    }
    let auditor = app
        .post(
            "/api/v1/staff",
            Some(&sitting.admin),
            &json!({"username": "expaudit", "password": "expaudit password 12", "role": "auditor"}),
        )
        .await;
    expect(&auditor, StatusCode::CREATED, "auditor");
    // An auditor reads the record but does not draw.
    let auditor = app.token("expaudit", "expaudit password 12").await;
    app.post(&path, Some(&auditor), &json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let drawn = app.post(&path, Some(&sitting.admin), &json!({})).await;
    expect(&drawn, StatusCode::CREATED, "draw");
    assert_eq!(drawn.body["papers"], json!(6));
    assert_eq!(drawn.body["first_papers"], json!(6));
    assert!(drawn.body.get("secret").is_none(), "{}", drawn.body);
    let again = app.post(&path, Some(&sitting.admin), &json!({})).await;
    expect(&again, StatusCode::OK, "draw again");
    assert_eq!(again.body["drawn_at"], drawn.body["drawn_at"]);
    let views = start_all(&[&app], &candidates).await;
    let record = app.get(&format!("{path}/record"), Some(&auditor)).await;
    expect(&record, StatusCode::OK, "record");
    assert_ne!(record.body["drawn_by"], json!("system"));
    assert_attempts_re_derive(&app, &views, &record.body).await;
}
