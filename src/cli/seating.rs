//! `xcert seating plan`: candidates into rooms and seats (docs/SEATING.md).
//!
//! Exit 0 planned, 1 invalid input, 3 when the candidates cannot be seated or no plan keeps
//! the proctor draw feasible. The plan (or the refusal) is printed as JSON on stdout; without
//! `--json` a summary also goes to stderr. `--proctor-input FILE` writes the plan's CONTRACT
//! section 4 document, ready for `xcert proctors assign --input FILE`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use xcert_proctor::ProctorError;
use xcert_proctor::seating::{self, SeatingInput, SeatingOutcome};

use super::{Exit, print_json, print_stderr, report_invalid_input};

#[derive(Debug, Subcommand)]
pub(crate) enum SeatingCommand {
    /// Allocate a sitting's candidates to rooms and seats, keeping schools apart and the
    /// proctor draw feasible.
    Plan {
        /// The seating request (docs/SEATING.md).
        #[arg(long)]
        input: PathBuf,
        /// The seed of the draw (u64); the same input and seed give the same plan.
        #[arg(long)]
        seed: u64,
        /// Print exactly one JSON document on stdout and nothing else.
        #[arg(long)]
        json: bool,
        /// Also write the plan's proctor-assignment input (CONTRACT section 4) to this file.
        #[arg(long)]
        proctor_input: Option<PathBuf>,
    },
}

pub(crate) fn run(command: SeatingCommand) -> anyhow::Result<Exit> {
    match command {
        SeatingCommand::Plan {
            input,
            seed,
            json,
            proctor_input,
        } => plan(&input, seed, json, proctor_input.as_deref()),
    }
}

fn plan(path: &Path, seed: u64, json: bool, proctor_input: Option<&Path>) -> anyhow::Result<Exit> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let outcome =
        SeatingInput::from_json(&text).and_then(|input| seating::plan_and_confirm(&input, seed));
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            // The crate's parse error speaks of proctor-assignment documents; this one is a
            // seating request.
            let message = match &error {
                ProctorError::Parse(detail) => {
                    format!("the input is not a valid seating request: {detail}")
                }
                other => other.to_string(),
            };
            let problems: Vec<String> = match &error {
                ProctorError::Invalid(problems) => {
                    problems.iter().map(ToString::to_string).collect()
                }
                _ => vec![message.clone()],
            };
            return report_invalid_input(path, &message, &problems, json);
        }
    };
    match &outcome {
        SeatingOutcome::Planned(plan) => {
            if let Some(file) = proctor_input {
                let document = serde_json::to_string_pretty(&plan.proctor_input)?;
                std::fs::write(file, document + "\n")
                    .with_context(|| format!("cannot write {}", file.display()))?;
            }
            print_json(&outcome)?;
            if !json {
                let report = &plan.report;
                print_stderr(&format!(
                    "seated {} candidates in {} rooms ({} mixing, at most {} schools per room); same-school adjacencies {} (random seating: {})",
                    report.candidates,
                    report.rooms_used,
                    report.mixing,
                    report.school_cap,
                    report.same_school_adjacencies,
                    report.random_baseline
                ));
            }
            Ok(Exit::Success)
        }
        SeatingOutcome::Unplanned(refusal) => {
            print_json(&outcome)?;
            if !json {
                for reason in &refusal.reasons {
                    print_stderr(&format!("cannot plan: {}", reason.message));
                }
            }
            Ok(Exit::Infeasible)
        }
    }
}
