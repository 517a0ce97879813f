//! Roles, passwords, tokens, sessions, the login rate limit, and the [`Caller`] extractor.
//!
//! A staff token is an HS256 JWT (algorithm pinned on decode) carrying `sub`, `role`, scope
//! claims, `iss`, `aud`, `exp` and a session id `jti`. The signature alone is not enough: every
//! request also looks the `jti` up in the sessions table, so logout revokes a token at once and
//! a changed account (role, scope) takes effect at once; role and scope are read from the
//! database row, and the claims must agree with it. Password hashing (Argon2id) runs on the
//! blocking pool so it never stalls the async workers.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::AppError;
use crate::random;
use crate::storage::StaffUser;
use crate::storage::sittings::CandidateSession;

/// Issuer of every token this server signs.
pub(crate) const ISSUER: &str = "xcert";
/// Audience of staff tokens.
pub(crate) const STAFF_AUDIENCE: &str = "xcert-staff";
/// Audience of candidate tokens: a candidate token is never accepted where a staff token is
/// expected, nor the other way round, because each side validates its own audience.
pub(crate) const CANDIDATE_AUDIENCE: &str = "xcert-candidate";

/// What a caller may do. Candidates are not staff and never hold a staff token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the platform: organizations, proctor draws, appeals.
    Admin,
    /// Evaluation organization staff: certificates, banks, sittings, results.
    Org,
    /// Exam site staff: candidates, rooms, teachers.
    Site,
    /// Watches assigned rooms.
    Proctor,
    /// Grades practical and essay items.
    Grader,
    /// Reads everything, changes nothing.
    Auditor,
    /// Sits an exam.
    Candidate,
}

impl Role {
    /// Every role, for listings and exhaustive tests.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Org,
        Role::Site,
        Role::Proctor,
        Role::Grader,
        Role::Auditor,
        Role::Candidate,
    ];

    /// The name used in the database, in tokens and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Org => "org",
            Role::Site => "site",
            Role::Proctor => "proctor",
            Role::Grader => "grader",
            Role::Auditor => "auditor",
            Role::Candidate => "candidate",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("unknown role `{text}`"))
    }
}

/// The claims of a staff token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site: Option<String>,
    jti: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// The claims of a candidate token: the subject is the registration (one candidate in one
/// sitting), the `jti` a row of `candidate_sessions`.
#[derive(Debug, Serialize, Deserialize)]
struct CandidateClaims {
    sub: String,
    role: Role,
    sitting: String,
    jti: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// The signing key and the pinned validation rules.
pub(crate) struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    candidate_validation: Validation,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKeys(<redacted>)")
    }
}

impl TokenKeys {
    pub(crate) fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[STAFF_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        let mut candidate_validation = validation.clone();
        candidate_validation.set_audience(&[CANDIDATE_AUDIENCE]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            candidate_validation,
        }
    }

    /// Signs a staff token for `user` bound to session `session_id`.
    pub(crate) fn sign_staff(
        &self,
        user: &StaffUser,
        session_id: &str,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<String, AppError> {
        let claims = Claims {
            sub: user.id.clone(),
            role: user.role,
            org: user.organization_id.clone(),
            site: user.site_id.clone(),
            jti: session_id.to_owned(),
            iat: issued_at,
            exp: expires_at,
            iss: ISSUER.to_owned(),
            aud: STAFF_AUDIENCE.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| AppError::Internal(format!("signing a token: {error}")))
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }

    /// Signs a candidate token for `session` (audience `xcert-candidate`, role `candidate`).
    pub(crate) fn sign_candidate(
        &self,
        session: &CandidateSession,
        sitting_id: &str,
    ) -> Result<String, AppError> {
        let claims = CandidateClaims {
            sub: session.registration_id.clone(),
            role: Role::Candidate,
            sitting: sitting_id.to_owned(),
            jti: session.id.clone(),
            iat: session.created_at,
            exp: session.expires_at,
            iss: ISSUER.to_owned(),
            aud: CANDIDATE_AUDIENCE.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| AppError::Internal(format!("signing a token: {error}")))
    }

    fn verify_candidate(&self, token: &str) -> Option<CandidateClaims> {
        jsonwebtoken::decode::<CandidateClaims>(token, &self.decoding, &self.candidate_validation)
            .ok()
            .map(|data| data.claims)
            .filter(|claims| claims.role == Role::Candidate)
    }
}

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes) on the blocking pool.
pub(crate) async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_password_now(&password))
        .await
        .map_err(|error| AppError::Internal(format!("password hashing task: {error}")))?
}

