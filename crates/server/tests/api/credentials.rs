//! API tests of issued certificates and the credit bank.
//!
//! Results come from a storage-level fixture (rows written into `results` with sqlx after the
//! candidates took and submitted their attempts), so these tests do not depend on result
//! publication; issuance runs through `credentials::reconcile_sitting_in`, the function
//! publication calls.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xcert_server::Storage;
use xcert_server::credentials::document::{self, PublicKey, SignedDocument};
use xcert_server::credentials::{Reconciled, reconcile_sitting_in};

use crate::helpers::TestApp;
use crate::sittings::{ExamFixture, candidate_token, open_sitting_with_candidates};

/// A sitting whose candidates each took and submitted an attempt, with a `results` row per
/// attempt: candidate `i` passes when `passing[i]`.
struct Published {
    exam: ExamFixture,
    /// A candidate token per candidate.
    tokens: Vec<String>,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn published(app: &TestApp, passing: &[bool]) -> Published {
    let exam = open_sitting_with_candidates(app, passing.len(), |_| {}).await;
    let storage = app.storage().await;
    let mut tokens = Vec::new();
    for (index, candidate) in exam.candidates.iter().enumerate() {
        let token = candidate_token(app, candidate).await;
        let started = app
            .request(Method::POST, "/api/v1/attempts", Some(&token), None)
            .await;
        assert!(started.status.is_success(), "{}", started.body);
        let attempt = started.body["id"].as_str().expect("an attempt").to_owned();
        let submitted = app
            .request(
                Method::POST,
                &format!("/api/v1/attempts/{attempt}/submit"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
        insert_result(
            &storage,
            &attempt,
            &exam.sitting,
            &candidate.registration,
            &candidate.person,
            passing[index],
            passing.len(),
        )
        .await;
        tokens.push(token);
    }
    Published { exam, tokens }
}

async fn insert_result(
    storage: &Storage,
    attempt: &str,
    sitting: &str,
    registration: &str,
    person: &str,
    passed: bool,
    graded: usize,
) {
    let sql = "INSERT INTO results (attempt_id, sitting_id, registration_id, person_id, \
               total_hundredths, max_hundredths, pass_hundredths, passed, rank, graded_count, cut, \
               banned, published_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, 1000, 600, $6, 1, $7, 0, FALSE, $8, $8)";
    let total: i64 = if passed { 800 } else { 300 };
    let graded = i64::try_from(graded).expect("small");
    match storage {
        Storage::Sqlite(pool) => sqlx::query(sql)
            .bind(attempt)
            .bind(sitting)
            .bind(registration)
            .bind(person)
            .bind(total)
            .bind(passed)
            .bind(graded)
            .bind(now())
            .execute(pool)
            .await
            .map(drop),
        Storage::Postgres(pool) => sqlx::query(sql)
            .bind(attempt)
            .bind(sitting)
            .bind(registration)
            .bind(person)
            .bind(total)
            .bind(passed)
            .bind(graded)
            .bind(now())
            .execute(pool)
            .await
            .map(drop),
    }
    .expect("insert a result");
}

/// A score correction, as the results helper would write it: the result passes or not.
async fn set_passed(storage: &Storage, registration: &str, passed: bool) {
    let sql = "UPDATE results SET passed = $1 WHERE registration_id = $2";
    match storage {
        Storage::Sqlite(pool) => sqlx::query(sql)
            .bind(passed)
            .bind(registration)
            .execute(pool)
            .await
            .map(drop),
        Storage::Postgres(pool) => sqlx::query(sql)
            .bind(passed)
            .bind(registration)
            .execute(pool)
            .await
            .map(drop),
    }
    .expect("update a result");
}

/// Runs a statement and says whether the database accepted it.
async fn execute(storage: &Storage, sql: &str) -> bool {
    match storage {
        Storage::Sqlite(pool) => sqlx::query(sql).execute(pool).await.is_ok(),
        Storage::Postgres(pool) => sqlx::query(sql).execute(pool).await.is_ok(),
    }
}

async fn count(storage: &Storage, sql: &str, sitting: &str) -> i64 {
    let (count,): (i64,) = match storage {
        Storage::Sqlite(pool) => sqlx::query_as(sql).bind(sitting).fetch_one(pool).await,
        Storage::Postgres(pool) => sqlx::query_as(sql).bind(sitting).fetch_one(pool).await,
    }
    .expect("a count");
    count
}

async fn reconcile(app: &TestApp, sitting: &str) -> Reconciled {
    reconcile_sitting_in(&app.storage().await, sitting, "system", now())
        .await
        .expect("reconciles")
}

async fn trusted_key(app: &TestApp) -> PublicKey {
    let reply = app.get("/api/v1/certificates/signing-keys", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let key = &reply.body["keys"][0];
    assert_eq!(key["algorithm"], "Ed25519");
    let public = PublicKey::from_hex(key["public_key"].as_str().expect("hex")).expect("a key");
    assert_eq!(key["key_id"], public.key_id());
    public
}

async fn candidate_list(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app.get("/api/v1/candidate/certificates", Some(token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body.as_array().expect("a list").clone()
}

async fn balance(app: &TestApp, token: &str) -> (i64, Vec<Value>) {
    let reply = app.get("/api/v1/candidate/credits", Some(token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    (
        reply.body["balance"].as_i64().expect("a balance"),
        reply.body["entries"].as_array().expect("entries").clone(),
    )
}

#[tokio::test]
async fn a_passing_candidate_gets_a_signed_certificate_that_anyone_verifies_with_minimal_data() {
    let app = TestApp::spawn().await;
    let Published { exam, tokens } = published(&app, &[true, false, true]).await;
    let reconciled = reconcile(&app, &exam.sitting).await;
    assert_eq!(reconciled.issued.len(), 2, "{reconciled:?}");
    assert!(reconciled.revoked.is_empty());

    let mine = candidate_list(&app, &tokens[0]).await;
    assert_eq!(mine.len(), 1);
    let number = mine[0]["number"].as_str().expect("a number").to_owned();
    assert_eq!(
        document::parse_number(&number).as_deref(),
        Ok(number.as_str())
    );
    assert_eq!(mine[0]["status"], "valid");
    assert_eq!(mine[0]["credits"], 2);
    assert_eq!(
        mine[0]["print_url"],
        format!("/certificates/{number}/print")
    );
    assert!(candidate_list(&app, &tokens[1]).await.is_empty());

    // The signed document verifies under the published key, and not once altered.
    let reply = app
        .get(
            &format!("/api/v1/candidate/certificates/{number}/document"),
            Some(&tokens[0]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let signed: SignedDocument = serde_json::from_value(reply.body.clone()).expect("a document");
    let public = trusted_key(&app).await;
    assert_eq!(document::verify(&signed, &public), Ok(()));
    let candidate = &exam.candidates[0];
    assert_eq!(signed.payload.holder_name, candidate.name);
    assert_eq!(signed.payload.certificate_code, exam.certificate_code);
    assert_eq!(signed.payload.certificate_level, "junior");
    assert_eq!(signed.payload.credits, 2);
    assert_eq!(signed.payload.exam_date.len(), 10);
    assert_ne!(signed.payload.holder_document, candidate.id_number);
    let mut altered = signed.clone();
    altered.payload.holder_name = "Somebody Else".to_owned();
    assert_eq!(
        document::verify(&altered, &public),
        Err(document::VerifyError::BadSignature)
    );

    // Public verification: valid, with the holder's name and masked ID and nothing more.
    let reply = app
        .get(&format!("/api/v1/issued-certificates/{number}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "valid");
    assert_eq!(reply.body["holder_name"], candidate.name);
    let mut keys: Vec<&str> = reply
        .body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "certificate",
            "exam_date",
            "holder_document",
            "holder_name",
            "issued_at",
            "issuer",
            "number",
            "status"
        ]
    );
    let text = reply.body.to_string();
    for secret in [
        candidate.id_number.as_str(),
        candidate.person.as_str(),
        candidate.registration.as_str(),
        exam.sitting.as_str(),
        "800",
        "signature",
    ] {
        assert!(!text.contains(secret), "the public answer shows {secret}");
    }
    let masked = reply.body["holder_document"].as_str().expect("masked");
    assert!(masked.contains("**********"), "{masked}");
    assert!(
        masked.starts_with(&candidate.id_number[..4])
            && masked.ends_with(&candidate.id_number[14..])
    );

    // Typed in lower case with spaces: the same certificate.
    let typed = number.to_lowercase().replace('-', " - ");
    let reply = app
        .get(
            &format!("/api/v1/issued-certificates/{}", typed.replace(' ', "%20")),
            None,
        )
        .await;
    assert_eq!(reply.body["status"], "valid", "{}", reply.body);

    // An unknown number and a mistyped one: 404 with status unknown and a reason.
    let mut unknown = number.clone();
    unknown.replace_range(..1, "Q");
    let reply = app
        .get(&format!("/api/v1/issued-certificates/{unknown}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["status"], "unknown");
    assert_eq!(reply.body["error"]["code"], "unknown_certificate");
    let mut typo = number.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'2' { b'3' } else { b'2' };
    let typo = String::from_utf8(typo).expect("ASCII");
    let reply = app
        .get(&format!("/api/v1/issued-certificates/{typo}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["status"], "unknown");
    let message = reply.body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("check character"), "{message}");

    // The issuing organization lists the sitting's certificates; the holder's credits moved.
    let reply = app
        .get(
            &format!("/api/v1/sittings/{}/certificates", exam.sitting),
            Some(&exam.org_token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body.as_array().map(Vec::len), Some(2));
    assert_eq!(balance(&app, &tokens[0]).await.0, 2);
    assert_eq!(balance(&app, &tokens[1]).await, (0, Vec::new()));
}

#[tokio::test]
async fn reconciling_again_changes_nothing_and_a_corrected_result_revokes_and_later_reissues() {
    let app = TestApp::spawn().await;
    let Published { exam, tokens } = published(&app, &[true, true]).await;
    assert_eq!(reconcile(&app, &exam.sitting).await.issued.len(), 2);
    assert_eq!(reconcile(&app, &exam.sitting).await, Reconciled::default());
    let storage = app.storage().await;
    let first = candidate_list(&app, &tokens[0]).await[0]["number"]
        .as_str()
        .expect("a number")
        .to_owned();

    // A correction takes the first candidate below the pass: revoked, credits reversed.
    set_passed(&storage, &exam.candidates[0].registration, false).await;
    let reconciled = reconcile(&app, &exam.sitting).await;
    assert_eq!(reconciled.revoked, vec![first.clone()]);
    assert!(reconciled.issued.is_empty());
    assert_eq!(reconcile(&app, &exam.sitting).await, Reconciled::default());
    let reply = app
        .get(&format!("/api/v1/issued-certificates/{first}"), None)
        .await;
    assert_eq!(reply.body["status"], "revoked");
    assert_eq!(reply.body["revocation_reason"], "result corrected");
    assert!(reply.body["revoked_at"].is_string());
    let (total, entries) = balance(&app, &tokens[0]).await;
    assert_eq!(total, 0);
    let kinds: Vec<(&str, i64, i64)> = entries
        .iter()
        .map(|entry| {
            (
                entry["kind"].as_str().unwrap_or_default(),
                entry["amount"].as_i64().unwrap_or_default(),
                entry["balance"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(kinds, [("issue", 2, 2), ("reversal", -2, 0)]);

    // Corrected back above the pass: a new certificate with a new number.
    set_passed(&storage, &exam.candidates[0].registration, true).await;
    let reconciled = reconcile(&app, &exam.sitting).await;
    assert_eq!(reconciled.issued.len(), 1);
    assert_ne!(reconciled.issued[0], first);
    assert_eq!(balance(&app, &tokens[0]).await.0, 2);
    assert_eq!(candidate_list(&app, &tokens[0]).await.len(), 2);
    // The second candidate was never touched.
    assert_eq!(balance(&app, &tokens[1]).await.0, 2);
}

#[tokio::test]
async fn concurrent_reconciliations_issue_exactly_one_certificate_per_passing_candidate() {
    let app = TestApp::spawn().await;
    let Published { exam, .. } = published(&app, &[true, true, true, true, true]).await;
    let mut runs = Vec::new();
    for _ in 0..4 {
        let storage = app.storage().await;
        let sitting = exam.sitting.clone();
        runs.push(tokio::spawn(async move {
            reconcile_sitting_in(&storage, &sitting, "system", now()).await
        }));
    }
    let mut issued = Vec::new();
    for run in runs {
        issued.extend(run.await.expect("joins").expect("reconciles").issued);
    }
    issued.sort();
    issued.dedup();
    assert_eq!(issued.len(), 5, "{issued:?}");
    let storage = app.storage().await;
    let live = count(
        &storage,
        "SELECT COUNT(*) FROM issued_certificates WHERE sitting_id = $1 AND revoked_at IS NULL",
        &exam.sitting,
    )
    .await;
    assert_eq!(live, 5);
    let postings = count(
        &storage,
        "SELECT COUNT(*) FROM credit_ledger l JOIN issued_certificates ic \
         ON ic.number = l.certificate_number WHERE ic.sitting_id = $1",
        &exam.sitting,
    )
    .await;
    assert_eq!(postings, 5);
}

#[tokio::test]
async fn the_issuer_revokes_with_a_reason_once_and_the_revocation_is_audited_and_reversed() {
    let app = TestApp::spawn().await;
    let Published { exam, tokens } = published(&app, &[true]).await;
    reconcile(&app, &exam.sitting).await;
    let number = candidate_list(&app, &tokens[0]).await[0]["number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let path = format!("/api/v1/issued-certificates/{number}/revoke");

    // Bad input changes nothing.
    let reply = app
        .post(&path, Some(&exam.org_token), &json!({"reason": "  "}))
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let reply = app
        .post(
            &path,
            Some(&exam.org_token),
            &json!({"reason": "x".repeat(501)}),
        )
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    // Another organization's staff cannot see it.
    let other = open_sitting_with_candidates(&app, 0, |_| {}).await;
    let reply = app
        .post(&path, Some(&other.org_token), &json!({"reason": "fraud"}))
        .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    let reply = app
        .get(
            &format!("/api/v1/issued-certificates/{number}/document"),
            Some(&other.org_token),
        )
        .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get(&format!("/api/v1/issued-certificates/{number}"), None)
            .await
            .body["status"],
        "valid"
    );

    let reply = app
        .post(
            &path,
            Some(&exam.org_token),
            &json!({"reason": "impersonation at the exam"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "revoked");
    let again = app
        .post(&path, Some(&exam.admin), &json!({"reason": "again"}))
        .await;
    again.assert_error(StatusCode::CONFLICT, "already_revoked");

    let public = app
        .get(&format!("/api/v1/issued-certificates/{number}"), None)
        .await;
    assert_eq!(public.body["status"], "revoked");
    assert_eq!(
        public.body["revocation_reason"],
        "impersonation at the exam"
    );
    let (total, entries) = balance(&app, &tokens[0]).await;
    assert_eq!((total, entries.len()), (0, 2));

    // A manual revocation is final: reconciling does not issue the candidate a new one.
    assert_eq!(reconcile(&app, &exam.sitting).await, Reconciled::default());

    let log = app
        .get("/api/v1/audit-log?limit=1000", Some(&exam.admin))
        .await;
    let actions: Vec<&str> = log
        .body
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["object"] == format!("issued_certificate:{number}"))
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["issued_certificate.revoke", "issued_certificate.issue"]
    );
    // The person's account, for admins and auditors.
    let reply = app
        .get(
            &format!("/api/v1/people/{}/credits", exam.candidates[0].person),
            Some(&exam.admin),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["balance"], 0);
    assert_eq!(reply.body["entries"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_document_goes_to_its_holder_and_the_issuer_only() {
    let app = TestApp::spawn().await;
    let Published { exam, tokens } = published(&app, &[true, true]).await;
    reconcile(&app, &exam.sitting).await;
    let number = candidate_list(&app, &tokens[0]).await[0]["number"]
        .as_str()
        .expect("a number")
        .to_owned();
    let path = format!("/api/v1/candidate/certificates/{number}/document");
    app.get(&path, Some(&tokens[1]))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get(&path, Some(&tokens[0])).await.status,
        StatusCode::OK
    );
    let staff = format!("/api/v1/issued-certificates/{number}/document");
    for token in [&exam.org_token, &exam.admin] {
        let reply = app.get(&staff, Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["payload"]["number"], number);
    }
    app.get(&staff, Some(&exam.site_token))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn the_credit_account_exports_as_csv_and_the_ledger_refuses_updates_and_deletes() {
    let app = TestApp::spawn().await;
    let Published { exam, tokens } = published(&app, &[true]).await;
    reconcile(&app, &exam.sitting).await;
    let response = app
        .client
        .get(format!("{}/api/v1/candidate/credits?format=csv", app.base))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.expect("text");
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "at,kind,certificate_number,certificate_code,level,title,amount,balance"
    );
    assert!(lines[1].contains(",issue,"), "{csv}");
    assert!(lines[1].ends_with(",2,2"), "{csv}");
    let reply = app
        .get("/api/v1/candidate/credits?format=xml", Some(&tokens[0]))
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_query");

    let storage = app.storage().await;
    assert!(!execute(&storage, "UPDATE credit_ledger SET amount = 100").await);
    assert!(!execute(&storage, "DELETE FROM credit_ledger").await);
    assert_eq!(balance(&app, &tokens[0]).await.0, 2);
}

#[tokio::test]
async fn the_verification_and_print_pages_are_served_under_the_strict_policy() {
    let app = TestApp::spawn().await;
    for path in ["/verify", "/certificates/WEBFE-J-2026-2345-6789-2/print"] {
        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            headers[reqwest::header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let policy = headers[reqwest::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ASCII");
        assert!(policy.contains("script-src 'self';"), "{policy}");
        let body = response.text().await.expect("text");
        assert!(body.contains("<script src=\"/ui/"), "{path}");
    }
}
