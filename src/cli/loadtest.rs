//! `xcert loadtest` (being built this session).

use clap::Args;

use super::Exit;

/// Arguments of `xcert loadtest`.
#[derive(Debug, Args)]
pub(crate) struct LoadtestArgs {}

pub(crate) fn run(_args: &LoadtestArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("xcert loadtest is not built yet")
}
