//! Bank versions on the server: unpacking uploads, storing them, and a cache of parsed banks.
//!
//! Parsing and validation belong to `xcert-bank`; this module only turns the bytes a client
//! sends into a [`BankSource`] and back:
//!
//! - **Uploads** are one native TOML file, or a tar / tar.gz of a bank directory with
//!   `bank.toml` at its root or inside one top-level folder. The archive is read in memory and
//!   never written to disk, and it is checked while it is read: no absolute paths, no `..`, no
//!   links or device files, at most [`MAX_ARCHIVE_ENTRIES`] entries and [`MAX_UNPACKED_BYTES`]
//!   unpacked. Sizes are counted from each header before its data is read, so a gzip bomb
//!   stops at its first oversized entry instead of after inflating.
//! - **One code path stores a version** ([`upload_bank`]): the HTTP handler and the `xcert demo`
//!   command both go through it, so validation, the certificate check, the duplicate check and
//!   the audit entry cannot drift apart.
//! - **Versions are immutable**, so a parsed [`Bank`] is cached per version id ([`BankCache`],
//!   least recently used, bounded) and shared as `Arc<Bank>` by everything that draws papers or
//!   shows items ([`load_bank`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use xcert_bank::{Bank, BankSource, Diagnostic, ItemType};

use crate::app::{AppState, audit_entry, now_seconds};
use crate::error::AppError;
use crate::random;
use crate::storage::banks::{BankSourceFormat, BankVersion};
use crate::storage::{Storage, StorageError};

/// Largest upload body the bank route accepts (64 MiB), compressed or not.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
/// Largest bank once unpacked: the bank format's own limit (256 MiB).
pub const MAX_UNPACKED_BYTES: usize = xcert_bank::MAX_BANK_BYTES;
/// Most entries (files and folders) one archive may hold.
pub const MAX_ARCHIVE_ENTRIES: usize = 20_000;
/// Parsed banks kept in memory by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 16;

/// Why an upload could not be unpacked into a bank source (before any bank validation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// The content type is none of the accepted ones.
    #[error(
        "content type `{0}` is not a bank upload: send one native TOML file as `application/toml`, or a bank directory as `application/x-tar` or `application/gzip` (tar.gz)"
    )]
    UnsupportedContentType(String),
    /// The bytes are not a readable tar (or gzip) stream.
    #[error("the archive cannot be read ({0}); make it with `tar czf bank.tar.gz -C DIR VERSION`")]
    Unreadable(String),
    /// An entry path is absolute or climbs out with `..`.
    #[error(
        "the archive entry `{0}` has an absolute path or a `..` component; archive the bank directory with relative paths only"
    )]
    UnsafePath(String),
    /// An entry path is not UTF-8.
    #[error("an archive entry path is not UTF-8 ({0}); rename the file")]
    NonUtf8Path(String),
    /// A symbolic or hard link.
    #[error(
        "the archive entry `{0}` is a link; links are refused in bank uploads: archive the file itself (tar --dereference)"
    )]
    Link(String),
    /// A device file, FIFO, sparse file or another entry type that is not a file or folder.
    #[error(
        "the archive entry `{0}` is a {1}; a bank archive may hold only regular files and folders"
    )]
    SpecialFile(String, &'static str),
    /// Too many entries.
    #[error(
        "the archive holds more than {MAX_ARCHIVE_ENTRIES} entries; a bank version may have at most that many files and folders"
    )]
    TooManyEntries,
    /// Too many bytes once unpacked.
    #[error(
        "the archive unpacks to more than {} MiB, the limit for one bank version; shrink or remove media",
        MAX_UNPACKED_BYTES / (1024 * 1024)
    )]
    TooLarge,
    /// The same path twice.
    #[error("the archive holds `{0}` twice; keep one copy")]
    DuplicatePath(String),
    /// No `bank.toml` where one is expected.
    #[error(
        "the archive has no bank.toml at its root or inside one top-level folder: archive the bank directory itself, e.g. `tar czf bank.tar.gz -C question-banks/web-fe-junior 2026.1`"
    )]
    NoBankToml,
}

