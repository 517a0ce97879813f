//! Results over HTTP: publication (CONTRACT section 3), the bottom-10% rule at the sizes the
//! issue names, ties, ban enforcement at the next sitting and its expiry, lifting, score
//! corrections, and the staff and candidate views.
//!
//! Most sittings here are built by [`graded_sitting`]: sitting, site, candidates and
//! registrations through the API, then each candidate's closed attempt and item scores written
//! straight into the database (a storage-level fixture: 171 candidates answering through the
//! API would cost thousands of saves without testing anything more about results). One test,
//! [`a_real_exam_is_graded_ranked_and_published_and_only_then_shown_to_its_candidates`], runs
//! the whole candidate flow through the API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xcert_server::Storage;

use crate::helpers::{Reply, TestApp};
use crate::sittings::{
    ExamFixture, candidate_token, fixture_blueprint, open_sitting_with_candidates,
};

/// A bound value for [`exec`].
enum Arg {
    Text(String),
    Int(i64),
    Null,
}

fn text(value: &str) -> Arg {
    Arg::Text(value.to_owned())
}

/// Runs one statement on the test server's database.
async fn exec(storage: &Storage, sql: &str, args: &[Arg]) {
    macro_rules! run {
        ($pool:expr) => {{
            let mut query = sqlx::query(sql);
            for arg in args {
                query = match arg {
                    Arg::Text(value) => query.bind(value.clone()),
                    Arg::Int(value) => query.bind(*value),
                    Arg::Null => query.bind(None::<i64>),
                };
            }
            query.execute($pool).await.expect(sql);
        }};
    }
    match storage {
        Storage::Sqlite(pool) => run!(pool),
        Storage::Postgres(pool) => run!(pool),
    }
}

/// One integer from the test server's database.
async fn scalar(storage: &Storage, sql: &str, args: &[Arg]) -> i64 {
    macro_rules! run {
        ($pool:expr) => {{
            let mut query = sqlx::query_as::<_, (i64,)>(sql);
            for arg in args {
                query = match arg {
                    Arg::Text(value) => query.bind(value.clone()),
                    Arg::Int(value) => query.bind(*value),
                    Arg::Null => query.bind(None::<i64>),
                };
            }
            query.fetch_one($pool).await.expect(sql).0
        }};
    }
    match storage {
        Storage::Sqlite(pool) => run!(pool),
        Storage::Postgres(pool) => run!(pool),
    }
}

/// The paper written with fixture attempts: an essay `Q1` of 100 points and a single `Q2`
/// of 1 point.
const PAPER: &str = r#"{"sections":[{"title":"T","multiple_scoring":"all_or_nothing","items":[{"id":"Q1","type":"essay","points":10000},{"id":"Q2","type":"single","points":100,"options":["A","B"]}]}]}"#;

/// A sitting whose late entry has passed, with one submitted attempt per total (hundredths):
/// `Q1` scores the total, `Q2` scores 0. The fixture's pass score is 1 point.
struct Graded {
    exam: ExamFixture,
    attempts: Vec<String>,
    storage: Storage,
}

async fn graded_sitting(app: &TestApp, totals: &[i64]) -> Graded {
    let exam = open_sitting_with_candidates(app, totals.len(), |_| {}).await;
    let storage = app.storage().await;
    let mut attempts = Vec::with_capacity(totals.len());
    for (index, total) in totals.iter().enumerate() {
        let rows = [("Q1", Some(*total), 10_000), ("Q2", Some(0), 100)];
        attempts.push(insert_attempt(&storage, &exam, index, &rows).await);
    }
    close_late_entry(&storage, &exam.sitting).await;
    Graded {
        exam,
        attempts,
        storage,
    }
}

/// Moves the sitting's late-entry cutoff to its opening (a minute ago): nobody may start any
/// more, as if the clock had run on.
async fn close_late_entry(storage: &Storage, sitting: &str) {
    exec(
        storage,
        "UPDATE sittings SET late_entry_until = opens_at WHERE id = $1",
        &[text(sitting)],
    )
    .await;
}

