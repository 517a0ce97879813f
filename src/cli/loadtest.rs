//! `xcert loadtest`: drives a running server with simulated candidates and checks that no
//! acknowledged save was lost (CONTRACT section 2; docs/LOADTEST.md explains the model).
//!
//! Three phases, each timed on its own: **setup** builds a fresh exam through the staff API
//! ([`setup`]); the **simulation** runs one task per candidate on its own timetable
//! ([`simulate`]), sharing one pooled HTTP client ([`client`]); the **loss check** reads
//! every attempt back. Only the simulation's calls make the latency figures.

mod answers;
mod client;
mod ids;
mod setup;
mod simulate;
mod stats;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;

use self::client::{Api, Call, ClientConfig};
use self::simulate::{CandidateLog, LossReport, Progress, Simulation, Timetable};
use self::stats::Summary;
use super::{Exit, print_json, print_stderr, print_stdout};

/// Arguments of `xcert loadtest`. The defaults are the scenario: every candidate
/// starts within a minute, saves every 30 s, answers for 5 minutes, then all submit within
/// 10 s.
#[derive(Debug, Args)]
pub(crate) struct LoadtestArgs {
    /// The server: `http://host:port` (its API root `.../api/v1` is accepted too).
    #[arg(long)]
    base_url: String,
    /// How many candidates to register and simulate.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    candidates: u32,
    /// Print one JSON document on stdout (progress still goes to stderr).
    #[arg(long)]
    json: bool,
    /// Every candidate logs in and starts at a uniformly random moment within this many
    /// seconds (the synchronized start).
    #[arg(long, default_value_t = 60.0)]
    ramp_secs: f64,
    /// Each candidate saves one answer per this many seconds, ±20% jitter.
    #[arg(long, default_value_t = 30.0)]
    save_interval_secs: f64,
    /// How long each candidate keeps answering after their start.
    #[arg(long, default_value_t = 300.0)]
    exam_secs: f64,
    /// The submit rush: after the ramp and the exam time, everyone submits within this.
    #[arg(long, default_value_t = 10.0)]
    submit_window_secs: f64,
    /// Do not send the last save that a browser flushes right before submitting.
    #[arg(long)]
    no_final_save: bool,
    /// Hard cap on the whole run (setup, simulation, check); past it the run stops and fails.
    #[arg(long, default_value_t = 3600.0)]
    max_run_secs: f64,
    /// Requests in flight at most, and so keep-alive connections open at most (shared by
    /// all simulated candidates, like a school's NAT in front of many browsers).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    connections: u32,
    /// Further tries of a request that failed at transport level (same body, same seq).
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Give up on one try of a request after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    request_timeout_secs: f64,
    /// Registrations (and loss-check reads) in flight during setup and check.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    setup_concurrency: u32,
    /// Staff username of the admin who builds the exam (default `admin`, or the demo file's).
    #[arg(long)]
    admin_user: Option<String>,
    /// The admin's password (else `XCERT_ADMIN_PASSWORD`, else the demo file).
    #[arg(long)]
    admin_password: Option<String>,
    /// The output of `xcert demo --json`, read for the admin's credentials when no password
    /// is given otherwise.
    #[arg(long, default_value = "xcert-demo.json")]
    demo_file: PathBuf,
    /// Fixes every random draw (timetables, answers, ID numbers); default: from the clock.
    #[arg(long)]
    seed: Option<u64>,
}

/// The report: the CONTRACT keys first, then what helps reading them.
#[derive(Debug, Serialize)]
struct Report {
    candidates: u32,
    /// Every HTTP request of the simulation and the loss check, retries included.
    requests: u64,
    /// Calls that failed for good (transport after every retry, or an unexpected status).
    errors: u64,
    lost_answers: u64,
    latency_ms: Latencies,
    saves_acknowledged: u64,
    started: u64,
    submitted: u64,
    items_checked: u64,
    unchecked_candidates: u64,
    /// Candidates whose acknowledged submit is not stored as `submitted`.
    submissions_lost: u64,
    retried_requests: u64,
    errors_by_kind: std::collections::BTreeMap<String, u64>,
    /// How late candidates woke for their planned actions: the generator's own slack.
    scheduler_lag_ms: Summary,
    setup_secs: f64,
    simulation_secs: f64,
    check_secs: f64,
    /// The run stopped at --max-run-secs.
    timed_out: bool,
    run: RunInfo,
}

