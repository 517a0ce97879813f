//! `xcert seating ...` (owned by the seating work; placeholder).

use clap::Subcommand;

use super::Exit;

#[derive(Debug, Subcommand)]
pub(crate) enum SeatingCommand {
    /// Plan seating (placeholder).
    Plan,
}

pub(crate) fn run(_command: SeatingCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("not built yet")
}
