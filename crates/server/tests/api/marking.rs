//! Manual grading over HTTP: assignments, blind hand-out with leases, marks per rubric
//! criterion, single and double marking, progress, and the close at publication.
//!
//! Every exam here is built on the shared fixture's organization, certificate and site, with a
//! bank of its own: one objective item, one essay (rubric 3 + 2 points, given 10 points by the
//! blueprint, so its criteria are scaled to 6 + 4), one practical (rubric 2 + 1 + 1, its own
//! 4 points), and an essay no blueprint rule draws.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xcert_server::Storage;

use crate::helpers::{Reply, TestApp};
use crate::sittings::{
    ExamFixture, candidate_token, open_sitting_with_candidates, resident_id, upload_bank,
};

const ESSAY: &str = "MRK-E1";
const PRACTICAL: &str = "MRK-P1";
const UNDRAWN: &str = "MRK-E9";
const OBJECTIVE: &str = "MRK-S1";

fn bank(code: &str) -> String {
    format!(
        r#"[bank]
certificate = "{code}"
level = "junior"
version = "marking"
title = "Marking test bank"

[[knowledge_point]]
id = "basics"
title = "Basics"

[[knowledge_point]]
id = "writing"
title = "Writing"

[[knowledge_point]]
id = "spare"
title = "Spare"

[[item]]
id = "{OBJECTIVE}"
type = "single"
knowledge_point = "basics"
difficulty = 0.6
points = 1
stem = "Which element marks the main content?"
options = [ {{ id = "A", text = "main" }}, {{ id = "B", text = "div" }} ]
answer = "A"

[[item]]
id = "{ESSAY}"
type = "essay"
knowledge_point = "writing"
difficulty = 0.5
points = 5
stem = "Discuss *semantic* markup."
rubric = [ {{ criterion = "Explains the purpose of semantic elements", points = 3 }}, {{ criterion = "Gives a correct example", points = 2 }} ]

[[item]]
id = "{PRACTICAL}"
type = "practical"
knowledge_point = "writing"
difficulty = 0.5
points = 4
stem = "Build a page with a header and a footer."
rubric = [ {{ criterion = "Header", points = 2 }}, {{ criterion = "Footer", points = 1 }}, {{ criterion = "Valid markup", points = 1 }} ]

[[item]]
id = "{UNDRAWN}"
type = "essay"
knowledge_point = "spare"
difficulty = 0.5
points = 5
stem = "An essay no paper holds."
rubric = [ {{ criterion = "Anything", points = 5 }} ]
"#
    )
}

const BLUEPRINT: &str = r#"format = 1
title = "Marking test"
duration_minutes = 60
total_points = 15
pass_score = 8

[fairness]
tolerance = 0.5

[exposure]
max_rate = 1.0

[[section]]
id = "choice"
title = "Choice"

[[section.rule]]
type = "single"
count = 1

[[section]]
id = "essay"
title = "Essay"
points = 10

[[section.rule]]
knowledge_point = "writing"
type = "essay"
count = 1

[[section]]
id = "practical"
title = "Practical"

[[section.rule]]
knowledge_point = "writing"
type = "practical"
count = 1
"#;

/// A candidate who sat the exam.
#[derive(Debug, Clone)]
struct Sat {
    ticket: String,
    id_number: String,
    name: String,
    registration: String,
    person: String,
    attempt: String,
    /// The essay answer, unique to the candidate (the test's way to tell scripts apart).
    essay: String,
}

/// A sitting whose candidates have all submitted.
#[derive(Debug)]
struct Marked {
    fixture: ExamFixture,
    sitting: String,
    candidates: Vec<Sat>,
}

fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` in {value}"))
        .to_owned()
}

fn expect(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
}

fn rfc3339_from_now(seconds: i64) -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + seconds)
        .expect("in range")
        .to_string()
}

impl Marked {
    /// A sitting of the marking bank with `n` candidates who each answered the essay and the
    /// practical (the essay with `essay of candidate <i>`) and submitted; waits until their
    /// scripts are queued for manual grading.
    async fn sit(app: &TestApp, n: usize) -> Marked {
        let fixture = open_sitting_with_candidates(app, 0, |_| {}).await;
        let org = Some(fixture.org_token.as_str());
        let reply = upload_bank(
            app,
            &fixture.org_token,
            &fixture.organization,
            &bank(&fixture.certificate_code),
        )
        .await;
        expect(&reply, StatusCode::CREATED, "bank upload");
        let bank_version = text(&reply.body, "id");
        let reply = app
            .post(
                &format!("/api/v1/organizations/{}/sittings", fixture.organization),
                org,
                &json!({
                    "certificate": fixture.certificate,
                    "bank_version": bank_version,
                    "title": "Marking sitting",
                    "blueprint": BLUEPRINT,
                    "opens_at": rfc3339_from_now(-60),
                    "closes_at": rfc3339_from_now(7200),
                    "duration_secs": 3600,
                    "sites": [fixture.site],
                }),
            )
            .await;
        expect(&reply, StatusCode::CREATED, "sitting");
        let sitting = text(&reply.body, "id");
        let mut candidates = Vec::with_capacity(n);
        for index in 0..n {
            let id_number = resident_id(900_000 + u32::try_from(index).expect("small"));
            let name = format!("Marking Candidate {sitting}-{index}");
            let reply = app
                .post(
                    &format!("/api/v1/sittings/{sitting}/registrations"),
                    Some(&fixture.site_token),
                    &json!({"id_number": id_number, "name": name}),
                )
                .await;
            expect(&reply, StatusCode::CREATED, "registration");
            let registered = crate::sittings::FixtureCandidate {
                ticket: text(&reply.body, "ticket"),
                id_number: id_number.clone(),
                name: name.clone(),
                registration: text(&reply.body, "registration"),
                person: text(&reply.body, "person"),
            };
            let token = candidate_token(app, &registered).await;
            let reply = app
                .request(Method::POST, "/api/v1/attempts", Some(&token), None)
                .await;
            expect(&reply, StatusCode::CREATED, "start");
            let attempt = text(&reply.body, "id");
            let essay = format!("essay of candidate {index}");
            for (item, answer) in [
                (ESSAY, essay.clone()),
                (PRACTICAL, format!("<header></header> page {index}")),
            ] {
                let reply = app
                    .request(
                        Method::PUT,
                        &format!("/api/v1/attempts/{attempt}/responses/{item}"),
                        Some(&token),
                        Some(&json!({"seq": 1, "response": answer})),
                    )
                    .await;
                expect(&reply, StatusCode::OK, "save");
            }
            let reply = app
                .request(
                    Method::POST,
                    &format!("/api/v1/attempts/{attempt}/submit"),
                    Some(&token),
                    None,
                )
                .await;
            expect(&reply, StatusCode::OK, "submit");
            candidates.push(Sat {
                ticket: registered.ticket,
                id_number,
                name,
                registration: registered.registration,
                person: registered.person,
                attempt,
                essay,
            });
        }
        let marked = Marked {
            fixture,
            sitting,
            candidates,
        };
        marked.wait_for_scripts(app, 2 * n).await;
        marked
    }

    /// Waits until `count` scripts are queued (objective grading may run after the submit).
    async fn wait_for_scripts(&self, app: &TestApp, count: usize) {
        for _ in 0..200 {
            let progress = self.progress(app, &self.fixture.org_token).await;
            expect(&progress, StatusCode::OK, "progress");
            let queued: i64 = progress.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|item| item["scripts"].as_i64().expect("scripts"))
                .sum();
            if queued == i64::try_from(count).expect("small") {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the scripts of {count} answers never appeared");
    }

    async fn progress(&self, app: &TestApp, token: &str) -> Reply {
        app.get(
            &format!("/api/v1/sittings/{}/marking/progress", self.sitting),
            Some(token),
        )
        .await
    }

    /// A new grader of the sitting's organization: (id, token).
    async fn grader(&self, app: &TestApp, name: &str) -> (String, String) {
        let username = format!("{name}.{}", &self.sitting[..8]);
        let reply = app
            .create_staff(
                &self.fixture.admin,
                &self.fixture.organization,
                &username,
                "grader",
            )
            .await;
        expect(&reply, StatusCode::CREATED, "grader");
        let id = text(&reply.body, "id");
        let token = app
            .token(&username, &format!("{username} password 12"))
            .await;
        (id, token)
    }

    async fn assign(&self, app: &TestApp, item: &str, graders: &[&str]) -> Reply {
        app.post(
            &format!("/api/v1/sittings/{}/marking/assignments", self.sitting),
            Some(&self.fixture.org_token),
            &json!({"item_id": item, "graders": graders}),
        )
        .await
    }

    async fn settings(&self, app: &TestApp, body: &Value) -> Reply {
        app.request(
            Method::PUT,
            &format!("/api/v1/sittings/{}/marking/settings", self.sitting),
            Some(&self.fixture.org_token),
            Some(body),
        )
        .await
    }

    /// The candidate whose essay is `essay`.
    fn by_essay(&self, essay: &str) -> &Sat {
        self.candidates
            .iter()
            .find(|candidate| candidate.essay == essay)
            .unwrap_or_else(|| panic!("no candidate wrote {essay}"))
    }
}

async fn next(app: &TestApp, token: &str) -> Reply {
    app.get("/api/v1/marking/tasks/next", Some(token)).await
}

async fn mark(app: &TestApp, token: &str, task: &str, criteria: &Value) -> Reply {
    app.post(
        &format!("/api/v1/marking/tasks/{task}/marks"),
        Some(token),
        &json!({"criteria": criteria}),
    )
    .await
}

/// The final item score of an attempt's item, hundredths (`None` while not graded).
async fn item_score(storage: &Storage, attempt: &str, item: &str) -> Option<u32> {
    let scores: Vec<(String, String, Option<i64>)> = match storage {
        Storage::Sqlite(pool) => sqlx::query_as(
            "SELECT item_id, state, score_hundredths FROM item_scores WHERE attempt_id = $1",
        )
        .bind(attempt)
        .fetch_all(pool)
        .await
        .expect("item scores"),
        Storage::Postgres(pool) => sqlx::query_as(
            "SELECT item_id, state, score_hundredths FROM item_scores WHERE attempt_id = $1",
        )
        .bind(attempt)
        .fetch_all(pool)
        .await
        .expect("item scores"),
    };
    scores
        .into_iter()
        .find(|(id, _, _)| id == item)
        .and_then(|(_, state, score)| {
            (state == "graded").then(|| u32::try_from(score.expect("a score")).expect("small"))
        })
}

async fn execute(storage: &Storage, sql: &str, bind: &str) {
    match storage {
        Storage::Sqlite(pool) => {
            sqlx::query(sql).bind(bind).execute(pool).await.expect(sql);
        }
        Storage::Postgres(pool) => {
            sqlx::query(sql).bind(bind).execute(pool).await.expect(sql);
        }
    }
}

async fn count(storage: &Storage, sql: &str) -> i64 {
    let (n,): (i64,) = match storage {
        Storage::Sqlite(pool) => sqlx::query_as(sql).fetch_one(pool).await.expect(sql),
        Storage::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await.expect(sql),
    };
    n
}

fn item_progress<'a>(progress: &'a Value, item: &str) -> &'a Value {
    progress["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|line| line["item_id"] == item)
        .unwrap_or_else(|| panic!("no line for {item} in {progress}"))
}

#[tokio::test]
async fn assignments_take_only_the_organizations_graders_and_essay_items_of_the_papers() {
    let app = TestApp::spawn().await;
    let exam = Marked::sit(&app, 1).await;
    let (grader, grader_token) = exam.grader(&app, "grader").await;
    let other = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let reply = app
        .create_staff(
            &other.admin,
            &other.organization,
            "foreign.grader",
            "grader",
        )
        .await;
    expect(&reply, StatusCode::CREATED, "foreign grader");
    let foreign = text(&reply.body, "id");

    let refused = exam.assign(&app, ESSAY, &[&grader, &foreign]).await;
    let message = refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "not_a_grader");
    assert!(message.contains(&foreign), "{message}");
    let reply = app
        .create_staff(
            &exam.fixture.admin,
            &exam.fixture.organization,
            "plain.org",
            "org",
        )
        .await;
    expect(&reply, StatusCode::CREATED, "org staff");
    let desk = exam.assign(&app, ESSAY, &[&text(&reply.body, "id")]).await;
    desk.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "not_a_grader");
    let objective = exam.assign(&app, OBJECTIVE, &[&grader]).await;
    let message = objective.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "not_manually_graded");
    assert!(message.contains("single"), "{message}");
    for item in [UNDRAWN, "NO-SUCH-ITEM"] {
        let reply = exam.assign(&app, item, &[&grader]).await;
        reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "item_not_in_sitting");
    }
    // Nothing was written by the refusals.
    let overview = app
        .get(
            &format!("/api/v1/sittings/{}/marking", exam.sitting),
            Some(&exam.fixture.org_token),
        )
        .await;
    expect(&overview, StatusCode::OK, "overview");
    let items = overview.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{}", overview.body);
    assert!(items.iter().all(|item| item["graders"] == json!([])));
    let undrawn = items.iter().find(|item| item["id"] == UNDRAWN).expect("E9");
    assert_eq!(undrawn["in_papers"], false);
    let essay = items.iter().find(|item| item["id"] == ESSAY).expect("E1");
    assert_eq!(essay["in_papers"], true);
    assert_eq!(essay["points"], 5);
    assert_eq!(essay["paper_points"], 10);

    // By id or username; the grader list of the item is replaced.
    let reply = exam.assign(&app, ESSAY, &[&grader]).await;
    expect(&reply, StatusCode::OK, "assign");
    assert_eq!(reply.body["graders"][0]["id"], grader.as_str());
    // Another organization's staff and a grader cannot assign.
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/marking/assignments", exam.sitting),
            Some(&other.org_token),
            &json!({"item_id": ESSAY, "graders": [foreign]}),
        )
        .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/marking/assignments", exam.sitting),
            Some(&grader_token),
            &json!({"item_id": ESSAY, "graders": [grader]}),
        )
        .await;
    reply.assert_error(StatusCode::FORBIDDEN, "forbidden");
    // Double marking needs a threshold; a threshold finer than a hundredth is refused.
    let reply = exam.settings(&app, &json!({"double_marking": true})).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let reply = exam
        .settings(&app, &json!({"double_marking": true, "threshold": 0.005}))
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let reply = exam
        .settings(&app, &json!({"double_marking": true, "threshold": 1.5}))
        .await;
    expect(&reply, StatusCode::OK, "settings");
    assert_eq!(reply.body["threshold"], 1.5);
}

#[tokio::test]
async fn a_task_shows_stem_rubric_and_answer_but_nothing_that_identifies_the_candidate() {
    let app = TestApp::spawn().await;
    let exam = Marked::sit(&app, 2).await;
    let (grader, token) = exam.grader(&app, "blind").await;
    expect(
        &exam.assign(&app, ESSAY, &[&grader]).await,
        StatusCode::OK,
        "assign",
    );
    expect(
        &exam.assign(&app, PRACTICAL, &[&grader]).await,
        StatusCode::OK,
        "assign",
    );
    let mut seen = BTreeSet::new();
    for _ in 0..4 {
        let task = next(&app, &token).await;
        expect(&task, StatusCode::OK, "next");
        let body = task.body.to_string();
        for candidate in &exam.candidates {
            for identity in [
                &candidate.ticket,
                &candidate.id_number,
                &candidate.name,
                &candidate.registration,
                &candidate.person,
                &candidate.attempt,
            ] {
                assert!(!body.contains(identity.as_str()), "{identity} in {body}");
            }
        }
        let keys: BTreeSet<&str> = task
            .body
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "criteria",
                "item",
                "lease_expires_at",
                "response",
                "scaled",
                "sitting",
                "task"
            ])
        );
        let item = text(&task.body["item"], "id");
        if item == ESSAY {
            assert!(text(&task.body["item"], "stem").contains("<em>semantic</em>"));
            assert_eq!(task.body["item"]["points"], 10);
            assert_eq!(task.body["scaled"], true);
            assert_eq!(task.body["criteria"][0]["max"], 6);
            assert_eq!(task.body["criteria"][1]["max"], 4);
            assert!(text(&task.body["criteria"][0], "text").contains("semantic elements"));
            assert!(text(&task.body, "response").starts_with("essay of candidate"));
        } else {
            assert_eq!(item, PRACTICAL);
            assert_eq!(task.body["scaled"], false);
            assert_eq!(task.body["criteria"].as_array().expect("criteria").len(), 3);
            assert_eq!(task.body["criteria"][0]["max"], 2);
        }
        // Asking again while holding the lease gives the same task back.
        let again = next(&app, &token).await;
        assert_eq!(again.body["task"], task.body["task"]);
        seen.insert(text(&task.body, "response"));
        let scores = if item == ESSAY {
            json!([6, 4])
        } else {
            json!([2, 1, 1])
        };
        let task_id = text(&task.body, "task");
        let reply = mark(&app, &token, &task_id, &scores).await;
        expect(&reply, StatusCode::OK, "mark");
        assert_eq!(
            reply.body.as_object().expect("object").len(),
            3,
            "{}",
            reply.body
        );
    }
    assert_eq!(seen.len(), 4, "four different scripts: {seen:?}");
    let done = next(&app, &token).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
}

#[tokio::test]
async fn scores_outside_a_criterion_are_refused_with_reasons_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let exam = Marked::sit(&app, 1).await;
    let (grader, token) = exam.grader(&app, "strict").await;
    expect(
        &exam.assign(&app, ESSAY, &[&grader]).await,
        StatusCode::OK,
        "assign",
    );
    let task = next(&app, &token).await;
    expect(&task, StatusCode::OK, "next");
    let task_id = text(&task.body, "task");
    for (scores, needle) in [
        (json!([6.01, 4]), "criterion 1"),
        (json!([6, -1]), "criterion 2"),
        (json!([2.555, 1]), "finer than a hundredth"),
        (json!([6]), "2 criteria"),
        (json!([6, 4, 0]), "2 criteria"),
        (json!(["6", 4]), "not a number"),
        (json!([null, 4]), "not a number"),
    ] {
        let reply = mark(&app, &token, &task_id, &scores).await;
        let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_marks");
        assert!(message.contains(needle), "{scores}: {message}");
        assert!(reply.body["error"]["problems"].is_array());
    }
    let storage = app.storage().await;
    assert_eq!(count(&storage, "SELECT COUNT(*) FROM marks").await, 0);
    assert_eq!(
        count(
            &storage,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'marking.mark'"
        )
        .await,
        0
    );
    let attempt = &exam.candidates[0].attempt;
    assert_eq!(item_score(&storage, attempt, ESSAY).await, None);
    // Hundredths are fine, and the sum lands in the item score.
    let reply = mark(&app, &token, &task_id, &json!([5.25, 3.5])).await;
    expect(&reply, StatusCode::OK, "mark");
    assert_eq!(reply.body["total"], 8.75);
    assert_eq!(item_score(&storage, attempt, ESSAY).await, Some(875));
    // A second mark of the same task is refused.
    let reply = mark(&app, &token, &task_id, &json!([1, 1])).await;
    reply.assert_error(StatusCode::CONFLICT, "already_marked");
    assert_eq!(item_score(&storage, attempt, ESSAY).await, Some(875));
}

#[tokio::test]
async fn a_grader_marks_only_their_own_tasks_of_items_they_are_assigned() {
    let app = TestApp::spawn().await;
    let exam = Marked::sit(&app, 2).await;
    let (first, first_token) = exam.grader(&app, "first").await;
    let (second, second_token) = exam.grader(&app, "second").await;
    let (_, idle_token) = exam.grader(&app, "idle").await;
    expect(
        &exam.assign(&app, ESSAY, &[&first, &second]).await,
        StatusCode::OK,
        "assign",
    );
    // Not assigned to anything: nothing to mark, and no progress to see.
    let reply = next(&app, &idle_token).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    exam.progress(&app, &idle_token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    // The practical is assigned to nobody: no one gets its scripts.
    let task = next(&app, &first_token).await;
    expect(&task, StatusCode::OK, "next");
    assert_eq!(task.body["item"]["id"], ESSAY);
    let task_id = text(&task.body, "task");
    // Someone else's task, or an unknown one, is not found; the org cannot mark at all.
    mark(&app, &second_token, &task_id, &json!([1, 1]))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    mark(&app, &first_token, "0123456789abcdef", &json!([1, 1]))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    mark(&app, &exam.fixture.org_token, &task_id, &json!([1, 1]))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    // Taken off the item, the first grader's lease ends and their mark is refused.
    expect(
        &exam.assign(&app, ESSAY, &[&second]).await,
        StatusCode::OK,
        "reassign",
    );
    mark(&app, &first_token, &task_id, &json!([1, 1]))
        .await
        .assert_error(StatusCode::FORBIDDEN, "not_assigned");
    let storage = app.storage().await;
    assert_eq!(count(&storage, "SELECT COUNT(*) FROM marks").await, 0);
    // The script went back to the pool at once.
    let mut answers = BTreeSet::new();
    for _ in 0..2 {
        let task = next(&app, &second_token).await;
        expect(&task, StatusCode::OK, "next");
        answers.insert(text(&task.body, "response"));
        let reply = mark(
            &app,
            &second_token,
            &text(&task.body, "task"),
            &json!([3, 2]),
        )
        .await;
        expect(&reply, StatusCode::OK, "mark");
    }
    assert_eq!(answers.len(), 2);
}

#[tokio::test]
async fn double_marking_takes_the_mean_within_the_threshold_and_a_third_grader_above_it() {
    let app = TestApp::spawn().await;
    let exam = Marked::sit(&app, 2).await;
    let (a, a_token) = exam.grader(&app, "alpha").await;
    let (b, b_token) = exam.grader(&app, "bravo").await;
    let (c, c_token) = exam.grader(&app, "charlie").await;
    let reply = exam
        .settings(&app, &json!({"double_marking": true, "threshold": 1}))
        .await;
    expect(&reply, StatusCode::OK, "settings");
    expect(
        &exam.assign(&app, ESSAY, &[&a, &b]).await,
        StatusCode::OK,
        "assign",
    );
    // Marks by answer: candidate 0's essay is marked alike, candidate 1's far apart.
    let plan: BTreeMap<(&str, &str), Value> = BTreeMap::from([
        (("alpha", "essay of candidate 0"), json!([4, 3])),
        (("bravo", "essay of candidate 0"), json!([4, 3.5])),
        (("alpha", "essay of candidate 1"), json!([1, 1])),
        (("bravo", "essay of candidate 1"), json!([6, 4])),
        (("charlie", "essay of candidate 1"), json!([5, 4])),
    ]);
    for (name, token) in [("alpha", &a_token), ("bravo", &b_token)] {
        for _ in 0..2 {
            let task = next(&app, token).await;
            expect(&task, StatusCode::OK, "next");
            // The second marker sees no trace of the first mark.
            assert!(!task.body.to_string().contains("first-marker-note"));
            let answer = text(&task.body, "response");
            let scores = &plan[&(name, answer.as_str())];
            let reply = app
                .post(
                    &format!("/api/v1/marking/tasks/{}/marks", text(&task.body, "task")),
                    Some(token),
                    &json!({"criteria": scores, "comment": "first-marker-note"}),
                )
                .await;
            expect(&reply, StatusCode::OK, "mark");
        }
        // Never the same script twice.
        let reply = next(&app, token).await;
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "{name}: {}",
            reply.body
        );
    }
    // Settings are fixed once marking started.
    let reply = exam.settings(&app, &json!({"double_marking": false})).await;
    reply.assert_error(StatusCode::CONFLICT, "marking_started");

    let storage = app.storage().await;
    let agreed = exam.by_essay("essay of candidate 0");
    let disputed = exam.by_essay("essay of candidate 1");
    // 7 and 7.5 are within 1 point: the mean, 7.25.
    assert_eq!(
        item_score(&storage, &agreed.attempt, ESSAY).await,
        Some(725)
    );
    // 2 and 10 are not: a third grader is needed.
    assert_eq!(item_score(&storage, &disputed.attempt, ESSAY).await, None);
    let progress = exam.progress(&app, &exam.fixture.org_token).await;
    expect(&progress, StatusCode::OK, "progress");
    let essay = item_progress(&progress.body, ESSAY);
    assert_eq!(essay["scripts"], 2);
    assert_eq!(essay["double_marked"], 2);
    assert_eq!(essay["awaiting_third"], 1);
    assert_eq!(essay["done"], 1);
    assert_eq!(progress.body["complete"], false);

    expect(
        &exam.assign(&app, ESSAY, &[&a, &b, &c]).await,
        StatusCode::OK,
        "assign",
    );
    let task = next(&app, &c_token).await;
    expect(&task, StatusCode::OK, "third");
    assert_eq!(task.body["response"], "essay of candidate 1");
    let reply = mark(
        &app,
        &c_token,
        &text(&task.body, "task"),
        &plan[&("charlie", "essay of candidate 1")],
    )
    .await;
    expect(&reply, StatusCode::OK, "third mark");
    // 9 is closer to 10 than to 2: the mean of 9 and 10.
    assert_eq!(
        item_score(&storage, &disputed.attempt, ESSAY).await,
        Some(950)
    );
    let reply = next(&app, &c_token).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);

    let progress = exam.progress(&app, &exam.fixture.org_token).await;
    let essay = item_progress(&progress.body, ESSAY);
    assert_eq!(essay["done"], 2);
    assert_eq!(essay["third_marked"], 1);
    assert_eq!(essay["awaiting_third"], 0);
    let marks: BTreeMap<String, i64> = progress.body["graders"]
        .as_array()
        .expect("graders")
        .iter()
        .map(|line| {
            (
                text(line, "grader_id"),
                line["marks"].as_i64().expect("marks"),
            )
        })
        .collect();
    assert_eq!(
        marks,
        BTreeMap::from([(a.clone(), 2), (b.clone(), 2), (c.clone(), 1)])
    );
    // A grader sees the items and their own line only.
    let own = exam.progress(&app, &c_token).await;
    expect(&own, StatusCode::OK, "own progress");
    assert_eq!(own.body["graders"].as_array().expect("graders").len(), 1);
    assert_eq!(own.body["graders"][0]["grader_id"], c.as_str());

    // Every step is in the audit log.
    let log = app
        .get("/api/v1/audit-log?limit=1000", Some(&exam.fixture.admin))
        .await;
    let actions: Vec<String> = log
        .body
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| text(entry, "action"))
        .collect();
    let tally = |action: &str| actions.iter().filter(|a| *a == action).count();
    assert_eq!(tally("marking.settings"), 1);
    assert_eq!(tally("marking.assign"), 2);
    assert_eq!(tally("marking.hand_out"), 5);
    assert_eq!(tally("marking.mark"), 5);
    assert_eq!(tally("marking.complete"), 2);
}

#[tokio::test]
async fn graders_asking_at_once_never_share_a_script_and_an_expired_lease_moves_on() {
    let app = TestApp::spawn().await;
    let exam = Marked::sit(&app, 6).await;
    let mut graders = Vec::new();
    for name in ["g1", "g2", "g3", "g4"] {
        graders.push(exam.grader(&app, name).await);
    }
    let ids: Vec<&str> = graders.iter().map(|(id, _)| id.as_str()).collect();
    expect(
        &exam.assign(&app, ESSAY, &ids).await,
        StatusCode::OK,
        "assign",
    );
    // Four graders ask at the same moment, twice over: four different scripts, each grader
    // keeping theirs.
    let tokens: Vec<&str> = graders.iter().map(|(_, token)| token.as_str()).collect();
    let (r1, r2, r3, r4, r5, r6, r7, r8) = tokio::join!(
        next(&app, tokens[0]),
        next(&app, tokens[1]),
        next(&app, tokens[2]),
        next(&app, tokens[3]),
        next(&app, tokens[0]),
        next(&app, tokens[1]),
        next(&app, tokens[2]),
        next(&app, tokens[3]),
    );
    let replies = [r1, r2, r3, r4, r5, r6, r7, r8];
    let mut by_grader: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (index, reply) in replies.iter().enumerate() {
        expect(reply, StatusCode::OK, "next");
        by_grader
            .entry(index % graders.len())
            .or_default()
            .insert(text(&reply.body, "response"));
    }
    let mut held = BTreeSet::new();
    for (grader, answers) in &by_grader {
        assert_eq!(
            answers.len(),
            1,
            "grader {grader} got one script: {answers:?}"
        );
        held.extend(answers.iter().cloned());
    }
    assert_eq!(
        held.len(),
        graders.len(),
        "no script handed to two graders: {held:?}"
    );
    let progress = exam.progress(&app, &exam.fixture.org_token).await;
    assert_eq!(item_progress(&progress.body, ESSAY)["in_hand"], 4);

    // g1's lease runs out: the script goes to the next grader who asks, and g1's late mark is
    // refused.
    let (g1, g1_token) = &graders[0];
    let g1_task = next(&app, g1_token).await;
    let storage = app.storage().await;
    execute(
        &storage,
        "UPDATE marking_scripts SET lease_expires_at = 0 WHERE leased_to = $1",
        g1,
    )
    .await;
    let (_, g2_token) = &graders[1];
    let g2_task = next(&app, g2_token).await;
    expect(
        &mark(&app, g2_token, &text(&g2_task.body, "task"), &json!([1, 1])).await,
        StatusCode::OK,
        "g2 marks its own",
    );
    let taken = next(&app, g2_token).await;
    expect(&taken, StatusCode::OK, "next");
    // Take scripts with g2 until it holds g1's old script.
    let mut current = taken;
    for _ in 0..6 {
        if current.body["response"] == g1_task.body["response"] {
            break;
        }
        expect(
            &mark(&app, g2_token, &text(&current.body, "task"), &json!([1, 1])).await,
            StatusCode::OK,
            "g2 marks",
        );
        current = next(&app, g2_token).await;
        expect(&current, StatusCode::OK, "next");
    }
    assert_eq!(current.body["response"], g1_task.body["response"]);
    mark(&app, g1_token, &text(&g1_task.body, "task"), &json!([1, 1]))
        .await
        .assert_error(StatusCode::CONFLICT, "lease_lost");
    expect(
        &mark(&app, g2_token, &text(&current.body, "task"), &json!([2, 2])).await,
        StatusCode::OK,
        "g2 marks g1's old script",
    );
    let essay = exam.by_essay(&text(&g1_task.body, "response"));
    assert_eq!(item_score(&storage, &essay.attempt, ESSAY).await, Some(400));
}

#[tokio::test]
async fn after_publication_marking_is_refused_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let exam = Marked::sit(&app, 1).await;
    let (grader, token) = exam.grader(&app, "late").await;
    expect(
        &exam.assign(&app, ESSAY, &[&grader]).await,
        StatusCode::OK,
        "assign",
    );
    let task = next(&app, &token).await;
    expect(&task, StatusCode::OK, "next");
    let storage = app.storage().await;
    execute(
        &storage,
        "UPDATE sittings SET published_at = 1 WHERE id = $1",
        &exam.sitting,
    )
    .await;
    mark(&app, &token, &text(&task.body, "task"), &json!([1, 1]))
        .await
        .assert_error(StatusCode::CONFLICT, "results_published");
    app.get(
        &format!("/api/v1/marking/tasks/next?sitting={}", exam.sitting),
        Some(&token),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "results_published");
    let reply = next(&app, &token).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    exam.assign(&app, PRACTICAL, &[&grader])
        .await
        .assert_error(StatusCode::CONFLICT, "results_published");
    exam.settings(&app, &json!({"double_marking": true, "threshold": 1}))
        .await
        .assert_error(StatusCode::CONFLICT, "results_published");
    assert_eq!(count(&storage, "SELECT COUNT(*) FROM marks").await, 0);
    assert_eq!(
        item_score(&storage, &exam.candidates[0].attempt, ESSAY).await,
        None
    );
}

/// One grader takes and marks every script in turn until nothing is left, and the sitting's
/// marking is complete. With `XCERT_MARKING_CANDIDATES=N` it sits N candidates (2N scripts)
/// and prints how long handing out and marking took (docs/MARKING.md, "Measured").
#[tokio::test]
#[allow(clippy::print_stderr)]
async fn one_grader_marks_every_script_in_turn_and_the_sitting_completes() {
    let candidates: usize = std::env::var("XCERT_MARKING_CANDIDATES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let app = TestApp::spawn().await;
    let exam = Marked::sit(&app, candidates).await;
    let (grader, token) = exam.grader(&app, "solo").await;
    expect(
        &exam.assign(&app, ESSAY, &[&grader]).await,
        StatusCode::OK,
        "assign",
    );
    expect(
        &exam.assign(&app, PRACTICAL, &[&grader]).await,
        StatusCode::OK,
        "assign",
    );
    let started = std::time::Instant::now();
    let mut marked = 0;
    loop {
        let task = next(&app, &token).await;
        if task.status == StatusCode::NO_CONTENT {
            break;
        }
        expect(&task, StatusCode::OK, "next");
        let maxima: Vec<Value> = task.body["criteria"]
            .as_array()
            .expect("criteria")
            .iter()
            .map(|criterion| criterion["max"].clone())
            .collect();
        let reply = mark(&app, &token, &text(&task.body, "task"), &json!(maxima)).await;
        expect(&reply, StatusCode::OK, "mark");
        marked += 1;
    }
    let elapsed = started.elapsed();
    assert_eq!(marked, 2 * candidates);
    let progress = exam.progress(&app, &exam.fixture.org_token).await;
    assert_eq!(progress.body["complete"], true, "{}", progress.body);
    let storage = app.storage().await;
    for candidate in &exam.candidates {
        assert_eq!(
            item_score(&storage, &candidate.attempt, ESSAY).await,
            Some(1000)
        );
        assert_eq!(
            item_score(&storage, &candidate.attempt, PRACTICAL).await,
            Some(400)
        );
    }
    if std::env::var("XCERT_MARKING_CANDIDATES").is_ok() {
        eprintln!(
            "marking: {marked} scripts handed out and marked in {:.2} s ({:.2} ms per script) on {}",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0 / f64::from(u32::try_from(marked).unwrap_or(1)),
            storage.backend()
        );
    }
}
