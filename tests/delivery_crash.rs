//! Crash safety of answer saves: run the real `xcert serve` on a SQLite file, set up an exam
//! through the API, fire concurrent saves, kill the server with SIGKILL in the middle of the
//! burst, start it again on the same file, and check that every acknowledged save is there
//! (with its seq or a newer one) and that no deadline moved.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "crash test admin password";
const CANDIDATES: usize = 12;
/// Kill the server once this many saves have been acknowledged.
const KILL_AFTER_ACKS: u64 = 400;

const BANK: &str = r#"
[bank]
certificate = "CRASH-T"
level = "junior"
version = "1"
title = "Crash test bank"

[[item]]
id = "C-1"
type = "short_answer"
difficulty = 0.5
points = 1
stem = "One?"
answer = ["one"]

[[item]]
id = "C-2"
type = "short_answer"
difficulty = 0.5
points = 1
stem = "Two?"
answer = ["two"]

[[item]]
id = "C-3"
type = "short_answer"
difficulty = 0.5
points = 1
stem = "Three?"
answer = ["three"]

[[item]]
id = "C-4"
type = "short_answer"
difficulty = 0.5
points = 1
stem = "Four?"
answer = ["four"]
"#;

const BLUEPRINT: &str = r#"
format = 1
title = "Crash test"
duration_minutes = 60
total_points = 4
pass_score = 2

[exposure]
max_rate = 1.0

[[section]]
id = "all"
title = "All"

[[section.rule]]
type = "short_answer"
count = 4
"#;

const ITEMS: [&str; 4] = ["C-1", "C-2", "C-3", "C-4"];

/// (attempt, item) -> the highest seq acknowledged, with its response text.
type Acknowledged = HashMap<(String, String), (u64, String)>;

/// A directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "xcert-crash-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&path).expect("a scratch dir");
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `xcert serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("address").port()
}

async fn serve(dir: &Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_xcert"))
        .arg("serve")
        .current_dir(dir)
        .env(
            "XCERT_DATABASE_URL",
            format!("sqlite://{}", dir.join("xcert.sqlite").display()),
        )
        .env("XCERT_BIND", format!("127.0.0.1:{port}"))
        .env("XCERT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("XCERT_LOG", "error")
        .env_remove("XCERT_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start xcert serve");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}/api/v1"),
    };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(reply) = client.get(format!("{}/time", server.base)).send().await {
            if reply.status().is_success() {
                return server;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("xcert serve did not come up on port {port}");
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<&Value>,
) -> (reqwest::StatusCode, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let reply = request.send().await.expect("the server answers");
    let status = reply.status();
    let body = reply.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` in {value}"))
        .to_owned()
}

fn resident_id(index: usize) -> String {
    let first_17 = format!("11010519900101{index:03}");
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first_17
        .bytes()
        .zip(weights)
        .map(|(byte, weight)| u32::from(byte - b'0') * weight)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first_17}{check}")
}

