//! Redis suite: two replicas over one database and one Redis share their login rate limits,
//! and a replica whose Redis is gone keeps serving with in-process limits. Runs when
//! `XCERT_TEST_REDIS_URL` names a Redis server (`.ci/run` sets it); otherwise each test says
//! loudly that it was skipped.

use reqwest::StatusCode;

use crate::helpers::{ADMIN_PASSWORD, TestApp};

fn redis_url() -> Option<String> {
    let url = std::env::var("XCERT_TEST_REDIS_URL").ok();
    if url.is_none() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("SKIPPED: XCERT_TEST_REDIS_URL is not set, so the Redis suite did not run");
        }
    }
    url
}

/// A key prefix of its own per test run, so parallel tests and reruns never share buckets.
fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("xcert-test:{}:{nanos}:", std::process::id())
}

#[tokio::test]
async fn two_replicas_share_one_login_budget_through_redis() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix();
    let first = TestApp::spawn_with(|config| {
        config.login_burst = 3;
        config.redis_url = Some(url.clone());
        config.redis_key_prefix = prefix.clone();
    })
    .await;
    // The first replica has migrated the database before the second one opens it.
    assert_eq!(first.get("/readyz", None).await.status, StatusCode::OK);
    let shared_database = first.database_url.clone();
    let second = TestApp::spawn_with(|config| {
        config.login_burst = 3;
        config.redis_url = Some(url.clone());
        config.redis_key_prefix = prefix.clone();
        config.database_url = shared_database;
    })
    .await;

    // Three wrong guesses spread over both replicas use up the one shared budget...
    for app in [&first, &second, &first] {
        app.login("admin", "wrong password 1")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // ...so the fourth is refused on either replica, even with the right password.
    let refused = second.login("admin", ADMIN_PASSWORD).await;
    refused.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(refused.headers.get("retry-after").is_some());
    first
        .login("admin", ADMIN_PASSWORD)
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
}

#[tokio::test]
async fn without_redis_each_replica_limits_on_its_own() {
    // The control for the test above: the same guesses with in-process buckets do not add up.
    let first = TestApp::spawn_with(|config| config.login_burst = 3).await;
    // The first replica has migrated the database before the second one opens it.
    assert_eq!(first.get("/readyz", None).await.status, StatusCode::OK);
    let shared_database = first.database_url.clone();
    let second = TestApp::spawn_with(|config| {
        config.login_burst = 3;
        config.database_url = shared_database;
    })
    .await;
    for app in [&first, &second, &first] {
        app.login("admin", "wrong password 1")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    assert_eq!(
        second.login("admin", ADMIN_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_replica_whose_redis_is_unreachable_still_serves_and_limits_in_process() {
    // Nothing listens on port 1: Redis is "down" from the start.
    let app = TestApp::spawn_with(|config| {
        config.login_burst = 2;
        config.redis_url = Some("redis://127.0.0.1:1".to_owned());
    })
    .await;
    assert_eq!(
        app.login("admin", ADMIN_PASSWORD).await.status,
        StatusCode::OK
    );
    app.login("admin", "wrong password 1")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.login("admin", ADMIN_PASSWORD)
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
}