async fn publish(app: &TestApp, exam: &ExamFixture) -> Reply {
    app.post(
        &format!("/api/v1/sittings/{}/results/publish", exam.sitting),
        Some(&exam.org_token),
        &json!({}),
    )
    .await
}

async fn results(app: &TestApp, exam: &ExamFixture) -> Reply {
    app.get(
        &format!("/api/v1/sittings/{}/results", exam.sitting),
        Some(&exam.org_token),
    )
    .await
}

async fn correct(
    app: &TestApp,
    exam: &ExamFixture,
    attempt: &str,
    item: &str,
    body: &Value,
) -> Reply {
    app.request(
        Method::PUT,
        &format!(
            "/api/v1/sittings/{}/results/{attempt}/items/{item}",
            exam.sitting
        ),
        Some(&exam.org_token),
        Some(body),
    )
    .await
}

/// The attempts the results list as banned, in rank order.
fn banned_attempts(results: &Value) -> Vec<String> {
    results["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|line| line["banned"] == json!(true))
        .map(|line| line["attempt"].as_str().expect("an attempt").to_owned())
        .collect()
}

async fn count(storage: &Storage, sql: &str, sitting: &str) -> i64 {
    scalar(storage, sql, &[text(sitting)]).await
}

#[tokio::test]
async fn the_rule_bans_the_floor_of_ten_percent_at_every_size_the_issue_names() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    for (n, cut) in [
        (0_i64, 0_usize),
        (1, 0),
        (9, 0),
        (10, 1),
        (11, 1),
        (19, 1),
        (20, 2),
        (101, 10),
    ] {
        // Distinct totals, the lowest first: 0.5, 1.5, 2.5, ... points.
        let totals: Vec<i64> = (0..n).map(|index| 50 + index * 100).collect();
        let graded = graded_sitting(&app, &totals).await;
        let reply = publish(&app, &graded.exam).await;
        assert_eq!(reply.status, StatusCode::OK, "n = {n}: {}", reply.body);
        assert_eq!(reply.body, json!({"graded": n, "banned": cut}), "n = {n}");
        let listed = results(&app, &graded.exam).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        assert_eq!(listed.body["cut"], json!(cut), "n = {n}");
        let mut expected = graded.attempts[..cut].to_vec();
        expected.sort();
        let mut banned = banned_attempts(&listed.body);
        banned.sort();
        assert_eq!(banned, expected, "n = {n}");
        let bans = count(
            &graded.storage,
            "SELECT COUNT(*) FROM retake_bans WHERE sitting_id = $1 AND lifted_at IS NULL",
            &graded.exam.sitting,
        )
        .await;
        assert_eq!(bans, i64::try_from(cut).unwrap_or(0), "n = {n}");
        // Below 1 point fails: only the lowest (0.5) of each sitting.
        if n > 0 {
            let lines = listed.body["results"].as_array().expect("lines");
            let failed = lines
                .iter()
                .filter(|line| line["passed"] == json!(false))
                .count();
            assert_eq!(failed, 1, "n = {n}");
            assert_eq!(lines[0]["rank"], json!(1));
            assert_eq!(lines[lines.len() - 1]["rank"], json!(n));
        }
    }
}

#[tokio::test]
async fn ties_straddling_the_cut_ban_none_of_the_tied_and_everyone_equal_bans_nobody() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    let high: Vec<i64> = (0..16).map(|index| 5000 + index * 100).collect();
    // n = 20, cut 2: the lowest alone, then three tied across the cut.
    let mut straddling = vec![100, 900, 900, 900];
    straddling.extend(&high);
    // n = 20, cut 2: two tied at the bottom, exactly filling the cut.
    let mut filling = vec![300, 300, 900, 900];
    filling.extend(&high);
    // n = 20, cut 2: three tied at the very bottom: nobody.
    let mut bottom = vec![300, 300, 300, 900];
    bottom.extend(&high);
    for (totals, banned, what) in [
        (straddling, 1, "a tie straddling the cut"),
        (filling, 2, "a tie filling the cut"),
        (bottom, 0, "a tie larger than the cut"),
        (vec![700; 20], 0, "everyone equal"),
    ] {
        let graded = graded_sitting(&app, &totals).await;
        let reply = publish(&app, &graded.exam).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.body);
        assert_eq!(reply.body["banned"], json!(banned), "{what}");
        let listed = results(&app, &graded.exam).await;
        let expected: Vec<String> = graded.attempts[..banned].to_vec();
        let mut found = banned_attempts(&listed.body);
        found.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(found, expected, "{what}");
    }
}

