//! `xcert demo`: fills the configured database (`XCERT_DATABASE_URL`, default a SQLite file in
//! the working directory) with a ready exam and prints its credentials (CONTRACT sections 2
//! and 3). With `--serve` it then runs the server on that database, so one command gives a
//! working exam.
//!
//! The credentials are also written to `xcert-demo.json` in the working directory (readable by
//! the owner only), where `xcert loadtest` finds the admin login.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use xcert_server::demo::{DemoError, DemoOptions, DemoReport};
use xcert_server::{Application, Config};

use super::{Exit, print_json, print_stderr, print_stdout};

/// Where the demo's credentials are written, in the working directory.
pub(crate) const DEMO_FILE: &str = "xcert-demo.json";

/// Arguments of `xcert demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How many candidates to register in the open sitting.
    #[arg(long, default_value_t = 5)]
    candidates: usize,
    /// The exam's duration in seconds (default: the blueprint's 90 minutes).
    #[arg(long, default_value_t = 5400)]
    duration_secs: i64,
    /// Build the papers from auto-gradable item types only (no essay or practical task).
    #[arg(long)]
    objective_only: bool,
    /// Print exactly one JSON document (CONTRACT section 3).
    #[arg(long)]
    json: bool,
    /// Then start the server on the same database (as `xcert serve` would).
    #[arg(long)]
    serve: bool,
}

/// Installs the demo and prints its credentials; serves afterwards with `--serve`.
pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<Exit> {
    let config = Config::from_env().context("reading the configuration")?;
    if args.serve {
        xcert_server::init_tracing();
    }
    let runtime = xcert_server::runtime().context("starting the async runtime")?;
    runtime.block_on(async move {
        let application = Application::build(config.clone())
            .await
            .context("opening the database")?;
        let options = DemoOptions {
            candidates: args.candidates,
            duration_secs: args.duration_secs,
            objective_only: args.objective_only,
        };
        match application.install_demo(&options).await {
            Ok(report) => {
                write_demo_file(&report)?;
                if args.json {
                    print_json(&report)?;
                } else {
                    print_stdout(&human(&report, &config.bind));
                }
            }
            // `--serve` on a database that has the demo already: serve it again, with the
            // credentials written the first time.
            Err(DemoError::AlreadyInstalled(_)) if args.serve => {
                let Some(report) = read_demo_file() else {
                    print_stderr(&format!(
                        "error: this database holds the demo but {DEMO_FILE} is gone, so its passwords are unknown; remove the database (xcert.sqlite) and run again"
                    ));
                    return Ok(Exit::Invalid);
                };
                print_stderr("this database holds the demo already; serving it again");
                if args.json {
                    print_json(&report)?;
                } else {
                    print_stdout(&human(&report, &config.bind));
                }
            }
            Err(error @ (DemoError::Options(_) | DemoError::AlreadyInstalled(_))) => {
                print_stderr(&format!("error: {error}"));
                return Ok(Exit::Invalid);
            }
            Err(error) => return Err(anyhow::Error::new(error).context("installing the demo")),
        }
        if !args.serve {
            return Ok(Exit::Success);
        }
        let listener = xcert_server::bind(&config.bind)
            .await
            .with_context(|| format!("listening on {}", config.bind))?;
        print_stderr(&format!(
            "serving the demo on http://{} (Ctrl-C stops it)",
            config.bind
        ));
        application
            .serve(listener, xcert_server::shutdown_signal())
            .await?;
        Ok(Exit::Success)
    })
}

/// Writes the report next to the database, readable by the owner only (it holds passwords).
fn write_demo_file(report: &DemoReport) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(DEMO_FILE)
        .with_context(|| format!("writing {DEMO_FILE}"))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .with_context(|| format!("writing {DEMO_FILE}"))
}

/// The credentials of an earlier `xcert demo` in this directory, if readable.
fn read_demo_file() -> Option<DemoReport> {
    let text = std::fs::read(DEMO_FILE).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The report for a person at a terminal.
fn human(report: &DemoReport, bind: &str) -> String {
    let mut text = String::new();
    text.push_str("The demo exam is ready.\n\nSittings (WEB-FE junior):\n");
    for sitting in &report.sittings {
        text.push_str(&format!(
            "  {}  {} .. {}\n",
            sitting.id, sitting.opens_at, sitting.closes_at
        ));
    }
    text.push_str(&format!(
        "\nCandidates log in at http://{bind}/ with admission ticket and ID number:\n"
    ));
    for candidate in report.candidates.iter().take(10) {
        text.push_str(&format!(
            "  ticket {}  ID number {}  ({})\n",
            candidate.ticket, candidate.id_number, candidate.name
        ));
    }
    if report.candidates.len() > 10 {
        text.push_str(&format!(
            "  ... and {} more in {DEMO_FILE}\n",
            report.candidates.len() - 10
        ));
    }
    text.push_str(&format!(
        "\nStaff log in at http://{bind}/staff (API: POST /api/v1/staff/sessions):\n"
    ));
    for staff in &report.staff {
        text.push_str(&format!(
            "  {:<8} {:<12} password {}\n",
            staff.role.as_str(),
            staff.username,
            staff.password
        ));
    }
    text.push_str(&format!(
        "\nEverything above is also in {DEMO_FILE}. The API is described at http://{bind}/api/openapi.json.\n"
    ));
    text
}
