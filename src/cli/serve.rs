//! `xcert serve`: the HTTP server. Configuration comes from the environment
//! (`XCERT_DATABASE_URL`, `XCERT_BIND`, ...; docs/OPERATIONS.md lists them all).

use anyhow::Context;
use clap::Args;
use xcert_server::{Application, Config, FirstAdmin};

use super::{Exit, print_stderr};

/// Arguments of `xcert serve` (none yet: the server is configured by environment).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {}

/// Starts the server and runs until SIGTERM or Ctrl-C.
pub(crate) fn run(_args: &ServeArgs) -> anyhow::Result<Exit> {
    let config = Config::from_env().context("reading the configuration")?;
    xcert_server::init_tracing();
    let runtime = xcert_server::runtime().context("starting the async runtime")?;
    runtime.block_on(async move {
        let application = Application::build(config.clone()).await.context("opening the database")?;
        match application.ensure_first_admin(config.admin_password.as_deref()).await? {
            FirstAdmin::AlreadyPresent => {}
            FirstAdmin::Created { username } => {
                print_stderr(&format!("created the first admin `{username}` with the password from XCERT_ADMIN_PASSWORD"));
            }
            FirstAdmin::Generated { username, password } => {
                print_stderr(&format!(
                    "created the first admin: username `{username}`, password `{password}`\n\
                     this password is shown only now; log in at POST /api/v1/staff/sessions"
                ));
            }
        }
        let listener = xcert_server::bind(&config.bind).await.with_context(|| format!("listening on {}", config.bind))?;
        application.serve(listener, xcert_server::shutdown_signal()).await?;
        Ok(Exit::Success)
    })
}