#[tokio::test]
async fn publishing_again_or_from_two_places_at_once_changes_nothing() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    let totals: Vec<i64> = (0..20).map(|index| index * 100).collect();
    let graded = graded_sitting(&app, &totals).await;
    let exam = &graded.exam;
    let url = format!(
        "{}/api/v1/sittings/{}/results/publish",
        app.base, exam.sitting
    );
    let mut racers = Vec::new();
    for _ in 0..4 {
        let (client, url, token) = (app.client.clone(), url.clone(), exam.org_token.clone());
        racers.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .expect("an answer");
            (
                response.status(),
                response.json::<Value>().await.expect("JSON"),
            )
        }));
    }
    for racer in racers {
        let (status, body) = racer.await.expect("the racer ran");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"graded": 20, "banned": 2}));
    }
    let before = results(&app, exam).await.body;
    let again = publish(&app, exam).await;
    assert_eq!(again.body, json!({"graded": 20, "banned": 2}));
    assert_eq!(results(&app, exam).await.body, before);
    let storage = &graded.storage;
    for (sql, expected) in [
        ("SELECT COUNT(*) FROM results WHERE sitting_id = $1", 20),
        ("SELECT COUNT(*) FROM retake_bans WHERE sitting_id = $1", 2),
        (
            "SELECT COUNT(*) FROM audit_log WHERE action = 'results.publish' AND object = 'sitting:' || $1",
            1,
        ),
    ] {
        assert_eq!(count(storage, sql, &exam.sitting).await, expected, "{sql}");
    }
}

/// Writes a submitted fixture attempt of candidate `index` with these item score rows
/// `(item, score or None for manual grading, max)`; returns its id.
async fn insert_attempt(
    storage: &Storage,
    exam: &ExamFixture,
    index: usize,
    rows: &[(&str, Option<i64>, i64)],
) -> String {
    let candidate = &exam.candidates[index];
    let attempt = format!("att-{}", candidate.registration);
    exec(
        storage,
        "INSERT INTO attempts (id, registration_id, sitting_id, status, started_at, deadline, \
         finished_at, paper, seed, bank_version_id, bank_hash, blueprint_hash, graded_at) \
         VALUES ($1, $2, $3, 'submitted', 0, 1, 1, $4, 'seed', $5, 'hash', 'hash', 1)",
        &[
            text(&attempt),
            text(&candidate.registration),
            text(&exam.sitting),
            text(PAPER),
            text(&exam.bank_version),
        ],
    )
    .await;
    for (item, score, max) in rows {
        let (state, score) = match score {
            Some(score) => ("graded", Arg::Int(*score)),
            None => ("needs_manual", Arg::Null),
        };
        exec(
            storage,
            "INSERT INTO item_scores (attempt_id, item_id, state, score_hundredths, max_hundredths, graded_at) \
             VALUES ($1, $2, $3, $4, $5, 1)",
            &[text(&attempt), text(item), text(state), score, Arg::Int(*max)],
        )
        .await;
    }
    attempt
}