fn hash_password_now(password: &str) -> Result<String, AppError> {
    let salt_bytes: [u8; 16] = random::bytes();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|error| AppError::Internal(format!("salt: {error}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::Internal(format!("hashing a password: {error}")))
}

/// Checks `password` against `hash` on the blocking pool. When there is no account, pass
/// `None`: a dummy hash is checked instead so the answer takes as long as for a real account
/// and response times do not reveal which usernames exist.
pub(crate) async fn verify_password(
    password: String,
    hash: Option<String>,
) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let hash = match hash {
            Some(hash) => hash,
            None => dummy_hash()?.clone(),
        };
        let parsed = PasswordHash::new(&hash)
            .map_err(|error| AppError::Internal(format!("stored hash: {error}")))?;
        Ok(real
            && Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
    })
    .await
    .map_err(|error| AppError::Internal(format!("password check task: {error}")))?
}

fn dummy_hash() -> Result<&'static String, AppError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_password_now(&random::hex_id())?;
    Ok(DUMMY.get_or_init(|| hash))
}

/// The authenticated staff member making a request: role and scope from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Staff user id.
    pub user_id: String,
    /// Username, for messages and the audit log.
    pub username: String,
    /// What the caller may do.
    pub role: Role,
    /// Organization scope (organization staff).
    pub organization_id: Option<String>,
    /// Site scope (exam site staff).
    pub site_id: Option<String>,
    /// The session (`jti`) the token belongs to.
    pub session_id: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?;
        let claims = state.tokens.verify(token).ok_or(AppError::Unauthenticated(
            "the token is invalid or expired; log in again",
        ))?;
        let user = state
            .storage
            .live_session_user(&claims.jti, crate::app::now_seconds())
            .await?
            .ok_or(AppError::Unauthenticated(
                "the session has ended; log in again",
            ))?;
        if user.id != claims.sub || user.role != claims.role {
            return Err(AppError::Unauthenticated(
                "the account changed since this token was issued; log in again",
            ));
        }
        Ok(Caller {
            user_id: user.id,
            username: user.username,
            role: user.role,
            organization_id: user.organization_id,
            site_id: user.site_id,
            session_id: claims.jti,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(parts: &Parts) -> Result<&str, AppError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(AppError::Unauthenticated(
            "log in first: send `Authorization: Bearer <token>`",
        ))?;
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(AppError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`",
        ))
}

/// The authenticated candidate making a request: one registration (a person in a sitting)
/// through a live candidate session.
///
/// Like [`Caller`], the token alone is not enough: the session row must be live (not expired,
/// not revoked by logout), and the registration and sitting are read from the database, not
/// trusted from the claims. The route middleware authenticates once and leaves the result in
/// the request's extensions, where this extractor finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateCaller {
    /// The registration: this candidate in this sitting.
    pub registration_id: String,
    /// The sitting the registration belongs to.
    pub sitting_id: String,
    /// The person (one person across sittings).
    pub person_id: String,
    /// The candidate session (`jti`) the token belongs to.
    pub session_id: String,
}

impl FromRequestParts<AppState> for CandidateCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<CandidateCaller>() {
            return Ok(caller.clone());
        }
        let token = bearer_token(parts)?;
        let Some(claims) = state.tokens.verify_candidate(token) else {
            if state.tokens.verify(token).is_some() {
                return Err(AppError::Unauthenticated(
                    "this is a candidate route and a staff token cannot be used on it; candidates log in with their admission ticket and ID number",
                ));
            }
            return Err(AppError::Unauthenticated(
                "the token is invalid or expired; log in again with your admission ticket and ID number",
            ));
        };
        let session = state
            .storage
            .live_candidate_session(&claims.jti, crate::app::now_seconds())
            .await?
            .ok_or(AppError::Unauthenticated(
                "the session has ended; log in again with your admission ticket and ID number",
            ))?;
        if session.registration_id != claims.sub || session.sitting_id != claims.sitting {
            return Err(AppError::Unauthenticated(
                "the token does not match its session; log in again",
            ));
        }
        Ok(CandidateCaller {
            registration_id: session.registration_id,
            sitting_id: session.sitting_id,
            person_id: session.person_id,
            session_id: claims.jti,
        })
    }
}

/// The key a candidate login spends its rate-limit attempt under. Staff usernames cannot
/// contain `:`, so a ticket never shares a bucket with a staff account.
pub(crate) fn candidate_limit_key(ticket: &str) -> String {
    format!("ticket:{ticket}")
}

/// A per-key token bucket: `burst` attempts at once, then one more every `refill`.
///
/// Kept in process for now (one replica); the Redis-backed limiter shares the buckets across
/// replicas later. Time comes in as an argument so the behaviour is testable without sleeping.
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    burst: f64,
    refill: Duration,
    buckets: Mutex<HashMap<(String, IpAddr), Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Past this many tracked keys, buckets that have refilled completely are dropped, so a
/// flood of distinct usernames cannot grow memory without bound.
const MAX_TRACKED_KEYS: usize = 10_000;

impl LoginLimiter {
    pub(crate) fn new(burst: u32, refill: Duration) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            refill: refill.max(Duration::from_millis(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Spends one attempt for `(username, address)` at `now`, or says how long to wait.
    pub(crate) fn try_acquire(
        &self,
        username: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED_KEYS {
            let (burst, refill) = (self.burst, self.refill);
            buckets.retain(|_, bucket| Self::refilled(*bucket, now, burst, refill) < burst);
        }
        let bucket = buckets
            .entry((username.to_owned(), address))
            .or_insert(Bucket {
                tokens: self.burst,
                updated: now,
            });
        bucket.tokens = Self::refilled(*bucket, now, self.burst, self.refill);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.refill.mul_f64(1.0 - bucket.tokens))
        }
    }

    fn refilled(bucket: Bucket, now: Instant, burst: f64, refill: Duration) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated);
        (bucket.tokens + elapsed.as_secs_f64() / refill.as_secs_f64()).min(burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_burst_of_attempts_is_allowed_and_the_next_is_refused_until_refilled() {
        let limiter = LoginLimiter::new(3, Duration::from_secs(10));
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.try_acquire("alice", HOME, start).is_ok());
        }
        let wait = limiter
            .try_acquire("alice", HOME, start)
            .expect_err("the fourth attempt is refused");
        assert_eq!(wait, Duration::from_secs(10));
        assert!(
            limiter
                .try_acquire("alice", HOME, start + Duration::from_secs(5))
                .is_err()
        );
        assert!(
            limiter
                .try_acquire("alice", HOME, start + Duration::from_secs(10))
                .is_ok()
        );
    }

    #[test]
    fn buckets_are_separate_per_username_and_per_address() {
        let limiter = LoginLimiter::new(1, Duration::from_secs(60));
        let now = Instant::now();
        assert!(limiter.try_acquire("alice", HOME, now).is_ok());
        assert!(limiter.try_acquire("alice", HOME, now).is_err());
        assert!(limiter.try_acquire("bob", HOME, now).is_ok());
        assert!(limiter.try_acquire("alice", AWAY, now).is_ok());
    }

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    fn user() -> StaffUser {
        StaffUser {
            id: "u1".to_owned(),
            username: "alice".to_owned(),
            password_hash: String::new(),
            role: Role::Org,
            organization_id: Some("o1".to_owned()),
            site_id: None,
            created_at: 0,
        }
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let ours = TokenKeys::new(&[7; 32]);
        let theirs = TokenKeys::new(&[8; 32]);
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let token = theirs
            .sign_staff(&user(), "s1", now, now + 600)
            .expect("signs");
        assert!(ours.verify(&token).is_none());
        assert!(theirs.verify(&token).is_some());
    }

    #[test]
    fn an_expired_token_is_rejected() {
        let keys = TokenKeys::new(&[7; 32]);
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let token = keys
            .sign_staff(&user(), "s1", now - 600, now - 1)
            .expect("signs");
        assert!(keys.verify(&token).is_none());
    }

    #[test]
    fn a_token_with_the_none_algorithm_is_rejected() {
        let keys = TokenKeys::new(&[7; 32]);
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let token = keys
            .sign_staff(&user(), "s1", now, now + 600)
            .expect("signs");
        let payload = token.split('.').nth(1).expect("three parts");
        // {"alg":"none","typ":"JWT"} in base64url, with the real payload and no signature.
        let forged = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(keys.verify(&forged).is_none());
    }

    fn candidate_session(expires_in: i64) -> CandidateSession {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        CandidateSession {
            id: "cs1".to_owned(),
            registration_id: "r1".to_owned(),
            created_at: now,
            expires_at: now + expires_in,
        }
    }

    #[test]
    fn a_candidate_token_is_never_a_staff_token_and_a_staff_token_never_a_candidate_token() {
        let keys = TokenKeys::new(&[7; 32]);
        let candidate = keys
            .sign_candidate(&candidate_session(600), "sit1")
            .expect("signs");
        let claims = keys
            .verify_candidate(&candidate)
            .expect("a candidate token");
        assert_eq!(
            (claims.sub.as_str(), claims.sitting.as_str()),
            ("r1", "sit1")
        );
        assert!(keys.verify(&candidate).is_none());
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let staff = keys
            .sign_staff(&user(), "s1", now, now + 600)
            .expect("signs");
        assert!(keys.verify_candidate(&staff).is_none());
    }

    #[test]
    fn an_expired_candidate_token_is_rejected() {
        let keys = TokenKeys::new(&[7; 32]);
        let token = keys
            .sign_candidate(&candidate_session(-1), "sit1")
            .expect("signs");
        assert!(keys.verify_candidate(&token).is_none());
    }

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password_now("correct horse battery staple").expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        assert!(
            runtime
                .block_on(verify_password(
                    "correct horse battery staple".to_owned(),
                    Some(hash.clone())
                ))
                .expect("checks")
        );
        assert!(
            !runtime
                .block_on(verify_password("wrong".to_owned(), Some(hash)))
                .expect("checks")
        );
        assert!(
            !runtime
                .block_on(verify_password("anything".to_owned(), None))
                .expect("checks")
        );
    }
}