impl From<UploadError> for AppError {
    fn from(error: UploadError) -> Self {
        match error {
            UploadError::UnsupportedContentType(_) => AppError::refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                error.to_string(),
            ),
            other => AppError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_archive",
                other.to_string(),
            ),
        }
    }
}

/// How a body with this `Content-Type` is packed. Parameters (`; charset=utf-8`) are ignored.
pub fn format_of_content_type(content_type: &str) -> Result<BankSourceFormat, UploadError> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/toml" => Ok(BankSourceFormat::Toml),
        "application/x-tar" | "application/tar" => Ok(BankSourceFormat::Tar),
        "application/gzip" | "application/x-gzip" | "application/x-gtar" => {
            Ok(BankSourceFormat::TarGz)
        }
        _ => Err(UploadError::UnsupportedContentType(content_type.to_owned())),
    }
}

/// The bank source in an upload body of this content type (see [`format_of_content_type`]).
/// Pure: reads nothing but `bytes`, writes nothing.
pub fn source_from_upload(content_type: &str, bytes: &[u8]) -> Result<BankSource, UploadError> {
    unpack(
        detect_format(format_of_content_type(content_type)?, bytes),
        bytes,
    )
}

/// An archive sent as `application/x-tar` that is in fact gzip-compressed (or the other way
/// round) is read as what it is, and stored under its real format.
fn detect_format(declared: BankSourceFormat, bytes: &[u8]) -> BankSourceFormat {
    const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
    match declared {
        BankSourceFormat::Toml => BankSourceFormat::Toml,
        BankSourceFormat::Tar | BankSourceFormat::TarGz if bytes.starts_with(&GZIP_MAGIC) => {
            BankSourceFormat::TarGz
        }
        BankSourceFormat::Tar | BankSourceFormat::TarGz => BankSourceFormat::Tar,
    }
}

/// Unpacks stored or uploaded bytes of a known format.
pub fn unpack(format: BankSourceFormat, bytes: &[u8]) -> Result<BankSource, UploadError> {
    match format {
        BankSourceFormat::Toml => Ok(BankSource::single("bank.toml", bytes)),
        BankSourceFormat::Tar => unpack_tar(bytes),
        BankSourceFormat::TarGz => unpack_tar(flate2::read::GzDecoder::new(bytes)),
    }
}

/// An archive entry path split into components, `.` and empty components dropped. Absolute
/// paths and `..` are refused even though nothing is ever written to disk: such an archive was
/// not made from a bank directory.
fn entry_components(raw: &[u8]) -> Result<Vec<String>, UploadError> {
    let path = std::str::from_utf8(raw)
        .map_err(|_| UploadError::NonUtf8Path(String::from_utf8_lossy(raw).into_owned()))?;
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(UploadError::UnsafePath(path.to_owned()));
    }
    let components: Vec<String> = path
        .split(['/', '\\'])
        .filter(|component| !component.is_empty() && *component != ".")
        .map(str::to_owned)
        .collect();
    if components.iter().any(|component| component == "..") {
        return Err(UploadError::UnsafePath(path.to_owned()));
    }
    Ok(components)
}

