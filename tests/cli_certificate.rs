//! `xcert certificate verify` run as a user would: the real binary on documents written to a
//! temporary directory, with the exit codes 0 valid, 1 invalid, 2 usage or I/O.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use xcert_server::credentials::document::{PAYLOAD_FORMAT, Payload, SigningKey, new_number};

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xcert-cli-cert-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn issuer() -> SigningKey {
    SigningKey::from_seed(&[42; 32])
}

/// A document signed by `key`, as JSON text.
fn signed(key: &SigningKey) -> Value {
    let payload = Payload {
        certificate_code: "WEB-FE".to_owned(),
        certificate_level: "junior".to_owned(),
        certificate_title: "Web 前端开发".to_owned(),
        credits: 4,
        exam_date: "2026-06-06".to_owned(),
        format: PAYLOAD_FORMAT.to_owned(),
        holder_document: "1101**********002X".to_owned(),
        holder_name: "张三".to_owned(),
        issued_at: "2026-06-20T08:00:00Z".to_owned(),
        issuer_code: "ACME".to_owned(),
        issuer_name: "ACME Evaluation".to_owned(),
        key_id: key.public_key().key_id(),
        number: new_number("WEB-FE", "junior", 2026, [1, 2, 3, 4, 5, 6, 7, 8]),
    };
    serde_json::to_value(key.sign(payload)).unwrap_or_else(|e| panic!("{e}"))
}

fn write(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

fn xcert(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcert"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run xcert: {e}"))
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_genuine_document_is_valid_under_the_issuers_key_and_says_whose_it_is() {
    let dir = scratch("valid");
    let file = dir.join("certificate.json");
    write(&file, &signed(&issuer()));
    let key = issuer().public_key().to_hex();
    let output = xcert(&[
        "certificate",
        "verify",
        file.to_str().unwrap_or_default(),
        "--public-key",
        &key,
    ]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert!(stdout(&output).starts_with("VALID: certificate WEBFE-J-2026-"));
    assert!(stdout(&output).contains("张三"));

    // --json: exactly one document; the key may also come from the signing-keys JSON file.
    let keys = dir.join("signing-keys.json");
    write(
        &keys,
        &serde_json::json!({"keys": [{"key_id": issuer().public_key().key_id(), "algorithm": "Ed25519", "public_key": key}]}),
    );
    let output = xcert(&[
        "certificate",
        "verify",
        file.to_str().unwrap_or_default(),
        "--public-key",
        keys.to_str().unwrap_or_default(),
        "--json",
    ]);
    assert_eq!(code(&output), 0);
    let report: Value = serde_json::from_str(&stdout(&output)).expect("one JSON document");
    assert_eq!(report["valid"], true);
    assert_eq!(report["payload"]["holder_name"], "张三");
}

#[test]
fn any_altered_field_a_wrong_key_or_a_cut_signature_exits_1_with_the_reason() {
    let dir = scratch("tampered");
    let file = dir.join("certificate.json");
    let key = issuer().public_key().to_hex();
    let genuine = signed(&issuer());
    let fields = [
        "certificate_code",
        "certificate_level",
        "certificate_title",
        "exam_date",
        "holder_document",
        "holder_name",
        "issued_at",
        "issuer_code",
        "issuer_name",
        "number",
    ];
    for field in fields {
        let mut altered = genuine.clone();
        let old = altered["payload"][field].as_str().unwrap_or_default();
        altered["payload"][field] = Value::from(format!("{old}x"));
        write(&file, &altered);
        let output = xcert(&[
            "certificate",
            "verify",
            file.to_str().unwrap_or_default(),
            "--public-key",
            &key,
        ]);
        assert_eq!(code(&output), 1, "altered {field}: {}", stdout(&output));
        assert!(
            stdout(&output).contains("altered or forged"),
            "{field}: {}",
            stdout(&output)
        );
    }
    let mut altered = genuine.clone();
    altered["payload"]["credits"] = Value::from(40);
    write(&file, &altered);
    let output = xcert(&[
        "certificate",
        "verify",
        file.to_str().unwrap_or_default(),
        "--public-key",
        &key,
    ]);
    assert_eq!(code(&output), 1);

    // Signed by someone else's key (which the forger carries in the file).
    let forger = SigningKey::from_seed(&[13; 32]);
    write(&file, &signed(&forger));
    let output = xcert(&[
        "certificate",
        "verify",
        file.to_str().unwrap_or_default(),
        "--public-key",
        &key,
    ]);
    assert_eq!(code(&output), 1);
    assert!(
        stdout(&output).contains("not signed by the trusted issuer"),
        "{}",
        stdout(&output)
    );

    // A truncated signature.
    let mut truncated = genuine.clone();
    let signature = truncated["signature"].as_str().unwrap_or_default()[..100].to_owned();
    truncated["signature"] = Value::from(signature);
    write(&file, &truncated);
    let output = xcert(&[
        "certificate",
        "verify",
        file.to_str().unwrap_or_default(),
        "--public-key",
        &key,
    ]);
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).contains("malformed"), "{}", stdout(&output));

    // An extra field slipped in is not this document format.
    let mut extended = genuine;
    extended["payload"]["grade"] = Value::from("A+");
    write(&file, &extended);
    let output = xcert(&[
        "certificate",
        "verify",
        file.to_str().unwrap_or_default(),
        "--public-key",
        &key,
        "--json",
    ]);
    assert_eq!(code(&output), 1);
    let report: Value = serde_json::from_str(&stdout(&output)).expect("one JSON document");
    assert_eq!(report["valid"], false);
}

#[test]
fn a_bad_file_exits_1_and_a_missing_file_or_key_exits_2() {
    let dir = scratch("bad");
    let file = dir.join("certificate.json");
    std::fs::write(&file, "this is not JSON").unwrap_or_else(|e| panic!("{e}"));
    let key = issuer().public_key().to_hex();
    let output = xcert(&[
        "certificate",
        "verify",
        file.to_str().unwrap_or_default(),
        "--public-key",
        &key,
    ]);
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).contains("not a certificate document"));

    let missing = dir.join("nowhere.json");
    let output = xcert(&[
        "certificate",
        "verify",
        missing.to_str().unwrap_or_default(),
        "--public-key",
        &key,
    ]);
    assert_eq!(code(&output), 2);

    // Only the key inside the file: refused, and told why and what to pass.
    write(&file, &signed(&issuer()));
    let output = xcert(&["certificate", "verify", file.to_str().unwrap_or_default()]);
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("proves nothing") && stderr.contains("--public-key"),
        "{stderr}"
    );

    // A key that is not a key.
    let output = xcert(&[
        "certificate",
        "verify",
        file.to_str().unwrap_or_default(),
        "--public-key",
        "abcd",
    ]);
    assert_eq!(code(&output), 2);
    // No such subcommand argument: clap's usage error.
    let output = xcert(&["certificate", "verify"]);
    assert_eq!(code(&output), 2);
}
