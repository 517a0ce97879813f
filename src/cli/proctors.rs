//! `xcert proctors assign` and `xcert proctors verify` (CONTRACT sections 2 and 4).
//!
//! `assign` always prints the contract's output document on stdout (it is the command's
//! output); without `--json` a one-line summary also goes to stderr.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;
use xcert_proctor::{AssignmentInput, Instance, Outcome, ProctorError};

use super::{Exit, print_json, print_stderr, print_stdout, report_invalid_input};

#[derive(Debug, Subcommand)]
pub(crate) enum ProctorsCommand {
    /// Draw a random, balanced proctor assignment that keeps every rule.
    Assign {
        /// The input document (CONTRACT section 4).
        #[arg(long)]
        input: PathBuf,
        /// The seed of the draw (u64); the same input and seed give the same output.
        #[arg(long)]
        seed: u64,
        /// Print exactly one JSON document on stdout and nothing else.
        #[arg(long)]
        json: bool,
    },
    /// Check an assignment against every rule, independently of the solver.
    Verify {
        /// The input document the assignment was drawn from.
        #[arg(long)]
        input: PathBuf,
        /// The output of `xcert proctors assign`.
        #[arg(long)]
        output: PathBuf,
        /// Print exactly one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: ProctorsCommand) -> anyhow::Result<Exit> {
    match command {
        ProctorsCommand::Assign { input, seed, json } => assign(&input, seed, json),
        ProctorsCommand::Verify {
            input,
            output,
            json,
        } => verify(&input, &output, json),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Parses and validates an input; on failure reports it (exit 1) and returns `None`.
fn load(path: &Path, json: bool) -> anyhow::Result<Result<Instance, Exit>> {
    let text = read(path)?;
    let instance = AssignmentInput::from_json(&text).and_then(Instance::new);
    match instance {
        Ok(instance) => Ok(Ok(instance)),
        Err(error) => {
            let problems: Vec<String> = match &error {
                ProctorError::Invalid(problems) => {
                    problems.iter().map(ToString::to_string).collect()
                }
                other => vec![other.to_string()],
            };
            let exit = report_invalid_input(path, &error.to_string(), &problems, json)?;
            Ok(Err(exit))
        }
    }
}

fn assign(path: &Path, seed: u64, json: bool) -> anyhow::Result<Exit> {
    let instance = match load(path, json)? {
        Ok(instance) => instance,
        Err(exit) => return Ok(exit),
    };
    let outcome = xcert_proctor::assign(&instance, seed);
    print_json(&outcome)?;
    let exit = match &outcome {
        Outcome::Assigned(assignment) => {
            if !json {
                print_stderr(&format!(
                    "assigned {} rooms; load min {} max {}",
                    assignment.assignments.len(),
                    assignment.load.min,
                    assignment.load.max
                ));
            }
            Exit::Success
        }
        Outcome::Infeasible(infeasible) => {
            if !json {
                for reason in &infeasible.reasons {
                    print_stderr(&format!("infeasible: {}", reason.message));
                }
            }
            Exit::Infeasible
        }
    };
    Ok(exit)
}

fn verify(input: &Path, output: &Path, json: bool) -> anyhow::Result<Exit> {
    let instance = match load(input, json)? {
        Ok(instance) => instance,
        Err(exit) => return Ok(exit),
    };
    let text = read(output)?;
    let outcome: Outcome = match serde_json::from_str(&text) {
        Ok(outcome) => outcome,
        Err(error) => {
            let message = format!(
                "{}: not an output of `xcert proctors assign` ({error})",
                output.display()
            );
            print_stderr(&message);
            if json {
                print_json(&json!({
                    "valid": false,
                    "violations": [{"room": null, "proctor": null, "rule": "format", "message": message}]
                }))?;
            }
            return Ok(Exit::Invalid);
        }
    };
    let violations = xcert_proctor::verify(instance.input(), &outcome);
    if json {
        print_json(&json!({"valid": violations.is_empty(), "violations": violations}))?;
    } else if violations.is_empty() {
        print_stdout("every rule holds");
    } else {
        for violation in &violations {
            print_stdout(&format!("{}: {}", violation.rule, violation.message));
        }
    }
    Ok(if violations.is_empty() {
        Exit::Success
    } else {
        Exit::Invalid
    })
}