fn unpack_tar(reader: impl Read) -> Result<BankSource, UploadError> {
    let unreadable = |error: std::io::Error| UploadError::Unreadable(error.to_string());
    let mut archive = tar::Archive::new(reader);
    let mut files: BTreeMap<Vec<String>, Vec<u8>> = BTreeMap::new();
    let mut entries_seen = 0_usize;
    let mut unpacked: u64 = 0;
    let limit = u64::try_from(MAX_UNPACKED_BYTES).unwrap_or(u64::MAX);
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        entries_seen += 1;
        if entries_seen > MAX_ARCHIVE_ENTRIES {
            return Err(UploadError::TooManyEntries);
        }
        // Counted from the header before any data is read or skipped: the decompressor never
        // inflates more than the limit.
        unpacked = unpacked.saturating_add(entry.size());
        if unpacked > limit {
            return Err(UploadError::TooLarge);
        }
        let raw_path = entry.path_bytes().into_owned();
        let components = entry_components(&raw_path)?;
        let shown = components.join("/");
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Directory | tar::EntryType::XGlobalHeader => continue,
            tar::EntryType::Symlink | tar::EntryType::Link => {
                return Err(UploadError::Link(shown));
            }
            tar::EntryType::Char => {
                return Err(UploadError::SpecialFile(shown, "character device"));
            }
            tar::EntryType::Block => return Err(UploadError::SpecialFile(shown, "block device")),
            tar::EntryType::Fifo => return Err(UploadError::SpecialFile(shown, "FIFO")),
            tar::EntryType::GNUSparse => {
                return Err(UploadError::SpecialFile(shown, "sparse file"));
            }
            _ => return Err(UploadError::SpecialFile(shown, "special entry")),
        }
        if components.is_empty() {
            return Err(UploadError::UnsafePath(
                String::from_utf8_lossy(&raw_path).into_owned(),
            ));
        }
        let declared = entry.size();
        let mut bytes = Vec::new();
        (&mut entry)
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        // Hidden files and folders (`.git`, macOS `._` files) are skipped, as `xcert bank`
        // skips them in a directory.
        if components
            .iter()
            .any(|component| component.starts_with('.'))
        {
            continue;
        }
        if files.insert(components, bytes).is_some() {
            return Err(UploadError::DuplicatePath(shown));
        }
    }
    source_from_files(files)
}

/// Lays unpacked files out as a bank directory: finds the bank root (the archive root, or its
/// one top-level folder), then takes `media/...` as media and every other `*.toml` as a bank
/// file, as `xcert bank validate DIR` does.
fn source_from_files(files: BTreeMap<Vec<String>, Vec<u8>>) -> Result<BankSource, UploadError> {
    let at_root = files.contains_key(&vec!["bank.toml".to_owned()]);
    let root_len = if at_root {
        0
    } else {
        let tops: BTreeSet<&String> = files
            .keys()
            .filter(|path| path.len() > 1)
            .map(|path| &path[0])
            .collect();
        let loose = files.keys().any(|path| path.len() == 1);
        match tops.into_iter().next() {
            Some(top)
                if !loose
                    && files.keys().all(|path| &path[0] == top)
                    && files.contains_key(&vec![top.clone(), "bank.toml".to_owned()]) =>
            {
                1
            }
            _ => return Err(UploadError::NoBankToml),
        }
    };
    let mut source = BankSource::new();
    for (path, bytes) in files {
        let inside = &path[root_len..];
        if inside.len() > 1 && inside[0] == "media" {
            source.add_media(inside.join("/"), bytes);
        } else if inside.last().is_some_and(|name| name.ends_with(".toml")) {
            source.add_file(path.join("/"), bytes);
        }
    }
    Ok(source)
}

/// Why bytes did not give a bank.
#[derive(Debug)]
enum ParseFailure {
    Upload(UploadError),
    Invalid(Vec<Diagnostic>),
}

/// Unpacks and parses (CPU-bound: run it off the async threads).
fn parse_upload(format: BankSourceFormat, bytes: &[u8]) -> Result<Bank, ParseFailure> {
    let source = unpack(format, bytes).map_err(ParseFailure::Upload)?;
    Bank::parse(&source).map_err(ParseFailure::Invalid)
}

/// One diagnostic as JSON, the shape of `xcert bank validate --json`.
fn diagnostic_json(diagnostic: &Diagnostic) -> serde_json::Value {
    json!({
        "file": diagnostic.file,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "item": diagnostic.item,
        "message": diagnostic.message,
    })
}

/// 422 `invalid_bank` carrying every diagnostic.
fn invalid_bank(diagnostics: &[Diagnostic]) -> AppError {
    let count = diagnostics.len();
    let first = diagnostics
        .first()
        .map(|diagnostic| format!("; the first: {diagnostic}"))
        .unwrap_or_default();
    let message = format!(
        "the bank has {count} error{}{first}. Nothing was stored: fix every error listed in `errors` and upload again",
        if count == 1 { "" } else { "s" }
    );
    let errors: Vec<serde_json::Value> = diagnostics.iter().map(diagnostic_json).collect();
    AppError::refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_bank", message)
        .with_detail("errors", errors)
}

