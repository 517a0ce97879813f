//! `xcert loadtest` run as an operator would: the real binary against a real `xcert serve` on
//! a temporary SQLite file and a free port, with a small, fast timetable.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ADMIN_PASSWORD: &str = "loadtest-admin-password";

/// A running `xcert serve`, stopped when dropped.
struct Server {
    child: Child,
    base_url: String,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port()
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("xcert-cli-loadtest-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// `xcert <command>` in `dir`, on the SQLite file there.
fn xcert_in(dir: &std::path::Path, command: &str) -> Command {
    let mut xcert = Command::new(env!("CARGO_BIN_EXE_xcert"));
    xcert
        .arg(command)
        .current_dir(dir)
        .env(
            "XCERT_DATABASE_URL",
            format!("sqlite://{}", dir.join("xcert.sqlite").display()),
        )
        .env_remove("XCERT_ADMIN_PASSWORD")
        .env_remove("XCERT_REDIS_URL");
    xcert
}

fn serve(name: &str) -> Server {
    serve_in(scratch(name), Some(ADMIN_PASSWORD))
}

/// Starts `xcert serve` in `dir`; its first admin gets `admin_password` when given.
fn serve_in(dir: PathBuf, admin_password: Option<&str>) -> Server {
    let port = free_port();
    let mut command = xcert_in(&dir, "serve");
    command.env("XCERT_BIND", format!("127.0.0.1:{port}"));
    if let Some(password) = admin_password {
        command.env("XCERT_ADMIN_PASSWORD", password);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start xcert serve: {e}"));
    let server = Server {
        child,
        base_url: format!("http://127.0.0.1:{port}"),
        dir,
    };
    // Migrations run before the listener opens: wait until it accepts, within a bound.
    let began = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "xcert serve did not listen within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn loadtest(args: &[&str], admin_password: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xcert"));
    command
        .arg("loadtest")
        .args(args)
        .env_remove("XCERT_ADMIN_PASSWORD");
    if let Some(password) = admin_password {
        command.env("XCERT_ADMIN_PASSWORD", password);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run xcert loadtest: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn percentiles(report: &Value, call: &str) {
    for key in ["p50", "p99"] {
        let value = &report["latency_ms"][call][key];
        assert!(
            value.as_f64().is_some_and(|ms| ms >= 0.0),
            "latency_ms.{call}.{key} is {value}"
        );
    }
}

#[test]
fn thirty_candidates_start_save_and_submit_without_an_error_or_a_lost_answer() {
    let server = serve("thirty");
    let (code, stdout, stderr) = loadtest(
        &[
            "--base-url",
            &server.base_url,
            "--candidates",
            "30",
            "--ramp-secs",
            "1",
            "--save-interval-secs",
            "0.2",
            "--exam-secs",
            "2",
            "--submit-window-secs",
            "1",
            "--max-run-secs",
            "600",
            "--json",
        ],
        Some(ADMIN_PASSWORD),
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON document ({e}): {stdout}\nstderr: {stderr}")
    });
    assert_eq!(code, 0, "exit code; stderr: {stderr}\nreport: {report:#}");
    assert_eq!(report["candidates"], 30);
    assert_eq!(report["errors"], 0, "{report:#}");
    assert_eq!(report["lost_answers"], 0, "{report:#}");
    for call in ["start", "save", "submit"] {
        percentiles(&report, call);
    }
    // Everyone logged in, started and submitted. Each saved 8 to 12 times in 2 s of answers
    // at 0.2 s ± 20%, plus the final save; the check read every answer back.
    assert_eq!(report["started"], 30);
    assert_eq!(report["submitted"], 30);
    let saves = report["saves_acknowledged"].as_u64().unwrap_or_default();
    assert!(
        (30 * 9..=30 * 13).contains(&saves),
        "saves acknowledged: {saves}"
    );
    assert!(report["items_checked"].as_u64().unwrap_or_default() >= 30 * 8);
    assert_eq!(report["unchecked_candidates"], 0);
    assert_eq!(report["submissions_lost"], 0);
    // Requests: a login, a start, the saves, a submit and a check read per candidate.
    let requests = report["requests"].as_u64().unwrap_or_default();
    assert!(requests >= 30 * 4 + saves, "requests: {requests}");
    assert_eq!(report["latency_ms"]["save"]["count"].as_u64(), Some(saves));
}

#[test]
fn a_second_run_against_the_same_server_builds_its_own_exam() {
    let server = serve("twice");
    let args = [
        "--base-url",
        &server.base_url,
        "--candidates",
        "3",
        "--ramp-secs",
        "0.5",
        "--save-interval-secs",
        "0.2",
        "--exam-secs",
        "0.5",
        "--submit-window-secs",
        "0.5",
        "--max-run-secs",
        "600",
        "--json",
    ];
    let mut sittings = Vec::new();
    for run in 0..2 {
        let (code, stdout, stderr) = loadtest(&args, Some(ADMIN_PASSWORD));
        assert_eq!(code, 0, "run {run}: {stderr}\n{stdout}");
        let report: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(report["submitted"], 3);
        sittings.push(report["run"]["sitting"].clone());
    }
    assert_ne!(sittings[0], sittings[1]);
}

#[test]
fn without_a_password_the_admin_login_comes_from_the_demo_file() {
    let dir = scratch("demo-file");
    let demo = xcert_in(&dir, "demo")
        .args(["--candidates", "1", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run xcert demo: {e}"));
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(dir.join("xcert-demo.json").is_file());
    let server = serve_in(dir.clone(), None);
    let output = xcert_in(&dir, "loadtest")
        .args([
            "--base-url",
            &server.base_url,
            "--candidates",
            "2",
            "--ramp-secs",
            "0.5",
            "--save-interval-secs",
            "0.2",
            "--exam-secs",
            "0.5",
            "--submit-window-secs",
            "0.5",
            "--json",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run xcert loadtest: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["submitted"], 2);
}

#[test]
fn a_wrong_admin_password_stops_the_setup_with_the_servers_answer() {
    let server = serve("wrong-password");
    let (code, stdout, stderr) = loadtest(
        &[
            "--base-url",
            &server.base_url,
            "--candidates",
            "1",
            "--json",
        ],
        Some("not-the-admin-password"),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("logging in as the admin") && stderr.contains("401"),
        "{stderr}"
    );
}

#[test]
fn no_server_and_bad_flags_are_usage_errors() {
    let (code, _, stderr) = loadtest(
        &[
            "--base-url",
            &format!("http://127.0.0.1:{}", free_port()),
            "--candidates",
            "1",
        ],
        Some(ADMIN_PASSWORD),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("logging in as the admin"), "{stderr}");

    let (code, _, stderr) = loadtest(
        &[
            "--base-url",
            "http://127.0.0.1:9",
            "--candidates",
            "1",
            "--ramp-secs=-1",
        ],
        Some(ADMIN_PASSWORD),
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("--ramp-secs"), "{stderr}");

    let (code, _, stderr) = loadtest(
        &[
            "--base-url",
            "http://127.0.0.1:9",
            "--candidates",
            "1",
            "--demo-file",
            "/nonexistent/xcert-demo.json",
        ],
        None,
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("XCERT_ADMIN_PASSWORD"), "{stderr}");
}
