//! Setup: every run builds its own exam through the staff API (organization, certificate,
//! bank, site, a sitting open now, N registered candidates), so runs are repeatable and never
//! meet an attempt a previous run submitted. None of this is timed as part of the simulation.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use reqwest::Method;
use serde_json::{Value, json};

use super::client::{Api, Body, Reply};
use super::ids;
use crate::cli::print_stderr;

/// The sample bank of the CLOUD-OPS intermediate certificate, shipped inside the binary so the
/// load test needs no files. Its header's certificate code is replaced per run.
const BANK: &str =
    include_str!("../../../question-banks/cloud-ops-intermediate/cloud-ops-2025.1.toml");

/// The sample blueprint for that bank: 35 items of every type (single, multiple, true/false,
/// numeric, fill-blank, short answer, practical), so saves carry every kind of response.
const BLUEPRINT: &str =
    include_str!("../../../question-banks/cloud-ops-intermediate/blueprint-intermediate.toml");

/// The bank header line naming the certificate.
const BANK_CERTIFICATE_LINE: &str = "certificate = \"CLOUD-OPS\"";

/// Who logs in to the staff API.
#[derive(Debug, Clone)]
pub(super) struct Credentials {
    pub(super) username: String,
    pub(super) password: String,
}

/// Where the admin's credentials come from, first found wins: the flags, the
/// `XCERT_ADMIN_PASSWORD` the server was started with, or the `xcert demo` output file.
pub(super) fn admin_credentials(
    username: Option<&str>,
    password: Option<&str>,
    environment_password: Option<String>,
    demo_file: &Path,
) -> anyhow::Result<Credentials> {
    let default_username = || xcert_server::FIRST_ADMIN_USERNAME.to_owned();
    if let Some(password) = password {
        return Ok(Credentials {
            username: username.map_or_else(default_username, str::to_owned),
            password: password.to_owned(),
        });
    }
    if let Some(password) = environment_password.filter(|password| !password.is_empty()) {
        return Ok(Credentials {
            username: username.map_or_else(default_username, str::to_owned),
            password,
        });
    }
    let text = std::fs::read_to_string(demo_file).with_context(|| {
        format!(
            "no admin password: pass --admin-password, set XCERT_ADMIN_PASSWORD, or run \
             `xcert demo --json > {}` first (could not read it)",
            demo_file.display()
        )
    })?;
    let demo: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not the JSON `xcert demo --json` prints",
            demo_file.display()
        )
    })?;
    let admin = demo["staff"]
        .as_array()
        .and_then(|staff| {
            staff.iter().find(|member| {
                member["role"] == "admin"
                    && username.is_none_or(|username| member["username"] == username)
            })
        })
        .with_context(|| format!("{} lists no admin in `staff`", demo_file.display()))?;
    match (admin["username"].as_str(), admin["password"].as_str()) {
        (Some(username), Some(password)) => Ok(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        }),
        _ => bail!(
            "{}: the admin entry lacks a username or password",
            demo_file.display()
        ),
    }
}

/// How long the sitting must stay open for the simulation planned.
#[derive(Debug, Clone, Copy)]
pub(super) struct SittingTimes {
    /// Each candidate's time allowed: from their start to their deadline.
    pub(super) duration: Duration,
    /// From now until the sitting closes.
    pub(super) open_for: Duration,
}

/// One registered candidate.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) ticket: String,
    pub(super) id_number: String,
}

/// The exam a run built.
#[derive(Debug)]
pub(super) struct Exam {
    pub(super) organization_code: String,
    pub(super) sitting_id: String,
    pub(super) candidates: Vec<Candidate>,
}