/// Items per type, every type present (0 when absent).
pub fn items_by_type(bank: &Bank) -> BTreeMap<String, i64> {
    ItemType::ALL
        .iter()
        .map(|kind| {
            let count = bank
                .items()
                .iter()
                .filter(|item| item.item_type() == *kind)
                .count();
            (
                kind.as_str().to_owned(),
                i64::try_from(count).unwrap_or(i64::MAX),
            )
        })
        .collect()
}

/// Validates and stores a bank version uploaded by `actor_user_id` for `organization_id`, with
/// its `bank.upload` audit entry in the same transaction. Refusals, each with nothing stored:
/// 415 for another content type; 422 `invalid_archive` for an unsafe or unreadable archive;
/// 422 `invalid_bank` with every diagnostic; 422 when the `[bank]` header names a certificate
/// the organization does not have; 409 when the certificate already has this version.
/// The caller checks that the actor may upload for this organization.
pub async fn upload_bank(
    storage: &Storage,
    actor_user_id: &str,
    organization_id: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<BankVersion, AppError> {
    store_upload(storage, actor_user_id, organization_id, content_type, bytes)
        .await
        .map(|(version, _bank)| version)
}

/// [`upload_bank`], also handing back the parsed bank (for the cache and the response).
pub(crate) async fn store_upload(
    storage: &Storage,
    actor_user_id: &str,
    organization_id: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<(BankVersion, Arc<Bank>), AppError> {
    let declared = format_of_content_type(content_type)?;
    let format = detect_format(declared, &bytes);
    let organization = storage
        .organization(organization_id)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let (bytes, parsed) = tokio::task::spawn_blocking(move || {
        let parsed = parse_upload(format, &bytes);
        (bytes, parsed)
    })
    .await
    .map_err(|error| AppError::Internal(format!("the bank parser task failed: {error}")))?;
    let bank = match parsed {
        Ok(bank) => Arc::new(bank),
        Err(ParseFailure::Upload(error)) => return Err(error.into()),
        Err(ParseFailure::Invalid(diagnostics)) => return Err(invalid_bank(&diagnostics)),
    };
    let header = bank.header();
    let (code, level, label) = (
        header.certificate(),
        header.level().as_str(),
        header.version(),
    );
    let certificate = storage
        .certificates_of(&organization.id)
        .await?
        .into_iter()
        .find(|certificate| certificate.code == code && certificate.level == level)
        .ok_or_else(|| {
            AppError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_certificate",
                format!(
                    "the bank's [bank] header names certificate `{code}` at level `{level}`, which is not a certificate of organization {}: create it first with POST /api/v1/organizations/{}/certificates {{\"code\": \"{code}\", \"level\": \"{level}\", ...}}, or fix `certificate` and `level` in [bank]",
                    organization.code, organization.id
                ),
            )
        })?;
    let content_hash = bank.content_hash().to_hex();
    if let Some(existing) = storage
        .bank_version_by_label(&certificate.id, label)
        .await?
    {
        let message = if existing.content_hash == content_hash {
            format!(
                "this bank is already uploaded: version `{label}` of {code} {level} with the same content hash, id {}",
                existing.id
            )
        } else {
            format!(
                "version `{label}` of {code} {level} is already uploaded (id {}) with different content; versions never change, so give the new content a new `version` in [bank]",
                existing.id
            )
        };
        return Err(AppError::refused(StatusCode::CONFLICT, "conflict", message)
            .with_detail("existing", existing.id));
    }
    let version = BankVersion {
        id: random::hex_id(),
        organization_id: organization.id.clone(),
        certificate_id: certificate.id.clone(),
        certificate_code: certificate.code.clone(),
        level: certificate.level.clone(),
        version: label.to_owned(),
        content_hash,
        item_count: i64::try_from(bank.items().len()).unwrap_or(i64::MAX),
        knowledge_points: i64::try_from(bank.knowledge_points().len()).unwrap_or(i64::MAX),
        items_by_type: items_by_type(&bank),
        source_format: format,
        uploaded_by: actor_user_id.to_owned(),
        created_at: now_seconds(),
    };
    let audit = audit_entry(
        actor_user_id,
        "bank.upload",
        &format!("bank_version:{}", version.id),
        &json!({
            "organization": version.organization_id,
            "certificate": version.certificate_id,
            "version": version.version,
            "content_hash": version.content_hash,
            "source_format": format.as_str(),
            "source_sha256": hex::encode(Sha256::digest(&bytes)),
        }),
    );
    match storage.create_bank_version(&version, &bytes, &audit).await {
        Ok(()) => Ok((version, bank)),
        // Another upload of the same version won the race between the check and the insert.
        Err(StorageError::Duplicate(_)) => Err(AppError::refused(
            StatusCode::CONFLICT,
            "conflict",
            format!("version `{label}` of {code} {level} was uploaded a moment ago"),
        )),
        Err(other) => Err(other.into()),
    }
}

/// Parsed bank versions by id, least recently used evicted first. Versions never change, so
/// an entry never goes stale; the bound only caps memory.
#[derive(Debug)]
pub struct BankCache {
    capacity: usize,
    /// Most recently used at the back.
    entries: Mutex<VecDeque<(String, Arc<Bank>)>>,
}

impl Default for BankCache {
    fn default() -> Self {
        BankCache::new(DEFAULT_CACHE_CAPACITY)
    }
}

impl BankCache {
    /// A cache holding at most `capacity` banks (at least one).
    pub fn new(capacity: usize) -> BankCache {
        BankCache {
            capacity: capacity.max(1),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The cached bank of this version, marked as just used.
    pub fn get(&self, bank_version_id: &str) -> Option<Arc<Bank>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let index = entries.iter().position(|(id, _)| id == bank_version_id)?;
        let entry = entries.remove(index)?;
        let bank = Arc::clone(&entry.1);
        entries.push_back(entry);
        Some(bank)
    }

    /// Caches a parsed bank, evicting the least recently used one when full.
    pub fn insert(&self, bank_version_id: &str, bank: Arc<Bank>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = entries.iter().position(|(id, _)| id == bank_version_id) {
            entries.remove(index);
        }
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((bank_version_id.to_owned(), bank));
    }

    /// How many banks are cached.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The parsed bank of a stored version, from the cache or parsed off the async threads.
/// Does no access check: the caller has checked that the caller may use this version.
/// 404 when no such version exists; a stored version that no longer parses is an internal
/// error (it was valid when stored and versions never change), and so is one whose content
/// hash differs from the one recorded at upload.
pub(crate) async fn load_bank(
    state: &AppState,
    bank_version_id: &str,
) -> Result<Arc<Bank>, AppError> {
    if let Some(bank) = state.banks.get(bank_version_id) {
        return Ok(bank);
    }
    let version = state
        .storage
        .bank_version(bank_version_id)
        .await?
        .ok_or(AppError::NotFound("bank version"))?;
    let (format, bytes) = state
        .storage
        .bank_version_source(bank_version_id)
        .await?
        .ok_or(AppError::NotFound("bank version"))?;
    let parsed = tokio::task::spawn_blocking(move || parse_upload(format, &bytes))
        .await
        .map_err(|error| AppError::Internal(format!("the bank parser task failed: {error}")))?;
    let bank = match parsed {
        Ok(bank) => Arc::new(bank),
        Err(ParseFailure::Upload(error)) => {
            return Err(AppError::Internal(format!(
                "stored bank version {bank_version_id} no longer unpacks: {error}"
            )));
        }
        Err(ParseFailure::Invalid(diagnostics)) => {
            return Err(AppError::Internal(format!(
                "stored bank version {bank_version_id} no longer parses ({} errors, the first: {})",
                diagnostics.len(),
                diagnostics
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            )));
        }
    };
    // Papers are drawn from this bank under the stored hash: a source that no longer gives
    // that hash (a changed parser, a damaged row) must not be used silently.
    let hash = bank.content_hash().to_hex();
    if hash != version.content_hash {
        return Err(AppError::Internal(format!(
            "stored bank version {bank_version_id} now hashes to {hash}, not its recorded {}",
            version.content_hash
        )));
    }
    state.banks.insert(bank_version_id, Arc::clone(&bank));
    Ok(bank)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use tar::{EntryType, Header};

    use super::*;

    const TINY: &str = include_str!("../tests/fixtures/banks/tiny.toml");

    fn sample_dir(version: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../question-banks/web-fe-junior")
            .join(version)
    }

    /// Every file under `dir`, as (relative path, bytes), sorted.
    fn files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .expect("list the sample bank")
                .map(|entry| entry.expect("an entry").path())
                .collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let relative = path.strip_prefix(root).expect("below the root");
                    let name = relative.to_str().expect("UTF-8").replace('\\', "/");
                    out.push((name, std::fs::read(&path).expect("read a sample file")));
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out
    }

    /// The sample bank read the way `xcert bank validate DIR` reads it.
    fn sample_source(version: &str) -> BankSource {
        let mut source = BankSource::new();
        for (name, bytes) in files_below(&sample_dir(version)) {
            if name.starts_with("media/") {
                source.add_media(name, bytes);
            } else if name.ends_with(".toml") {
                source.add_file(name, bytes);
            }
        }
        source
    }

    /// A tar of `files` (path, bytes) through tar's own checked path setter.
    fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, bytes) in files {
            let mut header = Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(EntryType::Regular);
            builder
                .append_data(&mut header, path, bytes.as_slice())
                .expect("append a file");
        }
        builder.into_inner().expect("finish the tar")
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("finish gzip")
    }

    /// Appends an entry whose path is written into the header as is, bypassing the checks
    /// `tar::Builder` makes, the way a hostile archive would be made.
    fn append_raw(
        builder: &mut tar::Builder<Vec<u8>>,
        path: &str,
        kind: EntryType,
        data: &[u8],
        link: Option<&str>,
    ) {
        let mut header = Header::new_gnu();
        let name = &mut header.as_gnu_mut().expect("a GNU header").name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if let Some(link) = link {
            header.set_link_name(link).expect("a link name");
        }
        header.set_cksum();
        builder.append(&header, data).expect("append a raw entry");
    }

    fn raw_tar(path: &str, kind: EntryType, link: Option<&str>) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        append_raw(
            &mut builder,
            "bank/bank.toml",
            EntryType::Regular,
            TINY.as_bytes(),
            None,
        );
        append_raw(&mut builder, path, kind, b"", link);
        builder.into_inner().expect("finish the tar")
    }

    fn hash_of(source: &BankSource) -> String {
        Bank::parse(source)
            .unwrap_or_else(|errors| panic!("{errors:#?}"))
            .content_hash()
            .to_hex()
    }

    #[test]
    fn content_types_name_the_packing_and_parameters_are_ignored() {
        assert_eq!(
            format_of_content_type("application/toml; charset=utf-8"),
            Ok(BankSourceFormat::Toml)
        );
        assert_eq!(
            format_of_content_type("Application/X-Tar"),
            Ok(BankSourceFormat::Tar)
        );
        assert_eq!(
            format_of_content_type("application/gzip"),
            Ok(BankSourceFormat::TarGz)
        );
        assert!(matches!(
            format_of_content_type("application/json"),
            Err(UploadError::UnsupportedContentType(_))
        ));
        assert!(matches!(
            source_from_upload("text/plain", TINY.as_bytes()),
            Err(UploadError::UnsupportedContentType(_))
        ));
    }

    #[test]
    fn a_toml_upload_is_one_bank_file() {
        let source = source_from_upload("application/toml", TINY.as_bytes()).expect("a source");
        assert_eq!(source.files().len(), 1);
        assert_eq!(source.files()[0].0, "bank.toml");
        assert!(source.media().is_empty());
    }

    #[test]
    fn a_tar_gz_of_a_bank_directory_hashes_like_the_directory_itself() {
        let files: Vec<(String, Vec<u8>)> = files_below(&sample_dir("2026.1"))
            .into_iter()
            .map(|(name, bytes)| (format!("2026.1/{name}"), bytes))
            .collect();
        let archive = gzip(&tar_of(&files));
        let source = source_from_upload("application/gzip", &archive).expect("a source");
        assert!(
            source.media().contains_key("media/flex-axes.svg"),
            "{:?}",
            source.media().keys()
        );
        assert!(
            source
                .files()
                .iter()
                .any(|(name, _)| name == "2026.1/items/css-layout.toml")
        );
        assert_eq!(hash_of(&source), hash_of(&sample_source("2026.1")));
    }

    #[test]
    fn a_plain_tar_with_bank_toml_at_its_root_and_dot_slash_paths_is_read() {
        let files: Vec<(String, Vec<u8>)> = files_below(&sample_dir("2025.1"))
            .into_iter()
            .map(|(name, bytes)| (format!("./{name}"), bytes))
            .collect();
        let source = source_from_upload("application/x-tar", &tar_of(&files)).expect("a source");
        assert_eq!(hash_of(&source), hash_of(&sample_source("2025.1")));
    }

    #[test]
    fn a_gzip_body_labelled_as_plain_tar_is_read_as_what_it_is() {
        let archive = gzip(&tar_of(&[(
            "bank.toml".to_owned(),
            TINY.as_bytes().to_vec(),
        )]));
        assert_eq!(
            detect_format(BankSourceFormat::Tar, &archive),
            BankSourceFormat::TarGz
        );
        let source = source_from_upload("application/x-tar", &archive).expect("a source");
        assert_eq!(source.files().len(), 1);
    }

    #[test]
    fn hidden_files_and_folders_are_skipped() {
        let archive = tar_of(&[
            ("bank/bank.toml".to_owned(), TINY.as_bytes().to_vec()),
            ("bank/._bank.toml".to_owned(), b"\x00\x05junk".to_vec()),
            (
                "bank/.git/config.toml".to_owned(),
                b"not = [a bank".to_vec(),
            ),
            ("bank/notes.txt".to_owned(), b"ignored".to_vec()),
        ]);
        let source = source_from_upload("application/x-tar", &archive).expect("a source");
        let names: Vec<&str> = source.files().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bank/bank.toml"]);
    }

    #[test]
    fn a_parent_directory_component_is_refused() {
        let archive = raw_tar("bank/../../etc/cron.toml", EntryType::Regular, None);
        assert_eq!(
            source_from_upload("application/x-tar", &archive).err(),
            Some(UploadError::UnsafePath(
                "bank/../../etc/cron.toml".to_owned()
            ))
        );
    }

    #[test]
    fn an_absolute_path_is_refused() {
        let archive = raw_tar("/etc/bank.toml", EntryType::Regular, None);
        assert!(matches!(
            source_from_upload("application/x-tar", &archive),
            Err(UploadError::UnsafePath(_))
        ));
    }

    #[test]
    fn symbolic_and_hard_links_are_refused() {
        for kind in [EntryType::Symlink, EntryType::Link] {
            let archive = raw_tar("bank/media/logo.svg", kind, Some("/etc/passwd"));
            assert_eq!(
                source_from_upload("application/x-tar", &archive).err(),
                Some(UploadError::Link("bank/media/logo.svg".to_owned())),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn devices_and_fifos_are_refused() {
        for kind in [EntryType::Char, EntryType::Block, EntryType::Fifo] {
            let archive = raw_tar("bank/dev", kind, None);
            assert!(
                matches!(
                    source_from_upload("application/x-tar", &archive),
                    Err(UploadError::SpecialFile(..))
                ),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn more_entries_than_the_limit_are_refused() {
        let mut builder = tar::Builder::new(Vec::new());
        for index in 0..=MAX_ARCHIVE_ENTRIES {
            append_raw(
                &mut builder,
                &format!("bank/items/{index}.toml"),
                EntryType::Regular,
                b"",
                None,
            );
        }
        let archive = gzip(&builder.into_inner().expect("finish the tar"));
        assert_eq!(
            source_from_upload("application/gzip", &archive).err(),
            Some(UploadError::TooManyEntries)
        );
    }

    /// A tar.gz whose one media file inflates to more than the bank limit: a few hundred KiB
    /// compressed. It is refused from the header, before its data is inflated.
    fn gzip_bomb() -> Vec<u8> {
        let size = MAX_UNPACKED_BYTES as u64 + 1;
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        let mut header = Header::new_gnu();
        header.set_size(TINY.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "bank/bank.toml", TINY.as_bytes())
            .expect("append bank.toml");
        let mut header = Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        builder
            .append_data(
                &mut header,
                "bank/media/zeros.svg",
                std::io::repeat(0).take(size),
            )
            .expect("append the zeros");
        builder
            .into_inner()
            .expect("finish the tar")
            .finish()
            .expect("finish gzip")
    }

    #[test]
    fn an_archive_unpacking_past_the_limit_is_refused() {
        let bomb = gzip_bomb();
        assert!(bomb.len() < MAX_UPLOAD_BYTES);
        assert_eq!(
            source_from_upload("application/gzip", &bomb).err(),
            Some(UploadError::TooLarge)
        );
    }

    #[test]
    fn an_archive_without_bank_toml_or_with_two_top_folders_is_refused() {
        let no_bank = tar_of(&[("bank/items/a.toml".to_owned(), b"".to_vec())]);
        assert_eq!(
            source_from_upload("application/x-tar", &no_bank).err(),
            Some(UploadError::NoBankToml)
        );
        let two_tops = tar_of(&[
            ("one/bank.toml".to_owned(), TINY.as_bytes().to_vec()),
            ("two/bank.toml".to_owned(), TINY.as_bytes().to_vec()),
        ]);
        assert_eq!(
            source_from_upload("application/x-tar", &two_tops).err(),
            Some(UploadError::NoBankToml)
        );
        assert_eq!(
            source_from_upload("application/x-tar", b"").err(),
            Some(UploadError::NoBankToml)
        );
    }

    #[test]
    fn the_same_path_twice_is_refused() {
        let archive = tar_of(&[
            ("bank/bank.toml".to_owned(), TINY.as_bytes().to_vec()),
            ("bank/bank.toml".to_owned(), TINY.as_bytes().to_vec()),
        ]);
        assert_eq!(
            source_from_upload("application/x-tar", &archive).err(),
            Some(UploadError::DuplicatePath("bank/bank.toml".to_owned()))
        );
    }

    #[test]
    fn bytes_that_are_not_a_tar_are_unreadable() {
        let garbage = vec![b'x'; 2048];
        assert!(matches!(
            source_from_upload("application/x-tar", &garbage),
            Err(UploadError::Unreadable(_))
        ));
        assert!(matches!(
            source_from_upload("application/gzip", &gzip(&garbage)),
            Err(UploadError::Unreadable(_))
        ));
    }

    #[test]
    fn the_cache_evicts_the_least_recently_used_bank() {
        let bank = Arc::new(
            Bank::parse(&BankSource::single("bank.toml", TINY)).expect("the tiny bank parses"),
        );
        let cache = BankCache::new(2);
        cache.insert("a", Arc::clone(&bank));
        cache.insert("b", Arc::clone(&bank));
        assert!(cache.get("a").is_some());
        cache.insert("c", Arc::clone(&bank));
        assert!(cache.get("b").is_none(), "b was the least recently used");
        assert!(cache.get("a").is_some());
        assert!(cache.get("c").is_some());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn items_are_counted_per_type_with_every_type_present() {
        let bank = Bank::parse(&BankSource::single("bank.toml", TINY)).expect("parses");
        let counts = items_by_type(&bank);
        assert_eq!(counts.len(), ItemType::ALL.len());
        assert_eq!(counts["single"], 1);
        assert_eq!(counts["true_false"], 2);
        assert_eq!(counts.values().sum::<i64>(), 3);
    }
}
