//! `xcert demo` (being built this session).

use clap::Args;

use super::Exit;

/// Arguments of `xcert demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {}

pub(crate) fn run(_args: &DemoArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("xcert demo is not built yet")
}
