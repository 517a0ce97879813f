//! Staff login, tokens, logout, rate limiting.

use reqwest::{Method, StatusCode};

use crate::helpers::{ADMIN_PASSWORD, TestApp};

#[tokio::test]
async fn the_first_admin_logs_in_and_gets_a_token_that_expires_in_thirty_minutes() {
    let app = TestApp::spawn().await;
    let reply = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.body["token"]
            .as_str()
            .is_some_and(|token| token.split('.').count() == 3)
    );
    let expires: jiff::Timestamp = reply.body["expires_at"]
        .as_str()
        .expect("a string")
        .parse()
        .expect("RFC 3339");
    let server_time: jiff::Timestamp = app.get("/api/v1/time", None).await.body["server_time"]
        .as_str()
        .expect("a string")
        .parse()
        .expect("RFC 3339");
    let lifetime = expires.duration_since(server_time).as_secs();
    // Thirty minutes from login, and the login came just before the time call.
    assert!(
        (29 * 60..=30 * 60).contains(&lifetime),
        "lifetime {lifetime} s"
    );

    let me = app
        .get(
            "/api/v1/staff/me",
            Some(reply.body["token"].as_str().expect("a token")),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["username"], "admin");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_are_the_same_401() {
    let app = TestApp::spawn().await;
    app.login("admin", "not the password")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.login("nobody", ADMIN_PASSWORD)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test]
async fn a_request_without_or_with_a_forged_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/staff/me", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.get("/api/v1/staff/me", Some("not.a.token"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    // A token for another server (another secret) is refused as well.
    let other = TestApp::spawn().await;
    let foreign = other.admin_token().await;
    app.get("/api/v1/staff/me", Some(&foreign))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn logout_revokes_the_token_at_once_and_is_audited() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let second = app.admin_token().await;
    assert_eq!(
        app.get("/api/v1/staff/me", Some(&token)).await.status,
        StatusCode::OK
    );
    let logout = app
        .request(
            Method::DELETE,
            "/api/v1/staff/sessions/current",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    app.get("/api/v1/staff/me", Some(&token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    // Only that session ended: another login of the same user still works.
    assert_eq!(
        app.get("/api/v1/staff/me", Some(&second)).await.status,
        StatusCode::OK
    );

    let log = app
        .storage()
        .await
        .audit_log(10)
        .await
        .expect("read the audit log");
    let actions: Vec<&str> = log.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "session.revoke",
            "session.create",
            "session.create",
            "staff.create"
        ]
    );
    assert!(log.iter().all(|entry| entry.payload_sha256.len() == 64));
}

#[tokio::test]
async fn repeated_login_attempts_for_one_username_are_rate_limited() {
    let app = TestApp::spawn_with(|config| config.login_burst = 3).await;
    for _ in 0..3 {
        app.login("admin", "wrong password")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let limited = app.login("admin", ADMIN_PASSWORD).await;
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(limited.headers.get("retry-after").is_some());
    // Another username from the same address has its own bucket.
    app.login("someone", "wrong password")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test]
async fn the_signing_secret_is_generated_once_and_survives_a_restart() {
    let app = TestApp::spawn().await;
    // Logging in also waits for the server to have finished starting.
    let token = app.admin_token().await;
    let storage = app.storage().await;
    let secret = storage
        .setting("jwt_secret")
        .await
        .expect("read")
        .expect("generated at start-up");
    assert_eq!(secret.len(), 64);
    // A second server on the same database reuses the stored secret, so tokens stay valid.
    let mut config = xcert_server::Config::for_database(app.database_url.clone());
    config.admin_password = None;
    let listener = xcert_server::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(xcert_server::launch(
        listener,
        config,
        std::future::pending(),
    ));
    let reply = app
        .client
        .get(format!("http://127.0.0.1:{port}/api/v1/staff/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(reply.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admin_creates_auditor_and_admin_accounts_and_nobody_else_can() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created = app
        .post(
            "/api/v1/staff",
            Some(&admin),
            &serde_json::json!({"username": "Audit.Li", "password": "auditor password 1", "role": "auditor"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["username"], "audit.li");
    assert_eq!(created.body["role"], "auditor");
    assert!(created.body["organization"].is_null() && created.body["site"].is_null());
    assert!(created.body.get("password").is_none() && created.body.get("password_hash").is_none());

    let auditor = app.token("audit.li", "auditor password 1").await;
    let listed = app.get("/api/v1/staff", Some(&auditor)).await;
    assert_eq!(listed.status, StatusCode::OK);
    let names: Vec<&str> = listed
        .body
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|user| user["username"].as_str())
        .collect();
    assert_eq!(names, ["admin", "audit.li"]);
    app.post(
        "/api/v1/staff",
        Some(&auditor),
        &serde_json::json!({"username": "sneaky", "password": "sneaky password 1", "role": "admin"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Scoped roles are refused here, with where to create them instead.
    let message = app
        .post(
            "/api/v1/staff",
            Some(&admin),
            &serde_json::json!({"username": "org.wang", "password": "org password 123", "role": "org"}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert!(message.contains("/organizations/{id}/staff"), "{message}");
    app.post(
        "/api/v1/staff",
        Some(&admin),
        &serde_json::json!({"username": "audit.li", "password": "another password 1", "role": "auditor"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
    let log = app.get("/api/v1/audit-log", Some(&auditor)).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
}