/// Builds the exam: staff login, organization, certificate, bank, site, sitting, then the
/// registrations with at most `concurrency` in flight. `run_code` (A-Z, 0-9) makes every code
/// unique; `id_offset` picks where in the space of synthetic ID numbers this run's start.
pub(super) async fn prepare(
    api: &Arc<Api>,
    credentials: &Credentials,
    candidates: usize,
    run_code: &str,
    id_offset: u64,
    times: SittingTimes,
    concurrency: usize,
) -> anyhow::Result<Exam> {
    let session = expect(
        api,
        Method::POST,
        "/staff/sessions",
        None,
        Body::Json(&json!({"username": credentials.username, "password": credentials.password})),
        200..=201,
        &format!("logging in as the admin `{}`", credentials.username),
    )
    .await?;
    let admin_token = text(&session, "token")?;
    let token = Some(admin_token.as_str());

    let organization_code = format!("LT-{run_code}");
    let organization = expect(
        api,
        Method::POST,
        "/organizations",
        token,
        Body::Json(&json!({"code": organization_code, "name": format!("Load test {run_code}")})),
        201..=201,
        "creating the organization",
    )
    .await?;
    let organization_id = text(&organization, "id")?;

    let certificate_code = format!("CLOUD-OPS-LT-{run_code}");
    let certificate = expect(
        api,
        Method::POST,
        &format!("/organizations/{organization_id}/certificates"),
        token,
        Body::Json(&json!({
            "code": certificate_code, "level": "intermediate", "credits": 4,
            "title": "Cloud Platform Operations (load test)",
            // No one is banned by a load test, should someone publish its results.
            "retake_ban_percent": 0,
        })),
        201..=201,
        "creating the certificate",
    )
    .await?;
    let certificate_id = text(&certificate, "id")?;

    let bank = bank_for(&certificate_code);
    let bank = expect(
        api,
        Method::POST,
        &format!("/organizations/{organization_id}/banks"),
        token,
        Body::Raw {
            content_type: "application/toml",
            bytes: bank.as_bytes(),
        },
        201..=201,
        "uploading the bank",
    )
    .await?;
    let bank_id = text(&bank, "id")?;

    let site = expect(
        api,
        Method::POST,
        "/sites",
        token,
        Body::Json(&json!({"code": format!("LT-{run_code}"), "name": format!("Load test site {run_code}")})),
        201..=201,
        "creating the exam site",
    )
    .await?;
    let site_id = text(&site, "id")?;

    // The server's clock decides whether the sitting is open: read it rather than ours.
    let time = expect(
        api,
        Method::GET,
        "/time",
        None,
        Body::None,
        200..=200,
        "reading the server's clock",
    )
    .await?;
    let now: jiff::Timestamp = text(&time, "server_time")?
        .parse()
        .context("GET /time: server_time is not RFC 3339")?;
    // Whole seconds: the sitting's times are stored in seconds.
    let now = jiff::Timestamp::from_second(now.as_second()).context("GET /time: server_time")?;
    let opens_at = now - jiff::SignedDuration::from_secs(60);
    let closes_at =
        now + jiff::SignedDuration::try_from(times.open_for).context("the sitting window")?;
    let sitting = expect(
        api,
        Method::POST,
        &format!("/organizations/{organization_id}/sittings"),
        token,
        Body::Json(&json!({
            "certificate": certificate_id,
            "bank_version": bank_id,
            "title": format!("Load test {run_code}"),
            "blueprint": BLUEPRINT,
            "opens_at": opens_at.to_string(),
            "closes_at": closes_at.to_string(),
            "duration_secs": times.duration.as_secs(),
            // Candidates may start until the sitting closes: registering thousands takes a
            // while, and the ramp comes after it.
            "late_entry_secs": (times.open_for + Duration::from_secs(60)).as_secs(),
            "sites": [site_id],
        })),
        201..=201,
        "creating the sitting",
    )
    .await?;
    let sitting_id = text(&sitting, "id")?;

    let registered = register(
        api,
        &admin_token,
        &sitting_id,
        &site_id,
        candidates,
        id_offset,
        concurrency,
    )
    .await?;
    Ok(Exam {
        organization_code,
        sitting_id,
        candidates: registered,
    })
}

/// Registers `count` candidates with distinct synthetic ID numbers, `concurrency` at a time.
async fn register(
    api: &Arc<Api>,
    token: &str,
    sitting_id: &str,
    site_id: &str,
    count: usize,
    id_offset: u64,
    concurrency: usize,
) -> anyhow::Result<Vec<Candidate>> {
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (api, next, done) = (Arc::clone(api), Arc::clone(&next), Arc::clone(&done));
        let (token, sitting_id, site_id) =
            (token.to_owned(), sitting_id.to_owned(), site_id.to_owned());
        workers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    return anyhow::Ok(mine);
                }
                let id_number = ids::resident_id(id_offset + index as u64);
                let body = expect(
                    &api,
                    Method::POST,
                    &format!("/sittings/{sitting_id}/registrations"),
                    Some(&token),
                    Body::Json(&json!({
                        "id_number": id_number,
                        "name": format!("压测考生{:05}", index + 1),
                        "site": site_id,
                    })),
                    201..=201,
                    &format!("registering candidate {}", index + 1),
                )
                .await?;
                mine.push((
                    index,
                    Candidate {
                        ticket: text(&body, "ticket")?,
                        id_number,
                    },
                ));
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let progress = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let began = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                print_stderr(&format!(
                    "setup: {} of {count} candidates registered ({:.0} s)",
                    done.load(Ordering::Relaxed),
                    began.elapsed().as_secs_f64()
                ));
            }
        })
    };
    let mut registered = Vec::with_capacity(count);
    let mut failure = None;
    while let Some(joined) = workers.join_next().await {
        match joined.context("a registration worker panicked")? {
            Ok(mine) => registered.extend(mine),
            Err(error) => {
                // One refusal ends the setup: stop the other workers instead of piling up the
                // same error thousands of times.
                failure.get_or_insert(error);
                workers.abort_all();
            }
        }
    }
    progress.abort();
    if let Some(error) = failure {
        return Err(error);
    }
    registered.sort_by_key(|(index, _)| *index);
    Ok(registered
        .into_iter()
        .map(|(_, candidate)| candidate)
        .collect())
}

