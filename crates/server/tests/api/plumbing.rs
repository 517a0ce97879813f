//! Health, time, the error shape for every kind of bad request.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_up() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    let backend = if std::env::var_os("XCERT_TEST_DATABASE_URL").is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(ready.body["database"], backend);
}

#[tokio::test]
async fn the_server_time_is_rfc_3339() {
    let app = TestApp::spawn().await;
    let reply = app.get("/api/v1/time", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.body["server_time"].as_str().expect("a string");
    assert!(
        text.parse::<jiff::Timestamp>().is_ok(),
        "{text} is not RFC 3339"
    );
}

#[tokio::test]
async fn an_unknown_route_and_a_wrong_method_use_the_error_shape() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/no-such-thing", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.request(Method::PUT, "/api/v1/time", None, None)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn malformed_json_is_a_400_with_the_error_shape() {
    let app = TestApp::spawn().await;
    let reply = app
        .send_raw(
            "/api/v1/staff/sessions",
            "application/json",
            b"{\"username\": ".to_vec(),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "malformed_json");
}

#[tokio::test]
async fn a_wrong_type_and_an_unknown_field_are_422s_naming_the_field() {
    let app = TestApp::spawn().await;
    let wrong_type = app
        .post(
            "/api/v1/staff/sessions",
            None,
            &json!({"username": 7, "password": "x"}),
        )
        .await;
    let message = wrong_type.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert!(message.contains("username"), "{message}");
    let unknown = app
        .post(
            "/api/v1/staff/sessions",
            None,
            &json!({"username": "a", "password": "x", "remember": true}),
        )
        .await;
    let message = unknown.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert!(message.contains("remember"), "{message}");
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_a_415() {
    let app = TestApp::spawn().await;
    let reply = app
        .send_raw("/api/v1/staff/sessions", "text/plain", b"{}".to_vec())
        .await;
    reply.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_and_the_server_keeps_serving() {
    let app = TestApp::spawn_with(|config| config.body_limit_bytes = 1024).await;
    let padding = "x".repeat(4096);
    let body =
        serde_json::to_vec(&json!({"username": padding, "password": "x"})).expect("serializes");
    let reply = app
        .send_raw("/api/v1/staff/sessions", "application/json", body)
        .await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_the_server_serves() {
    let app = TestApp::spawn().await;
    let reply = app.get("/api/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["openapi"], "3.1.0");
    for route in xcert_server::route_rules() {
        let method = route.method.as_str().to_lowercase();
        assert!(
            reply.body["paths"][&route.path][&method].is_object(),
            "{method} {} is missing",
            route.path
        );
    }
}

#[tokio::test]
async fn the_server_stops_cleanly_when_its_shutdown_signal_fires() {
    let dir = crate::helpers::ScratchDir::new();
    let config = xcert_server::Config::for_database(format!(
        "sqlite://{}",
        dir.0.join("x.sqlite").display()
    ));
    let listener = xcert_server::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(xcert_server::launch(listener, config, async {
        let _ = stopped.await;
    }));
    let url = format!("http://127.0.0.1:{port}/healthz");
    assert_eq!(
        reqwest::get(&url).await.expect("answers").status(),
        StatusCode::OK
    );
    stop.send(())
        .expect("the server is listening for the signal");
    let outcome = server
        .await
        .expect("the server task ends without panicking");
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(
        reqwest::get(&url).await.is_err(),
        "nothing listens after shutdown"
    );
}
