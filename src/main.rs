//! `xcert`: the command-line shell around the xcert crates.
//!
//! This binary parses arguments, reads and writes files, and maps outcomes to the exit codes
//! of CONTRACT section 2. Every decision is made in the domain crates (`xcert-bank`,
//! `xcert-assembly`, `xcert-proctor`); nothing here should need a unit test of its own beyond
//! "the command prints what the crate returned".

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Online examination engine for 1+X vocational skill certificates.
#[derive(Debug, Parser)]
#[command(name = "xcert", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate, compare and summarise question banks.
    #[command(subcommand)]
    Bank(cli::bank::BankCommand),
    /// Check a blueprint against a bank before drawing papers.
    #[command(subcommand)]
    Blueprint(cli::paper::BlueprintCommand),
    /// Draw, simulate and verify candidates' papers.
    #[command(subcommand)]
    Paper(cli::paper::PaperCommand),
    /// Assign proctors to rooms and check an assignment.
    #[command(subcommand)]
    Proctors(cli::proctors::ProctorsCommand),
    /// Allocate a sitting's candidates to rooms and seats.
    #[command(subcommand)]
    Seating(cli::seating::SeatingCommand),
    /// Run the HTTP server (configured by XCERT_* environment variables).
    Serve(cli::serve::ServeArgs),
    /// Fill the configured database with a ready demo exam and print its credentials.
    Demo(cli::demo::DemoArgs),
    /// Drive a running server with simulated candidates and check no saved answer was lost.
    Loadtest(cli::loadtest::LoadtestArgs),
    /// Verify signed certificate documents offline.
    #[command(subcommand)]
    Certificate(cli::certificate::CertificateCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Bank(command) => cli::bank::run(command),
        Command::Blueprint(command) => cli::paper::run_blueprint(command),
        Command::Paper(command) => cli::paper::run(command),
        Command::Proctors(command) => cli::proctors::run(command),
        Command::Seating(command) => cli::seating::run(command),
        Command::Serve(args) => cli::serve::run(&args),
        Command::Demo(args) => cli::demo::run(&args),
        Command::Loadtest(args) => cli::loadtest::run(&args),
        Command::Certificate(command) => cli::certificate::run(command),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(error) => {
            // I/O and usage problems: exit 2 as CONTRACT section 2 says.
            cli::print_stderr(&format!("error: {error:#}"));
            cli::Exit::UsageOrIo.into()
        }
    }
}
