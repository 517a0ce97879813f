//! `xcert proctors ...` and `xcert seating ...` (owned by the proctor work; placeholder).

use clap::Subcommand;

use super::Exit;

#[derive(Debug, Subcommand)]
pub(crate) enum ProctorsCommand {
    /// Assign proctors (placeholder).
    Assign,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SeatingCommand {
    /// Plan seating (placeholder).
    Plan,
}

pub(crate) fn run(_command: ProctorsCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("not built yet")
}

pub(crate) fn run_seating(_command: SeatingCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("not built yet")
}
