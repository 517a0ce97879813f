//! Teachers (each exam site's proctor pool), availability, the proctor draw of a sitting, its
//! offline re-derivation, and a proctor's view of their own rooms.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xcert_server::identity::resident_id_check_character;

use sha2::Digest as _;

use crate::helpers::{Reply, TestApp};
use crate::sittings::{ExamFixture, open_sitting_with_candidates};

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

/// A sitting with two sites taking part, three rooms with three candidates each, and nine
/// teachers whose avoidance, availability and qualification make the draw interesting:
///
/// | teacher | rule |
/// |---|---|
/// | A/T1 | teaches class A1 (room A1) |
/// | A/T2 | taught a candidate of room A2 in person |
/// | A/T3 | free; has a proctor login |
/// | A/T4 | declared unavailable |
/// | A/T5 | qualification expired in 2020 |
/// | B/T1 | teaches class B1 (room B1) |
/// | B/T2 | free; has a proctor login |
/// | B/T3 | taught a candidate of room A1 in person |
/// | B/T4 | free |
struct DrawScene {
    exam: ExamFixture,
    code_a: String,
    desk_b: String,
    /// Teacher code (`SITE/T1`) → teacher id.
    teachers: Vec<(String, String)>,
    /// Proctor tokens of A/T3 and B/T2.
    proctor_a3: String,
    proctor_b2: String,
    /// Room code → registration ids seated there.
    rooms: Vec<(String, Vec<String>)>,
}

impl DrawScene {
    fn proctor(&self, code: &str) -> String {
        let suffix = code.rsplit('/').next().expect("a code");
        let site = if code.starts_with("B/") {
            "SCHB"
        } else {
            &self.code_a
        };
        format!("{site}/{suffix}")
    }
}

