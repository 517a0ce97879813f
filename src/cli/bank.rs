//! `xcert bank ...` (owned by the bank work; placeholder until it lands).

use clap::Subcommand;

use super::Exit;

#[derive(Debug, Subcommand)]
pub(crate) enum BankCommand {
    /// Validate a bank (placeholder).
    Validate { path: std::path::PathBuf },
}

pub(crate) fn run(command: BankCommand) -> anyhow::Result<Exit> {
    match command {
        BankCommand::Validate { path } => anyhow::bail!("not built yet: {}", path.display()),
    }
}
