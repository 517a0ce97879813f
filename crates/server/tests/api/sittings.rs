//! Sittings, rooms, registration and candidate sessions over HTTP (CONTRACT section 3), and
//! the fixture other tests build their exams on: [`open_sitting_with_candidates`].

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xcert_server::identity::resident_id_check_character;
use xcert_server::storage::AuditEntry;
use xcert_server::storage::sittings::RetakeBan;

use crate::helpers::{Reply, TestApp};

/// A small bank of certificate `code`, junior level, version `version`: 12 single, 4
/// multiple, 8 true/false, 4 fill-in, 4 numeric and 4 short-answer items, one point each,
/// difficulties between 0.5 and 0.7 (so every paper drawn from it is fair at once).
pub(crate) fn fixture_bank(code: &str, version: &str) -> String {
    use std::fmt::Write as _;
    let mut toml = format!(
        "[bank]\nformat = 1\ncertificate = \"{code}\"\nlevel = \"junior\"\nversion = \"{version}\"\n\
         title = \"Fixture bank {code}\"\n\n[[knowledge_point]]\nid = \"basics\"\ntitle = \"Basics\"\n"
    );
    let mut item = |number: usize, kind: &str, body: &str| {
        let difficulty = 0.5 + 0.2 * ((number * 7) % 10) as f64 / 10.0;
        let _ = write!(
            toml,
            "\n[[item]]\nid = \"{code}-{number:03}\"\ntype = \"{kind}\"\nknowledge_point = \"basics\"\n\
             difficulty = {difficulty:.2}\npoints = 1\n{body}\n"
        );
    };
    let mut number = 0;
    for _ in 0..12 {
        number += 1;
        item(
            number,
            "single",
            &format!(
                "stem = \"Single choice question {number}\"\noptions = [{{ id = \"A\", text = \"right\" }}, {{ id = \"B\", text = \"wrong\" }}, {{ id = \"C\", text = \"also wrong\" }}]\nanswer = \"A\""
            ),
        );
    }
    for _ in 0..4 {
        number += 1;
        item(
            number,
            "multiple",
            &format!(
                "stem = \"Multiple choice question {number}\"\noptions = [{{ id = \"A\", text = \"right\" }}, {{ id = \"B\", text = \"wrong\" }}, {{ id = \"C\", text = \"right too\" }}]\nanswer = [\"A\", \"C\"]"
            ),
        );
    }
    for _ in 0..8 {
        number += 1;
        item(
            number,
            "true_false",
            &format!("stem = \"Statement {number} is true.\"\nanswer = true"),
        );
    }
    for _ in 0..4 {
        number += 1;
        item(
            number,
            "fill_blank",
            &format!(
                "stem = \"Question {number}: the answer is ___.\"\nanswer = [[\"yes\", \"Yes\"]]"
            ),
        );
    }
    for _ in 0..4 {
        number += 1;
        item(
            number,
            "numeric",
            &format!(
                "stem = \"Question {number}: what is pi?\"\nanswer = {{ value = 3.14, tolerance = 0.01 }}"
            ),
        );
    }
    for _ in 0..4 {
        number += 1;
        item(
            number,
            "short_answer",
            &format!(
                "stem = \"Question {number}: name the markup language of the web.\"\nanswer = [\"HTML\", \"html\"]"
            ),
        );
    }
    toml
}

/// A blueprint for [`fixture_bank`]: 3 single, 1 multiple, 2 true/false, 1 fill-in, 1 numeric
/// and 1 short-answer item, 9 points, 60 minutes. `singles` changes the single-choice count
/// (more than 12 is infeasible for the bank).
pub(crate) fn fixture_blueprint(singles: u32) -> String {
    let total = singles + 6;
    format!(
        r#"format = 1
title = "Fixture paper"
duration_minutes = 60
total_points = {total}
pass_score = 1

[fairness]
tolerance = 0.2

[exposure]
max_rate = 0.25

[[section]]
id = "choice"
title = "Choice"

[[section.rule]]
type = "single"
count = {singles}

[[section.rule]]
type = "multiple"
count = 1

[[section.rule]]
type = "true_false"
count = 2

[[section]]
id = "written"
title = "Written"
shuffle_items = false

[[section.rule]]
type = "fill_blank"
count = 1

[[section.rule]]
type = "numeric"
count = 1

[[section.rule]]
type = "short_answer"
count = 1
"#
    )
}

/// A valid mainland resident ID number, different for every `serial`.
pub(crate) fn resident_id(serial: u32) -> String {
    let year = 1990 + (serial / 1000) % 20;
    let day = 1 + (serial / 100) % 28;
    let first_17 = format!("110105{year}03{day:02}{:03}", serial % 1000);
    let mut digits = [0_u8; 17];
    for (slot, byte) in digits.iter_mut().zip(first_17.bytes()) {
        *slot = byte - b'0';
    }
    format!("{first_17}{}", resident_id_check_character(&digits))
}