#[tokio::test]
async fn publishing_while_candidates_may_start_or_write_or_marking_is_outstanding_is_refused() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    let exam = open_sitting_with_candidates(&app, 2, |_| {}).await;
    // Late entry is open for another quarter of an hour.
    let reply = publish(&app, &exam).await;
    reply.assert_error(StatusCode::CONFLICT, "sitting_in_progress");
    assert!(reply.body["error"]["late_entry_until"].is_string());

    // One candidate is writing when late entry closes.
    let token = candidate_token(&app, &exam.candidates[0]).await;
    let started = app
        .request(Method::POST, "/api/v1/attempts", Some(&token), None)
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let storage = app.storage().await;
    close_late_entry(&storage, &exam.sitting).await;
    let reply = publish(&app, &exam).await;
    reply.assert_error(StatusCode::CONFLICT, "sitting_in_progress");
    assert_eq!(reply.body["error"]["open_attempts"], json!(1));

    // Staff end that attempt (voided: it will not count); the other candidate's essay waits
    // for manual grading.
    exec(
        &storage,
        "UPDATE attempts SET status = 'terminated', finished_at = started_at WHERE registration_id = $1",
        &[text(&exam.candidates[0].registration)],
    )
    .await;
    let attempt = insert_attempt(
        &storage,
        &exam,
        1,
        &[("Q1", None, 10_000), ("Q2", Some(100), 100)],
    )
    .await;
    let reply = publish(&app, &exam).await;
    let message = reply.assert_error(StatusCode::CONFLICT, "grading_incomplete");
    assert_eq!(reply.body["error"]["outstanding"], json!(1), "{message}");
    assert_eq!(reply.body["error"]["attempts"], json!(1));
    for sql in [
        "SELECT COUNT(*) FROM results WHERE sitting_id = $1",
        "SELECT COUNT(*) FROM retake_bans WHERE sitting_id = $1",
        "SELECT COUNT(*) FROM sittings WHERE id = $1 AND published_at IS NOT NULL",
    ] {
        assert_eq!(count(&storage, sql, &exam.sitting).await, 0, "{sql}");
    }
    results(&app, &exam)
        .await
        .assert_error(StatusCode::CONFLICT, "not_published");

    // Marking completes: now it publishes, without the terminated attempt.
    exec(
        &storage,
        "UPDATE item_scores SET state = 'graded', score_hundredths = 250 WHERE attempt_id = $1 AND item_id = 'Q1'",
        &[text(&attempt)],
    )
    .await;
    let reply = publish(&app, &exam).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, json!({"graded": 1, "banned": 0}));
    let listed = results(&app, &exam).await;
    assert_eq!(listed.body["results"][0]["total"], json!(3.5));
}

/// The label of the option whose text contains `shown`.
fn labels_with(item: &Value, shown: &str) -> Vec<Value> {
    item["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter(|option| {
            option["text"]
                .as_str()
                .is_some_and(|text| text.contains(shown))
        })
        .map(|option| option["id"].clone())
        .collect()
}

/// The right response to a fixture bank item (sittings.rs `fixture_bank`).
fn right_answer(item: &Value) -> Value {
    match item["type"].as_str().expect("a type") {
        "single" => labels_with(item, "right")[0].clone(),
        "multiple" => Value::Array(labels_with(item, "right")),
        "true_false" => json!(true),
        "fill_blank" => json!(["yes"]),
        "numeric" => json!(3.135),
        _ => json!("HTML"),
    }
}