/// The embedded bank under this run's certificate code.
fn bank_for(certificate_code: &str) -> String {
    BANK.replacen(
        BANK_CERTIFICATE_LINE,
        &format!("certificate = \"{certificate_code}\""),
        1,
    )
}

/// Sends a setup request and returns its JSON body when the status is one of `want`, or an
/// error that names the step and quotes the server's refusal.
async fn expect(
    api: &Api,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Body<'_>,
    want: std::ops::RangeInclusive<u16>,
    step: &str,
) -> anyhow::Result<Value> {
    let reply: Reply = api
        .setup(method, path, token, body)
        .await
        .with_context(|| step.to_owned())?;
    if want.contains(&reply.status) {
        return Ok(reply.body);
    }
    bail!(
        "{step}: the server answered {} {}: {}",
        reply.status,
        reply.error_code(),
        reply.error_message()
    )
}

/// A string field of a response body.
fn text(body: &Value, field: &str) -> anyhow::Result<String> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the server's answer has no `{field}`: {body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_bank_is_renamed_to_the_runs_certificate_exactly_once() {
        assert_eq!(BANK.matches(BANK_CERTIFICATE_LINE).count(), 1);
        let bank = bank_for("CLOUD-OPS-LT-ABC123");
        assert!(bank.contains("certificate = \"CLOUD-OPS-LT-ABC123\""));
        assert!(!bank.contains(BANK_CERTIFICATE_LINE));
    }

    #[test]
    fn the_renamed_bank_still_parses_and_fits_the_blueprint() {
        let bank = bank_for("CLOUD-OPS-LT-ABC123");
        let source = xcert_bank::BankSource::single("bank.toml", bank.into_bytes());
        let bank = xcert_bank::Bank::parse(&source).expect("the sample bank parses");
        assert_eq!(bank.header().certificate(), "CLOUD-OPS-LT-ABC123");
        let pool = xcert_assembly::Pool::from_bank(&bank).expect("the bank makes a pool");
        let blueprint =
            xcert_assembly::Blueprint::parse(BLUEPRINT).expect("the sample blueprint parses");
        let plan =
            xcert_assembly::Plan::new(&pool, &blueprint).expect("the blueprint fits the bank");
        plan.ensure_feasible().expect("the blueprint is feasible");
    }

    #[test]
    fn the_flags_win_then_the_environment_then_the_demo_file() {
        let missing = Path::new("/nonexistent/xcert-demo.json");
        let from_flags = admin_credentials(
            Some("root"),
            Some("pw-from-flag"),
            Some("env".into()),
            missing,
        )
        .unwrap();
        assert_eq!(
            (from_flags.username.as_str(), from_flags.password.as_str()),
            ("root", "pw-from-flag")
        );
        let from_env = admin_credentials(None, None, Some("pw-from-env".into()), missing).unwrap();
        assert_eq!(
            (from_env.username.as_str(), from_env.password.as_str()),
            ("admin", "pw-from-env")
        );
        let error = admin_credentials(None, None, None, missing).unwrap_err();
        assert!(format!("{error:#}").contains("XCERT_ADMIN_PASSWORD"));

        let directory = std::env::temp_dir().join(format!("xcert-loadtest-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let demo = directory.join("xcert-demo.json");
        std::fs::write(
            &demo,
            r#"{"sittings": [], "candidates": [], "staff": [
            {"role": "org", "username": "org1", "password": "p1"},
            {"role": "admin", "username": "admin", "password": "demo-admin-pw"}]}"#,
        )
        .unwrap();
        let from_demo = admin_credentials(None, None, None, &demo).unwrap();
        assert_eq!(
            (from_demo.username.as_str(), from_demo.password.as_str()),
            ("admin", "demo-admin-pw")
        );
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
