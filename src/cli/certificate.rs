//! `xcert certificate verify FILE [--public-key KEY] [--server URL] [--json]`: checks a signed
//! certificate document offline (docs/CERTIFICATES.md).
//!
//! Trust never comes from the file: a document may carry its signer's public key, but anyone
//! can sign a forgery with their own key and carry that. The key to trust is given with
//! `--public-key` (64 hex digits, or a file holding them or the JSON of
//! `GET /api/v1/certificates/signing-keys`), or fetched from the issuer with `--server`, which
//! also asks whether the certificate has been revoked.
//!
//! Exit codes: 0 valid (and not revoked, when asked); 1 invalid: altered, forged, signed by
//! another key, not a certificate document, or revoked or unknown at the server; 2 usage or
//! I/O: unreadable file, no trusted key given, server unreachable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use clap::Subcommand;
use serde::Serialize;
use xcert_server::credentials::document::{self, PublicKey, SignedDocument};

use super::{Exit, print_json, print_stderr, print_stdout};

#[derive(Debug, Subcommand)]
pub(crate) enum CertificateCommand {
    /// Verify a signed certificate document offline against a trusted key.
    Verify {
        /// The document (JSON), as downloaded by the holder or the issuer.
        file: PathBuf,
        /// The issuer's public key: 64 hex digits, or a file holding them or the JSON of
        /// GET /api/v1/certificates/signing-keys.
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
        /// The issuing server (e.g. http://exam.example:8080): its published key is trusted
        /// (unless --public-key is given) and it is asked whether the certificate was revoked.
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Print exactly one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: CertificateCommand) -> anyhow::Result<Exit> {
    match command {
        CertificateCommand::Verify {
            file,
            public_key,
            server,
            json,
        } => verify(&file, public_key.as_deref(), server.as_deref(), json),
    }
}

/// The `--json` report.
#[derive(Debug, Serialize)]
struct Report {
    valid: bool,
    reason: String,
    number: Option<String>,
    key_id: Option<String>,
    /// Where the trusted key came from: `--public-key` or the server.
    trusted_key: Option<String>,
    /// The server's status (`valid`, `revoked`, `unknown`) when `--server` was given.
    status: Option<String>,
    payload: Option<document::Payload>,
}

fn finish(report: &Report, json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(report)?;
    } else if report.valid {
        print_stdout(&format!("VALID: {}", report.reason));
    } else {
        print_stdout(&format!("INVALID: {}", report.reason));
    }
    Ok(if report.valid {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

fn invalid(reason: String, document: Option<&SignedDocument>) -> Report {
    Report {
        valid: false,
        reason,
        number: document.map(|document| document.payload.number.clone()),
        key_id: document.map(|document| document.key_id.clone()),
        trusted_key: None,
        status: None,
        payload: None,
    }
}

fn verify(
    path: &Path,
    public_key: Option<&str>,
    server: Option<&str>,
    json: bool,
) -> anyhow::Result<Exit> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let document: SignedDocument = match serde_json::from_str(&text) {
        Ok(document) => document,
        Err(error) => {
            let reason = format!(
                "{} is not a certificate document ({error}); a document is the JSON downloaded from the certificate's page",
                path.display()
            );
            return finish(&invalid(reason, None), json);
        }
    };
    let server = server.map(|url| url.trim_end_matches('/').to_owned());
    let online = match &server {
        Some(url) => Some(ask_server(url, &document.payload.number)?),
        None => None,
    };
    let (trusted, source) = match (public_key, &online) {
        (Some(key), _) => (read_keys(key)?, "--public-key".to_owned()),
        (None, Some(online)) => (online.keys.clone(), online.url.to_string()),
        (None, None) => {
            let carried = document
                .public_key
                .as_deref()
                .map(|_| {
                    format!(
                        "the document carries a public key (id {}), but a key inside the file proves nothing: anyone can sign a forgery with their own key. ",
                        document.key_id
                    )
                })
                .unwrap_or_default();
            print_stderr(&format!(
                "error: no trusted key. {carried}Pass the issuer's key with --public-key KEY (from GET /api/v1/certificates/signing-keys) or ask the issuer with --server URL."
            ));
            return Ok(Exit::UsageOrIo);
        }
    };
    let Some(key) = trusted
        .iter()
        .find(|key| key.key_id() == document.key_id)
        .or(trusted.first())
    else {
        bail!("no public key found in {source}");
    };
    if let Err(error) = document::verify(&document, key) {
        return finish(&invalid(error.to_string(), Some(&document)), json);
    }
    let payload = &document.payload;
    let mut report = Report {
        valid: true,
        reason: format!(
            "certificate {} of {} ({}, {} {}, exam {}), issued by {} on {}; signature by key {} ({source})",
            payload.number,
            payload.holder_name,
            payload.certificate_title,
            payload.certificate_code,
            payload.certificate_level,
            payload.exam_date,
            payload.issuer_name,
            payload.issued_at,
            document.key_id,
        ),
        number: Some(payload.number.clone()),
        key_id: Some(document.key_id.clone()),
        trusted_key: Some(source),
        status: None,
        payload: Some(payload.clone()),
    };
    if let Some(online) = online {
        report.status = Some(online.status.clone());
        match online.status.as_str() {
            "valid" => report.reason.push_str("; not revoked"),
            "revoked" => {
                report.valid = false;
                report.reason = format!(
                    "the signature is genuine, but the issuer revoked certificate {} on {}: {}",
                    payload.number,
                    online.revoked_at.as_deref().unwrap_or("?"),
                    online
                        .revocation_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                );
            }
            _ => {
                report.valid = false;
                report.reason = format!(
                    "the signature is genuine, but {} does not know certificate {}",
                    online.url, payload.number
                );
            }
        }
    }
    finish(&report, json)
}

/// Reads `--public-key`: 64 hex digits, or a file with them or with the signing-keys JSON.
fn read_keys(argument: &str) -> anyhow::Result<Vec<PublicKey>> {
    if let Ok(key) = PublicKey::from_hex(argument) {
        return Ok(vec![key]);
    }
    let path = Path::new(argument);
    if !path.exists() {
        let error = PublicKey::from_hex(argument).err().map(|e| e.to_string());
        bail!(
            "--public-key {argument}: not a file, and not a key: {}",
            error.unwrap_or_default()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Ok(key) = PublicKey::from_hex(&text) {
        return Ok(vec![key]);
    }
    keys_of(&text).with_context(|| {
        format!(
            "{}: neither 64 hex digits nor the JSON of GET /api/v1/certificates/signing-keys",
            path.display()
        )
    })
}

/// The keys of a `GET /api/v1/certificates/signing-keys` answer.
fn keys_of(text: &str) -> anyhow::Result<Vec<PublicKey>> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let keys = value["keys"]
        .as_array()
        .ok_or_else(|| anyhow!("no `keys` list"))?;
    let keys = keys
        .iter()
        .map(|key| {
            let hex = key["public_key"]
                .as_str()
                .ok_or_else(|| anyhow!("a key without `public_key`"))?;
            Ok(PublicKey::from_hex(hex)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if keys.is_empty() {
        bail!("the `keys` list is empty");
    }
    Ok(keys)
}

/// What the issuing server says.
#[derive(Debug)]
struct Online {
    url: String,
    keys: Vec<PublicKey>,
    status: String,
    revoked_at: Option<String>,
    revocation_reason: Option<String>,
}

fn ask_server(url: &str, number: &str) -> anyhow::Result<Online> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .context("building the HTTP client")?;
        let keys_url = format!("{url}/api/v1/certificates/signing-keys");
        let response = client
            .get(&keys_url)
            .send()
            .await
            .with_context(|| format!("cannot reach {keys_url}"))?;
        if !response.status().is_success() {
            bail!("{keys_url} answered {}", response.status());
        }
        let text = response.text().await.context("reading the signing keys")?;
        let keys = keys_of(&text).with_context(|| format!("{keys_url}: unexpected answer"))?;
        let status_url = format!("{url}/api/v1/issued-certificates/{number}");
        let response = client
            .get(&status_url)
            .send()
            .await
            .with_context(|| format!("cannot reach {status_url}"))?;
        let code = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .with_context(|| format!("{status_url} answered {code} without JSON"))?;
        let status = body["status"]
            .as_str()
            .ok_or_else(|| anyhow!("{status_url} answered {code} without a status"))?
            .to_owned();
        Ok(Online {
            url: url.to_owned(),
            keys,
            status,
            revoked_at: body["revoked_at"].as_str().map(str::to_owned),
            revocation_reason: body["revocation_reason"].as_str().map(str::to_owned),
        })
    })
}
