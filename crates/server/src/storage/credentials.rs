//! Storage of issued certificates and the credit ledger (migration
//! `20261122000008_credentials`), for [`crate::credentials`].
//!
//! Issuance is idempotent and safe on many replicas at once: a partial unique index allows one
//! live certificate per registration, and the insert is `ON CONFLICT DO NOTHING`, so of two
//! replicas issuing to the same candidate one inserts and the other sees zero rows and posts
//! nothing. Each inserted certificate's ledger posting and audit entry are written in the same
//! transaction as the certificate. Revocation is a conditional update (`revoked_at IS NULL`),
//! so a second revocation, by hand or by a concurrent reconciliation, changes nothing and
//! posts no second reversal; the ledger's `UNIQUE (certificate_number, kind)` backs that up.
//! Rows are written in number order (registration order for issuance), so two transactions
//! on PostgreSQL lock them in the same order and cannot deadlock.

use super::{AuditEntry, Storage, StorageError};

/// A passing candidate of a sitting who holds no live certificate for it (and none revoked by
/// hand): the input of issuance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PassingHolder {
    /// The registration (one person in one sitting).
    pub registration_id: String,
    /// The person.
    pub person_id: String,
    /// The person's name.
    pub name: String,
    /// The person's normalized document number (mask it before it goes anywhere public).
    pub document_number: String,
}

/// What an issued certificate of a sitting says about the certificate and its issuer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IssuingContext {
    /// The sitting.
    pub sitting_id: String,
    /// `YYYY-MM-DD` (China Standard Time).
    pub exam_date: String,
    /// The certificate type.
    pub certificate_id: String,
    /// Its code.
    pub certificate_code: String,
    /// Its level.
    pub level: String,
    /// Its title.
    pub title: String,
    /// Credits it carries.
    pub credits: i64,
    /// The issuing organization.
    pub organization_id: String,
    /// Its code.
    pub organization_code: String,
    /// Its name.
    pub organization_name: String,
}

/// One certificate to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssuedCertificate {
    /// The number.
    pub number: String,
    /// The registration it is for.
    pub registration_id: String,
    /// The sitting.
    pub sitting_id: String,
    /// The holder.
    pub person_id: String,
    /// The certificate type.
    pub certificate_id: String,
    /// The issuing organization.
    pub organization_id: String,
    /// Credits posted to the holder's account.
    pub credits: i64,
    /// The canonical signed bytes (RFC 8785 JSON text).
    pub payload: String,
    /// The signing key's id.
    pub key_id: String,
    /// The signature, hex.
    pub signature: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Who issued it (a staff user id or `system`).
    pub issued_by: String,
    /// The audit entry of this issuance.
    pub audit: AuditEntry,
}

/// An issued certificate as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IssuedCertificate {
    /// The number.
    pub number: String,
    /// The registration it is for.
    pub registration_id: String,
    /// The sitting.
    pub sitting_id: String,
    /// The holder.
    pub person_id: String,
    /// The certificate type.
    pub certificate_id: String,
    /// The issuing organization.
    pub organization_id: String,
    /// Credits it carries.
    pub credits: i64,
    /// The canonical signed bytes (RFC 8785 JSON text).
    pub payload: String,
    /// The signing key's id.
    pub key_id: String,
    /// The signature, hex.
    pub signature: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Who issued it.
    pub issued_by: String,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
    /// `result_corrected` or `manual`, when revoked.
    pub revocation_kind: Option<String>,
    /// Why, when revoked.
    pub revocation_reason: Option<String>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

/// A revocation to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The certificate.
    pub number: String,
    /// `result_corrected` or `manual`.
    pub kind: &'static str,
    /// Why, shown publicly.
    pub reason: String,
    /// Who (staff user id or `system`).
    pub actor: String,
    /// Unix seconds.
    pub at: i64,
    /// The audit entry of this revocation.
    pub audit: AuditEntry,
}

/// What a revocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationOutcome {
    /// Revoked now, and the reversal posted.
    Revoked,
    /// It was revoked before: nothing changed.
    AlreadyRevoked,
    /// No certificate has this number.
    Unknown,
}

