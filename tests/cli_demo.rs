//! `xcert demo` run as a user would: the real binary in an empty directory (SQLite default),
//! from a directory that has no question banks, so the demo data must be built in.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xcert-cli-demo-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn demo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcert"))
        .arg("demo")
        .args(args)
        .current_dir(dir)
        .env_remove("XCERT_DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("run xcert: {e}"))
}

#[test]
fn demo_json_has_the_contract_shape_and_the_credentials_file_matches() {
    let dir = scratch("shape");
    let output = demo(&dir, &["--candidates", "4", "--objective-only", "--json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    let sittings = report["sittings"].as_array().expect("sittings");
    assert!(sittings.len() >= 2);
    let (open, next) = (&sittings[0], &sittings[1]);
    assert_eq!(open["certificate"], next["certificate"]);
    assert_eq!(open["level"], next["level"]);
    let parse = |value: &Value| -> jiff::Timestamp {
        value.as_str().expect("a time").parse().expect("RFC 3339")
    };
    let now = jiff::Timestamp::now();
    assert!(parse(&open["opens_at"]) <= now && now < parse(&open["closes_at"]));
    assert!(parse(&next["opens_at"]) > now);

    let candidates = report["candidates"].as_array().expect("candidates");
    assert_eq!(candidates.len(), 4);
    for candidate in candidates {
        assert_eq!(candidate["sitting"], open["id"], "all in the open sitting");
        assert_eq!(candidate["id_number"].as_str().map(str::len), Some(18));
        assert!(candidate["ticket"].as_str().is_some_and(|t| t.len() >= 16));
    }
    let roles: Vec<&str> = report["staff"]
        .as_array()
        .expect("staff")
        .iter()
        .map(|staff| staff["role"].as_str().expect("a role"))
        .collect();
    for role in ["admin", "org", "site", "proctor", "grader"] {
        assert!(roles.contains(&role), "{role} in {roles:?}");
    }
    let file: Value = serde_json::from_slice(
        &std::fs::read(dir.join("xcert-demo.json")).expect("the credentials file"),
    )
    .expect("JSON");
    assert_eq!(file, report);
    assert!(dir.join("xcert.sqlite").exists(), "the default SQLite file");
}

#[test]
fn a_second_demo_on_the_same_database_is_refused_and_bad_options_exit_1() {
    let dir = scratch("twice");
    assert_eq!(demo(&dir, &["--candidates", "1"]).status.code(), Some(0));
    let again = demo(&dir, &["--candidates", "1"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds the demo"));

    let fresh = scratch("bad-options");
    let short = demo(&fresh, &["--duration-secs", "5"]);
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("--duration-secs"));
}
