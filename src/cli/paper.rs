//! `xcert paper ...` and `xcert blueprint ...` (owned by the assembly work; placeholder).

use clap::Subcommand;

use super::Exit;

#[derive(Debug, Subcommand)]
pub(crate) enum PaperCommand {
    /// Draw a paper (placeholder).
    Draw,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BlueprintCommand {
    /// Check a blueprint (placeholder).
    Check,
}

pub(crate) fn run(_command: PaperCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("not built yet")
}

pub(crate) fn run_blueprint(_command: BlueprintCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("not built yet")
}