#[tokio::test]
async fn a_real_exam_is_graded_ranked_and_published_and_only_then_shown_to_its_candidates() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    // Four candidates: three answer 9, 4 and 0 items right; the fourth never starts.
    let exam = open_sitting_with_candidates(&app, 4, |_| {}).await;
    let mut tokens = Vec::new();
    let mut attempts = Vec::new();
    for (candidate, right) in exam.candidates.iter().take(3).zip([9_usize, 4, 0]) {
        let token = candidate_token(&app, candidate).await;
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
        assert_eq!(items.len(), 9);
        for item in items.iter().take(right) {
            let id = item["id"].as_str().expect("an item id");
            let saved = app
                .request(
                    Method::PUT,
                    &format!("/api/v1/attempts/{attempt}/responses/{id}"),
                    Some(&token),
                    Some(&json!({"seq": 1, "response": right_answer(item)})),
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
        tokens.push(token);
        attempts.push(attempt);
    }
    // Before publication a candidate learns nothing, not even that scores exist.
    let early = app.get("/api/v1/candidate/result", Some(&tokens[0])).await;
    let message = early.assert_error(StatusCode::CONFLICT, "not_published");
    assert!(!early.body.to_string().contains("total"), "{message}");

    // One closed attempt has lost its scores (the grading pass has not reached it): publication
    // grades it from its responses.
    let storage = app.storage().await;
    exec(
        &storage,
        "DELETE FROM item_scores WHERE attempt_id = $1",
        &[text(&attempts[1])],
    )
    .await;
    exec(
        &storage,
        "UPDATE attempts SET graded_at = NULL WHERE id = $1",
        &[text(&attempts[1])],
    )
    .await;
    close_late_entry(&storage, &exam.sitting).await;
    let reply = publish(&app, &exam).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, json!({"graded": 3, "banned": 0}));

    let listed = results(&app, &exam).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let lines = listed.body["results"].as_array().expect("lines");
    let totals: Vec<&Value> = lines.iter().map(|line| &line["total"]).collect();
    assert_eq!(totals, [&json!(9), &json!(4), &json!(0)]);
    assert_eq!(lines[2]["passed"], json!(false));
    assert_eq!(lines[1]["passed"], json!(true));
    let id_number = lines[0]["id_number"].as_str().expect("a number");
    assert!(id_number.contains('*'), "{id_number}");
    assert_ne!(id_number, exam.candidates[0].id_number);

    let mine = app.get("/api/v1/candidate/result", Some(&tokens[1])).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["total"], json!(4));
    assert_eq!(mine.body["max"], json!(9));
    assert_eq!(mine.body["pass_score"], json!(1));
    assert_eq!(mine.body["passed"], json!(true));
    assert_eq!(mine.body["rank"], json!(2));
    assert_eq!(mine.body["of"], json!(3));
    assert_eq!(mine.body["ban"], Value::Null);
    let text_of_mine = mine.body.to_string();
    for other in &exam.candidates {
        assert!(!text_of_mine.contains(&other.id_number), "{text_of_mine}");
    }
    assert!(!text_of_mine.contains(&exam.candidates[0].name));

    let absent = candidate_token(&app, &exam.candidates[3]).await;
    app.get("/api/v1/candidate/result", Some(&absent))
        .await
        .assert_error(StatusCode::NOT_FOUND, "no_result");

    // Results come out long after the exam: with the window closed hours ago, a candidate of a
    // published sitting still logs in (for a short session) to read their result.
    let now = jiff::Timestamp::now().as_second();
    exec(
        &storage,
        "UPDATE sittings SET opens_at = $2, late_entry_until = $2, closes_at = $3 WHERE id = $1",
        &[
            text(&exam.sitting),
            Arg::Int(now - 6 * 3600),
            Arg::Int(now - 3 * 3600),
        ],
    )
    .await;
    let later = candidate_token(&app, &exam.candidates[1]).await;
    let mine = app.get("/api/v1/candidate/result", Some(&later)).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["total"], json!(4));
}