#[derive(Debug, Serialize)]
struct Latencies {
    start: Summary,
    save: Summary,
    submit: Summary,
    login: Summary,
    check: Summary,
    /// The saves while answering, before the rush (also counted in `save`).
    save_answering: Summary,
    /// The final saves of the submit rush alone (also counted in `save`).
    save_in_rush: Summary,
}

#[derive(Debug, Serialize)]
struct RunInfo {
    base_url: String,
    seed: u64,
    organization: String,
    sitting: String,
    connections: u32,
    ramp_secs: f64,
    save_interval_secs: f64,
    exam_secs: f64,
    submit_window_secs: f64,
    final_save: bool,
}

/// Checks the flags, raises the open-file limit, and runs the three phases on a runtime of
/// its own.
pub(crate) fn run(args: &LoadtestArgs) -> anyhow::Result<Exit> {
    let timetable = timetable(args)?;
    let config = ClientConfig {
        connections: args.connections as usize,
        retries: args.retries,
        request_timeout: seconds("--request-timeout-secs", args.request_timeout_secs)?,
    };
    if config.request_timeout.is_zero() {
        bail!("--request-timeout-secs must be more than 0");
    }
    let max_run = seconds("--max-run-secs", args.max_run_secs)?;
    // The sitting must stay open through the whole timetable, which begins after setup;
    // the run cannot outlast --max-run-secs, so that bounds the window.
    let needed = timetable.end() + Duration::from_secs(120);
    if max_run < needed {
        bail!(
            "--max-run-secs {} is shorter than the simulation itself (ramp + exam + submit \
             window + 2 min = {} s)",
            args.max_run_secs,
            needed.as_secs()
        );
    }
    let credentials = setup::admin_credentials(
        args.admin_user.as_deref(),
        args.admin_password.as_deref(),
        std::env::var("XCERT_ADMIN_PASSWORD").ok(),
        &args.demo_file,
    )?;
    let api = Arc::new(Api::new(&args.base_url, config)?);
    raise_open_file_limit(args.connections);

    let seed = args.seed.unwrap_or_else(clock_seed);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let began = Instant::now();
    let deadline = began + max_run;
    let report = runtime.block_on(drive(
        args,
        &api,
        &credentials,
        timetable,
        seed,
        needed,
        deadline,
    ));
    // Candidate tasks still sleeping after a timeout are dropped with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(1));
    let mut report = report?;
    report.run.base_url.clone_from(&args.base_url);
    print_report(&report, args.json, began.elapsed())?;
    Ok(
        if report.errors == 0
            && report.lost_answers == 0
            && report.submissions_lost == 0
            && !report.timed_out
        {
            Exit::Success
        } else {
            Exit::Invalid
        },
    )
}

