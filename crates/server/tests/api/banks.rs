//! Bank versions: upload as TOML or a tar(.gz) of a bank directory, listing, reading, diffing
//! and the source as uploaded; organization isolation; every way an upload is refused, with
//! nothing stored; and the storage functions on this run's backend.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tar::{EntryType, Header};
use xcert_bank::{Bank, BankSource};
use xcert_server::storage::banks::{BankSourceFormat, BankVersion};
use xcert_server::storage::{AuditEntry, StorageError};

use crate::helpers::{Reply, TestApp};

const TINY: &str = include_str!("../fixtures/banks/tiny.toml");
const BROKEN: &str = include_str!("../fixtures/banks/broken.toml");

fn sample_dir(version: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../question-banks/web-fe-junior")
        .join(version)
}

/// Every file under `dir` as (relative path with `/`, bytes), in path order.
fn files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("list the sample bank")
            .map(|entry| entry.expect("an entry").path())
            .collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("below the root");
                let name = relative.to_str().expect("UTF-8").replace('\\', "/");
                out.push((name, std::fs::read(&path).expect("read a sample file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// The sample bank parsed by `xcert-bank` straight from its directory, as the CLI reads it.
fn sample_bank(version: &str) -> Bank {
    let mut source = BankSource::new();
    for (name, bytes) in files_below(&sample_dir(version)) {
        if name.starts_with("media/") {
            source.add_media(name, bytes);
        } else if name.ends_with(".toml") {
            source.add_file(name, bytes);
        }
    }
    Bank::parse(&source).unwrap_or_else(|errors| panic!("{errors:#?}"))
}

/// `tar czf bank.tar.gz -C question-banks/web-fe-junior VERSION`, built in memory.
fn sample_tar_gz(version: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    builder
        .append_dir_all(version, sample_dir(version))
        .expect("archive the sample bank");
    builder
        .into_inner()
        .expect("finish the tar")
        .finish()
        .expect("finish gzip")
}

/// A tar whose second entry is written as is (no path checks), the way a hostile archive is made.
fn hostile_tar(path: &str, kind: EntryType, link: Option<&str>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, data, link) in [
        ("tiny/bank.toml", EntryType::Regular, TINY.as_bytes(), None),
        (path, kind, b"".as_slice(), link),
    ] {
        let mut header = Header::new_gnu();
        header.as_gnu_mut().expect("a GNU header").name[..name.len()]
            .copy_from_slice(name.as_bytes());
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if let Some(link) = link {
            header.set_link_name(link).expect("a link name");
        }
        header.set_cksum();
        builder.append(&header, data).expect("append an entry");
    }
    builder.into_inner().expect("finish the tar")
}

/// A tar.gz of a few hundred KiB whose one media file inflates past the 256 MiB bank limit.
fn gzip_bomb() -> Vec<u8> {
    let size = xcert_bank::MAX_BANK_BYTES as u64 + 1;
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let mut header = Header::new_gnu();
    header.set_size(TINY.len() as u64);
    header.set_mode(0o644);
    builder
        .append_data(&mut header, "tiny/bank.toml", TINY.as_bytes())
        .expect("append bank.toml");
    let mut header = Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    builder
        .append_data(
            &mut header,
            "tiny/media/zeros.svg",
            std::io::repeat(0).take(size),
        )
        .expect("append the zeros");
    builder
        .into_inner()
        .expect("finish the tar")
        .finish()
        .expect("finish gzip")
}

async fn upload(
    app: &TestApp,
    token: &str,
    organization: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let response = app
        .client
        .post(format!(
            "{}/api/v1/organizations/{organization}/banks",
            app.base
        ))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = response.json().await.expect("a JSON answer");
    Reply {
        status,
        headers,
        body,
    }
}

/// Uploads and asserts 201, returning the version view.
async fn uploaded(
    app: &TestApp,
    token: &str,
    organization: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Value {
    let reply = upload(app, token, organization, content_type, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

/// `GET /banks/{id}/source`: status, content type and raw bytes.
async fn source(app: &TestApp, token: &str, id: &str) -> (StatusCode, String, Vec<u8>) {
    let response = app
        .client
        .get(format!("{}/api/v1/banks/{id}/source", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.bytes().await.expect("a body").to_vec();
    (status, content_type, bytes)
}

/// An organization with one `org` staff account and the given certificates (code, level).
struct Organization {
    id: String,
    token: String,
}

async fn organization(
    app: &TestApp,
    admin: &str,
    code: &str,
    certificates: &[(&str, &str)],
) -> Organization {
    let id = app.create_organization(admin, code).await;
    let username = format!("{}.lead", code.to_lowercase());
    let reply = app.create_staff(admin, &id, &username, "org").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let token = app
        .token(&username, &format!("{username} password 12"))
        .await;
    for (certificate, level) in certificates {
        let reply = app
            .post(
                &format!("/api/v1/organizations/{id}/certificates"),
                Some(&token),
                &json!({"code": certificate, "level": level, "title": "t", "credits": 4}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    Organization { id, token }
}

async fn bank_audit_entries(app: &TestApp) -> Vec<AuditEntry> {
    app.storage()
        .await
        .audit_log(200)
        .await
        .expect("read the audit log")
        .into_iter()
        .filter(|entry| entry.action == "bank.upload")
        .collect()
}

#[tokio::test]
async fn a_single_file_bank_is_stored_with_the_hash_xcert_bank_computes() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;

    let view = uploaded(
        &app,
        &acme.token,
        &acme.id,
        "application/toml; charset=utf-8",
        TINY.as_bytes().to_vec(),
    )
    .await;
    let expected = Bank::parse(&BankSource::single("bank.toml", TINY)).expect("tiny parses");
    assert_eq!(view["content_hash"], expected.content_hash().to_hex());
    assert_eq!(view["organization"], acme.id.as_str());
    assert_eq!(view["code"], "TINY");
    assert_eq!(view["level"], "junior");
    assert_eq!(view["version"], "1");
    assert_eq!(view["items"], 3);
    assert_eq!(view["by_type"]["single"], 1);
    assert_eq!(view["by_type"]["true_false"], 2);
    assert_eq!(view["by_type"]["essay"], 0);
    assert_eq!(view["knowledge_points"], 1);
    assert_eq!(view["source_format"], "toml");
    assert!(
        view["uploaded_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let id = view["id"].as_str().expect("an id").to_owned();
    assert_eq!(id.len(), 32, "a random hex id");

    // The version with its statistics.
    let read = app
        .get(&format!("/api/v1/banks/{id}"), Some(&acme.token))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["content_hash"], view["content_hash"]);
    assert_eq!(read.body["stats"]["total"]["items"], 3);
    assert_eq!(read.body["stats"]["total"]["points"], 4.0);
    assert_eq!(
        read.body["stats"]["knowledge_points"][0]["knowledge_point"],
        "basics"
    );
    assert_eq!(read.body["stats"]["total"]["by_band"]["easy"], 1);
    assert_eq!(read.body["stats"]["total"]["by_band"]["hard"], 1);

    // The source comes back byte for byte, for re-checking the hash offline.
    let (status, content_type, bytes) = source(&app, &acme.token, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/toml");
    assert_eq!(bytes, TINY.as_bytes());

    // Audited once, by the uploader, naming the version.
    let entries = bank_audit_entries(&app).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].object, format!("bank_version:{id}"));
    let lead = app
        .storage()
        .await
        .staff_by_username("acme.lead")
        .await
        .expect("read staff")
        .expect("the lead exists");
    assert_eq!(entries[0].actor, lead.id);
    assert_eq!(view["uploaded_by"], lead.id.as_str());
}

#[tokio::test]
async fn a_tar_gz_bank_directory_is_stored_and_diffs_like_xcert_bank_diff() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(
        &app,
        &admin,
        "ACME",
        &[("WEB-FE", "junior"), ("TINY", "junior")],
    )
    .await;

    let archive = sample_tar_gz("2025.1");
    let old = uploaded(
        &app,
        &acme.token,
        &acme.id,
        "application/gzip",
        archive.clone(),
    )
    .await;
    let new = uploaded(
        &app,
        &admin,
        &acme.id,
        "application/x-tar",
        // A plain tar this time: both packings are accepted.
        {
            let mut builder = tar::Builder::new(Vec::new());
            builder
                .append_dir_all("2026.1", sample_dir("2026.1"))
                .expect("archive 2026.1");
            builder.into_inner().expect("finish the tar")
        },
    )
    .await;
    let (old_bank, new_bank) = (sample_bank("2025.1"), sample_bank("2026.1"));
    assert_eq!(old["content_hash"], old_bank.content_hash().to_hex());
    assert_eq!(new["content_hash"], new_bank.content_hash().to_hex());
    assert_eq!(old["source_format"], "tar.gz");
    assert_eq!(new["source_format"], "tar");
    assert_eq!(new["items"], new_bank.items().len());

    let (status, content_type, bytes) =
        source(&app, &acme.token, old["id"].as_str().expect("id")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/gzip");
    assert_eq!(bytes, archive);

    // The diff is `xcert bank diff 2025.1 2026.1`: 48 added, 20 removed, 7 changed.
    let (old_id, new_id) = (
        old["id"].as_str().expect("id"),
        new["id"].as_str().expect("id"),
    );
    let diff = app
        .get(
            &format!("/api/v1/banks/{old_id}/diff/{new_id}"),
            Some(&acme.token),
        )
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    let expected = xcert_bank::diff(&old_bank, &new_bank);
    assert_eq!(diff.body["added"], json!(expected.added));
    assert_eq!(diff.body["removed"], json!(expected.removed));
    assert_eq!(diff.body["changed"], json!(expected.changed));
    let counts = |key: &str| diff.body[key].as_array().map(Vec::len);
    assert_eq!(
        (counts("added"), counts("removed"), counts("changed")),
        (Some(48), Some(20), Some(7))
    );

    // Listed newest first, without the source.
    let listed = app
        .get(
            &format!("/api/v1/organizations/{}/banks", acme.id),
            Some(&acme.token),
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let versions: Vec<&str> = listed
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|view| view["version"].as_str().expect("a version"))
        .collect();
    assert_eq!(versions, ["2026.1", "2025.1"]);
    assert!(listed.body[0].get("source").is_none());

    // Versions of different certificates cannot be compared.
    let tiny = uploaded(
        &app,
        &acme.token,
        &acme.id,
        "application/toml",
        TINY.as_bytes().to_vec(),
    )
    .await;
    let tiny_id = tiny["id"].as_str().expect("id");
    let message = app
        .get(
            &format!("/api/v1/banks/{tiny_id}/diff/{new_id}"),
            Some(&acme.token),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert!(message.contains("different certificates"), "{message}");
}

#[tokio::test]
async fn one_organization_never_sees_another_organizations_banks() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;
    let globex = organization(&app, &admin, "GLOBEX", &[("WEB-FE", "junior")]).await;
    let acme_bank = uploaded(
        &app,
        &acme.token,
        &acme.id,
        "application/toml",
        TINY.as_bytes().to_vec(),
    )
    .await;
    let globex_bank = uploaded(
        &app,
        &globex.token,
        &globex.id,
        "application/gzip",
        sample_tar_gz("2026.1"),
    )
    .await;
    let (a, g) = (
        acme_bank["id"].as_str().expect("id"),
        globex_bank["id"].as_str().expect("id"),
    );

    for path in [
        format!("/api/v1/banks/{a}"),
        format!("/api/v1/banks/{a}/source"),
        format!("/api/v1/banks/{a}/diff/{g}"),
        format!("/api/v1/banks/{g}/diff/{a}"),
        format!("/api/v1/organizations/{}/banks", acme.id),
    ] {
        app.get(&path, Some(&globex.token))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    // Nor upload into it.
    upload(
        &app,
        &globex.token,
        &acme.id,
        "application/toml",
        TINY.as_bytes().to_vec(),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");

    // Each list shows the organization's own versions only; the admin reads both.
    for (organization, own) in [(&acme, a), (&globex, g)] {
        let listed = app
            .get(
                &format!("/api/v1/organizations/{}/banks", organization.id),
                Some(&organization.token),
            )
            .await;
        let ids: Vec<&str> = listed
            .body
            .as_array()
            .expect("a list")
            .iter()
            .map(|view| view["id"].as_str().expect("an id"))
            .collect();
        assert_eq!(ids, [own]);
    }
    for id in [a, g] {
        let read = app.get(&format!("/api/v1/banks/{id}"), Some(&admin)).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    }
}

#[tokio::test]
async fn an_invalid_bank_returns_every_error_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;

    let reply = upload(
        &app,
        &acme.token,
        &acme.id,
        "application/toml",
        BROKEN.as_bytes().to_vec(),
    )
    .await;
    let message = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_bank");
    assert!(message.contains("Nothing was stored"), "{message}");
    let expected = match Bank::parse(&BankSource::single("bank.toml", BROKEN)) {
        Ok(_) => panic!("the broken fixture parses"),
        Err(diagnostics) => diagnostics,
    };
    let errors = reply.body["error"]["errors"]
        .as_array()
        .expect("an error list");
    assert_eq!(errors.len(), expected.len(), "{}", reply.body);
    for (error, diagnostic) in errors.iter().zip(&expected) {
        assert_eq!(error["file"], "bank.toml");
        assert_eq!(error["line"], json!(diagnostic.line));
        assert_eq!(error["item"], json!(diagnostic.item));
        assert_eq!(error["message"], diagnostic.message.as_str());
        assert!(error["line"].is_u64(), "{error}");
    }
    let items: Vec<&str> = errors
        .iter()
        .filter_map(|error| error["item"].as_str())
        .collect();
    for item in ["TINY-101", "TINY-102", "TINY-103"] {
        assert!(items.contains(&item), "{item} is reported: {items:?}");
    }

    // Nothing stored, nothing audited.
    let listed = app
        .get(
            &format!("/api/v1/organizations/{}/banks", acme.id),
            Some(&acme.token),
        )
        .await;
    assert_eq!(listed.body, json!([]));
    assert!(bank_audit_entries(&app).await.is_empty());
}

#[tokio::test]
async fn a_bank_for_a_certificate_the_organization_does_not_have_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "senior")]).await;
    // Another organization's certificate does not count either.
    let _globex = organization(&app, &admin, "GLOBEX", &[("TINY", "junior")]).await;

    let message = upload(
        &app,
        &acme.token,
        &acme.id,
        "application/toml",
        TINY.as_bytes().to_vec(),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_certificate");
    assert!(
        message.contains("`TINY`") && message.contains("`junior`"),
        "{message}"
    );
    assert!(
        message.contains(&format!("/api/v1/organizations/{}/certificates", acme.id)),
        "{message}"
    );
    let listed = app
        .get(
            &format!("/api/v1/organizations/{}/banks", acme.id),
            Some(&acme.token),
        )
        .await;
    assert_eq!(listed.body, json!([]));
}

#[tokio::test]
async fn the_same_version_twice_is_a_conflict_naming_the_stored_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;
    let first = uploaded(
        &app,
        &acme.token,
        &acme.id,
        "application/toml",
        TINY.as_bytes().to_vec(),
    )
    .await;
    let id = first["id"].as_str().expect("id");

    let again = upload(
        &app,
        &acme.token,
        &acme.id,
        "application/toml",
        TINY.as_bytes().to_vec(),
    )
    .await;
    let message = again.assert_error(StatusCode::CONFLICT, "conflict");
    assert!(
        message.contains("already uploaded") && message.contains(id),
        "{message}"
    );
    assert_eq!(again.body["error"]["existing"], id);

    let changed = TINY.replace("Which tag marks", "Which element marks");
    let message = upload(
        &app,
        &acme.token,
        &acme.id,
        "application/toml",
        changed.into_bytes(),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
    assert!(
        message.contains("different content") && message.contains(id),
        "{message}"
    );
    assert_eq!(bank_audit_entries(&app).await.len(), 1);
}

#[tokio::test]
async fn unsafe_or_unreadable_archives_are_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;

    let cases: [(Vec<u8>, &str, &str); 5] = [
        (
            hostile_tar("tiny/../../etc/x.toml", EntryType::Regular, None),
            "application/x-tar",
            "`..`",
        ),
        (
            hostile_tar("/etc/x.toml", EntryType::Regular, None),
            "application/x-tar",
            "absolute path",
        ),
        (
            hostile_tar("tiny/media/a.svg", EntryType::Symlink, Some("/etc/passwd")),
            "application/x-tar",
            "is a link",
        ),
        (gzip_bomb(), "application/gzip", "256 MiB"),
        (
            b"this is not a gzip stream".to_vec(),
            "application/gzip",
            "cannot be read",
        ),
    ];
    for (body, content_type, expected) in cases {
        let message = upload(&app, &acme.token, &acme.id, content_type, body)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_archive");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let listed = app
        .get(
            &format!("/api/v1/organizations/{}/banks", acme.id),
            Some(&acme.token),
        )
        .await;
    assert_eq!(listed.body, json!([]));
    assert!(bank_audit_entries(&app).await.is_empty());
}

#[tokio::test]
async fn a_body_that_is_neither_toml_nor_an_archive_is_an_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;
    for content_type in ["application/json", "text/plain", "application/zip"] {
        let message = upload(
            &app,
            &acme.token,
            &acme.id,
            content_type,
            TINY.as_bytes().to_vec(),
        )
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        assert!(message.contains("application/toml"), "{message}");
    }
}

#[tokio::test]
async fn the_upload_route_accepts_banks_larger_than_the_global_body_limit() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;
    // A TOML comment pads the bank past the 2 MiB global limit without changing its content.
    let padding = format!("# {}\n", "x".repeat(3 * 1024 * 1024));
    let body = format!("{padding}{TINY}").into_bytes();
    let view = uploaded(&app, &acme.token, &acme.id, "application/toml", body).await;
    let expected = Bank::parse(&BankSource::single("bank.toml", TINY)).expect("tiny parses");
    assert_eq!(view["content_hash"], expected.content_hash().to_hex());
    // Past the route's own 64 MiB limit: 413 in the contract's shape.
    upload(
        &app,
        &acme.token,
        &acme.id,
        "application/toml",
        vec![b'#'; xcert_server::banks::MAX_UPLOAD_BYTES + 1],
    )
    .await
    .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Other routes keep the global limit.
    let big_json = json!({"code": "BIG", "name": "x".repeat(3 * 1024 * 1024)});
    app.post("/api/v1/organizations", Some(&admin), &big_json)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn upload_bank_stores_a_version_without_http_for_the_demo_command() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;
    let storage = app.storage().await;
    let lead = storage
        .staff_by_username("acme.lead")
        .await
        .expect("read staff")
        .expect("the lead exists");
    let version = xcert_server::banks::upload_bank(
        &storage,
        &lead.id,
        &acme.id,
        "application/toml",
        TINY.as_bytes().to_vec(),
    )
    .await
    .expect("stored");
    assert_eq!(version.certificate_code, "TINY");
    let read = app
        .get(&format!("/api/v1/banks/{}", version.id), Some(&acme.token))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["content_hash"], version.content_hash.as_str());
    assert_eq!(bank_audit_entries(&app).await.len(), 1);
}

#[tokio::test]
async fn bank_version_storage_round_trips_on_this_backend() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;
    let storage = app.storage().await;
    let certificate = storage
        .certificates_of(&acme.id)
        .await
        .expect("read certificates")
        .remove(0);
    let lead = storage
        .staff_by_username("acme.lead")
        .await
        .expect("read staff")
        .expect("the lead exists");
    let version = |id: &str, label: &str, at: i64| BankVersion {
        id: id.to_owned(),
        organization_id: acme.id.clone(),
        certificate_id: certificate.id.clone(),
        certificate_code: certificate.code.clone(),
        level: certificate.level.clone(),
        version: label.to_owned(),
        content_hash: "ab".repeat(32),
        item_count: 3,
        knowledge_points: 1,
        items_by_type: [("single".to_owned(), 1), ("true_false".to_owned(), 2)]
            .into_iter()
            .collect(),
        source_format: BankSourceFormat::TarGz,
        uploaded_by: lead.id.clone(),
        created_at: at,
    };
    let audit = |object: &str| AuditEntry {
        actor: lead.id.clone(),
        at: 0,
        action: "bank.upload".to_owned(),
        object: object.to_owned(),
        payload_sha256: "0".repeat(64),
    };
    // Bytes that are not UTF-8 survive as they are (BLOB / BYTEA).
    let source: Vec<u8> = (0..=255).collect();
    storage
        .create_bank_version(
            &version("v-old", "2025.1", 100),
            &source,
            &audit("bank_version:v-old"),
        )
        .await
        .expect("store the old version");
    storage
        .create_bank_version(
            &version("v-new", "2026.1", 200),
            b"new",
            &audit("bank_version:v-new"),
        )
        .await
        .expect("store the new version");

    assert_eq!(
        storage.bank_version("v-old").await.expect("read"),
        Some(version("v-old", "2025.1", 100))
    );
    assert_eq!(storage.bank_version("nope").await.expect("read"), None);
    let by_label = storage
        .bank_version_by_label(&certificate.id, "2026.1")
        .await
        .expect("read by label")
        .expect("found");
    assert_eq!(by_label.id, "v-new");
    let listed: Vec<String> = storage
        .bank_versions_of(&acme.id)
        .await
        .expect("list")
        .into_iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(listed, ["v-new", "v-old"]);
    assert_eq!(
        storage
            .bank_version_source("v-old")
            .await
            .expect("read source"),
        Some((BankSourceFormat::TarGz, source))
    );

    // The same certificate and version label again: a duplicate, and nothing audited for it.
    let duplicate = storage
        .create_bank_version(
            &version("v-dup", "2025.1", 300),
            b"x",
            &audit("bank_version:v-dup"),
        )
        .await;
    assert!(
        matches!(duplicate, Err(StorageError::Duplicate(_))),
        "{duplicate:?}"
    );
    let mut orphan = version("v-orphan", "9", 300);
    orphan.certificate_id = "no-such-certificate".to_owned();
    let missing = storage
        .create_bank_version(&orphan, b"x", &audit("bank_version:v-orphan"))
        .await;
    assert!(
        matches!(missing, Err(StorageError::MissingReference(_))),
        "{missing:?}"
    );
    let audited: Vec<String> = bank_audit_entries(&app)
        .await
        .into_iter()
        .map(|entry| entry.object)
        .collect();
    assert_eq!(audited, ["bank_version:v-new", "bank_version:v-old"]);
}

#[tokio::test]
async fn a_stored_version_is_parsed_again_on_a_cache_miss_and_must_keep_its_hash() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let acme = organization(&app, &admin, "ACME", &[("TINY", "junior")]).await;
    let storage = app.storage().await;
    let certificate = storage
        .certificates_of(&acme.id)
        .await
        .expect("read certificates")
        .remove(0);
    let lead = storage
        .staff_by_username("acme.lead")
        .await
        .expect("read staff")
        .expect("the lead exists")
        .id;
    let tiny = Bank::parse(&BankSource::single("bank.toml", TINY)).expect("tiny parses");
    // Written straight to storage, so the server has never parsed or cached these versions.
    for (id, label, hash) in [
        ("v-good", "1", tiny.content_hash().to_hex()),
        ("v-tampered", "2", "0".repeat(64)),
    ] {
        let version = BankVersion {
            id: id.to_owned(),
            organization_id: acme.id.clone(),
            certificate_id: certificate.id.clone(),
            certificate_code: certificate.code.clone(),
            level: certificate.level.clone(),
            version: label.to_owned(),
            content_hash: hash,
            item_count: 3,
            knowledge_points: 1,
            items_by_type: [("single".to_owned(), 1), ("true_false".to_owned(), 2)]
                .into_iter()
                .collect(),
            source_format: BankSourceFormat::Toml,
            uploaded_by: lead.clone(),
            created_at: 1,
        };
        let audit = AuditEntry {
            actor: version.uploaded_by.clone(),
            at: 1,
            action: "bank.upload".to_owned(),
            object: format!("bank_version:{id}"),
            payload_sha256: "0".repeat(64),
        };
        storage
            .create_bank_version(&version, TINY.as_bytes(), &audit)
            .await
            .expect("store a version");
    }
    let good = app.get("/api/v1/banks/v-good", Some(&acme.token)).await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert_eq!(good.body["stats"]["total"]["items"], 3);
    // A source that no longer gives its recorded hash is never served as that version.
    app.get("/api/v1/banks/v-tampered", Some(&acme.token))
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
}
