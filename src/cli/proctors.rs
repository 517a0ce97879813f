//! `xcert proctors ...` (owned by the proctor work; placeholder).

use clap::Subcommand;

use super::Exit;

#[derive(Debug, Subcommand)]
pub(crate) enum ProctorsCommand {
    /// Assign proctors (placeholder).
    Assign,
}

pub(crate) fn run(_command: ProctorsCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("not built yet")
}