/// One registered candidate of a fixture.
#[derive(Debug, Clone)]
pub(crate) struct FixtureCandidate {
    pub(crate) ticket: String,
    pub(crate) id_number: String,
    pub(crate) name: String,
    pub(crate) registration: String,
    pub(crate) person: String,
}

/// An exam ready to sit: organization, certificate, bank, sitting open now, an exam site
/// taking part, registered candidates, and staff tokens.
#[derive(Debug, Clone)]
pub(crate) struct ExamFixture {
    /// The admin's token.
    pub(crate) admin: String,
    pub(crate) organization: String,
    /// Token of a staff member of the organization (role `org`).
    pub(crate) org_token: String,
    pub(crate) certificate: String,
    pub(crate) certificate_code: String,
    pub(crate) bank_version: String,
    pub(crate) sitting: String,
    /// The sitting as created (`GET /sittings/{id}` view).
    pub(crate) sitting_view: Value,
    pub(crate) site: String,
    /// Token of the site's desk (role `site`).
    pub(crate) site_token: String,
    pub(crate) candidates: Vec<FixtureCandidate>,
}

/// Uploads a native TOML bank as `token` and returns the reply.
pub(crate) async fn upload_bank(
    app: &TestApp,
    token: &str,
    organization: &str,
    toml: &str,
) -> Reply {
    let response = app
        .client
        .post(format!(
            "{}/api/v1/organizations/{organization}/banks",
            app.base
        ))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/toml")
        .body(toml.to_owned())
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let bytes = response.bytes().await.expect("a body");
    Reply {
        status,
        headers: reqwest::header::HeaderMap::new(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn rfc3339_from_now(seconds: i64) -> String {
    let now = jiff::Timestamp::now().as_second();
    jiff::Timestamp::from_second(now + seconds)
        .expect("in range")
        .to_string()
}

fn id_of(reply: &Reply) -> String {
    reply.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id in {} {}", reply.status, reply.body))
        .to_owned()
}

/// Builds an exam (see [`ExamFixture`]) with `n` registered candidates. The sitting opened a
/// minute ago and closes in two hours, with 3600 s per attempt; `adjust` may change the
/// `POST /organizations/{id}/sittings` body before it is sent (another duration, window,
/// blueprint, ...).
pub(crate) async fn open_sitting_with_candidates(
    app: &TestApp,
    n: usize,
    adjust: impl FnOnce(&mut Value),
) -> ExamFixture {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let admin = app.admin_token().await;
    let organization = app
        .create_organization(&admin, &format!("ORG{serial}"))
        .await;
    let org_user = format!("org{serial}.staff");
    let reply = app
        .create_staff(&admin, &organization, &org_user, "org")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let org_token = app
        .token(&org_user, &format!("{org_user} password 12"))
        .await;
    let certificate_code = format!("FIX{serial}");
    let reply = app
        .post(
            &format!("/api/v1/organizations/{organization}/certificates"),
            Some(&org_token),
            &json!({"code": certificate_code, "level": "junior", "title": "Fixture certificate", "credits": 2}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let certificate = id_of(&reply);
    let reply = upload_bank(
        app,
        &org_token,
        &organization,
        &fixture_bank(&certificate_code, "1"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let bank_version = id_of(&reply);
    let reply = app
        .post(
            "/api/v1/sites",
            Some(&admin),
            &json!({"code": format!("SITE{serial}"), "name": "Fixture School"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let site = id_of(&reply);
    let desk_user = format!("site{serial}.desk");
    let reply = app
        .post(
            &format!("/api/v1/sites/{site}/staff"),
            Some(&admin),
            &json!({"username": desk_user, "password": format!("{desk_user} password 12"), "role": "site"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let site_token = app
        .token(&desk_user, &format!("{desk_user} password 12"))
        .await;
    let mut body = json!({
        "certificate": certificate,
        "bank_version": bank_version,
        "title": format!("Fixture sitting {serial}"),
        "blueprint": fixture_blueprint(3),
        "opens_at": rfc3339_from_now(-60),
        "closes_at": rfc3339_from_now(7200),
        "duration_secs": 3600,
        "sites": [site],
    });
    adjust(&mut body);
    let reply = app
        .post(
            &format!("/api/v1/organizations/{organization}/sittings"),
            Some(&org_token),
            &body,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let sitting = id_of(&reply);
    let sitting_view = reply.body;
    let mut candidates = Vec::with_capacity(n);
    for index in 0..n {
        let id_number = resident_id(u32::try_from(serial * 10_000 + index as u64).unwrap_or(0));
        let name = format!("Candidate {serial}-{index}");
        let reply = app
            .post(
                &format!("/api/v1/sittings/{sitting}/registrations"),
                Some(&site_token),
                &json!({"id_number": id_number, "name": name, "class": format!("CLASS-{}", index % 2)}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        candidates.push(FixtureCandidate {
            ticket: reply.body["ticket"].as_str().expect("a ticket").to_owned(),
            id_number,
            name,
            registration: reply.body["registration"]
                .as_str()
                .expect("a registration")
                .to_owned(),
            person: reply.body["person"].as_str().expect("a person").to_owned(),
        });
    }
    ExamFixture {
        admin,
        organization,
        org_token,
        certificate,
        certificate_code,
        bank_version,
        sitting,
        sitting_view,
        site,
        site_token,
        candidates,
    }
}

/// Logs a candidate in and returns the reply.
pub(crate) async fn candidate_login(app: &TestApp, ticket: &str, id_number: &str) -> Reply {
    app.post(
        "/api/v1/candidate/sessions",
        None,
        &json!({"ticket": ticket, "id_number": id_number}),
    )
    .await
}

/// Logs a fixture candidate in and returns the token, failing the test if login fails.
pub(crate) async fn candidate_token(app: &TestApp, candidate: &FixtureCandidate) -> String {
    let reply = candidate_login(app, &candidate.ticket, &candidate.id_number).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["token"].as_str().expect("a token").to_owned()
}

fn registration_path(exam: &ExamFixture) -> String {
    format!("/api/v1/sittings/{}/registrations", exam.sitting)
}

#[tokio::test]
async fn a_sitting_is_created_with_its_window_and_read_back_without_its_secret() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 0, |body| {
        body["late_entry_secs"] = json!(600);
    })
    .await;
    let view = &exam.sitting_view;
    assert_eq!(view["certificate"], exam.certificate.as_str());
    assert_eq!(view["certificate_code"], exam.certificate_code.as_str());
    assert_eq!(view["level"], "junior");
    assert_eq!(view["bank_version"], exam.bank_version.as_str());
    assert_eq!(view["duration_secs"], 3600);
    assert_eq!(view["sites"], json!([exam.site]));
    assert_eq!(view["blueprint_hash"].as_str().map(str::len), Some(64));
    let opens = view["opens_at"]
        .as_str()
        .expect("opens_at")
        .parse::<jiff::Timestamp>()
        .expect("RFC 3339");
    let cutoff = view["late_entry_until"]
        .as_str()
        .expect("late_entry_until")
        .parse::<jiff::Timestamp>()
        .expect("RFC 3339");
    assert_eq!(cutoff.as_second() - opens.as_second(), 600);
    let cst = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
    assert_eq!(
        view["exam_date"],
        opens.to_zoned(cst).date().to_string().as_str()
    );
    assert!(view.get("secret").is_none());

    for token in [&exam.admin, &exam.org_token, &exam.site_token] {
        let reply = app
            .get(&format!("/api/v1/sittings/{}", exam.sitting), Some(token))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["id"], exam.sitting.as_str());
        assert!(reply.body.get("secret").is_none());
        assert!(!reply.body.to_string().contains("secret"));
    }
    let listed = app
        .get(
            &format!("/api/v1/organizations/{}/sittings", exam.organization),
            Some(&exam.org_token),
        )
        .await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.body
    );
    let listed = app
        .get(
            &format!("/api/v1/sites/{}/sittings", exam.site),
            Some(&exam.site_token),
        )
        .await;
    assert_eq!(
        listed.body[0]["id"],
        exam.sitting.as_str(),
        "{}",
        listed.body
    );

    let storage = app.storage().await;
    let stored = storage
        .sitting(&exam.sitting)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.secret.len(), 64);
    assert!(stored.secret.bytes().all(|byte| byte.is_ascii_hexdigit()));
    let audit = storage.audit_log(50).await.expect("audit");
    assert!(audit.iter().any(|entry| entry.action == "sitting.create"
        && entry.object == format!("sitting:{}", exam.sitting)));
}

#[tokio::test]
async fn a_late_entry_longer_than_the_window_stops_at_the_close_and_the_default_is_fifteen_minutes()
{
    let app = TestApp::spawn().await;
    let capped = open_sitting_with_candidates(&app, 0, |body| {
        body["late_entry_secs"] = json!(86_400);
    })
    .await;
    let view = &capped.sitting_view;
    assert_eq!(view["late_entry_until"], view["closes_at"]);
    let default = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let view = &default.sitting_view;
    let seconds = |key: &str| {
        view[key]
            .as_str()
            .expect("a time")
            .parse::<jiff::Timestamp>()
            .expect("RFC 3339")
            .as_second()
    };
    assert_eq!(seconds("late_entry_until") - seconds("opens_at"), 900);
}

#[tokio::test]
async fn an_infeasible_blueprint_is_refused_with_the_reasons_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let path = format!("/api/v1/organizations/{}/sittings", exam.organization);
    let mut body = exam_body(&exam);
    body["blueprint"] = json!(fixture_blueprint(20));
    let reply = app.post(&path, Some(&exam.org_token), &body).await;
    let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "infeasible_blueprint");
    assert!(message.contains("single"), "{message}");
    let reasons = reply.body["error"]["reasons"].as_array().expect("reasons");
    assert!(!reasons.is_empty());
    assert!(
        reasons.iter().all(|reason| reason["message"].is_string()
            && reason["kind"].is_string()
            && reason["lines"].is_array()),
        "{reasons:?}"
    );

    body["blueprint"] = json!("format = 1\ntitle = \"broken\"\n[[section]]\nid = 7\n");
    let reply = app.post(&path, Some(&exam.org_token), &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_blueprint");
    assert!(reply.body["error"]["errors"].is_array(), "{}", reply.body);

    let listed = app.get(&path, Some(&exam.org_token)).await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.body
    );
}

/// A change to a request body, for tables of refusal cases.
type BodyChange<'a> = Box<dyn Fn(&mut Value) + 'a>;

/// The creation body of a second sitting like the fixture's.
fn exam_body(exam: &ExamFixture) -> Value {
    json!({
        "certificate": exam.certificate,
        "bank_version": exam.bank_version,
        "title": "Another sitting",
        "blueprint": fixture_blueprint(3),
        "opens_at": rfc3339_from_now(3600),
        "closes_at": rfc3339_from_now(3 * 3600),
        "duration_secs": 3600,
        "sites": [exam.site],
    })
}

#[tokio::test]
async fn a_sitting_with_a_bad_window_another_organizations_bank_or_an_unknown_site_is_refused() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let other = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let path = format!("/api/v1/organizations/{}/sittings", exam.organization);
    let cases: Vec<(&str, BodyChange<'_>)> = vec![
        (
            "closes_at must be after opens_at",
            Box::new(|body| body["closes_at"] = json!(rfc3339_from_now(1800))),
        ),
        (
            "must be more than 0 and fit the window",
            Box::new(|body| body["duration_secs"] = json!(3 * 3600)),
        ),
        (
            "is not an RFC 3339 time",
            Box::new(|body| body["opens_at"] = json!("tomorrow morning")),
        ),
        (
            "closes_at is in the past",
            Box::new(|body| {
                body["opens_at"] = json!(rfc3339_from_now(-7200));
                body["closes_at"] = json!(rfc3339_from_now(-3600));
                body["duration_secs"] = json!(600);
            }),
        ),
        (
            "is not a bank version of organization",
            Box::new(|body| body["bank_version"] = json!(other.bank_version)),
        ),
        (
            "is not a certificate of organization",
            Box::new(|body| body["certificate"] = json!(other.certificate)),
        ),
        (
            "does not exist",
            Box::new(|body| body["sites"] = json!(["no-such-site"])),
        ),
    ];
    for (expected, change) in cases {
        let mut body = exam_body(&exam);
        change(&mut body);
        let reply = app.post(&path, Some(&exam.org_token), &body).await;
        let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // Another organization's staff cannot even see this organization.
    let reply = app
        .post(&path, Some(&other.org_token), &exam_body(&exam))
        .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    let reply = app
        .get(
            &format!("/api/v1/sittings/{}", exam.sitting),
            Some(&other.org_token),
        )
        .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    // Unknown fields are refused, not ignored.
    let mut body = exam_body(&exam);
    body["secret"] = json!("00");
    let reply = app.post(&path, Some(&exam.org_token), &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
}

#[tokio::test]
async fn registration_issues_an_unguessable_unique_ticket_and_one_person_across_sittings() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 6, |_| {}).await;
    let mut tickets: Vec<&str> = exam.candidates.iter().map(|c| c.ticket.as_str()).collect();
    for ticket in &tickets {
        assert_eq!(ticket.len(), 23, "{ticket}");
        let symbols: String = ticket.split('-').collect();
        assert_eq!(symbols.len(), 20);
        assert!(
            symbols
                .bytes()
                .all(|byte| byte.is_ascii_digit() || byte.is_ascii_uppercase())
                && !symbols.contains(['0', 'O', '1', 'I']),
            "{ticket}"
        );
    }
    tickets.sort_unstable();
    tickets.dedup();
    assert_eq!(tickets.len(), 6);

    // A second sitting of the same organization: the same ID number typed differently is the
    // same person.
    let path = format!("/api/v1/organizations/{}/sittings", exam.organization);
    let reply = app
        .post(&path, Some(&exam.org_token), &exam_body(&exam))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let second = id_of(&reply);
    let first = &exam.candidates[0];
    let typed = format!(
        " {} {} ",
        &first.id_number[..6],
        first.id_number[6..].to_lowercase()
    );
    let reply = app
        .post(
            &format!("/api/v1/sittings/{second}/registrations"),
            Some(&exam.site_token),
            &json!({"id_number": typed, "name": first.name}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["person"], first.person.as_str());
    assert_ne!(reply.body["ticket"], first.ticket.as_str());

    // The desk's list shows names, tickets and masked ID numbers.
    let listed = app
        .get(&registration_path(&exam), Some(&exam.site_token))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let rows = listed.body.as_array().expect("a list");
    assert_eq!(rows.len(), 6);
    let row = rows
        .iter()
        .find(|row| row["ticket"] == first.ticket.as_str())
        .expect("the first candidate");
    let expected_mask = format!(
        "{}**********{}",
        &first.id_number[..4],
        &first.id_number[14..]
    );
    assert_eq!(row["id_number"], expected_mask.as_str());
    assert_eq!(row["name"], first.name.as_str());
    assert!(!listed.body.to_string().contains(&first.id_number));
}

#[tokio::test]
async fn every_registration_refusal_has_its_code_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 1, |_| {}).await;
    let path = registration_path(&exam);
    let registered = &exam.candidates[0];

    // A typo in the check character names the expected one.
    let mut typo = resident_id(4242);
    let last = typo.pop().expect("a check character");
    typo.push(if last == '0' { '1' } else { '0' });
    let reply = app
        .post(
            &path,
            Some(&exam.site_token),
            &json!({"id_number": typo, "name": "Typo"}),
        )
        .await;
    let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id_number");
    assert!(message.contains("check character"), "{message}");

    let reply = app
        .post(
            &path,
            Some(&exam.site_token),
            &json!({"id_number": "12345", "name": "Short"}),
        )
        .await;
    let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id_number");
    assert!(message.contains("18 characters"), "{message}");

    // The same person twice.
    let reply = app
        .post(
            &path,
            Some(&exam.site_token),
            &json!({"id_number": registered.id_number, "name": registered.name}),
        )
        .await;
    reply.assert_error(StatusCode::CONFLICT, "already_registered");

    // A room of the site, full after its capacity.
    let rooms = format!("/api/v1/sittings/{}/rooms", exam.sitting);
    let reply = app
        .post(
            &rooms,
            Some(&exam.site_token),
            &json!({"code": "A-101", "capacity": 1}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let reply = app
        .post(
            &path,
            Some(&exam.site_token),
            &json!({"id_number": resident_id(7001), "name": "Seated", "room": "A-101"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["room"], "A-101");
    let reply = app
        .post(
            &path,
            Some(&exam.site_token),
            &json!({"id_number": resident_id(7002), "name": "Standing", "room": "A-101"}),
        )
        .await;
    reply.assert_error(StatusCode::CONFLICT, "room_full");
    let reply = app
        .post(
            &path,
            Some(&exam.site_token),
            &json!({"id_number": resident_id(7002), "name": "Lost", "room": "Z-999"}),
        )
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");

    // A retake ban (written by result publication; here straight into storage) past the
    // next sitting's date refuses with its end.
    let storage = app.storage().await;
    let audit = AuditEntry {
        actor: "test".to_owned(),
        at: 0,
        action: "retake_ban.create".to_owned(),
        object: "retake_ban:test".to_owned(),
        payload_sha256: "0".repeat(64),
    };
    let reply = app
        .post(
            &path,
            Some(&exam.site_token),
            &json!({"id_number": resident_id(8001), "name": "Banned Later"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let ban = RetakeBan {
        id: "ban-1".to_owned(),
        person_id: reply.body["person"].as_str().expect("person").to_owned(),
        certificate_code: exam.certificate_code.clone(),
        level: "junior".to_owned(),
        sitting_id: exam.sitting.clone(),
        until: "2099-06-06".to_owned(),
        reason: "bottom 10%".to_owned(),
        created_at: 0,
    };
    storage
        .insert_retake_ban(&ban, &audit)
        .await
        .expect("a ban");
    let path_second = {
        let reply = app
            .post(
                &format!("/api/v1/organizations/{}/sittings", exam.organization),
                Some(&exam.org_token),
                &exam_body(&exam),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        format!("/api/v1/sittings/{}/registrations", id_of(&reply))
    };
    let reply = app
        .post(
            &path_second,
            Some(&exam.site_token),
            &json!({"id_number": resident_id(8001), "name": "Banned Later"}),
        )
        .await;
    reply.assert_error(StatusCode::FORBIDDEN, "retake_banned");
    assert_eq!(reply.body["error"]["until"], "2099-06-06");

    // Nothing of the refused registrations was written.
    let listed = app
        .get(&registration_path(&exam), Some(&exam.site_token))
        .await;
    let names: Vec<&str> = listed
        .body
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|row| row["name"].as_str())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for refused in ["Typo", "Short", "Standing", "Lost"] {
        assert!(!names.contains(&refused), "{names:?}");
    }
    let listed = app.get(&path_second, Some(&exam.site_token)).await;
    assert_eq!(listed.body, json!([]));
}

#[tokio::test]
async fn a_ban_that_ends_on_or_before_the_exam_date_or_was_for_another_certificate_does_not_refuse()
{
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 2, |_| {}).await;
    let storage = app.storage().await;
    let audit = AuditEntry {
        actor: "test".to_owned(),
        at: 0,
        action: "retake_ban.create".to_owned(),
        object: "retake_ban:test".to_owned(),
        payload_sha256: "0".repeat(64),
    };
    let exam_date = exam.sitting_view["exam_date"]
        .as_str()
        .expect("exam date")
        .to_owned();
    let bans = [
        (
            &exam.candidates[0],
            exam.certificate_code.clone(),
            exam_date,
        ),
        (
            &exam.candidates[1],
            "OTHER-CERT".to_owned(),
            "2099-01-01".to_owned(),
        ),
    ];
    for (index, (candidate, code, until)) in bans.iter().enumerate() {
        let ban = RetakeBan {
            id: format!("ban-{index}"),
            person_id: candidate.person.clone(),
            certificate_code: code.clone(),
            level: "junior".to_owned(),
            sitting_id: exam.sitting.clone(),
            until: until.clone(),
            reason: "bottom 10%".to_owned(),
            created_at: 0,
        };
        storage
            .insert_retake_ban(&ban, &audit)
            .await
            .expect("a ban");
    }
    let reply = app
        .post(
            &format!("/api/v1/organizations/{}/sittings", exam.organization),
            Some(&exam.org_token),
            &json!({
                "certificate": exam.certificate,
                "bank_version": exam.bank_version,
                "title": "Same day",
                "blueprint": fixture_blueprint(3),
                "opens_at": exam.sitting_view["opens_at"],
                "closes_at": exam.sitting_view["closes_at"],
                "sites": [exam.site],
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["exam_date"], exam.sitting_view["exam_date"]);
    let path = format!("/api/v1/sittings/{}/registrations", id_of(&reply));
    for candidate in &exam.candidates {
        let reply = app
            .post(
                &path,
                Some(&exam.site_token),
                &json!({"id_number": candidate.id_number, "name": candidate.name}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
}

#[tokio::test]
async fn registration_after_the_close_is_refused() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 0, |body| {
        body["opens_at"] = json!(rfc3339_from_now(-3600));
        body["closes_at"] = json!(rfc3339_from_now(3));
        body["duration_secs"] = json!(60);
    })
    .await;
    // Wait for the close by the server's own clock, not by sleeping a guessed time.
    let closes_at = exam.sitting_view["closes_at"]
        .as_str()
        .expect("closes_at")
        .parse::<jiff::Timestamp>()
        .expect("RFC 3339");
    loop {
        let time = app.get("/api/v1/time", None).await;
        let now = time.body["server_time"]
            .as_str()
            .expect("server time")
            .parse::<jiff::Timestamp>()
            .expect("RFC 3339");
        if now > closes_at {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let reply = app
        .post(
            &registration_path(&exam),
            Some(&exam.site_token),
            &json!({"id_number": resident_id(9001), "name": "Too Late"}),
        )
        .await;
    reply.assert_error(StatusCode::CONFLICT, "registration_closed");
}

#[tokio::test]
async fn only_a_participating_sites_desk_registers_and_for_its_own_site_and_an_admin_names_the_site()
 {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let other = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let path = registration_path(&exam);
    let body = json!({"id_number": resident_id(5001), "name": "Wrong Desk"});
    // The other site does not take part: the sitting does not exist for its desk.
    let reply = app.post(&path, Some(&other.site_token), &body).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    let reply = app.get(&path, Some(&other.site_token)).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    // An admin must name a site, and one that takes part.
    let reply = app.post(&path, Some(&exam.admin), &body).await;
    let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert!(message.contains("site"), "{message}");
    let mut named = body.clone();
    named["site"] = json!(other.site);
    let reply = app.post(&path, Some(&exam.admin), &named).await;
    let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert!(message.contains("does not take part"), "{message}");

    // Once the organization adds the other site, its desk registers for its own site only.
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/sites", exam.sitting),
            Some(&exam.org_token),
            &json!({"site": other.site}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/sites", exam.sitting),
            Some(&exam.org_token),
            &json!({"site": other.site}),
        )
        .await;
    reply.assert_error(StatusCode::CONFLICT, "conflict");
    let mut foreign = body.clone();
    foreign["site"] = json!(exam.site);
    let reply = app.post(&path, Some(&other.site_token), &foreign).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let reply = app.post(&path, Some(&other.site_token), &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["site"], other.site.as_str());
    let reply = app.post(&path, Some(&exam.admin), &named).await;
    reply.assert_error(StatusCode::CONFLICT, "already_registered");

    // Each desk lists its own site's candidates; the organization sees all.
    let mine = app.get(&path, Some(&exam.site_token)).await;
    assert_eq!(mine.body, json!([]));
    let theirs = app.get(&path, Some(&other.site_token)).await;
    assert_eq!(theirs.body.as_array().map(Vec::len), Some(1));
    let all = app.get(&path, Some(&exam.org_token)).await;
    assert_eq!(all.body.as_array().map(Vec::len), Some(1));
    // A room named by the other desk is not a room of this desk's site.
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/rooms", exam.sitting),
            Some(&other.site_token),
            &json!({"code": "B-1", "capacity": 30}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let reply = app
        .post(
            &path,
            Some(&exam.site_token),
            &json!({"id_number": resident_id(5002), "name": "Roomless", "room": "B-1"}),
        )
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let rooms = app
        .get(
            &format!("/api/v1/sittings/{}/rooms", exam.sitting),
            Some(&exam.site_token),
        )
        .await;
    assert_eq!(rooms.body, json!([]));
    let rooms = app
        .get(
            &format!("/api/v1/sittings/{}/rooms", exam.sitting),
            Some(&exam.admin),
        )
        .await;
    assert_eq!(rooms.body.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_candidate_logs_in_with_ticket_and_id_number_and_logs_out() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 2, |_| {}).await;
    let candidate = &exam.candidates[0];
    // The ticket in lower case without dashes and the ID number with a lower-case x work.
    let typed_ticket = candidate.ticket.replace('-', "").to_lowercase();
    let reply = candidate_login(&app, &typed_ticket, &candidate.id_number.to_lowercase()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["token"].as_str().expect("a token").to_owned();
    let expires = reply.body["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse::<jiff::Timestamp>()
        .expect("RFC 3339");
    let closes = exam.sitting_view["closes_at"]
        .as_str()
        .expect("closes_at")
        .parse::<jiff::Timestamp>()
        .expect("RFC 3339");
    assert!(expires.as_second() <= closes.as_second() + 3600);

    let me = app.get("/api/v1/candidate/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["registration"], candidate.registration.as_str());
    assert_eq!(me.body["name"], candidate.name.as_str());
    assert_eq!(me.body["sitting"]["id"], exam.sitting.as_str());
    assert!(!me.body.to_string().contains(&candidate.id_number));

    // A second login (another device) is a session of its own.
    let second = candidate_token(&app, candidate).await;
    let reply = app
        .request(
            Method::DELETE,
            "/api/v1/candidate/sessions/current",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let me = app.get("/api/v1/candidate/me", Some(&token)).await;
    me.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let me = app.get("/api/v1/candidate/me", Some(&second)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);

    let storage = app.storage().await;
    let audit = storage.audit_log(50).await.expect("audit");
    let actor = format!("registration:{}", candidate.registration);
    assert!(
        audit
            .iter()
            .any(|entry| entry.actor == actor && entry.action == "candidate_session.create")
    );
    assert!(
        audit
            .iter()
            .any(|entry| entry.actor == actor && entry.action == "candidate_session.revoke")
    );
}

#[tokio::test]
async fn a_wrong_pair_gets_the_same_answer_whether_the_ticket_or_the_number_is_wrong() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 2, |_| {}).await;
    let (first, second) = (&exam.candidates[0], &exam.candidates[1]);
    let unknown_ticket = {
        let mut symbols: Vec<char> = first.ticket.chars().collect();
        symbols[0] = if symbols[0] == 'A' { 'B' } else { 'A' };
        symbols.into_iter().collect::<String>()
    };
    let attempts = [
        (first.ticket.as_str(), second.id_number.as_str()),
        (unknown_ticket.as_str(), first.id_number.as_str()),
        ("not a ticket", first.id_number.as_str()),
        (first.ticket.as_str(), "garbage"),
    ];
    let mut messages = Vec::new();
    for (ticket, id_number) in attempts {
        let reply = candidate_login(&app, ticket, id_number).await;
        messages.push(reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials"));
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let reply = app
        .post(
            "/api/v1/candidate/sessions",
            None,
            &json!({"ticket": first.ticket}),
        )
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
}

#[tokio::test]
async fn candidate_logins_are_rate_limited_per_ticket() {
    let app = TestApp::spawn_with(|config| config.login_burst = 3).await;
    let exam = open_sitting_with_candidates(&app, 2, |_| {}).await;
    let (first, second) = (&exam.candidates[0], &exam.candidates[1]);
    for _ in 0..3 {
        let reply = candidate_login(&app, &first.ticket, "110105199003010001").await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // Even the right number waits now: the bucket is empty.
    let reply = candidate_login(&app, &first.ticket, &first.id_number).await;
    reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(reply.headers.get("retry-after").is_some());
    // The same ticket typed differently shares the bucket.
    let typed = first.ticket.to_lowercase();
    let reply = candidate_login(&app, &typed, &first.id_number).await;
    reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    // Another ticket is not affected.
    let reply = candidate_login(&app, &second.ticket, &second.id_number).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn a_candidate_token_is_refused_on_staff_routes_and_a_staff_token_on_candidate_routes() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 1, |_| {}).await;
    let candidate = candidate_token(&app, &exam.candidates[0]).await;
    for path in [
        format!("/api/v1/sittings/{}", exam.sitting),
        registration_path(&exam),
        "/api/v1/staff/me".to_owned(),
        "/api/v1/organizations".to_owned(),
    ] {
        let reply = app.get(&path, Some(&candidate)).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    for staff in [&exam.admin, &exam.site_token, &exam.org_token] {
        let reply = app.get("/api/v1/candidate/me", Some(staff)).await;
        let message = reply.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert!(message.contains("staff token"), "{message}");
        let reply = app
            .request(
                Method::DELETE,
                "/api/v1/candidate/sessions/current",
                Some(staff),
                None,
            )
            .await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    // The staff session is untouched by the refused candidate logout.
    let reply = app.get("/api/v1/staff/me", Some(&exam.site_token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// Sends the same kind of registration `bodies.len()` times at once and returns each
/// answer's status and error code (`None` for a success).
async fn register_at_once(
    app: &TestApp,
    path: &str,
    token: &str,
    bodies: Vec<Value>,
) -> Vec<(StatusCode, Option<String>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for body in bodies {
        let request = app
            .client
            .post(format!("{}{path}", app.base))
            .bearer_auth(token)
            .json(&body);
        tasks.spawn(async move {
            let response = request.send().await.expect("the server answers");
            let status = response.status();
            let body: Value = response.json().await.expect("a JSON body");
            let code = body["error"]["code"].as_str().map(str::to_owned);
            (status, code)
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.expect("the task finishes"));
    }
    answers
}

#[tokio::test]
async fn concurrent_registrations_never_overfill_a_room_nor_register_one_person_twice() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/rooms", exam.sitting),
            Some(&exam.site_token),
            &json!({"code": "LAB-1", "capacity": 3}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let path = registration_path(&exam);

    // Ten people race for three seats.
    let bodies = (0..10)
        .map(|index| {
            json!({"id_number": resident_id(6000 + index), "name": format!("Racer {index}"), "room": "LAB-1"})
        })
        .collect();
    let answers = register_at_once(&app, &path, &exam.site_token, bodies).await;
    let seated = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    assert_eq!(seated, 3, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, code)| *status == StatusCode::CREATED
                || (*status == StatusCode::CONFLICT && code.as_deref() == Some("room_full"))),
        "{answers:?}"
    );

    // One person registered by six desks' clicks at once is registered once.
    let body = json!({"id_number": resident_id(6100), "name": "Clicked Six Times"});
    let answers = register_at_once(&app, &path, &exam.site_token, vec![body; 6]).await;
    let created = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, code)| *status == StatusCode::CREATED
                || (*status == StatusCode::CONFLICT
                    && code.as_deref() == Some("already_registered"))),
        "{answers:?}"
    );
    let listed = app.get(&path, Some(&exam.site_token)).await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(4),
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn a_candidate_of_a_sitting_closed_over_an_hour_ago_cannot_log_in() {
    let app = TestApp::spawn().await;
    let exam = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let me = app.get("/api/v1/staff/me", Some(&exam.admin)).await;
    let admin_id = me.body["id"].as_str().expect("an id").to_owned();
    // The API refuses to create a sitting in the past, so this one goes straight into storage.
    let storage = app.storage().await;
    let now = jiff::Timestamp::now().as_second();
    let mut past = storage
        .sitting(&exam.sitting)
        .await
        .expect("read")
        .expect("stored");
    past.id = "past-sitting".to_owned();
    past.opens_at = now - 6 * 3600;
    past.closes_at = now - 3601;
    past.late_entry_until = past.opens_at;
    past.duration_secs = 3600;
    let audit = AuditEntry {
        actor: admin_id.clone(),
        at: now,
        action: "sitting.create".to_owned(),
        object: "sitting:past-sitting".to_owned(),
        payload_sha256: "0".repeat(64),
    };
    storage
        .create_sitting(&past, std::slice::from_ref(&exam.site), &audit)
        .await
        .expect("a past sitting");
    let id_number = resident_id(9100);
    let person = xcert_server::storage::sittings::Person {
        id: "past-person".to_owned(),
        document_kind: "resident_id".to_owned(),
        document_number: id_number.clone(),
        name: "Too Late".to_owned(),
        created_at: now,
    };
    let registration = xcert_server::storage::sittings::Registration {
        id: "past-registration".to_owned(),
        sitting_id: past.id.clone(),
        person_id: person.id.clone(),
        site_id: exam.site.clone(),
        ticket: "ABCDE-FGHJK-LMNPQ-RSTUV".to_owned(),
        class_code: None,
        room_id: None,
        extra_time_secs: 0,
        created_by: admin_id,
        created_at: now,
    };
    let outcome = storage
        .register(&past, &person, &registration, &audit)
        .await
        .expect("registered");
    assert!(matches!(
        outcome,
        xcert_server::storage::sittings::RegistrationOutcome::Registered { .. }
    ));
    let reply = candidate_login(&app, "abcde fghjk lmnpq rstuv", &id_number).await;
    reply.assert_error(StatusCode::FORBIDDEN, "sitting_closed");
    // A wrong number still gets the answer that reveals nothing.
    let reply = candidate_login(&app, &registration.ticket, &resident_id(9101)).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}