/// Setup, simulation, check, all before `deadline`. Reaching it in the simulation or the
/// check ends that phase and is reported (`timed_out`); reaching it during setup is an error.
async fn drive(
    args: &LoadtestArgs,
    api: &Arc<Api>,
    credentials: &setup::Credentials,
    timetable: Timetable,
    seed: u64,
    needed: Duration,
    deadline: Instant,
) -> anyhow::Result<Report> {
    let count = args.candidates as usize;
    let run_code = run_code(seed);
    print_stderr(&format!(
        "setup: building exam LT-{run_code} with {count} candidates at {}",
        args.base_url
    ));
    let setup_began = Instant::now();
    let times = setup::SittingTimes {
        duration: Duration::from_secs(needed.as_secs_f64().ceil() as u64),
        open_for: Duration::from_secs_f64(args.max_run_secs.ceil()) + Duration::from_secs(600),
    };
    let exam = tokio::time::timeout_at(
        deadline.into(),
        setup::prepare(
            api,
            credentials,
            count,
            &run_code,
            seed % ids::SPACE,
            times,
            args.setup_concurrency as usize,
        ),
    )
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "the setup did not finish within --max-run-secs {} s",
            args.max_run_secs
        )
    })??;
    let setup_secs = setup_began.elapsed().as_secs_f64();
    print_stderr(&format!(
        "setup: done in {setup_secs:.1} s; sitting {}; simulating {} s",
        exam.sitting_id,
        timetable.end().as_secs()
    ));

    // The simulation.
    let logs: Arc<Vec<Arc<Mutex<CandidateLog>>>> =
        Arc::new((0..count).map(|_| Arc::default()).collect());
    let simulation_began = Instant::now();
    let simulation = Arc::new(Simulation {
        api: Arc::clone(api),
        progress: Progress::default(),
        timetable,
        t0: simulation_began + Duration::from_millis(200),
        seed,
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (index, who) in exam.candidates.iter().enumerate() {
        tasks.spawn(simulate::candidate(
            Arc::clone(&simulation),
            Arc::clone(&logs[index]),
            who.clone(),
            index as u64,
        ));
    }
    let ticker = tokio::spawn(report_progress(
        Arc::clone(&simulation),
        count,
        simulation_began,
    ));
    let finished = tokio::time::timeout_at(deadline.into(), async {
        while tasks.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    tasks.abort_all();
    ticker.abort();
    let simulation_secs = simulation_began.elapsed().as_secs_f64();

    // The loss check: also for a run cut short, so what was acknowledged is still verified.
    let check_began = Instant::now();
    let checked = tokio::time::timeout_at(
        deadline.into(),
        simulate::check(
            Arc::clone(api),
            Arc::clone(&logs),
            args.setup_concurrency as usize,
        ),
    )
    .await;
    let check_secs = check_began.elapsed().as_secs_f64();
    let (loss, examples, check_finished) = match checked {
        Ok((loss, examples)) => (loss, examples, true),
        Err(_) => (
            LossReport {
                unchecked_candidates: count as u64,
                ..LossReport::default()
            },
            Vec::new(),
            false,
        ),
    };
    for example in &examples {
        print_stderr(&format!("lost: {example}"));
    }

    let all = [
        Call::Login,
        Call::Start,
        Call::Save,
        Call::Submit,
        Call::Check,
    ];
    let latency = |call| api.latencies(call).summary();
    Ok(Report {
        candidates: args.candidates,
        requests: api.requests(&all),
        errors: api.errors(&all),
        lost_answers: loss.lost_answers,
        latency_ms: Latencies {
            start: latency(Call::Start),
            save: latency(Call::Save),
            submit: latency(Call::Submit),
            login: latency(Call::Login),
            check: latency(Call::Check),
            save_answering: simulation.progress.answering_saves.summary(),
            save_in_rush: simulation.progress.rush_saves.summary(),
        },
        saves_acknowledged: simulation
            .progress
            .saves_acknowledged
            .load(Ordering::Relaxed),
        started: simulation.progress.started.load(Ordering::Relaxed),
        submitted: simulation.progress.submitted.load(Ordering::Relaxed),
        items_checked: loss.items_checked,
        unchecked_candidates: loss.unchecked_candidates,
        submissions_lost: loss.submissions_lost,
        retried_requests: api.retried.load(Ordering::Relaxed),
        errors_by_kind: api.errors_by_kind(),
        scheduler_lag_ms: simulation.progress.lag.summary(),
        setup_secs: round(setup_secs),
        simulation_secs: round(simulation_secs),
        check_secs: round(check_secs),
        timed_out: !(finished && check_finished),
        run: RunInfo {
            base_url: String::new(),
            seed,
            organization: exam.organization_code,
            sitting: exam.sitting_id,
            connections: args.connections,
            ramp_secs: args.ramp_secs,
            save_interval_secs: args.save_interval_secs,
            exam_secs: args.exam_secs,
            submit_window_secs: args.submit_window_secs,
            final_save: timetable.final_save,
        },
    })
}

/// One progress line on stderr every 5 seconds.
async fn report_progress(simulation: Arc<Simulation>, count: usize, began: Instant) {
    let (api, progress) = (&simulation.api, &simulation.progress);
    let all = [Call::Login, Call::Start, Call::Save, Call::Submit];
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        print_stderr(&format!(
            "{:>5.0} s: {} of {count} started, {} saves acknowledged, {} submitted, {} requests, {} errors",
            began.elapsed().as_secs_f64(),
            progress.started.load(Ordering::Relaxed),
            progress.saves_acknowledged.load(Ordering::Relaxed),
            progress.submitted.load(Ordering::Relaxed),
            api.requests(&all),
            api.errors(&all),
        ));
    }
}

fn print_report(report: &Report, json: bool, elapsed: Duration) -> anyhow::Result<()> {
    for (kind, count) in &report.errors_by_kind {
        print_stderr(&format!("error: {kind}: {count}"));
    }
    if json {
        return print_json(report);
    }
    let mut lines = vec![
        format!(
            "xcert loadtest: {} candidates, sitting {} ({:.0} s in all)",
            report.candidates,
            report.run.sitting,
            elapsed.as_secs_f64()
        ),
        format!("setup       {:>8.1} s", report.setup_secs),
        format!(
            "simulation  {:>8.1} s  {} started, {} saves acknowledged, {} submitted",
            report.simulation_secs, report.started, report.saves_acknowledged, report.submitted
        ),
        format!(
            "loss check  {:>8.1} s  {} answers checked, {} lost, {} submissions lost, {} attempts unreadable",
            report.check_secs,
            report.items_checked,
            report.lost_answers,
            report.submissions_lost,
            report.unchecked_candidates
        ),
        format!(
            "requests {}, errors {}, retried {}{}",
            report.requests,
            report.errors,
            report.retried_requests,
            if report.timed_out {
                ", STOPPED at --max-run-secs"
            } else {
                ""
            }
        ),
        String::new(),
        format!(
            "{:<8} {:>8} {:>9} {:>9} {:>9}",
            "call", "count", "p50 ms", "p99 ms", "max ms"
        ),
    ];
    let rows = [
        ("login", report.latency_ms.login),
        ("start", report.latency_ms.start),
        ("save", report.latency_ms.save),
        ("  answer", report.latency_ms.save_answering),
        ("  rush", report.latency_ms.save_in_rush),
        ("submit", report.latency_ms.submit),
        ("check", report.latency_ms.check),
        ("lag", report.scheduler_lag_ms),
    ];
    let cell = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}"));
    for (name, summary) in rows {
        lines.push(format!(
            "{name:<8} {:>8} {:>9} {:>9} {:>9}",
            summary.count,
            cell(summary.p50),
            cell(summary.p99),
            cell(summary.max)
        ));
    }
    lines
        .push("(lag: how late the simulated candidates woke for their planned actions)".to_owned());
    print_stdout(&lines.join("\n"));
    Ok(())
}

/// The timetable from the flags.
fn timetable(args: &LoadtestArgs) -> anyhow::Result<Timetable> {
    let save_interval = seconds("--save-interval-secs", args.save_interval_secs)?;
    if save_interval < Duration::from_millis(10) {
        bail!("--save-interval-secs must be at least 0.01");
    }
    Ok(Timetable {
        ramp: seconds("--ramp-secs", args.ramp_secs)?,
        save_interval,
        exam: seconds("--exam-secs", args.exam_secs)?,
        submit_window: seconds("--submit-window-secs", args.submit_window_secs)?,
        final_save: !args.no_final_save,
    })
}

/// A duration flag: finite, not negative, at most a week.
fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && (0.0..=604_800.0).contains(&value)) {
        bail!("{flag} must be a number of seconds between 0 and 604800, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// Raises the soft open-file limit to the hard limit: each connection is a descriptor. A
/// limit below the pool size is worth a warning, not a refusal (connections are opened only
/// as the load needs them).
fn raise_open_file_limit(connections: u32) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < u64::from(connections) + 64 => print_stderr(&format!(
            "warning: the open-file limit is {limit}, below --connections {connections}: \
             raise the hard limit (ulimit -Hn) or lower --connections"
        )),
        Ok(_) => {}
        Err(error) => print_stderr(&format!(
            "warning: could not raise the open-file limit: {error}"
        )),
    }
}

/// A seed from the clock, for runs without --seed.
fn clock_seed() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
}

/// Ten characters of A-Z and 0-9 from the seed: unique codes for this run's organization,
/// certificate and site.
fn run_code(seed: u64) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    // Spread the seed so nearby seeds give unrelated codes.
    let mut value = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (seed >> 29);
    (0..10)
        .map(|_| {
            let character = char::from(ALPHABET[(value % 36) as usize]);
            value /= 36;
            character
        })
        .collect()
}

/// Seconds to the millisecond, for the report.
fn round(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_codes_are_ten_code_characters_and_differ_between_seeds() {
        let one = run_code(1);
        assert_eq!(one.len(), 10);
        assert!(
            one.bytes()
                .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
        );
        assert_ne!(one, run_code(2));
        assert_eq!(one, run_code(1));
    }

    #[test]
    fn duration_flags_refuse_what_is_not_a_duration() {
        assert!(seconds("--ramp-secs", -1.0).is_err());
        assert!(seconds("--ramp-secs", f64::NAN).is_err());
        assert!(seconds("--ramp-secs", f64::INFINITY).is_err());
        assert_eq!(
            seconds("--ramp-secs", 0.25).unwrap(),
            Duration::from_millis(250)
        );
    }
}
