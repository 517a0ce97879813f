//! `xcert bank validate | diff | stats` run as a user would: the real binary on small banks
//! written to a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const HEADER: &str = "[bank]\ncertificate = \"WEB-FE\"\nlevel = \"junior\"\nversion = \"V\"\ntitle = \"Web\"\n\n[[knowledge_point]]\nid = \"html\"\ntitle = \"HTML\"\n";

fn item(id: &str, stem: &str) -> String {
    format!(
        "\n[[item]]\nid = \"{id}\"\ntype = \"single\"\nknowledge_point = \"html\"\ndifficulty = 0.75\npoints = 2\nstem = \"{stem}\"\noptions = [ {{ id = \"A\", text = \"`<div>`\" }}, {{ id = \"B\", text = \"`<main>`\" }} ]\nanswer = \"B\"\n"
    )
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xcert-cli-bank-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn write(path: &Path, text: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

/// A directory bank: bank.toml plus items split over two files and an image.
fn directory_bank(dir: &Path, version: &str, items: &[(&str, &str)]) {
    write(
        &dir.join("bank.toml"),
        HEADER.replace("\"V\"", &format!("\"{version}\"")),
    );
    let (first, second) = items.split_at(items.len() / 2);
    for (name, part) in [("a.toml", first), ("more/b.toml", second)] {
        let text: String = part.iter().map(|(id, stem)| item(id, stem)).collect();
        write(&dir.join("items").join(name), text);
    }
    write(
        &dir.join("media/box.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    );
}

fn xcert(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xcert"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xcert: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"))
}

fn s(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 temp path"))
}

#[test]
fn a_valid_directory_bank_validates_with_counts_for_all_eight_types() {
    let dir = scratch("valid");
    directory_bank(
        &dir,
        "1",
        &[
            ("A1", "Which element? ![box](media/box.svg)"),
            ("A2", "Second?"),
        ],
    );
    let (code, stdout, stderr) = xcert(&["bank", "validate", s(&dir), "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = json(&stdout);
    assert_eq!(report["valid"], true);
    assert_eq!(report["format"], "native");
    assert_eq!(report["items"], 2);
    assert_eq!(report["errors"], Value::Array(Vec::new()));
    let by_type = report["by_type"]
        .as_object()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(by_type.len(), 8);
    assert_eq!(by_type["single"], 2);
    assert_eq!(by_type["practical"], 0);
    assert_eq!(report["hash"].as_str().map(str::len), Some(64));
}

#[test]
fn an_invalid_bank_exits_one_and_lists_every_error_with_its_place() {
    let dir = scratch("invalid");
    let bank = dir.join("bank.toml");
    let text = format!(
        "{HEADER}{}{}",
        item("A1", "x").replace("difficulty = 0.75", "difficulty = 1.5"),
        item("A1", "<b>bold</b>")
    );
    write(&bank, &text);
    let (code, stdout, _) = xcert(&["bank", "validate", s(&bank), "--json"]);
    assert_eq!(code, 1);
    let report = json(&stdout);
    assert_eq!(report["valid"], false);
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    assert!(errors.len() >= 3, "{report}");
    assert_eq!(errors[0]["file"], s(&bank));
    assert_eq!(errors[0]["line"], 15);
    assert_eq!(errors[0]["column"], 14);
    assert_eq!(errors[0]["item"], "A1");
    assert!(errors.iter().any(|e| {
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("duplicate item id"))
    }));

    let (code, stdout, _) = xcert(&["bank", "validate", s(&bank)]);
    assert_eq!(code, 1);
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("{}:15:14: A1: difficulty 1.5", s(&bank))),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("errors"), "{stdout}");
}

#[test]
fn a_directory_without_bank_toml_is_invalid_with_a_clear_message() {
    let dir = scratch("nobank");
    write(&dir.join("items.toml"), item("A1", "x"));
    let (code, stdout, _) = xcert(&["bank", "validate", s(&dir)]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("no bank.toml in this directory"),
        "{stdout}"
    );
}

#[test]
fn a_missing_path_is_an_io_error() {
    let (code, stdout, stderr) = xcert(&["bank", "validate", "/nonexistent/bank.toml", "--json"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("cannot read /nonexistent/bank.toml"),
        "{stderr}"
    );
}

#[test]
fn an_import_format_is_refused_as_not_supported_yet() {
    let dir = scratch("gift");
    write(&dir.join("q.gift"), "::Q1:: 2+2 {=4 ~5}");
    let (code, _, stderr) = xcert(&["bank", "validate", s(&dir.join("q.gift"))]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not supported by this build yet"),
        "{stderr}"
    );
    let (code, _, stderr) = xcert(&["bank", "validate", s(&dir), "--format", "qti"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`qti` is not supported by this build yet"),
        "{stderr}"
    );
}

#[test]
fn non_utf8_and_oversized_files_are_invalid_not_crashes() {
    let dir = scratch("bad-bytes");
    let binary = dir.join("binary.toml");
    write(&binary, [HEADER.as_bytes(), b"\n# \xff\xfe\n"].concat());
    let (code, stdout, _) = xcert(&["bank", "validate", s(&binary)]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(":11:3: the file is not valid UTF-8"),
        "{stdout}"
    );

    let big = dir.join("big.toml");
    write(
        &big,
        format!(
            "{HEADER}{}",
            "# padding padding padding padding\n".repeat(50 * 1024 * 1024 / 34)
        ),
    );
    let (code, stdout, _) = xcert(&["bank", "validate", s(&big)]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("split the bank into several files"),
        "{stdout}"
    );

    let empty = dir.join("empty.toml");
    write(&empty, "");
    let (code, stdout, _) = xcert(&["bank", "validate", s(&empty)]);
    assert_eq!(code, 1);
    assert!(stdout.contains("no [bank] table"), "{stdout}");
}

#[test]
fn diff_reports_added_removed_and_changed_ids() {
    let dir = scratch("diff");
    let (old, new) = (dir.join("old"), dir.join("new"));
    directory_bank(&old, "1", &[("A1", "a"), ("A2", "b"), ("A3", "c")]);
    directory_bank(
        &new,
        "2",
        &[("A2", "b"), ("A3", "c, clarified"), ("A4", "d")],
    );
    let (code, stdout, stderr) = xcert(&["bank", "diff", s(&old), s(&new), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report = json(&stdout);
    assert_eq!(report["added"], serde_json::json!(["A4"]));
    assert_eq!(report["removed"], serde_json::json!(["A1"]));
    assert_eq!(report["changed"], serde_json::json!(["A3"]));

    let (code, stdout, _) = xcert(&["bank", "diff", s(&old), s(&old), "--json"]);
    assert_eq!(code, 0);
    let same = json(&stdout);
    assert_eq!(same["added"], serde_json::json!([]));
    assert_eq!(same["changed"], serde_json::json!([]));
}

#[test]
fn diff_of_an_invalid_bank_exits_one_with_errors_on_stderr() {
    let dir = scratch("diff-invalid");
    let good = dir.join("good");
    directory_bank(&good, "1", &[("A1", "a")]);
    let bad = dir.join("bad.toml");
    write(
        &bad,
        format!(
            "{HEADER}{}",
            item("A1", "a").replace("answer = \"B\"", "answer = \"Z\"")
        ),
    );
    let (code, stdout, stderr) = xcert(&["bank", "diff", s(&good), s(&bad), "--json"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("A1: answer `Z` names no option"),
        "{stderr}"
    );
}

#[test]
fn stats_show_the_bands_and_totals() {
    let dir = scratch("stats");
    directory_bank(&dir, "1", &[("A1", "a"), ("A2", "b")]);
    let (code, stdout, _) = xcert(&["bank", "stats", s(&dir)]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("easy p >= 0.7, medium 0.4 <= p < 0.7, hard p < 0.4"),
        "{stdout}"
    );
    let total = stdout
        .lines()
        .find(|l| l.starts_with("total"))
        .unwrap_or_default();
    assert!(
        total.split_whitespace().any(|w| w == "4"),
        "total points: {total}"
    );
    let (code, stdout, _) = xcert(&["bank", "stats", s(&dir), "--json"]);
    assert_eq!(code, 0);
    let report = json(&stdout);
    assert_eq!(report["items"], 2);
    assert_eq!(report["knowledge_points"][0]["knowledge_point"], "html");
    assert_eq!(report["knowledge_points"][0]["cells"]["single"]["easy"], 2);
    assert_eq!(report["total"]["by_band"]["easy"], 2);
}
