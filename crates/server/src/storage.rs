//! One storage interface over SQLite and PostgreSQL.
//!
//! [`Storage`] is an enum over the two sqlx pools rather than a trait object: every method is
//! written once, and the [`on_pool!`] macro expands its body for each backend, so both run the
//! very same SQL text (numbered `$1` placeholders work on both) and the compiler checks each
//! expansion against its driver. Queries are built at run time (`query_as().bind()`), never with
//! compile-time macros, so building needs no database. Times are Unix seconds in `BIGINT`
//! columns, ids are random hex `TEXT`: one representation on both backends.
//!
//! Every state-changing method takes the [`AuditEntry`] that describes it and writes both in one
//! transaction, so the audit log cannot miss a change nor record one that was rolled back.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::auth::Role;

/// The database behind the server, picked from the URL scheme at start-up.
#[derive(Debug, Clone)]
pub enum Storage {
    /// The embedded default: one file, WAL mode, foreign keys on.
    Sqlite(SqlitePool),
    /// For scale-out: many stateless replicas share one PostgreSQL.
    Postgres(PgPool),
}

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL names no backend we support.
    #[error("unsupported database URL `{0}`: use sqlite:... or postgres://...")]
    UnsupportedUrl(String),
    /// A row with the same unique key (code, username, ...) exists already.
    #[error("{0} already exists")]
    Duplicate(&'static str),
    /// A row this one refers to does not exist.
    #[error("{0} does not exist")]
    MissingReference(&'static str),
    /// A value read back from the database is not one this version writes.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Schema migrations failed.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Expands `$body` once per backend with `$pool` bound to that backend's pool.
macro_rules! on_pool {
    ($storage:expr, $pool:ident => $body:expr) => {
        match $storage {
            Storage::Sqlite($pool) => $body,
            Storage::Postgres($pool) => $body,
        }
    };
}

/// Appends an audit entry through `$executor` (a transaction), on either backend.
macro_rules! append_audit {
    ($executor:expr, $entry:expr) => {
        sqlx::query("INSERT INTO audit_log (actor, at, action, object, payload_sha256) VALUES ($1, $2, $3, $4, $5)")
            .bind(&$entry.actor)
            .bind($entry.at)
            .bind(&$entry.action)
            .bind(&$entry.object)
            .bind(&$entry.payload_sha256)
            .execute($executor)
            .await
    };
}

/// Records one closed attempt's objective scores inside the transaction `$tx`, once (the
/// grading pass, and publication for what the pass has not reached): the `graded_at`
/// claim and the rows are written together; evaluates to whether this call recorded them.
macro_rules! grade_in {
    ($tx:ident, $grade:expr) => {{
        let grade: &$crate::storage::delivery::AttemptScores = $grade;
        let claimed = sqlx::query(
            "UPDATE attempts SET graded_at = $2 \
             WHERE id = $1 AND graded_at IS NULL AND status IN ('submitted', 'expired')",
        )
        .bind(&grade.attempt_id)
        .bind(grade.graded_at)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        if claimed {
            let mut rest: &[(String, Option<u32>, u32)] = &grade.scores;
            while !rest.is_empty() {
                let (chunk, tail) =
                    rest.split_at($crate::storage::delivery::chunk_size(rest.len()));
                rest = tail;
                let sql = $crate::storage::delivery::scores_sql(chunk.len());
                let mut query = sqlx::query(&sql);
                for (item_id, score, max) in chunk {
                    let state = if score.is_some() {
                        "graded"
                    } else {
                        "needs_manual"
                    };
                    query = query
                        .bind(&grade.attempt_id)
                        .bind(item_id)
                        .bind(state)
                        .bind(score.map(i64::from))
                        .bind(i64::from(*max))
                        .bind(grade.graded_at);
                }
                query.execute(&mut *$tx).await?;
            }
        }
        claimed
    }};
}

pub mod analysis;
pub mod banks;
pub mod credentials;
pub mod delivery;
pub mod marking;
pub mod papers;
pub mod proctoring;
pub mod results;
pub mod sittings;

/// One line of the audit log: who did what to which object, when, and the SHA-256 of the
/// request payload (with secrets such as passwords removed before hashing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The acting user's id, or `system` for the server itself.
    pub actor: String,
    /// Unix seconds.
    pub at: i64,
    /// What happened, e.g. `organization.create`.
    pub action: String,
    /// The object acted on, e.g. `organization:3f2a...`.
    pub object: String,
    /// Hex SHA-256 of the payload.
    pub payload_sha256: String,
}

/// An evaluation organization: owns certificates and their banks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Random id.
    pub id: String,
    /// Short unique code, e.g. `ACME-EVAL`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// An X certificate at one level, owned by one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Random id.
    pub id: String,
    /// The owning organization.
    pub organization_id: String,
    /// Certificate code, `[A-Z0-9-]+`, unique per level.
    pub code: String,
    /// `junior`, `intermediate` or `senior`.
    pub level: String,
    /// Display title.
    pub title: String,
    /// Credits deposited in the learner's credit account on passing.
    pub credits: i64,
    /// Share of graded attempts (from the bottom) banned from retaking.
    pub retake_ban_percent: i64,
    /// How many years the retake ban lasts.
    pub retake_ban_years: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// An exam site (a school or test centre): registers candidates, rooms and teachers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Random id.
    pub id: String,
    /// Short unique code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A staff account: admin, organization, site, proctor, grader or auditor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    /// Random id.
    pub id: String,
    /// Lower-case login name, unique.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// What the account may do.
    pub role: Role,
    /// Scope for organization staff.
    pub organization_id: Option<String>,
    /// Scope for exam site staff.
    pub site_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A login session; a token is valid only while its session is neither expired nor revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The token's `jti`.
    pub id: String,
    /// The staff user.
    pub user_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

type StaffRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
);
type CertificateRow = (String, String, String, String, String, i64, i64, i64, i64);
type OrganizationRow = (String, String, String, i64);

