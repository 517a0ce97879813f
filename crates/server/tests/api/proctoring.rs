//! Teachers (each exam site's proctor pool), availability, the proctor draw of a sitting, its
//! offline re-derivation, and a proctor's view of their own rooms.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xcert_server::identity::resident_id_check_character;

use crate::helpers::{Reply, TestApp};

/// A valid mainland resident ID number, distinct for each `n` (born 2005-01-01, sequence n).
pub(crate) fn resident_id(n: u32) -> String {
    let first: String = format!("110105200501{:02}{:03}", 1 + n / 1000 % 28, n % 1000);
    let mut digits = [0_u8; 17];
    for (digit, byte) in digits.iter_mut().zip(first.bytes()) {
        *digit = byte - b'0';
    }
    format!("{first}{}", resident_id_check_character(&digits))
}

/// Creates an exam site as the admin and returns its id.
async fn create_site(app: &TestApp, admin: &str, code: &str) -> String {
    let reply = app
        .post(
            "/api/v1/sites",
            Some(admin),
            &json!({"code": code, "name": format!("School {code}")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().expect("a site id").to_owned()
}

/// Creates a staff account of `role` at a site and returns its token.
async fn site_staff(app: &TestApp, admin: &str, site: &str, username: &str, role: &str) -> String {
    let password = format!("{username} password 12");
    let reply = app
        .post(
            &format!("/api/v1/sites/{site}/staff"),
            Some(admin),
            &json!({"username": username, "password": password, "role": role}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    app.token(username, &password).await
}

async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> Reply {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

fn teacher_body(code: &str) -> Value {
    json!({
        "code": code,
        "name": format!("Teacher {code}"),
        "classes": ["SCH1-CS-2024-1"],
        "students": [resident_id(1)],
        "qualified_until": "2099-12-31",
    })
}

#[tokio::test]
async fn site_staff_add_list_and_update_their_teachers_with_normalized_students() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let site = create_site(&app, &admin, "SCH1").await;
    let desk = site_staff(&app, &admin, &site, "desk.sch1", "site").await;

    let lower_x = "11010519491231002x";
    let reply = app
        .post(
            &format!("/api/v1/sites/{site}/teachers"),
            Some(&desk),
            &json!({
                "code": "T-01",
                "name": "  Wang Fang  ",
                "classes": ["SCH1-CS-2024-1", "SCH1-CS-2024-1", "SCH1-NET-2023-2"],
                "students": [lower_x, "110105 19491231 002X", "passport:chn:e12345678"],
                "qualified_until": "2027-01-31",
                "max_rooms": 2,
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let teacher = reply.body["id"].as_str().expect("an id").to_owned();
    assert_eq!(reply.body["name"], "Wang Fang");
    assert_eq!(
        reply.body["classes"],
        json!(["SCH1-CS-2024-1", "SCH1-NET-2023-2"]),
        "duplicates are dropped"
    );
    assert_eq!(
        reply.body["students"],
        json!(["passport:CHN:E12345678", "resident_id:11010519491231002X"]),
        "one person, however typed, is one entry"
    );
    assert_eq!(reply.body["max_rooms"], 2);
    assert_eq!(reply.body["login"], Value::Null);

    let listed = app
        .get(&format!("/api/v1/sites/{site}/teachers"), Some(&desk))
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body.as_array().expect("a list").len(), 1);
    assert_eq!(listed.body[0]["code"], "T-01");

    // A listed teacher's students can be sent back unchanged.
    let students = listed.body[0]["students"].clone();
    let reply = put(
        &app,
        &format!("/api/v1/sites/{site}/teachers/{teacher}"),
        &desk,
        &json!({"name": "Wang Fang", "classes": [], "students": students,
                "qualified_until": "2028-01-31"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["classes"], json!([]));
    assert_eq!(reply.body["students"], students);
    assert_eq!(reply.body["qualified_until"], "2028-01-31");
    assert_eq!(
        reply.body["max_rooms"],
        Value::Null,
        "PUT replaces: no limit now"
    );

    let audit = app.storage().await.audit_log(20).await.expect("audit log");
    let actions: Vec<&str> = audit.iter().map(|entry| entry.action.as_str()).collect();
    assert!(actions.contains(&"teacher.create"), "{actions:?}");
    assert!(actions.contains(&"teacher.update"), "{actions:?}");
}

#[tokio::test]
async fn bad_teacher_input_is_refused_with_what_to_fix_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let site = create_site(&app, &admin, "SCH1").await;
    let path = format!("/api/v1/sites/{site}/teachers");

    let mut typo = resident_id(7);
    let last = typo.pop().expect("a check character");
    typo.push(if last == '0' { '1' } else { '0' });
    let cases = [
        (
            json!({"code": "T1", "name": "A", "students": [resident_id(3), typo],
                   "qualified_until": "2027-01-31"}),
            "students[",
        ),
        (
            json!({"code": "T1", "name": "A", "qualified_until": "31/01/2027"}),
            "qualified_until",
        ),
        (
            json!({"code": "t 1", "name": "A", "qualified_until": "2027-01-31"}),
            "code",
        ),
        (
            json!({"code": "T1", "name": "A", "qualified_until": "2027-01-31", "max_rooms": 0}),
            "max_rooms",
        ),
        (
            json!({"code": "T1", "name": "", "qualified_until": "2027-01-31"}),
            "name",
        ),
        (
            json!({"code": "T1", "name": "A", "qualified_until": "2027-01-31",
                   "login": {"username": "p1", "password": "short"}}),
            "username",
        ),
    ];
    for (body, mentions) in cases {
        let reply = app.post(&path, Some(&admin), &body).await;
        let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert!(message.contains(mentions), "{mentions}: {message}");
    }
    let unknown = app
        .post(
            &path,
            Some(&admin),
            &json!({"code": "T1", "name": "A", "qualified_until": "2027-01-31", "max_room": 2}),
        )
        .await;
    unknown.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let listed = app.get(&path, Some(&admin)).await;
    assert_eq!(listed.body, json!([]));

    assert_eq!(
        app.post(&path, Some(&admin), &teacher_body("T1"))
            .await
            .status,
        StatusCode::CREATED
    );
    app.post(&path, Some(&admin), &teacher_body("T1"))
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn a_teacher_login_is_a_proctor_account_created_with_the_teacher_or_not_at_all() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let site = create_site(&app, &admin, "SCH1").await;
    let path = format!("/api/v1/sites/{site}/teachers");
    let mut body = teacher_body("T1");
    body["login"] = json!({"username": "Li.Lei", "password": "proctor password 1"});
    let reply = app.post(&path, Some(&admin), &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert!(reply.body["login"].is_string());
    let proctor = app.token("li.lei", "proctor password 1").await;
    let rooms = app.get("/api/v1/proctor/rooms", Some(&proctor)).await;
    assert_eq!(rooms.status, StatusCode::OK);
    assert_eq!(rooms.body, json!([]));

    // The username is taken: neither the account nor the teacher is written.
    let mut again = teacher_body("T2");
    again["login"] = json!({"username": "li.lei", "password": "proctor password 2"});
    app.post(&path, Some(&admin), &again)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    let listed = app.get(&path, Some(&admin)).await;
    assert_eq!(listed.body.as_array().expect("a list").len(), 1);
}

#[tokio::test]
async fn teachers_are_visible_and_writable_only_by_their_own_site() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let one = create_site(&app, &admin, "SCH1").await;
    let two = create_site(&app, &admin, "SCH2").await;
    let desk_two = site_staff(&app, &admin, &two, "desk.sch2", "site").await;
    let proctor = site_staff(&app, &admin, &one, "proctor.sch1", "proctor").await;
    let path = format!("/api/v1/sites/{one}/teachers");
    let created = app.post(&path, Some(&admin), &teacher_body("T1")).await;
    let teacher = created.body["id"].as_str().expect("an id").to_owned();

    app.get(&path, Some(&desk_two))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.post(&path, Some(&desk_two), &teacher_body("T2"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let details = json!({"name": "X", "qualified_until": "2027-01-31"});
    put(&app, &format!("{path}/{teacher}"), &desk_two, &details)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    // Another site's teacher through one's own site path is not found either.
    put(
        &app,
        &format!("/api/v1/sites/{two}/teachers/{teacher}"),
        &desk_two,
        &details,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(&path, Some(&proctor))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/v1/proctor/rooms", Some(&admin))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
}
