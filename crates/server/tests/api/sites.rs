//! Exam sites, their desk staff and proctors, and the audit log.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

async fn create_site(app: &TestApp, admin: &str, code: &str) -> String {
    let reply = app
        .post(
            "/api/v1/sites",
            Some(admin),
            &json!({"code": code, "name": format!("{code} School")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().expect("an id").to_owned()
}

async fn add_site_staff(
    app: &TestApp,
    admin: &str,
    site: &str,
    username: &str,
    role: &str,
) -> StatusCode {
    let body =
        json!({"username": username, "password": format!("{username} password 12"), "role": role});
    app.post(&format!("/api/v1/sites/{site}/staff"), Some(admin), &body)
        .await
        .status
}

#[tokio::test]
async fn site_staff_see_their_own_site_only_and_proctors_see_no_site_listing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let north = create_site(&app, &admin, "NORTH").await;
    let south = create_site(&app, &admin, "SOUTH").await;
    assert_eq!(
        add_site_staff(&app, &admin, &north, "north.desk", "site").await,
        StatusCode::CREATED
    );
    assert_eq!(
        add_site_staff(&app, &admin, &north, "north.teacher", "proctor").await,
        StatusCode::CREATED
    );
    let desk = app.token("north.desk", "north.desk password 12").await;
    let teacher = app
        .token("north.teacher", "north.teacher password 12")
        .await;

    let listed = app.get("/api/v1/sites", Some(&desk)).await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.body
    );
    assert_eq!(listed.body[0]["code"], "NORTH");
    app.get(&format!("/api/v1/sites/{south}"), Some(&desk))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let staff = app
        .get(&format!("/api/v1/sites/{north}/staff"), Some(&desk))
        .await;
    assert_eq!(staff.body.as_array().map(Vec::len), Some(2));
    assert_eq!(staff.body[1]["site"], north.as_str());
    app.get("/api/v1/sites", Some(&teacher))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Organization roles do not belong to a site, and the reverse.
    let wrong = app
        .post(
            &format!("/api/v1/sites/{north}/staff"),
            Some(&admin),
            &json!({"username": "north.grader", "password": "north.grader password 12", "role": "grader"}),
        )
        .await;
    wrong.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.post(
        "/api/v1/sites",
        Some(&admin),
        &json!({"code": "NORTH", "name": "Again"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn the_audit_log_is_readable_by_admin_and_auditor_only_and_never_holds_a_password() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let site = create_site(&app, &admin, "NORTH").await;
    assert_eq!(
        add_site_staff(&app, &admin, &site, "north.desk", "site").await,
        StatusCode::CREATED
    );
    let desk = app.token("north.desk", "north.desk password 12").await;

    let log = app.get("/api/v1/audit-log?limit=3", Some(&admin)).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let actions: Vec<&str> = log
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["session.create", "staff.create", "site.create"]);
    assert!(!log.body.to_string().contains("password 12"));
    assert!(
        log.body[0]["at"]
            .as_str()
            .expect("a time")
            .parse::<jiff::Timestamp>()
            .is_ok()
    );

    app.get("/api/v1/audit-log", Some(&desk))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/v1/audit-log?limit=0", Some(&admin))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.get("/api/v1/audit-log?limit=many", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
}
