//! Configuration from the environment, as CONTRACT section 3 names it, plus a few documented
//! knobs of our own (docs/OPERATIONS.md lists every variable).

use std::fmt;
use std::time::Duration;

/// The database used when `XCERT_DATABASE_URL` is not set: a SQLite file in the working
/// directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://xcert.sqlite";
/// The address used when `XCERT_BIND` is not set.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// Everything `xcert serve` needs to start. Secrets are redacted from `Debug`.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://...` (default [`DEFAULT_DATABASE_URL`]) or `postgres://...`.
    pub database_url: String,
    /// Optional Redis; the server runs with in-process equivalents without it.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this deployment writes (`XCERT_REDIS_PREFIX`, default
    /// `xcert:`), so several deployments can share one Redis.
    pub redis_key_prefix: String,
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub bind: String,
    /// HS256 signing secret for tokens; when absent one is generated and stored in the database.
    pub jwt_secret: Option<Vec<u8>>,
    /// Password for the first admin on an empty database.
    pub admin_password: Option<String>,
    /// A request that takes longer is answered 408 `request_timeout`.
    pub request_timeout: Duration,
    /// Largest accepted request body in bytes; larger is 413 `payload_too_large`.
    pub body_limit_bytes: usize,
    /// Lifetime of a staff token (and of its session row).
    pub staff_token_lifetime: Duration,
    /// Login attempts allowed in a burst for one username from one address.
    pub login_burst: u32,
    /// Seconds for one spent login attempt to be given back.
    pub login_refill: Duration,
}

/// A configuration variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

impl Config {
    /// The defaults, with the given database.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            redis_url: None,
            redis_key_prefix: "xcert:".to_owned(),
            bind: DEFAULT_BIND.to_owned(),
            jwt_secret: None,
            admin_password: None,
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 2 * 1024 * 1024,
            staff_token_lifetime: Duration::from_secs(30 * 60),
            login_burst: 5,
            login_refill: Duration::from_secs(12),
        }
    }

    /// Reads the `XCERT_*` variables (see docs/OPERATIONS.md); unset ones take their defaults.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`] but reading variables through `lookup`, so it can be tested.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut config = Self::for_database(
            get("XCERT_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
        );
        let scheme_ok = ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|prefix| config.database_url.starts_with(prefix));
        if !scheme_ok {
            return Err(ConfigError {
                variable: "XCERT_DATABASE_URL",
                message: "must start with sqlite:, postgres:// or postgresql://".to_owned(),
            });
        }
        if let Some(url) = get("XCERT_REDIS_URL") {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(ConfigError {
                    variable: "XCERT_REDIS_URL",
                    message: "must start with redis:// or rediss://".to_owned(),
                });
            }
            config.redis_url = Some(url);
        }
        if let Some(prefix) = get("XCERT_REDIS_PREFIX") {
            config.redis_key_prefix = prefix;
        }
        if let Some(bind) = get("XCERT_BIND") {
            if bind.parse::<std::net::SocketAddr>().is_err() {
                return Err(ConfigError {
                    variable: "XCERT_BIND",
                    message: format!("`{bind}` is not an address and port such as 127.0.0.1:8080"),
                });
            }
            config.bind = bind;
        }
        if let Some(secret) = get("XCERT_JWT_SECRET") {
            if secret.len() < 32 {
                return Err(ConfigError {
                    variable: "XCERT_JWT_SECRET",
                    message: "must be at least 32 bytes long".to_owned(),
                });
            }
            config.jwt_secret = Some(secret.into_bytes());
        }
        config.admin_password = get("XCERT_ADMIN_PASSWORD");
        if let Some(seconds) = number(&get, "XCERT_REQUEST_TIMEOUT_SECS")? {
            config.request_timeout = Duration::from_secs(seconds);
        }
        if let Some(bytes) = number(&get, "XCERT_BODY_LIMIT_BYTES")? {
            config.body_limit_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if let Some(minutes) = number(&get, "XCERT_STAFF_TOKEN_MINUTES")? {
            config.staff_token_lifetime = Duration::from_secs(minutes * 60);
        }
        Ok(config)
    }
}

/// Reads a positive whole number from a variable, if set.
fn number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<u64>, ConfigError> {
    match get(variable) {
        None => Ok(None),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(value) if value > 0 => Ok(Some(value)),
            _ => Err(ConfigError {
                variable,
                message: format!("`{text}` is not a positive whole number"),
            }),
        },
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("bind", &self.bind)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<redacted>"),
            )
            .field("request_timeout", &self.request_timeout)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("staff_token_lifetime", &self.staff_token_lifetime)
            .field("login_burst", &self.login_burst)
            .field("login_refill", &self.login_refill)
            .finish()
    }
}

/// Hides a password in `scheme://user:password@host/...` so URLs can be logged.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:<redacted>@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn an_empty_environment_gives_the_contract_defaults() {
        let config = from(&[]).expect("defaults are valid");
        assert_eq!(config.database_url, "sqlite://xcert.sqlite");
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert!(config.redis_url.is_none());
        assert!(config.jwt_secret.is_none());
    }

    #[test]
    fn a_postgres_url_is_accepted_and_an_unknown_scheme_is_not() {
        let config =
            from(&[("XCERT_DATABASE_URL", "postgres://u@h/db")]).expect("postgres is valid");
        assert_eq!(config.database_url, "postgres://u@h/db");
        let error =
            from(&[("XCERT_DATABASE_URL", "mysql://h/db")]).expect_err("mysql is not supported");
        assert_eq!(error.variable, "XCERT_DATABASE_URL");
    }

    #[test]
    fn a_short_jwt_secret_is_rejected() {
        let error = from(&[("XCERT_JWT_SECRET", "short")]).expect_err("too short");
        assert_eq!(error.variable, "XCERT_JWT_SECRET");
    }

    #[test]
    fn a_bind_address_without_a_port_is_rejected() {
        assert!(from(&[("XCERT_BIND", "localhost")]).is_err());
        assert_eq!(
            from(&[("XCERT_BIND", "0.0.0.0:9000")]).expect("valid").bind,
            "0.0.0.0:9000"
        );
    }

    #[test]
    fn debug_output_hides_passwords_and_secrets() {
        let mut config = Config::for_database("postgres://app:hunter2@db/xcert");
        config.jwt_secret = Some(b"0123456789abcdef0123456789abcdef".to_vec());
        config.admin_password = Some("swordfish".to_owned());
        let text = format!("{config:?}");
        assert!(
            !text.contains("hunter2")
                && !text.contains("swordfish")
                && !text.contains("0123456789abcdef")
        );
    }
}
