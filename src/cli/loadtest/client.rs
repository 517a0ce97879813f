//! The HTTP side of the load test: one `reqwest::Client` whose keep-alive pool every simulated
//! candidate shares, a gate that bounds the requests in flight (and so the sockets open), the
//! retry rule, and the counters the report is made of.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::stats::Samples;

/// The kinds of call the report tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    /// `POST /candidate/sessions`.
    Login,
    /// `POST /attempts`.
    Start,
    /// `PUT /attempts/{id}/responses/{item}`.
    Save,
    /// `POST /attempts/{id}/submit`.
    Submit,
    /// `GET /attempts/{id}` in the loss check.
    Check,
}

impl Call {
    const ALL: [Call; 5] = [
        Call::Login,
        Call::Start,
        Call::Save,
        Call::Submit,
        Call::Check,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Call::Login => "login",
            Call::Start => "start",
            Call::Save => "save",
            Call::Submit => "submit",
            Call::Check => "check",
        }
    }
}

/// A body to send.
#[derive(Debug)]
pub(super) enum Body<'a> {
    None,
    Json(&'a Value),
    Raw {
        content_type: &'static str,
        bytes: &'a [u8],
    },
}

/// The answer to a request: its status and body, parsed as JSON (`Null` when it is not).
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Value,
    /// From the first wait for a connection to the last byte, retries included.
    pub(super) latency: Duration,
}

impl Reply {
    /// The contract's error code of a refusal, or an empty string.
    pub(super) fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// The contract's error message of a refusal, or the body as text.
    pub(super) fn error_message(&self) -> String {
        match self.body["error"]["message"].as_str() {
            Some(message) => message.to_owned(),
            None => self.body.to_string(),
        }
    }
}

/// Connection and retry settings.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClientConfig {
    /// Requests in flight at most, and so keep-alive connections open at most.
    pub(super) connections: usize,
    /// Further tries of a request that failed at transport level.
    pub(super) retries: u32,
    /// Give up on one try after this long.
    pub(super) request_timeout: Duration,
}