/// Builds the exam and returns `(candidate token, attempt id, deadline)` per candidate.
async fn set_up(client: &reqwest::Client, base: &str) -> Vec<(String, String, String)> {
    use reqwest::Method;
    let (status, session) = call(
        client,
        Method::POST,
        format!("{base}/staff/sessions"),
        None,
        Some(&json!({"username": "admin", "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let admin = text(&session, "token");
    let token = Some(admin.as_str());
    let (_, organization) = call(
        client,
        Method::POST,
        format!("{base}/organizations"),
        token,
        Some(&json!({"code": "CRASH", "name": "Crash"})),
    )
    .await;
    let organization = text(&organization, "id");
    let (_, certificate) = call(
        client,
        Method::POST,
        format!("{base}/organizations/{organization}/certificates"),
        token,
        Some(&json!({"code": "CRASH-T", "level": "junior", "title": "Crash", "credits": 1})),
    )
    .await;
    let certificate = text(&certificate, "id");
    let bank = client
        .post(format!("{base}/organizations/{organization}/banks"))
        .bearer_auth(&admin)
        .header("content-type", "application/toml")
        .body(BANK)
        .send()
        .await
        .expect("upload");
    assert_eq!(bank.status(), 201);
    let bank: Value = bank.json().await.expect("JSON");
    let bank = text(&bank, "id");
    let (_, site) = call(
        client,
        Method::POST,
        format!("{base}/sites"),
        token,
        Some(&json!({"code": "CRASH-SITE", "name": "Crash site"})),
    )
    .await;
    let site = text(&site, "id");
    let (_, time) = call(client, Method::GET, format!("{base}/time"), None, None).await;
    let now: jiff::Timestamp = text(&time, "server_time").parse().expect("RFC 3339");
    let now = now.as_second();
    let at = |seconds: i64| {
        jiff::Timestamp::from_second(seconds)
            .expect("a time")
            .to_string()
    };
    let (status, sitting) = call(
        client,
        Method::POST,
        format!("{base}/organizations/{organization}/sittings"),
        token,
        Some(&json!({
            "certificate": certificate, "bank_version": bank, "title": "Crash",
            "blueprint": BLUEPRINT, "opens_at": at(now - 60), "closes_at": at(now + 7200),
            "duration_secs": 3600, "late_entry_secs": 7200, "sites": [site],
        })),
    )
    .await;
    assert_eq!(status, 201, "{sitting}");
    let sitting = text(&sitting, "id");
    let mut candidates = Vec::new();
    for index in 0..CANDIDATES {
        let id_number = resident_id(index);
        let (status, registered) = call(
            client,
            Method::POST,
            format!("{base}/sittings/{sitting}/registrations"),
            token,
            Some(&json!({"id_number": id_number, "name": format!("考生{index}"), "site": site})),
        )
        .await;
        assert_eq!(status, 201, "{registered}");
        let (status, session) = call(
            client,
            Method::POST,
            format!("{base}/candidate/sessions"),
            None,
            Some(&json!({"ticket": text(&registered, "ticket"), "id_number": id_number})),
        )
        .await;
        assert_eq!(status, 200, "{session}");
        let token = text(&session, "token");
        let (status, attempt) = call(
            client,
            Method::POST,
            format!("{base}/attempts"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 201, "{attempt}");
        candidates.push((token, text(&attempt, "id"), text(&attempt, "deadline")));
    }
    candidates
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_save_survives_a_sigkill_mid_burst() {
    let scratch = Scratch::new();
    let port = free_port();
    let mut server = serve(&scratch.0, port).await;
    let client = reqwest::Client::new();
    let candidates = set_up(&client, &server.base).await;

    let acked: Arc<Mutex<Acknowledged>> = Arc::default();
    let count = Arc::new(AtomicU64::new(0));
    let mut burst = tokio::task::JoinSet::new();
    for (token, attempt, _) in &candidates {
        for item in ITEMS {
            let (client, base) = (client.clone(), server.base.clone());
            let (token, attempt) = (token.clone(), attempt.clone());
            let (acked, count) = (Arc::clone(&acked), Arc::clone(&count));
            burst.spawn(async move {
                for seq in 1_u64.. {
                    let response = format!("{attempt} {item} draft {seq}");
                    let sent = client
                        .put(format!("{base}/attempts/{attempt}/responses/{item}"))
                        .bearer_auth(&token)
                        .json(&json!({"seq": seq, "response": response}))
                        .send()
                        .await;
                    // Once the server is gone, this submitter stops.
                    let Ok(reply) = sent else { return };
                    if reply.status() != 200 {
                        return;
                    }
                    let Ok(body) = reply.json::<Value>().await else {
                        return;
                    };
                    assert_eq!(body["seq"].as_u64(), Some(seq), "{body}");
                    acked
                        .lock()
                        .expect("lock")
                        .insert((attempt.clone(), item.to_owned()), (seq, response));
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    }
    while count.load(Ordering::Relaxed) < KILL_AFTER_ACKS {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SIGKILL: no graceful shutdown, no flush.
    server.child.kill().expect("kill the server");
    server.child.wait().expect("reap the server");
    while burst.join_next().await.is_some() {}
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= 8,
        "the burst saved across items before the kill"
    );

    let server = serve(&scratch.0, port).await;
    for (token, attempt, deadline) in &candidates {
        let (status, view) = call(
            &client,
            reqwest::Method::GET,
            format!("{}/attempts/{attempt}", server.base),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(
            &text(&view, "deadline"),
            deadline,
            "the deadline is unchanged"
        );
        for item in ITEMS {
            let Some((seq, response)) = acked.get(&(attempt.clone(), item.to_owned())) else {
                continue;
            };
            let stored = &view["responses"][item];
            let stored_seq = stored["seq"].as_u64().unwrap_or_else(|| {
                panic!("{attempt} {item}: seq {seq} was acknowledged but nothing is stored")
            });
            assert!(
                stored_seq >= *seq,
                "{attempt} {item}: acknowledged seq {seq}, stored {stored_seq}"
            );
            if stored_seq == *seq {
                assert_eq!(stored["response"].as_str(), Some(response.as_str()));
            }
        }
    }
}