/// A second sitting of the fixture's certificate on `date` (CST), with the fixture's site.
async fn sitting_on(app: &TestApp, exam: &ExamFixture, date: &str) -> String {
    let reply = app
        .post(
            &format!("/api/v1/organizations/{}/sittings", exam.organization),
            Some(&exam.org_token),
            &json!({
                "certificate": exam.certificate,
                "bank_version": exam.bank_version,
                "title": format!("Retake on {date}"),
                "blueprint": fixture_blueprint(3),
                "opens_at": format!("{date}T09:00:00+08:00"),
                "closes_at": format!("{date}T17:00:00+08:00"),
                "duration_secs": 3600,
                "sites": [exam.site],
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["exam_date"], json!(date));
    reply.body["id"].as_str().expect("an id").to_owned()
}

async fn register(app: &TestApp, exam: &ExamFixture, sitting: &str, index: usize) -> Reply {
    let candidate = &exam.candidates[index];
    app.post(
        &format!("/api/v1/sittings/{sitting}/registrations"),
        Some(&exam.site_token),
        &json!({"id_number": candidate.id_number, "name": candidate.name}),
    )
    .await
}

#[tokio::test]
async fn a_ban_refuses_the_next_sitting_until_exactly_three_years_later_even_from_the_29th_of_february()
 {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    for (exam_date, last_banned_day, until) in [
        ("2026-11-22", "2029-11-21", "2029-11-22"),
        ("2024-02-29", "2027-02-27", "2027-02-28"),
    ] {
        let totals: Vec<i64> = (0..10).map(|index| index * 100).collect();
        let graded = graded_sitting(&app, &totals).await;
        exec(
            &graded.storage,
            "UPDATE sittings SET exam_date = $2 WHERE id = $1",
            &[text(&graded.exam.sitting), text(exam_date)],
        )
        .await;
        let reply = publish(&app, &graded.exam).await;
        assert_eq!(reply.body, json!({"graded": 10, "banned": 1}));
        let exam = &graded.exam;

        let day_before = sitting_on(&app, exam, last_banned_day).await;
        let refused = register(&app, exam, &day_before, 0).await;
        refused.assert_error(StatusCode::FORBIDDEN, "retake_banned");
        assert_eq!(refused.body["error"]["until"], json!(until));
        // Others of the same sitting are not banned.
        let other = register(&app, exam, &day_before, 1).await;
        assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);

        let on_until = sitting_on(&app, exam, until).await;
        let allowed = register(&app, exam, &on_until, 0).await;
        assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.body);

        // What the banned candidate is told, and why.
        let token = candidate_token(&app, &exam.candidates[0]).await;
        let mine = app.get("/api/v1/candidate/result", Some(&token)).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
        let ban = &mine.body["ban"];
        assert_eq!(ban["until"], json!(until));
        assert_eq!(ban["rank"], json!(10));
        assert_eq!(ban["of"], json!(10));
        assert_eq!(ban["cut"], json!(1));
        assert_eq!(ban["lifted"], json!(false));
        let reason = ban["reason"].as_str().expect("a reason");
        assert!(reason.contains("rank 10 of 10"), "{reason}");
    }
}

