//! Organizations, their staff and certificates, with the authorization rule of each route.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

fn certificate(code: &str, level: &str) -> serde_json::Value {
    json!({"code": code, "level": level, "title": format!("{code} ({level})"), "credits": 4})
}

#[tokio::test]
async fn an_organization_manages_its_own_certificates_and_sees_no_other_organization() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = app.create_organization(&admin, "ACME").await;
    let globex = app.create_organization(&admin, "GLOBEX").await;
    assert_eq!(
        app.create_staff(&admin, &acme, "acme.lead", "org")
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.create_staff(&admin, &globex, "globex.lead", "org")
            .await
            .status,
        StatusCode::CREATED
    );
    let acme_staff = app.token("acme.lead", "acme.lead password 12").await;
    let globex_staff = app.token("globex.lead", "globex.lead password 12").await;

    // Organization staff create certificates for their own organization.
    let created = app
        .post(
            &format!("/api/v1/organizations/{acme}/certificates"),
            Some(&acme_staff),
            &certificate("WEB-FE", "junior"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["organization"], acme.as_str());
    assert_eq!(created.body["retake_ban_percent"], 10);
    assert_eq!(created.body["retake_ban_years"], 3);
    let certificate_id = created.body["id"].as_str().expect("an id").to_owned();

    // ...and not for another one, which they cannot even see.
    app.post(
        &format!("/api/v1/organizations/{globex}/certificates"),
        Some(&acme_staff),
        &certificate("WEB-FE", "senior"),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(
        &format!("/api/v1/organizations/{globex}"),
        Some(&acme_staff),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(
        &format!("/api/v1/certificates/{certificate_id}"),
        Some(&globex_staff),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let listed = app
        .get(
            &format!("/api/v1/organizations/{globex}/certificates"),
            Some(&acme_staff),
        )
        .await;
    listed.assert_error(StatusCode::NOT_FOUND, "not_found");

    // Listing organizations shows staff their own only, the admin all.
    let own = app.get("/api/v1/organizations", Some(&acme_staff)).await;
    assert_eq!(own.body.as_array().map(Vec::len), Some(1), "{}", own.body);
    assert_eq!(own.body[0]["code"], "ACME");
    let all = app.get("/api/v1/organizations", Some(&admin)).await;
    assert_eq!(all.body.as_array().map(Vec::len), Some(2));

    // The owner reads its certificate and its list.
    let read = app
        .get(
            &format!("/api/v1/certificates/{certificate_id}"),
            Some(&acme_staff),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["code"], "WEB-FE");
    let mine = app
        .get(
            &format!("/api/v1/organizations/{acme}/certificates"),
            Some(&acme_staff),
        )
        .await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));

    // Every change was audited, by its actor.
    let log = app
        .storage()
        .await
        .audit_log(50)
        .await
        .expect("read the audit log");
    let creates: Vec<&str> = log
        .iter()
        .filter(|e| e.action.ends_with(".create") && !e.action.starts_with("session"))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        creates,
        [
            "certificate.create",
            "staff.create",
            "staff.create",
            "organization.create",
            "organization.create",
            "staff.create"
        ]
    );
}

#[tokio::test]
async fn only_an_admin_creates_organizations_and_their_staff() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = app.create_organization(&admin, "ACME").await;
    assert_eq!(
        app.create_staff(&admin, &acme, "acme.lead", "org")
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.create_staff(&admin, &acme, "acme.grader", "grader")
            .await
            .status,
        StatusCode::CREATED
    );
    let staff = app.token("acme.lead", "acme.lead password 12").await;
    let grader = app.token("acme.grader", "acme.grader password 12").await;

    app.post(
        "/api/v1/organizations",
        Some(&staff),
        &json!({"code": "MINE", "name": "Mine"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.create_staff(&staff, &acme, "acme.friend", "org")
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    // A grader belongs to the organization but may not define its certificates.
    app.post(
        &format!("/api/v1/organizations/{acme}/certificates"),
        Some(&grader),
        &certificate("WEB-FE", "junior"),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/v1/organizations", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // The staff list never carries password hashes.
    let listed = app
        .get(&format!("/api/v1/organizations/{acme}/staff"), Some(&staff))
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body.as_array().map(Vec::len), Some(2));
    assert!(!listed.body.to_string().contains("argon2"));
}

#[tokio::test]
async fn bad_organization_and_certificate_input_is_refused_with_a_message_and_nothing_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = app.create_organization(&admin, "ACME").await;

    app.post(
        "/api/v1/organizations",
        Some(&admin),
        &json!({"code": "ACME", "name": "Again"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
    let message = app
        .post(
            "/api/v1/organizations",
            Some(&admin),
            &json!({"code": "lower case", "name": "X"}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert!(message.contains("code"), "{message}");

    let path = format!("/api/v1/organizations/{acme}/certificates");
    let message = app
        .post(&path, Some(&admin), &certificate("WEB-FE", "expert"))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert!(message.contains("level"), "{message}");
    let mut negative = certificate("WEB-FE", "junior");
    negative["credits"] = json!(-1);
    app.post(&path, Some(&admin), &negative)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let mut ban = certificate("WEB-FE", "junior");
    ban["retake_ban_percent"] = json!(101);
    app.post(&path, Some(&admin), &ban)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_eq!(app.get(&path, Some(&admin)).await.body, json!([]));

    assert_eq!(
        app.post(&path, Some(&admin), &certificate("WEB-FE", "junior"))
            .await
            .status,
        StatusCode::CREATED
    );
    app.post(&path, Some(&admin), &certificate("WEB-FE", "junior"))
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    app.post(
        "/api/v1/organizations/nope/certificates",
        Some(&admin),
        &certificate("WEB-FE", "senior"),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");

    let short = app
        .post(
            &format!("/api/v1/organizations/{acme}/staff"),
            Some(&admin),
            &json!({"username": "acme.lead", "password": "short", "role": "org"}),
        )
        .await;
    short.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.create_staff(&admin, &acme, "acme.site", "site")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.create_staff(&admin, &acme, "admin", "org")
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
}
