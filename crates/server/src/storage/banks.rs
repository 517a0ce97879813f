//! Storage of question-bank versions (table `bank_versions`).
//!
//! A version row is written once and never updated: the source bytes as uploaded, the content
//! hash of the parsed bank, and a small summary (item counts) so that listing versions needs no
//! re-parse. The certificate code and level are read through a join, never copied.

use std::collections::BTreeMap;

use super::{AuditEntry, Storage, StorageError, classify};

/// How an uploaded bank's source bytes are packed; stored beside them so they can be unpacked
/// again exactly as on upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BankSourceFormat {
    /// One native TOML file (`application/toml`).
    Toml,
    /// A tar archive of a bank directory (`application/x-tar`).
    Tar,
    /// A gzip-compressed tar archive of a bank directory (`application/gzip`).
    TarGz,
}

impl BankSourceFormat {
    /// The name stored in the `source_format` column.
    pub fn as_str(self) -> &'static str {
        match self {
            BankSourceFormat::Toml => "toml",
            BankSourceFormat::Tar => "tar",
            BankSourceFormat::TarGz => "tar.gz",
        }
    }

    /// Reads a stored `source_format` value.
    pub fn from_stored(text: &str) -> Option<BankSourceFormat> {
        match text {
            "toml" => Some(BankSourceFormat::Toml),
            "tar" => Some(BankSourceFormat::Tar),
            "tar.gz" => Some(BankSourceFormat::TarGz),
            _ => None,
        }
    }

    /// The content type the source is served back with.
    pub fn content_type(self) -> &'static str {
        match self {
            BankSourceFormat::Toml => "application/toml",
            BankSourceFormat::Tar => "application/x-tar",
            BankSourceFormat::TarGz => "application/gzip",
        }
    }
}

/// One uploaded, immutable bank version (without its source bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankVersion {
    /// Random id.
    pub id: String,
    /// The owning organization.
    pub organization_id: String,
    /// The certificate the bank's `[bank]` header names.
    pub certificate_id: String,
    /// That certificate's code (read through a join).
    pub certificate_code: String,
    /// That certificate's level: `junior`, `intermediate` or `senior`.
    pub level: String,
    /// The version label from the `[bank]` header, unique per certificate.
    pub version: String,
    /// Lower-case hex SHA-256 of the bank's canonical form (docs/BANK-FORMAT.md).
    pub content_hash: String,
    /// Number of items.
    pub item_count: i64,
    /// Number of declared knowledge points.
    pub knowledge_points: i64,
    /// Items per item type (`single_choice`, ...), every type present.
    pub items_by_type: BTreeMap<String, i64>,
    /// How the source is packed.
    pub source_format: BankSourceFormat,
    /// The staff user who uploaded it.
    pub uploaded_by: String,
    /// Unix seconds.
    pub created_at: i64,
}

type BankVersionRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    i64,
);

/// The columns of [`BankVersionRow`], `b` being `bank_versions` and `c` its certificate.
const BANK_VERSION_SELECT: &str = "SELECT b.id, b.organization_id, b.certificate_id, c.code, c.level, b.version, \
     b.content_hash, b.item_count, b.knowledge_points, b.items_by_type, b.source_format, \
     b.uploaded_by, b.created_at \
     FROM bank_versions b JOIN certificates c ON c.id = b.certificate_id";

fn bank_version_from_row(row: BankVersionRow) -> Result<BankVersion, StorageError> {
    let (
        id,
        organization_id,
        certificate_id,
        certificate_code,
        level,
        version,
        content_hash,
        item_count,
        knowledge_points,
        items_by_type,
        source_format,
        uploaded_by,
        created_at,
    ) = row;
    let items_by_type = serde_json::from_str(&items_by_type).map_err(|error| {
        StorageError::Corrupt(format!("bank version {id} has items_by_type {error}"))
    })?;
    let source_format = BankSourceFormat::from_stored(&source_format).ok_or_else(|| {
        StorageError::Corrupt(format!(
            "bank version {id} has source format `{source_format}`"
        ))
    })?;
    Ok(BankVersion {
        id,
        organization_id,
        certificate_id,
        certificate_code,
        level,
        version,
        content_hash,
        item_count,
        knowledge_points,
        items_by_type,
        source_format,
        uploaded_by,
        created_at,
    })
}

impl Storage {
    /// Stores a new bank version with its source bytes, and its audit entry, in one
    /// transaction. `Duplicate` when the certificate already has this version label;
    /// `MissingReference` when the organization, certificate or uploader does not exist.
    /// `version.certificate_code` and `version.level` are not stored (they are the
    /// certificate's).
    pub async fn create_bank_version(
        &self,
        version: &BankVersion,
        source: &[u8],
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let items_by_type = serde_json::to_string(&version.items_by_type)
            .map_err(|error| StorageError::Corrupt(error.to_string()))?;
        let classify = |error| {
            classify(
                error,
                "bank version with this certificate and version",
                "organization, certificate or uploader",
            )
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO bank_versions (id, organization_id, certificate_id, version, content_hash, \
                 item_count, knowledge_points, items_by_type, source_format, source, uploaded_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&version.id)
            .bind(&version.organization_id)
            .bind(&version.certificate_id)
            .bind(&version.version)
            .bind(&version.content_hash)
            .bind(version.item_count)
            .bind(version.knowledge_points)
            .bind(&items_by_type)
            .bind(version.source_format.as_str())
            .bind(source)
            .bind(&version.uploaded_by)
            .bind(version.created_at)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// One bank version by id (without its source).
    pub async fn bank_version(&self, id: &str) -> Result<Option<BankVersion>, StorageError> {
        let sql = format!("{BANK_VERSION_SELECT} WHERE b.id = $1");
        let row: Option<BankVersionRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(bank_version_from_row).transpose()
    }

    /// The version of a certificate with this version label, if uploaded.
    pub async fn bank_version_by_label(
        &self,
        certificate_id: &str,
        version: &str,
    ) -> Result<Option<BankVersion>, StorageError> {
        let sql = format!("{BANK_VERSION_SELECT} WHERE b.certificate_id = $1 AND b.version = $2");
        let row: Option<BankVersionRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(certificate_id).bind(version).fetch_optional(pool).await?
        });
        row.map(bank_version_from_row).transpose()
    }

    /// An organization's bank versions, newest first (ties by version label, descending).
    pub async fn bank_versions_of(
        &self,
        organization_id: &str,
    ) -> Result<Vec<BankVersion>, StorageError> {
        let sql = format!(
            "{BANK_VERSION_SELECT} WHERE b.organization_id = $1 \
             ORDER BY b.created_at DESC, b.version DESC, b.id"
        );
        let rows: Vec<BankVersionRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(organization_id).fetch_all(pool).await?
        });
        rows.into_iter().map(bank_version_from_row).collect()
    }

    /// The source bytes of a bank version exactly as uploaded, with how they are packed.
    pub async fn bank_version_source(
        &self,
        id: &str,
    ) -> Result<Option<(BankSourceFormat, Vec<u8>)>, StorageError> {
        let row: Option<(String, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT source_format, source FROM bank_versions WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(format, bytes)| {
            BankSourceFormat::from_stored(&format)
                .map(|format| (format, bytes))
                .ok_or_else(|| {
                    StorageError::Corrupt(format!("bank version {id} has source format `{format}`"))
                })
        })
        .transpose()
    }
}
