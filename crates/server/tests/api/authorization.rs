//! Every route, for every role: what the published route table says is what the server does.
//! The table is the only way to add a route, so a new route is checked here the day it lands.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};
use reqwest::{Method, StatusCode};
use serde_json::json;
use xcert_server::storage::{AuditEntry, StaffUser};
use xcert_server::{Role, Rule};

use crate::helpers::TestApp;
use crate::sittings::{candidate_token, open_sitting_with_candidates};

fn password_of(username: &str) -> String {
    format!("{username} password 12")
}

/// Inserts a staff account directly (auditors have no creation endpoint yet).
async fn insert_staff(app: &TestApp, role: Role) -> String {
    let username = format!("{}.user", role.as_str());
    let salt = SaltString::encode_b64(b"fixed test salt!").expect("salt");
    let hash = Argon2::default()
        .hash_password(password_of(&username).as_bytes(), &salt)
        .expect("hash")
        .to_string();
    let user = StaffUser {
        id: format!("id-{username}"),
        username: username.clone(),
        password_hash: hash,
        role,
        organization_id: None,
        site_id: None,
        created_at: 0,
    };
    let audit = AuditEntry {
        actor: "test".to_owned(),
        at: 0,
        action: "staff.create".to_owned(),
        object: format!("staff:{}", user.id),
        payload_sha256: "0".repeat(64),
    };
    app.storage()
        .await
        .create_staff(&user, &audit)
        .await
        .expect("insert staff");
    username
}

#[tokio::test]
async fn every_route_admits_exactly_the_roles_its_rule_names() {
    let app = TestApp::spawn_with(|config| config.login_burst = 1000).await;
    let admin = app.admin_token().await;
    let acme = app.create_organization(&admin, "ACME").await;
    assert_eq!(
        app.create_staff(&admin, &acme, "org.user", "org")
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.create_staff(&admin, &acme, "grader.user", "grader")
            .await
            .status,
        StatusCode::CREATED
    );
    let reply = app
        .post(
            "/api/v1/sites",
            Some(&admin),
            &json!({"code": "SCH1", "name": "School One"}),
        )
        .await;
    let site = reply.body["id"].as_str().expect("a site id").to_owned();
    for (username, role) in [("site.user", "site"), ("proctor.user", "proctor")] {
        let reply = app
            .post(
                &format!("/api/v1/sites/{site}/staff"),
                Some(&admin),
                &json!({"username": username, "password": password_of(username), "role": role}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let mut usernames = vec![
        (Role::Admin, "admin".to_owned()),
        (Role::Org, "org.user".to_owned()),
        (Role::Grader, "grader.user".to_owned()),
    ];
    usernames.push((Role::Site, "site.user".to_owned()));
    usernames.push((Role::Proctor, "proctor.user".to_owned()));
    usernames.push((Role::Auditor, insert_staff(&app, Role::Auditor).await));

    let mut tokens = Vec::new();
    for (role, username) in &usernames {
        let password = if *role == Role::Admin {
            crate::helpers::ADMIN_PASSWORD.to_owned()
        } else {
            password_of(username)
        };
        tokens.push((*role, app.token(username, &password).await));
    }

    // A candidate of a sitting of its own, logged in with ticket and ID number.
    let exam = open_sitting_with_candidates(&app, 1, |_| {}).await;
    let candidate = &exam.candidates[0];
    let candidate_bearer = candidate_token(&app, candidate).await;

    let rules = xcert_server::route_rules();
    assert!(rules.len() >= 17, "the table lists every route: {rules:?}");
    let mut checked = 0;
    for route in &rules {
        let path = route.path.replace("{id}", &acme);
        let body = (route.method == Method::POST).then(|| json!({}));
        let anonymous = app
            .request(route.method.clone(), &path, None, body.as_ref())
            .await;
        match route.rule {
            Rule::Public => assert!(
                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&anonymous.status),
                "{} {path} is public: {}",
                route.method,
                anonymous.body
            ),
            Rule::Staff(_) | Rule::Candidate => {
                anonymous.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
            }
        }
        for (role, token) in &tokens {
            // Logging out ends the session, so that route gets a session of its own.
            let token = if route.method == Method::DELETE {
                let username = &usernames.iter().find(|(r, _)| r == role).expect("a user").1;
                let password = if *role == Role::Admin {
                    crate::helpers::ADMIN_PASSWORD.to_owned()
                } else {
                    password_of(username)
                };
                app.token(username, &password).await
            } else {
                token.clone()
            };
            let reply = app
                .request(route.method.clone(), &path, Some(&token), body.as_ref())
                .await;
            let allowed = match route.rule {
                Rule::Public => true,
                Rule::Staff(roles) => roles.contains(role),
                Rule::Candidate => false,
            };
            if route.rule == Rule::Candidate {
                // A staff token is not a candidate token at all: 401, as for no token.
                reply.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
            } else if allowed {
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&reply.status),
                    "{role:?} may call {} {path}: {} {}",
                    route.method,
                    reply.status,
                    reply.body
                );
            } else {
                reply.assert_error(StatusCode::FORBIDDEN, "forbidden");
            }
            checked += 1;
        }
        // The candidate: admitted exactly where the rule says candidate (or public); a
        // candidate token is no staff token at all, so staff routes answer 401.
        let token = if route.method == Method::DELETE {
            candidate_token(&app, candidate).await
        } else {
            candidate_bearer.clone()
        };
        let reply = app
            .request(route.method.clone(), &path, Some(&token), body.as_ref())
            .await;
        match route.rule {
            Rule::Public | Rule::Candidate => assert!(
                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&reply.status),
                "a candidate may call {} {path}: {} {}",
                route.method,
                reply.status,
                reply.body
            ),
            Rule::Staff(_) => {
                reply.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, rules.len() * (tokens.len() + 1));
}
