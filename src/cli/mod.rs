//! Subcommands, one module per domain crate. Each module owns its clap types and its `run`
//! functions; this module holds what they share: exit codes and output helpers.

use std::process::ExitCode;

pub(crate) mod bank;
pub(crate) mod certificate;
pub(crate) mod demo;
pub(crate) mod loadtest;
pub(crate) mod paper;
pub(crate) mod proctors;
pub(crate) mod seating;
pub(crate) mod serve;

/// The exit codes of CONTRACT section 2, for every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: success.
    Success,
    /// 1: the input is invalid, or the request cannot be met.
    Invalid,
    /// 2: usage or I/O error.
    UsageOrIo,
    /// 3: infeasible (assembly or proctor assignment cannot satisfy the rules).
    Infeasible,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(match exit {
            Exit::Success => 0,
            Exit::Invalid => 1,
            Exit::UsageOrIo => 2,
            Exit::Infeasible => 3,
        })
    }
}

/// Prints one JSON document on stdout, as `--json` promises: exactly one document, nothing else.
pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    print_stdout(&text);
    Ok(())
}

/// Reports input that failed validation: every problem on stderr as `path: problem`, and with
/// `--json` one document `{"error": {"code": "invalid_input", "message", "problems"}}` on
/// stdout. The caller exits 1.
pub(crate) fn report_invalid_input(
    path: &std::path::Path,
    message: &str,
    problems: &[String],
    json: bool,
) -> anyhow::Result<Exit> {
    for problem in problems {
        print_stderr(&format!("{}: {problem}", path.display()));
    }
    if json {
        print_json(&serde_json::json!({
            "error": {"code": "invalid_input", "message": message, "problems": problems}
        }))?;
    }
    Ok(Exit::Invalid)
}

/// Writes a line to stdout. The binary is the one place allowed to print.
///
/// A closed pipe (`xcert bank diff A B --json | head`) is not an error of ours: the reader has
/// what it wanted, so the rest of the output is dropped quietly instead of panicking the way
/// `println!` would.
pub(crate) fn print_stdout(text: &str) {
    write_line(&mut std::io::stdout().lock(), text);
}

/// Writes a line to stderr, with the same tolerance of a closed pipe as [`print_stdout`].
pub(crate) fn print_stderr(text: &str) {
    write_line(&mut std::io::stderr().lock(), text);
}

fn write_line(out: &mut impl std::io::Write, text: &str) {
    // Any write error here (a closed pipe, a full disk) leaves nothing sensible to report to:
    // stdout or stderr is the very stream that failed.
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}