const STAFF_COLUMNS: &str =
    "id, username, password_hash, role, organization_id, site_id, created_at";
const CERTIFICATE_COLUMNS: &str = "id, organization_id, code, level, title, credits, retake_ban_percent, retake_ban_years, created_at";

fn staff_from_row(row: StaffRow) -> Result<StaffUser, StorageError> {
    let (id, username, password_hash, role, organization_id, site_id, created_at) = row;
    let role = Role::from_str(&role)
        .map_err(|_| StorageError::Corrupt(format!("staff user {id} has role `{role}`")))?;
    Ok(StaffUser {
        id,
        username,
        password_hash,
        role,
        organization_id,
        site_id,
        created_at,
    })
}

fn certificate_from_row(row: CertificateRow) -> Certificate {
    let (
        id,
        organization_id,
        code,
        level,
        title,
        credits,
        retake_ban_percent,
        retake_ban_years,
        created_at,
    ) = row;
    Certificate {
        id,
        organization_id,
        code,
        level,
        title,
        credits,
        retake_ban_percent,
        retake_ban_years,
        created_at,
    }
}

/// The tables whose rows are (id, unique code, name, created_at): organizations and exam
/// sites share their storage code. The table name comes from this closed set, never from input.
#[derive(Debug, Clone, Copy)]
enum CodedTable {
    Organizations,
    Sites,
}

impl CodedTable {
    const fn name(self) -> &'static str {
        match self {
            CodedTable::Organizations => "organizations",
            CodedTable::Sites => "sites",
        }
    }

    /// What a duplicate code is called in the error.
    const fn code_label(self) -> &'static str {
        match self {
            CodedTable::Organizations => "organization code",
            CodedTable::Sites => "site code",
        }
    }
}

fn site_from_row((id, code, name, created_at): OrganizationRow) -> Site {
    Site {
        id,
        code,
        name,
        created_at,
    }
}

fn organization_from_row((id, code, name, created_at): OrganizationRow) -> Organization {
    Organization {
        id,
        code,
        name,
        created_at,
    }
}

/// Turns unique and foreign-key violations into the errors callers map to 409 and 404.
fn classify(error: sqlx::Error, duplicate: &'static str, reference: &'static str) -> StorageError {
    if let sqlx::Error::Database(database_error) = &error {
        if database_error.is_unique_violation() {
            return StorageError::Duplicate(duplicate);
        }
        if database_error.is_foreign_key_violation() {
            return StorageError::MissingReference(reference);
        }
    }
    StorageError::Database(error)
}