/// The shared client and everything the report counts.
#[derive(Debug)]
pub(super) struct Api {
    http: reqwest::Client,
    api_root: String,
    gate: Semaphore,
    retries: u32,
    latencies: [Samples; Call::ALL.len()],
    requests: [AtomicU64; Call::ALL.len()],
    /// Requests sent again after a transport failure.
    pub(super) retried: AtomicU64,
    /// Calls that failed for good: `call status code` → how many.
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Api {
    /// `base_url` is the server (`http://host:port`) or its API root (`.../api/v1`).
    pub(super) fn new(base_url: &str, config: ClientConfig) -> anyhow::Result<Self> {
        let base = base_url.trim_end_matches('/');
        let base = base.strip_suffix("/api/v1").unwrap_or(base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!(
                "--base-url `{base_url}` must start with http:// (e.g. http://127.0.0.1:8080)"
            );
        }
        if base.starts_with("https://") {
            anyhow::bail!(
                "--base-url `{base_url}`: this build speaks plain HTTP only; point it at the \
                 server itself (XCERT_BIND), not at a TLS proxy"
            );
        }
        let http = reqwest::Client::builder()
            // Loopback or the exam LAN: never through a proxy from the environment.
            .no_proxy()
            .pool_max_idle_per_host(config.connections)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .connect_timeout(config.request_timeout)
            .timeout(config.request_timeout)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            api_root: format!("{base}/api/v1"),
            gate: Semaphore::new(config.connections.max(1)),
            retries: config.retries,
            latencies: Default::default(),
            requests: Default::default(),
            retried: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
        })
    }

    /// A setup request (staff API): not timed, not counted, not retried; transport failures
    /// are errors that end the run.
    pub(super) async fn setup(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
    ) -> anyhow::Result<Reply> {
        let _permit = self
            .gate
            .acquire()
            .await
            .context("the request gate closed")?;
        self.send(&method, path, token, &body)
            .await
            .with_context(|| format!("{method} {}{path}", self.api_root))
    }

    /// A timed request of the simulation: waits for a free connection, sends, reads the whole
    /// body; a transport failure is tried again up to the retry limit with the SAME request
    /// (for a save: the same seq, which the server makes harmless to repeat). The latency runs
    /// from the first wait for a connection to the last byte of the answer, retries included,
    /// so it is what the candidate's browser would have waited. `None` when every try failed
    /// (counted as an error here).
    pub(super) async fn call(
        &self,
        call: Call,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
    ) -> Option<Reply> {
        let began = Instant::now();
        let mut backoff = Duration::from_millis(200);
        let mut tries = 0;
        loop {
            tries += 1;
            self.requests[call as usize].fetch_add(1, Ordering::Relaxed);
            let outcome = match self.gate.acquire().await {
                Ok(_permit) => self.send(&method, path, token, &body).await,
                Err(closed) => Err(anyhow::Error::new(closed)),
            };
            match outcome {
                Ok(mut reply) => {
                    reply.latency = began.elapsed();
                    self.latencies[call as usize].record(reply.latency);
                    return Some(reply);
                }
                // Not an error yet: the next try may get through.
                Err(_) if tries <= self.retries => {
                    self.retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                Err(error) => {
                    self.error(call, &format!("transport: {}", root_cause(&error)));
                    return None;
                }
            }
        }
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        token: Option<&str>,
        body: &Body<'_>,
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.api_root));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        request = match body {
            Body::None => request,
            Body::Json(value) => request
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(value)?),
            Body::Raw {
                content_type,
                bytes,
            } => request
                .header(CONTENT_TYPE, *content_type)
                .body(bytes.to_vec()),
        };
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok(Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            latency: Duration::ZERO,
        })
    }

    /// Counts a call that failed for good, under `call detail`.
    pub(super) fn error(&self, call: Call, detail: &str) {
        *self
            .errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(format!("{} {detail}", call.name()))
            .or_default() += 1;
    }

    /// Counts an answer with a status the flow did not expect.
    pub(super) fn unexpected(&self, call: Call, reply: &Reply) {
        let code = reply.error_code();
        let detail = if code.is_empty() {
            reply.status.to_string()
        } else {
            format!("{} {code}", reply.status)
        };
        self.error(call, &detail);
    }

    /// Requests sent for these kinds of call, retries included.
    pub(super) fn requests(&self, calls: &[Call]) -> u64 {
        calls
            .iter()
            .map(|&call| self.requests[call as usize].load(Ordering::Relaxed))
            .sum()
    }

    /// Calls of these kinds that failed for good.
    pub(super) fn errors(&self, calls: &[Call]) -> u64 {
        let names: Vec<&str> = calls.iter().map(|call| call.name()).collect();
        self.errors_by_kind()
            .iter()
            .filter(|(key, _)| names.contains(&key.split(' ').next().unwrap_or_default()))
            .map(|(_, count)| count)
            .sum()
    }

    /// Every failure so far, by call and cause.
    pub(super) fn errors_by_kind(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The latency samples of one kind of call.
    pub(super) fn latencies(&self, call: Call) -> &Samples {
        &self.latencies[call as usize]
    }
}

/// The innermost cause of a transport error ("connection refused", "operation timed out"),
/// short enough to group failures by.
fn root_cause(error: &anyhow::Error) -> String {
    let mut cause: &dyn std::error::Error = error.as_ref();
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Percent-encodes a path segment (item ids are plain, but nothing here relies on it).
pub(super) fn segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_plain_ids_and_escape_the_rest() {
        assert_eq!(segment("CO-L-001.a_b~"), "CO-L-001.a_b~");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("题"), "%E9%A2%98");
    }

    #[test]
    fn the_base_url_may_name_the_server_or_its_api_root() {
        let config = ClientConfig {
            connections: 4,
            retries: 0,
            request_timeout: Duration::from_secs(1),
        };
        for base in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/api/v1/",
        ] {
            assert_eq!(
                Api::new(base, config).unwrap().api_root,
                "http://127.0.0.1:8080/api/v1"
            );
        }
        assert!(Api::new("127.0.0.1:8080", config).is_err());
    }
}
