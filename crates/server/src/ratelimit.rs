//! Login rate limits shared by every replica.
//!
//! Without `XCERT_REDIS_URL` the in-process token buckets of [`LoginLimiter`] do the job (one
//! replica). With Redis, the buckets live there, so an attacker spreading password guesses over
//! ten replicas gets the budget of one. The bucket arithmetic runs in one Lua script, atomic on
//! the Redis server and timed by the Redis server's clock, so replicas with skewed clocks agree.
//!
//! Redis is for scale, not for truth (DESIGN.md): when Redis does not answer, the check falls
//! back to the in-process buckets and logs a warning, so logins keep working during an outage.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::auth::LoginLimiter;

/// A token bucket per key: `burst` tokens, one more every `refill`. Returns 0 when a token was
/// taken, else the milliseconds until the next token. `TIME` is the Redis server's clock.
const TOKEN_BUCKET: &str = r"
local burst = tonumber(ARGV[1])
local refill_ms = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(stored[1])
local updated = tonumber(stored[2])
if tokens == nil or updated == nil then
  tokens = burst
  updated = now
end
tokens = math.min(burst, tokens + math.max(0, now - updated) / refill_ms)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * refill_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * refill_ms) + 1000)
return wait
";

/// Token buckets kept in Redis under `{prefix}{key}`.
#[derive(Clone)]
pub(crate) struct RedisBuckets {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
    burst: u32,
    refill: Duration,
}

impl std::fmt::Debug for RedisBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBuckets")
            .field("prefix", &self.prefix)
            .field("burst", &self.burst)
            .field("refill", &self.refill)
            .finish_non_exhaustive()
    }
}

impl RedisBuckets {
    /// Connects to `url` (the connection manager reconnects by itself after an outage).
    pub(crate) async fn connect(
        url: &str,
        prefix: &str,
        burst: u32,
        refill: Duration,
    ) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(1))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            connection,
            script: redis::Script::new(TOKEN_BUCKET),
            prefix: prefix.to_owned(),
            burst: burst.max(1),
            refill: refill.max(Duration::from_millis(1)),
        })
    }

    /// Takes a token for `key`: `Ok(Ok(()))` when allowed, `Ok(Err(wait))` when the bucket is
    /// empty, `Err` when Redis could not answer.
    pub(crate) async fn try_acquire(
        &self,
        key: &str,
    ) -> Result<Result<(), Duration>, redis::RedisError> {
        let mut connection = self.connection.clone();
        let refill_ms = u64::try_from(self.refill.as_millis()).unwrap_or(u64::MAX);
        let wait_ms: u64 = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(self.burst)
            .arg(refill_ms)
            .invoke_async(&mut connection)
            .await?;
        Ok(if wait_ms == 0 {
            Ok(())
        } else {
            Err(Duration::from_millis(wait_ms))
        })
    }
}

/// The login limiter the handlers use: Redis when configured and answering, else in process.
#[derive(Debug)]
pub(crate) struct LoginLimits {
    local: LoginLimiter,
    shared: Option<RedisBuckets>,
}

impl LoginLimits {
    /// In-process buckets only.
    pub(crate) fn local(burst: u32, refill: Duration) -> Self {
        Self {
            local: LoginLimiter::new(burst, refill),
            shared: None,
        }
    }

    /// Buckets in Redis, with the in-process ones as the fallback during an outage.
    pub(crate) fn shared(burst: u32, refill: Duration, redis: RedisBuckets) -> Self {
        Self {
            local: LoginLimiter::new(burst, refill),
            shared: Some(redis),
        }
    }

    /// Whether the buckets are shared through Redis.
    pub(crate) fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Takes a login attempt for (`key`, `address`), or says how long to wait.
    pub(crate) async fn try_acquire(&self, key: &str, address: IpAddr) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            match shared.try_acquire(&format!("{address}|{key}")).await {
                Ok(outcome) => return outcome,
                Err(error) => {
                    tracing::warn!(%error, "Redis rate limit unavailable; using in-process buckets");
                }
            }
        }
        self.local.try_acquire(key, address, Instant::now())
    }
}