async fn draw_scene(app: &TestApp) -> DrawScene {
    let exam = open_sitting_with_candidates(app, 0, |_| {}).await;
    let admin = exam.admin.clone();
    let site_a = exam.site.clone();
    let code_a = app
        .get(&format!("/api/v1/sites/{site_a}"), Some(&admin))
        .await
        .body["code"]
        .as_str()
        .expect("a site code")
        .to_owned();
    let site_b = create_site(app, &admin, "SCHB").await;
    let desk_b = site_staff(app, &admin, &site_b, "desk.schb", "site").await;
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/sites", exam.sitting),
            Some(&exam.org_token),
            &json!({"site": site_b}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let mut rooms = Vec::new();
    let mut serial = 100;
    for (desk, room) in [
        (&exam.site_token, "A1"),
        (&exam.site_token, "A2"),
        (&desk_b, "B1"),
    ] {
        let reply = app
            .post(
                &format!("/api/v1/sittings/{}/rooms", exam.sitting),
                Some(desk),
                &json!({"code": room, "capacity": 30}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let mut seated = Vec::new();
        for _ in 0..3 {
            serial += 1;
            let reply = app
                .post(
                    &format!("/api/v1/sittings/{}/registrations", exam.sitting),
                    Some(desk),
                    &json!({"id_number": resident_id(serial), "name": format!("Candidate {serial}"),
                            "class": format!("CLASS-{room}"), "room": room}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            seated.push(
                reply.body["registration"]
                    .as_str()
                    .expect("an id")
                    .to_owned(),
            );
        }
        rooms.push((room.to_owned(), seated));
    }
    // Room A1 holds resident_id(101..=103), A2 104..=106, B1 107..=109.
    let specs = [
        (
            "A",
            &site_a,
            "T1",
            json!(["CLASS-A1"]),
            json!([]),
            "2099-12-31",
            None,
        ),
        (
            "A",
            &site_a,
            "T2",
            json!([]),
            json!([resident_id(105)]),
            "2099-12-31",
            None,
        ),
        (
            "A",
            &site_a,
            "T3",
            json!([]),
            json!([]),
            "2099-12-31",
            Some("proctor.a3"),
        ),
        ("A", &site_a, "T4", json!([]), json!([]), "2099-12-31", None),
        ("A", &site_a, "T5", json!([]), json!([]), "2020-01-31", None),
        (
            "B",
            &site_b,
            "T1",
            json!(["CLASS-B1"]),
            json!([]),
            "2099-12-31",
            None,
        ),
        (
            "B",
            &site_b,
            "T2",
            json!([]),
            json!([]),
            "2099-12-31",
            Some("proctor.b2"),
        ),
        (
            "B",
            &site_b,
            "T3",
            json!([]),
            json!([resident_id(102)]),
            "2099-12-31",
            None,
        ),
        ("B", &site_b, "T4", json!([]), json!([]), "2099-12-31", None),
    ];
    let mut teachers = Vec::new();
    for (label, site, code, classes, students, until, login) in specs {
        let mut body = json!({"code": code, "name": format!("Teacher {label}{code}"),
                              "classes": classes, "students": students, "qualified_until": until});
        if let Some(username) = login {
            body["login"] =
                json!({"username": username, "password": format!("{username} password 12")});
        }
        let reply = app
            .post(
                &format!("/api/v1/sites/{site}/teachers"),
                Some(&admin),
                &body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        teachers.push((
            format!("{label}/{code}"),
            reply.body["id"].as_str().expect("an id").to_owned(),
        ));
    }
    let unavailable = &teachers[3].1;
    let reply = put(
        app,
        &format!(
            "/api/v1/sittings/{}/teachers/{unavailable}/availability",
            exam.sitting
        ),
        &exam.site_token,
        &json!({"available": false}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let proctor_a3 = app.token("proctor.a3", "proctor.a3 password 12").await;
    let proctor_b2 = app.token("proctor.b2", "proctor.b2 password 12").await;
    DrawScene {
        exam,
        code_a,
        desk_b,
        teachers,
        proctor_a3,
        proctor_b2,
        rooms,
    }
}

fn policy(reason: Option<&str>) -> Value {
    let mut body = json!({"proctors_per_room": 2, "min_external": 1, "avoidance": "taught"});
    if let Some(reason) = reason {
        body["reason"] = json!(reason);
    }
    body
}

async fn draw(app: &TestApp, scene: &DrawScene, token: &str, body: &Value) -> Reply {
    app.post(
        &format!("/api/v1/sittings/{}/proctor-draws", scene.exam.sitting),
        Some(token),
        body,
    )
    .await
}

/// The `(room, proctors)` pairs of a draw view, in its order.
fn assignments(view: &Value) -> Vec<(String, Vec<String>)> {
    view["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .map(|entry| {
            let proctors = entry["proctors"]
                .as_array()
                .expect("proctors")
                .iter()
                .map(|p| p.as_str().expect("a proctor").to_owned())
                .collect();
            (entry["room"].as_str().expect("a room").to_owned(), proctors)
        })
        .collect()
}

#[tokio::test]
async fn a_draw_staffs_every_room_by_the_rules_and_an_auditor_re_derives_it_byte_for_byte() {
    let app = TestApp::spawn().await;
    let scene = draw_scene(&app).await;
    let reply = draw(&app, &scene, &scene.exam.org_token, &policy(None)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let view = reply.body;
    let draw_id = view["draw"].as_str().expect("a draw id").to_owned();
    let seed = view["seed"].as_u64().expect("a seed");
    let pairs = assignments(&view);
    assert_eq!(
        pairs
            .iter()
            .map(|(room, _)| room.as_str())
            .collect::<Vec<_>>(),
        ["A1", "A2", "B1"]
    );
    for (room, proctors) in &pairs {
        assert_eq!(proctors.len(), 2, "{room}: exactly proctors_per_room");
        let external = proctors
            .iter()
            .filter(|p| {
                !p.starts_with(&format!(
                    "{}/",
                    if room.starts_with('B') {
                        "SCHB"
                    } else {
                        &scene.code_a
                    }
                ))
            })
            .count();
        assert!(external >= 1, "{room}: {proctors:?}");
    }
    let never = |room: &str, teacher: &str| {
        let proctors = &pairs.iter().find(|(r, _)| r == room).expect("the room").1;
        assert!(
            !proctors.contains(&scene.proctor(teacher)),
            "{teacher} in {room}: {proctors:?}"
        );
    };
    never("A1", "A/T1");
    never("A1", "B/T3");
    never("A2", "A/T2");
    never("B1", "B/T1");
    for room in ["A1", "A2", "B1"] {
        never(room, "A/T4");
        never(room, "A/T5");
    }
    assert_eq!(
        view["load"]["max"], 1,
        "six seats, seven teachers free to take them"
    );

    // The auditor's path: the stored input, its hash, the library's solver with the seed.
    let input_path = format!(
        "/api/v1/sittings/{}/proctor-draws/{draw_id}/input",
        scene.exam.sitting
    );
    let response = app
        .client
        .get(format!("{}{input_path}", app.base))
        .bearer_auth(&scene.exam.admin)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.expect("the input");
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        view["input_sha256"].as_str().expect("a hash")
    );
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    let input = xcert_proctor::AssignmentInput::from_json(text).expect("a section 4 input");
    assert!(
        !text.contains(&resident_id(102)),
        "no ID number in the input"
    );
    let outcome = xcert_proctor::assign(
        &xcert_proctor::Instance::new(input.clone()).expect("a valid input"),
        seed,
    );
    assert!(xcert_proctor::verify(&input, &outcome).is_empty());
    let served = app
        .client
        .get(format!(
            "{}{}",
            app.base,
            input_path.replace("/input", "/outcome")
        ))
        .bearer_auth(&scene.exam.admin)
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("the outcome");
    assert_eq!(
        format!(
            "{}\n",
            serde_json::to_string_pretty(&outcome).expect("JSON")
        ),
        served,
        "what `xcert proctors assign --json` prints, byte for byte"
    );
    assert_eq!(
        serde_json::to_value(&outcome).expect("JSON"),
        json!({"feasible": true, "seed": seed, "assignments": view["assignments"], "load": view["load"]})
    );
    // Students are matched by person: B/T3 taught the second candidate of A1.
    let b3 = input
        .proctors
        .iter()
        .find(|p| p.id == scene.proctor("B/T3"))
        .expect("listed");
    assert_eq!(b3.students, [scene.rooms[0].1[1].clone()]);
    let a4 = input
        .proctors
        .iter()
        .find(|p| p.id == scene.proctor("A/T4"))
        .expect("listed");
    assert_eq!(a4.available, Some(Vec::new()));

    let current = app
        .get(
            &format!(
                "/api/v1/sittings/{}/proctor-draws/current",
                scene.exam.sitting
            ),
            Some(&scene.exam.org_token),
        )
        .await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(current.body["draw"], draw_id.as_str());
    assert_eq!(current.body["current"], true);
    let audit = app.storage().await.audit_log(50).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|entry| entry.action == "proctor_draw.create"
                && entry.object == format!("proctor_draw:{draw_id}"))
    );

    // Each proctor sees exactly their own rooms, with counts and no ID numbers.
    for (token, teacher) in [(&scene.proctor_a3, "A/T3"), (&scene.proctor_b2, "B/T2")] {
        let mine: Vec<&str> = pairs
            .iter()
            .filter(|(_, proctors)| proctors.contains(&scene.proctor(teacher)))
            .map(|(room, _)| room.as_str())
            .collect();
        let reply = app.get("/api/v1/proctor/rooms", Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let rooms = reply.body.as_array().expect("a list");
        assert_eq!(
            rooms
                .iter()
                .map(|r| r["room"].as_str().expect("a code"))
                .collect::<Vec<_>>(),
            mine,
            "{teacher}"
        );
        for room in rooms {
            assert_eq!(room["candidates"], 3);
            assert_eq!(room["sitting"], scene.exam.sitting.as_str());
            assert!(
                !room.to_string().contains("110105"),
                "no ID numbers: {room}"
            );
        }
    }
}

#[tokio::test]
async fn only_an_admin_with_a_reason_re_draws_and_the_old_draw_stays_on_record() {
    let app = TestApp::spawn().await;
    let scene = draw_scene(&app).await;
    let exam = &scene.exam;
    let first = draw(&app, &scene, &exam.org_token, &policy(None)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let first_id = first.body["draw"].as_str().expect("an id").to_owned();

    let message = draw(&app, &scene, &exam.org_token, &policy(Some("again")))
        .await
        .assert_error(StatusCode::CONFLICT, "already_drawn");
    assert!(message.contains("admin"), "{message}");
    for reason in [None, Some("   ")] {
        draw(&app, &scene, &exam.admin, &policy(reason))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "reason_required");
    }
    let second = draw(
        &app,
        &scene,
        &exam.admin,
        &policy(Some("teacher A/T3 fell ill")),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let second_id = second.body["draw"].as_str().expect("an id").to_owned();
    assert_eq!(second.body["reason"], "teacher A/T3 fell ill");

    let history = app
        .get(
            &format!("/api/v1/sittings/{}/proctor-draws", exam.sitting),
            Some(&exam.org_token),
        )
        .await;
    assert_eq!(history.status, StatusCode::OK);
    let history = history.body.as_array().expect("a list").clone();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["draw"], first_id.as_str());
    assert_eq!(history[0]["number"], 1);
    assert_eq!(history[1]["number"], 2);
    assert_eq!(history[0]["current"], false);
    assert_eq!(history[0]["superseded_by"], second_id.as_str());
    assert_eq!(history[1]["draw"], second_id.as_str());
    assert_eq!(history[1]["current"], true);
    let current = app
        .get(
            &format!("/api/v1/sittings/{}/proctor-draws/current", exam.sitting),
            Some(&exam.admin),
        )
        .await;
    assert_eq!(current.body["draw"], second_id.as_str());
    let old = app
        .get(
            &format!("/api/v1/sittings/{}/proctor-draws/{first_id}", exam.sitting),
            Some(&exam.admin),
        )
        .await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.body["assignments"], first.body["assignments"]);
    let audit = app.storage().await.audit_log(100).await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|entry| entry.action == "proctor_draw.create")
            .count(),
        2
    );

    // Proctors see the rooms of the current draw only.
    let pairs = assignments(&second.body);
    for (token, teacher) in [(&scene.proctor_a3, "A/T3"), (&scene.proctor_b2, "B/T2")] {
        let mine: Vec<&str> = pairs
            .iter()
            .filter(|(_, proctors)| proctors.contains(&scene.proctor(teacher)))
            .map(|(room, _)| room.as_str())
            .collect();
        let reply = app.get("/api/v1/proctor/rooms", Some(token)).await;
        let rooms: Vec<&str> = reply
            .body
            .as_array()
            .expect("a list")
            .iter()
            .map(|room| room["room"].as_str().expect("a code"))
            .collect();
        assert_eq!(rooms, mine, "{teacher}");
    }

    // More re-draws: the unavailable and the expired teacher are never drawn.
    for round in 0..6 {
        let reply = draw(
            &app,
            &scene,
            &exam.admin,
            &policy(Some(&format!("round {round}"))),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        for (_, proctors) in assignments(&reply.body) {
            assert!(!proctors.contains(&scene.proctor("A/T4")));
            assert!(!proctors.contains(&scene.proctor("A/T5")));
        }
    }
}

#[tokio::test]
async fn an_infeasible_draw_names_the_rooms_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let scene = draw_scene(&app).await;
    let exam = &scene.exam;
    // Three external proctors per room: the two A rooms need six teachers from site B, which
    // has four (and a teacher takes one room at a time).
    let body = json!({"proctors_per_room": 3, "min_external": 3, "avoidance": "taught"});
    let reply = draw(&app, &scene, &exam.org_token, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "proctor_draw_infeasible");
    let reasons = reply.body["error"]["reasons"].as_array().expect("reasons");
    assert!(!reasons.is_empty());
    for reason in reasons {
        assert!(!reason["rooms"].as_array().expect("rooms").is_empty());
        assert!(reason["eligible_proctors"].is_array());
        assert!(reason["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let history = app
        .get(
            &format!("/api/v1/sittings/{}/proctor-draws", exam.sitting),
            Some(&exam.admin),
        )
        .await;
    assert_eq!(history.body, json!([]));
    app.get(
        &format!("/api/v1/sittings/{}/proctor-draws/current", exam.sitting),
        Some(&exam.admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let audit = app.storage().await.audit_log(100).await.expect("audit");
    assert!(
        !audit
            .iter()
            .any(|entry| entry.action == "proctor_draw.create")
    );

    // Under school avoidance the B room's own teachers drop out, yet the rules still hold.
    let school = json!({"proctors_per_room": 2, "min_external": 1, "avoidance": "school"});
    let reply = draw(&app, &scene, &exam.org_token, &school).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    for (room, proctors) in assignments(&reply.body) {
        let own = if room.starts_with('B') {
            "SCHB/".to_owned()
        } else {
            format!("{}/", scene.code_a)
        };
        assert!(
            proctors.iter().all(|p| !p.starts_with(&own)),
            "{room}: {proctors:?}"
        );
    }

    // Bad policies are refused before anything is built.
    for body in [
        json!({"proctors_per_room": 0}),
        json!({"proctors_per_room": 2, "min_external": 3}),
    ] {
        draw(&app, &scene, &exam.admin, &body)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    }
    draw(
        &app,
        &scene,
        &exam.admin,
        &json!({"proctors_per_room": 2, "avoidance": "nobody"}),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
}

#[tokio::test]
async fn unseated_candidates_or_an_empty_sitting_refuse_the_draw() {
    let app = TestApp::spawn().await;
    let empty = open_sitting_with_candidates(&app, 0, |_| {}).await;
    app.post(
        &format!("/api/v1/sittings/{}/proctor-draws", empty.sitting),
        Some(&empty.admin),
        &policy(None),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "nothing_to_draw");

    let unseated = open_sitting_with_candidates(&app, 2, |_| {}).await;
    let reply = app
        .post(
            &format!("/api/v1/sittings/{}/proctor-draws", unseated.sitting),
            Some(&unseated.org_token),
            &policy(None),
        )
        .await;
    let message = reply.assert_error(StatusCode::CONFLICT, "candidates_unseated");
    assert_eq!(reply.body["error"]["unseated"], 2);
    assert!(message.contains("room"), "{message}");
}

#[tokio::test]
async fn availability_and_draws_are_scoped_to_their_site_and_organization() {
    let app = TestApp::spawn().await;
    let scene = draw_scene(&app).await;
    let exam = &scene.exam;
    let a1 = &scene.teachers[0].1;
    let availability = format!(
        "/api/v1/sittings/{}/teachers/{a1}/availability",
        exam.sitting
    );
    // Another site's desk: the teacher is not theirs.
    put(
        &app,
        &availability,
        &scene.desk_b,
        &json!({"available": false}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    put(
        &app,
        &availability,
        &scene.proctor_a3,
        &json!({"available": false}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    put(
        &app,
        &availability,
        &exam.site_token,
        &json!({"available": "no"}),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    // A teacher of a site that does not take part in the sitting.
    let outsider_site = create_site(&app, &exam.admin, "SCHC").await;
    let outsider = app
        .post(
            &format!("/api/v1/sites/{outsider_site}/teachers"),
            Some(&exam.admin),
            &teacher_body("T1"),
        )
        .await;
    let outsider = outsider.body["id"].as_str().expect("an id").to_owned();
    put(
        &app,
        &format!(
            "/api/v1/sittings/{}/teachers/{outsider}/availability",
            exam.sitting
        ),
        &exam.admin,
        &json!({"available": true}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "site_not_in_sitting");

    // Another organization neither draws nor reads this sitting's draws.
    let other = open_sitting_with_candidates(&app, 0, |_| {}).await;
    draw(&app, &scene, &other.org_token, &policy(None))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let reply = draw(&app, &scene, &exam.org_token, &policy(None)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let draw_id = reply.body["draw"].as_str().expect("an id");
    for path in [
        format!("/api/v1/sittings/{}/proctor-draws", exam.sitting),
        format!("/api/v1/sittings/{}/proctor-draws/current", exam.sitting),
        format!("/api/v1/sittings/{}/proctor-draws/{draw_id}", exam.sitting),
        format!(
            "/api/v1/sittings/{}/proctor-draws/{draw_id}/input",
            exam.sitting
        ),
    ] {
        app.get(&path, Some(&other.org_token))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        app.get(&path, Some(&exam.site_token))
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
}