#[tokio::test]
async fn an_admin_lifts_a_ban_with_a_reason_once_audited_and_the_person_may_register_again() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    let totals: Vec<i64> = (0..10).map(|index| index * 100).collect();
    let graded = graded_sitting(&app, &totals).await;
    let exam = &graded.exam;
    assert_eq!(publish(&app, exam).await.body["banned"], json!(1));
    let bans = app
        .get(
            &format!("/api/v1/sittings/{}/retake-bans", exam.sitting),
            Some(&exam.org_token),
        )
        .await;
    assert_eq!(bans.status, StatusCode::OK, "{}", bans.body);
    let ban = bans.body[0].clone();
    assert_eq!(ban["person"], json!(exam.candidates[0].person));
    assert!(ban["id_number"].as_str().expect("masked").contains('*'));
    let ban_id = ban["id"].as_str().expect("an id").to_owned();
    let lift_path = format!("/api/v1/retake-bans/{ban_id}/lift");

    let next = sitting_on(&app, exam, "2027-06-06").await;
    register(&app, exam, &next, 0)
        .await
        .assert_error(StatusCode::FORBIDDEN, "retake_banned");

    // Only an admin lifts, and only with a reason.
    let org = app
        .post(
            &lift_path,
            Some(&exam.org_token),
            &json!({"reason": "appeal"}),
        )
        .await;
    org.assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.post(&lift_path, Some(&exam.admin), &json!({"reason": "  "}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let lifted = app
        .post(
            &lift_path,
            Some(&exam.admin),
            &json!({"reason": "appeal upheld: the room's power failed"}),
        )
        .await;
    assert_eq!(lifted.status, StatusCode::OK, "{}", lifted.body);
    assert_eq!(lifted.body["lifted"], json!(true));
    assert_eq!(
        lifted.body["lift_reason"],
        json!("appeal upheld: the room's power failed")
    );
    let again = app
        .post(&lift_path, Some(&exam.admin), &json!({"reason": "again"}))
        .await;
    again.assert_error(StatusCode::CONFLICT, "already_lifted");
    app.post(
        "/api/v1/retake-bans/no-such-ban/lift",
        Some(&exam.admin),
        &json!({"reason": "x"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let audited = scalar(
        &graded.storage,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'retake_ban.lift' AND object = $1",
        &[text(&format!("retake_ban:{ban_id}"))],
    )
    .await;
    assert_eq!(audited, 1);
    let allowed = register(&app, exam, &next, 0).await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.body);
}

#[tokio::test]
async fn a_correction_re_evaluates_ranks_passes_and_bans_of_the_whole_sitting_with_an_audit_trail()
{
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    // n = 10, cut 1: the lowest (0.5 points, failing) is banned.
    let totals: Vec<i64> = (0..10).map(|index| 50 + index * 100).collect();
    let graded = graded_sitting(&app, &totals).await;
    let (exam, storage) = (&graded.exam, &graded.storage);
    assert_eq!(publish(&app, exam).await.body["banned"], json!(1));
    assert_eq!(
        banned_attempts(&results(&app, exam).await.body),
        [graded.attempts[0].clone()]
    );

    // The lowest's essay was mis-marked: 0.5 becomes 50 points, the best of the sitting.
    let reply = correct(
        &app,
        exam,
        &graded.attempts[0],
        "Q1",
        &json!({"score": 50, "reason": "second reading of the essay"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["old_score"], json!(0.5));
    assert_eq!(reply.body["new_score"], json!(50));
    assert_eq!(reply.body["rank"], json!(1));
    assert_eq!(reply.body["passed"], json!(true));
    assert_eq!(reply.body["banned"], json!(false));
    assert_eq!(reply.body["bans_added"], json!(1));
    assert_eq!(reply.body["bans_lifted"], json!(1));
    // Everyone else moved down one rank: ten results changed.
    assert_eq!(reply.body["results_changed"], json!(10));
    assert_eq!(
        banned_attempts(&results(&app, exam).await.body),
        [graded.attempts[1].clone()]
    );

    let bans = app
        .get(
            &format!("/api/v1/sittings/{}/retake-bans", exam.sitting),
            Some(&exam.org_token),
        )
        .await
        .body;
    let by_person = |person: &str| {
        bans.as_array()
            .expect("bans")
            .iter()
            .find(|ban| ban["person"] == json!(person))
            .cloned()
            .expect("a ban")
    };
    let first = by_person(&exam.candidates[0].person);
    assert_eq!(first["lifted"], json!(true));
    assert_eq!(first["lift_reason"], json!("score corrected"));
    assert_eq!(
        by_person(&exam.candidates[1].person)["lifted"],
        json!(false)
    );
    // The corrected candidate registers again; the newly banned one is refused.
    let next = sitting_on(&app, exam, "2027-06-06").await;
    assert_eq!(
        register(&app, exam, &next, 0).await.status,
        StatusCode::CREATED
    );
    register(&app, exam, &next, 1)
        .await
        .assert_error(StatusCode::FORBIDDEN, "retake_banned");

    // Corrected back: the first ban is reinstated, the second lifted again.
    let back = correct(
        &app,
        exam,
        &graded.attempts[0],
        "Q1",
        &json!({"score": 0.5, "reason": "the second reading was of another script"}),
    )
    .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["banned"], json!(true));
    assert_eq!(
        banned_attempts(&results(&app, exam).await.body),
        [graded.attempts[0].clone()]
    );
    let active = count(
        storage,
        "SELECT COUNT(*) FROM retake_bans WHERE sitting_id = $1 AND lifted_at IS NULL",
        &exam.sitting,
    )
    .await;
    assert_eq!(active, 1);

    let history = app
        .get(
            &format!("/api/v1/sittings/{}/results/corrections", exam.sitting),
            Some(&exam.org_token),
        )
        .await;
    let history = history.body.as_array().expect("a history").clone();
    assert_eq!(history.len(), 2);
    // Both corrections may fall in the same second: find the first by its reason.
    let first = history
        .iter()
        .find(|entry| entry["reason"] == json!("second reading of the essay"))
        .expect("the first correction");
    assert_eq!(first["old_score"], json!(0.5));
    assert_eq!(first["new_score"], json!(50));
    assert_eq!(first["item"], json!("Q1"));
    for (action, expected) in [
        ("results.correct", 2),
        ("retake_ban.create", 2),
        ("retake_ban.lift", 2),
        ("retake_ban.reinstate", 1),
    ] {
        let audited = scalar(
            storage,
            "SELECT COUNT(*) FROM audit_log WHERE action = $1",
            &[text(action)],
        )
        .await;
        assert_eq!(audited, expected, "{action}");
    }
}

#[tokio::test]
async fn a_bad_correction_or_one_before_publication_is_refused_and_changes_nothing() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    let totals: Vec<i64> = (0..10).map(|index| index * 100).collect();
    let graded = graded_sitting(&app, &totals).await;
    let (exam, storage) = (&graded.exam, &graded.storage);
    let attempt = graded.attempts[3].clone();
    let body = json!({"score": 5, "reason": "re-marked"});
    correct(&app, exam, &attempt, "Q1", &body)
        .await
        .assert_error(StatusCode::CONFLICT, "not_published");
    assert_eq!(publish(&app, exam).await.status, StatusCode::OK);
    let before = results(&app, exam).await.body;
    for (attempt, item, body, status, code) in [
        (
            &attempt,
            "Q1",
            json!({"score": 100.01, "reason": "r"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "score_out_of_range",
        ),
        (
            &attempt,
            "Q2",
            json!({"score": 2, "reason": "r"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "score_out_of_range",
        ),
        (
            &attempt,
            "Q1",
            json!({"score": -1, "reason": "r"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &attempt,
            "Q1",
            json!({"score": 1.005, "reason": "r"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &attempt,
            "Q1",
            json!({"score": "5", "reason": "r"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &attempt,
            "Q1",
            json!({"score": 5, "reason": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &attempt,
            "Q1",
            json!({"score": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            &attempt,
            "NOT-IN-PAPER",
            json!({"score": 1, "reason": "r"}),
            StatusCode::NOT_FOUND,
            "item_not_in_paper",
        ),
        (
            &"no-such-attempt".to_owned(),
            "Q1",
            json!({"score": 1, "reason": "r"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let reply = correct(&app, exam, attempt, item, &body).await;
        let message = reply.assert_error(status, code);
        if code == "score_out_of_range" {
            assert!(message.contains("points"), "{message}");
            assert!(reply.body["error"]["max"].is_number(), "{}", reply.body);
        }
    }
    // Another organization's staff do not even see the sitting.
    let other = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let foreign = app
        .request(
            Method::PUT,
            &format!(
                "/api/v1/sittings/{}/results/{attempt}/items/Q1",
                exam.sitting
            ),
            Some(&other.org_token),
            Some(&body),
        )
        .await;
    foreign.assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(
        &format!("/api/v1/sittings/{}/results", exam.sitting),
        Some(&other.org_token),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");

    assert_eq!(results(&app, exam).await.body, before);
    for sql in [
        "SELECT COUNT(*) FROM score_corrections WHERE sitting_id = $1",
        "SELECT COUNT(*) FROM audit_log WHERE action = 'results.correct' AND $1 <> ''",
    ] {
        assert_eq!(count(storage, sql, &exam.sitting).await, 0, "{sql}");
    }
    let score = scalar(
        storage,
        "SELECT score_hundredths FROM item_scores WHERE attempt_id = $1 AND item_id = 'Q1'",
        &[text(&attempt)],
    )
    .await;
    assert_eq!(score, 300);
    // The same score again is accepted and changes nothing either.
    let same = correct(
        &app,
        exam,
        &attempt,
        "Q1",
        &json!({"score": 3, "reason": "checked"}),
    )
    .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(same.body["results_changed"], json!(0));
    assert_eq!(
        count(
            storage,
            "SELECT COUNT(*) FROM score_corrections WHERE sitting_id = $1",
            &exam.sitting
        )
        .await,
        0
    );
}