/// One posting of the credit ledger, with what the certificate is.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerEntry {
    /// Position in the ledger (increasing).
    pub id: i64,
    /// The person whose account it is.
    pub person_id: String,
    /// The certificate posted.
    pub certificate_number: String,
    /// `issue` or `reversal`.
    pub kind: String,
    /// Credits, positive for an issue, negative for a reversal.
    pub amount: i64,
    /// Unix seconds.
    pub at: i64,
    /// The certificate's code.
    pub certificate_code: String,
    /// The certificate's level.
    pub level: String,
    /// The certificate's title.
    pub title: String,
}

const ISSUED_COLUMNS: &str = "number, registration_id, sitting_id, person_id, certificate_id, \
    organization_id, credits, payload, key_id, signature, issued_at, issued_by, revoked_at, \
    revocation_kind, revocation_reason, revoked_by";

impl Storage {
    /// The certificate and issuer of a sitting's certificates; `None` for an unknown sitting.
    pub async fn issuing_context(
        &self,
        sitting_id: &str,
    ) -> Result<Option<IssuingContext>, StorageError> {
        let sql = "SELECT s.id AS sitting_id, s.exam_date, c.id AS certificate_id, \
                   c.code AS certificate_code, c.level, c.title, c.credits, \
                   o.id AS organization_id, o.code AS organization_code, o.name AS organization_name \
                   FROM sittings s JOIN certificates c ON c.id = s.certificate_id \
                   JOIN organizations o ON o.id = c.organization_id WHERE s.id = $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql).bind(sitting_id).fetch_optional(pool).await?
        }))
    }

    /// The passing results of a sitting whose registration has no live certificate and none
    /// revoked by hand, in registration order.
    pub async fn passing_holders_without_certificate(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<PassingHolder>, StorageError> {
        let sql = "SELECT r.registration_id, r.person_id, p.name, p.document_number \
                   FROM results r JOIN people p ON p.id = r.person_id \
                   WHERE r.sitting_id = $1 AND r.passed \
                   AND NOT EXISTS (SELECT 1 FROM issued_certificates ic \
                       WHERE ic.registration_id = r.registration_id \
                       AND (ic.revoked_at IS NULL OR ic.revocation_kind = 'manual')) \
                   ORDER BY r.registration_id";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql).bind(sitting_id).fetch_all(pool).await?
        }))
    }

    /// The numbers of a sitting's live certificates whose result no longer passes (or is
    /// gone), in number order.
    pub async fn live_certificates_without_pass(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<String>, StorageError> {
        let sql = "SELECT ic.number FROM issued_certificates ic \
                   LEFT JOIN results r ON r.registration_id = ic.registration_id \
                   WHERE ic.sitting_id = $1 AND ic.revoked_at IS NULL \
                   AND (r.passed IS NULL OR NOT r.passed) ORDER BY ic.number";
        let rows: Vec<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(sitting_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(number,)| number).collect())
    }

    /// Inserts certificates, each with its `issue` posting and audit entry, in one
    /// transaction. A certificate whose registration got a live certificate meanwhile (another
    /// replica) is skipped with its posting and audit. Returns the numbers inserted.
    pub async fn insert_issued_certificates(
        &self,
        certificates: &[NewIssuedCertificate],
    ) -> Result<Vec<String>, StorageError> {
        let mut inserted = Vec::with_capacity(certificates.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for certificate in certificates {
                let done = sqlx::query(
                    "INSERT INTO issued_certificates (number, registration_id, sitting_id, person_id, \
                     certificate_id, organization_id, credits, payload, key_id, signature, issued_at, issued_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
                )
                .bind(&certificate.number)
                .bind(&certificate.registration_id)
                .bind(&certificate.sitting_id)
                .bind(&certificate.person_id)
                .bind(&certificate.certificate_id)
                .bind(&certificate.organization_id)
                .bind(certificate.credits)
                .bind(&certificate.payload)
                .bind(&certificate.key_id)
                .bind(&certificate.signature)
                .bind(certificate.issued_at)
                .bind(&certificate.issued_by)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO credit_ledger (person_id, certificate_number, kind, amount, at, actor) \
                     VALUES ($1, $2, 'issue', $3, $4, $5)",
                )
                .bind(&certificate.person_id)
                .bind(&certificate.number)
                .bind(certificate.credits)
                .bind(certificate.issued_at)
                .bind(&certificate.issued_by)
                .execute(&mut *tx)
                .await?;
                append_audit!(&mut *tx, certificate.audit)?;
                inserted.push(certificate.number.clone());
            }
            tx.commit().await?;
        });
        Ok(inserted)
    }

    /// Applies revocations in one transaction: each revokes a live certificate and posts its
    /// reversal and audit entry, or changes nothing. Returns each outcome, in order.
    pub async fn revoke_issued_certificates(
        &self,
        revocations: &[Revocation],
    ) -> Result<Vec<RevocationOutcome>, StorageError> {
        let mut outcomes = Vec::with_capacity(revocations.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for revocation in revocations {
                let done = sqlx::query(
                    "UPDATE issued_certificates SET revoked_at = $1, revocation_kind = $2, \
                     revocation_reason = $3, revoked_by = $4 WHERE number = $5 AND revoked_at IS NULL",
                )
                .bind(revocation.at)
                .bind(revocation.kind)
                .bind(&revocation.reason)
                .bind(&revocation.actor)
                .bind(&revocation.number)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    let exists: Option<(String,)> =
                        sqlx::query_as("SELECT number FROM issued_certificates WHERE number = $1")
                            .bind(&revocation.number)
                            .fetch_optional(&mut *tx)
                            .await?;
                    outcomes.push(if exists.is_some() {
                        RevocationOutcome::AlreadyRevoked
                    } else {
                        RevocationOutcome::Unknown
                    });
                    continue;
                }
                sqlx::query(
                    "INSERT INTO credit_ledger (person_id, certificate_number, kind, amount, at, actor) \
                     SELECT person_id, number, 'reversal', -credits, $1, $2 \
                     FROM issued_certificates WHERE number = $3",
                )
                .bind(revocation.at)
                .bind(&revocation.actor)
                .bind(&revocation.number)
                .execute(&mut *tx)
                .await?;
                append_audit!(&mut *tx, revocation.audit)?;
                outcomes.push(RevocationOutcome::Revoked);
            }
            tx.commit().await?;
        });
        Ok(outcomes)
    }

    /// One issued certificate by its (normalized) number.
    pub async fn issued_certificate(
        &self,
        number: &str,
    ) -> Result<Option<IssuedCertificate>, StorageError> {
        let sql = format!("SELECT {ISSUED_COLUMNS} FROM issued_certificates WHERE number = $1");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(number).fetch_optional(pool).await?
        }))
    }

    /// A person's issued certificates, newest first.
    pub async fn issued_certificates_of_person(
        &self,
        person_id: &str,
    ) -> Result<Vec<IssuedCertificate>, StorageError> {
        let sql = format!(
            "SELECT {ISSUED_COLUMNS} FROM issued_certificates WHERE person_id = $1 \
             ORDER BY issued_at DESC, number"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(person_id).fetch_all(pool).await?
        }))
    }

    /// A sitting's issued certificates, by number.
    pub async fn issued_certificates_of_sitting(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<IssuedCertificate>, StorageError> {
        let sql = format!(
            "SELECT {ISSUED_COLUMNS} FROM issued_certificates WHERE sitting_id = $1 ORDER BY number"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).fetch_all(pool).await?
        }))
    }

    /// A person's credit account: every posting, oldest first.
    pub async fn credit_ledger_of_person(
        &self,
        person_id: &str,
    ) -> Result<Vec<LedgerEntry>, StorageError> {
        let sql = "SELECT l.id, l.person_id, l.certificate_number, l.kind, l.amount, l.at, \
                   c.code AS certificate_code, c.level, c.title \
                   FROM credit_ledger l \
                   JOIN issued_certificates ic ON ic.number = l.certificate_number \
                   JOIN certificates c ON c.id = ic.certificate_id \
                   WHERE l.person_id = $1 ORDER BY l.id";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql).bind(person_id).fetch_all(pool).await?
        }))
    }
}