impl Storage {
    /// Connects to `url`: `sqlite:...` (file created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(PgConnectOptions::from_str(url)?).await
        } else if url.starts_with("sqlite:") {
            Self::connect_sqlite(SqliteConnectOptions::from_str(url)?).await
        } else {
            Err(StorageError::UnsupportedUrl(crate::config::redact_url(url)))
        }
    }

    /// Opens SQLite with the settings the server relies on: WAL so readers do not block the
    /// writer, foreign keys enforced, a busy timeout instead of immediate `SQLITE_BUSY`, and
    /// `synchronous=FULL` so an acknowledged write survives a power cut.
    pub async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Self, StorageError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Storage::Sqlite(pool))
    }

    /// Opens a PostgreSQL pool.
    pub async fn connect_postgres(options: PgConnectOptions) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Storage::Postgres(pool))
    }

    /// Which backend this is: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Storage::Sqlite(_) => "sqlite",
            Storage::Postgres(_) => "postgres",
        }
    }

    /// Applies the embedded migrations for this backend (`migrations/sqlite` or
    /// `migrations/postgres`); safe when several replicas start at once.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self {
            Storage::Sqlite(pool) => sqlx::migrate!("../../migrations/sqlite").run(pool).await?,
            Storage::Postgres(pool) => {
                sqlx::migrate!("../../migrations/postgres")
                    .run(pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        on_pool!(self, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }

    /// Reads a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StorageError> {
        let value: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(pool).await?
        });
        Ok(value.map(|(value,)| value))
    }

    /// Stores `value` under `key` unless a value is there already, and returns the stored one:
    /// when two replicas race to create the same setting, both end up with the winner's value.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StorageError> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
        });
        self.setting(key)
            .await?
            .ok_or_else(|| StorageError::Corrupt(format!("setting {key} vanished")))
    }

    /// How many staff accounts exist.
    pub async fn count_staff(&self) -> Result<i64, StorageError> {
        let (count,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM staff_users").fetch_one(pool).await?
        });
        Ok(count)
    }

    /// Creates a staff account. `Duplicate` when the username is taken.
    pub async fn create_staff(
        &self,
        user: &StaffUser,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let classify = |error| classify(error, "username", "organization or site");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO staff_users (id, username, password_hash, role, organization_id, site_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&user.id)
            .bind(&user.username)
            .bind(&user.password_hash)
            .bind(user.role.as_str())
            .bind(&user.organization_id)
            .bind(&user.site_id)
            .bind(user.created_at)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Finds a staff account by its (lower-case) username.
    pub async fn staff_by_username(
        &self,
        username: &str,
    ) -> Result<Option<StaffUser>, StorageError> {
        let sql = format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE username = $1");
        let row: Option<StaffRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(username).fetch_optional(pool).await?
        });
        row.map(staff_from_row).transpose()
    }

    /// Lists the staff accounts scoped to one organization.
    pub async fn staff_of_organization(
        &self,
        organization_id: &str,
    ) -> Result<Vec<StaffUser>, StorageError> {
        let sql = format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users WHERE organization_id = $1 ORDER BY username"
        );
        let rows: Vec<StaffRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(organization_id).fetch_all(pool).await?
        });
        rows.into_iter().map(staff_from_row).collect()
    }

    /// Records a new login session.
    pub async fn create_session(
        &self,
        session: &Session,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(&session.id)
                .bind(&session.user_id)
                .bind(session.created_at)
                .bind(session.expires_at)
                .execute(&mut *tx)
                .await?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The staff user behind session `session_id` if the session is live at `now`: not
    /// expired, not revoked. Role and scope come from here, so a changed account takes effect.
    pub async fn live_session_user(
        &self,
        session_id: &str,
        now: i64,
    ) -> Result<Option<StaffUser>, StorageError> {
        let sql = format!(
            "SELECT {} FROM sessions s JOIN staff_users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
            STAFF_COLUMNS
                .split(", ")
                .map(|column| format!("u.{column}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row: Option<StaffRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(session_id).bind(now).fetch_optional(pool).await?
        });
        row.map(staff_from_row).transpose()
    }

    /// Revokes a session (logout). Returns whether a live session was revoked.
    pub async fn revoke_session(
        &self,
        session_id: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        let revoked = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(session_id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() > 0 {
                append_audit!(&mut *tx, audit)?;
            }
            tx.commit().await?;
            done.rows_affected() > 0
        });
        Ok(revoked)
    }

    /// Creates an organization. `Duplicate` when the code is taken.
    pub async fn create_organization(
        &self,
        organization: &Organization,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let row = (
            organization.id.clone(),
            organization.code.clone(),
            organization.name.clone(),
            organization.created_at,
        );
        self.insert_coded(CodedTable::Organizations, &row, audit)
            .await
    }

    /// One organization by id.
    pub async fn organization(&self, id: &str) -> Result<Option<Organization>, StorageError> {
        let row = self.coded_by_id(CodedTable::Organizations, id).await?;
        Ok(row.map(organization_from_row))
    }

    /// Every organization, by code.
    pub async fn organizations(&self) -> Result<Vec<Organization>, StorageError> {
        let rows = self.all_coded(CodedTable::Organizations).await?;
        Ok(rows.into_iter().map(organization_from_row).collect())
    }

    /// Creates an exam site. `Duplicate` when the code is taken.
    pub async fn create_site(&self, site: &Site, audit: &AuditEntry) -> Result<(), StorageError> {
        let row = (
            site.id.clone(),
            site.code.clone(),
            site.name.clone(),
            site.created_at,
        );
        self.insert_coded(CodedTable::Sites, &row, audit).await
    }

    /// One exam site by id.
    pub async fn site(&self, id: &str) -> Result<Option<Site>, StorageError> {
        let row = self.coded_by_id(CodedTable::Sites, id).await?;
        Ok(row.map(site_from_row))
    }

    /// Every exam site, by code.
    pub async fn sites(&self) -> Result<Vec<Site>, StorageError> {
        let rows = self.all_coded(CodedTable::Sites).await?;
        Ok(rows.into_iter().map(site_from_row).collect())
    }

    /// Inserts a row of a coded table and its audit entry in one transaction.
    async fn insert_coded(
        &self,
        table: CodedTable,
        (id, code, name, created_at): &OrganizationRow,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let sql = format!(
            "INSERT INTO {} (id, code, name, created_at) VALUES ($1, $2, $3, $4)",
            table.name()
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(&sql)
                .bind(id)
                .bind(code)
                .bind(name)
                .bind(*created_at)
                .execute(&mut *tx)
                .await
                .map_err(|error| classify(error, table.code_label(), "-"))?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// One row of a coded table by id.
    async fn coded_by_id(
        &self,
        table: CodedTable,
        id: &str,
    ) -> Result<Option<OrganizationRow>, StorageError> {
        let sql = format!(
            "SELECT id, code, name, created_at FROM {} WHERE id = $1",
            table.name()
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Every row of a coded table, by code.
    async fn all_coded(&self, table: CodedTable) -> Result<Vec<OrganizationRow>, StorageError> {
        let sql = format!(
            "SELECT id, code, name, created_at FROM {} ORDER BY code",
            table.name()
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        }))
    }

    /// Lists the accounts without an organization or site scope (admins and auditors).
    pub async fn unscoped_staff(&self) -> Result<Vec<StaffUser>, StorageError> {
        let sql = format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users \
             WHERE organization_id IS NULL AND site_id IS NULL ORDER BY username"
        );
        let rows: Vec<StaffRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        rows.into_iter().map(staff_from_row).collect()
    }

    /// Lists the staff accounts scoped to one exam site.
    pub async fn staff_of_site(&self, site_id: &str) -> Result<Vec<StaffUser>, StorageError> {
        let sql =
            format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE site_id = $1 ORDER BY username");
        let rows: Vec<StaffRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(site_id).fetch_all(pool).await?
        });
        rows.into_iter().map(staff_from_row).collect()
    }

    /// Creates a certificate. `Duplicate` when code and level are taken;
    /// `MissingReference` when the organization does not exist.
    pub async fn create_certificate(
        &self,
        certificate: &Certificate,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let sql = format!(
            "INSERT INTO certificates ({CERTIFICATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(&sql)
                .bind(&certificate.id)
                .bind(&certificate.organization_id)
                .bind(&certificate.code)
                .bind(&certificate.level)
                .bind(&certificate.title)
                .bind(certificate.credits)
                .bind(certificate.retake_ban_percent)
                .bind(certificate.retake_ban_years)
                .bind(certificate.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|error| classify(error, "certificate with this code and level", "organization"))?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// One certificate by id.
    pub async fn certificate(&self, id: &str) -> Result<Option<Certificate>, StorageError> {
        let sql = format!("SELECT {CERTIFICATE_COLUMNS} FROM certificates WHERE id = $1");
        let row: Option<CertificateRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(certificate_from_row))
    }

    /// The certificates an organization owns, by code and level.
    pub async fn certificates_of(
        &self,
        organization_id: &str,
    ) -> Result<Vec<Certificate>, StorageError> {
        let sql = format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM certificates WHERE organization_id = $1 ORDER BY code, level"
        );
        let rows: Vec<CertificateRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(organization_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(certificate_from_row).collect())
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StorageError> {
        let rows: Vec<(String, i64, String, String, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT actor, at, action, object, payload_sha256 FROM audit_log ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(actor, at, action, object, payload_sha256)| AuditEntry {
                actor,
                at,
                action,
                object,
                payload_sha256,
            })
            .collect())
    }
}
