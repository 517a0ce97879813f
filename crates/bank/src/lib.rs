//! `xcert-bank`: question banks in xcert's native TOML format.
//!
//! A bank version is parsed from bytes ([`BankSource`]) into a [`Bank`] whose items are valid by
//! construction: every field is private and [`Bank::parse`] is the only way in. The crate is a
//! functional core: it reads no files, clock or randomness, so the same bytes always give the
//! same bank, the same diagnostics and the same hash; the `xcert` binary and the server do the
//! I/O around it.
//!
//! Design choices, and why:
//!
//! - **Every error in one pass.** A bank error found on exam day is a disaster, and an author
//!   fixing a 300-item bank one error per run gives up. The parser therefore walks the
//!   span-carrying TOML tree (`toml::de::DeTable`) by hand instead of deriving `Deserialize`:
//!   serde stops at the first error, the walk records each problem as a [`Diagnostic`] with
//!   file, line, column and item id, and carries on with the next field and the next item.
//! - **Content addressing.** A published version never changes, so it is named by the SHA-256
//!   of a canonical form (module `canonical`, documented in `docs/BANK-FORMAT.md`) that ignores
//!   formatting, key order, comments and how items are split across files, and covers every
//!   byte of content including images. [`diff`] compares versions by item hash.
//! - **Rich text without an HTML sanitizer.** Text is CommonMark. Validation refuses raw HTML,
//!   foreign link schemes and images outside the bank's `media/` folder, and [`render_html`]
//!   only ever emits what pulldown-cmark generates from Markdown (raw HTML is escaped as text,
//!   URLs are filtered, math goes through pulldown-latex, which escapes its output), so the
//!   HTML is safe by construction rather than cleaned afterwards.

use std::collections::BTreeMap;
use std::fmt;

mod canonical;
mod markdown;
mod model;
mod parse;
mod stats;

pub use markdown::render_html;
pub use model::{
    Answer, BankHeader, ChoiceOption, ContentHash, Criterion, Difficulty, DifficultyBand, Item,
    ItemType, KnowledgePoint, Level, Points, Rubric,
};
pub use parse::{
    MAX_BANK_BYTES, MAX_FILE_BYTES, MAX_MEDIA_BYTES, MEDIA_EXTENSIONS, SUPPORTED_FORMATS,
};
pub use stats::{BankStats, StatsRow};

/// The crate's error type, for the few operations that fail outside bank validation (which
/// reports [`Diagnostic`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// Points must be > 0 and at most [`Points::MAX_HUNDREDTHS`] hundredths.
    #[error("points must be greater than 0 and at most 100000, not {0}")]
    InvalidPoints(String),
    /// Points carry at most two decimals.
    #[error("points must have at most two decimals (like 0.5 or 1.25), not {0}")]
    PointsPrecision(String),
    /// A difficulty is a p-value strictly between 0 and 1.
    #[error("difficulty must be strictly between 0 and 1, not {0}")]
    InvalidDifficulty(String),
    /// Not one of the eight item types.
    #[error("unknown item type `{0}`")]
    UnknownItemType(String),
    /// Not junior, intermediate or senior.
    #[error("unknown level `{0}`")]
    UnknownLevel(String),
    /// A bank failed validation.
    #[error("the bank is invalid ({} errors)", .0.len())]
    Invalid(Vec<Diagnostic>),
}

/// One validation problem, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file's display path, as given in the [`BankSource`].
    pub file: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<u32>,
    /// 1-based column (in characters), when the problem has a place in the file.
    pub column: Option<u32>,
    /// The id of the item concerned, when there is one.
    pub item: Option<String>,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(item) = &self.item {
            write!(f, ": {item}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The bytes of one bank version: its TOML files and its `media/` folder.
#[derive(Debug, Clone, Default)]
pub struct BankSource {
    files: Vec<(String, Vec<u8>)>,
    media: BTreeMap<String, Vec<u8>>,
}

impl BankSource {
    /// An empty source; add files and media to it.
    pub fn new() -> BankSource {
        BankSource::default()
    }

    /// A single-file bank.
    pub fn single(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> BankSource {
        let mut source = BankSource::new();
        source.add_file(path, bytes);
        source
    }

    /// Adds a TOML file under its display path (used in diagnostics). Files are read in the
    /// order of their display paths, whatever the order they are added in.
    pub fn add_file(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.push((path.into(), bytes.into()));
    }

    /// Adds a media file under its name relative to the bank, such as `media/box-model.svg`.
    pub fn add_media(&mut self, name: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.media.insert(name.into(), bytes.into());
    }

    /// The TOML files, as added.
    pub fn files(&self) -> &[(String, Vec<u8>)] {
        &self.files
    }

    /// The media files by name.
    pub fn media(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.media
    }
}

/// A validated bank version.
#[derive(Debug, Clone)]
pub struct Bank {
    header: BankHeader,
    knowledge_points: Vec<KnowledgePoint>,
    items: Vec<Item>,
    media: BTreeMap<String, Vec<u8>>,
    media_hashes: BTreeMap<String, ContentHash>,
    canonical: String,
    hash: ContentHash,
}

impl Bank {
    /// Parses and validates a bank version, collecting every error (see [`Diagnostic`]).
    pub fn parse(source: &BankSource) -> Result<Bank, Vec<Diagnostic>> {
        let parsed = parse::parse(source)?;
        let media = source.media.clone();
        let media_hashes: BTreeMap<String, ContentHash> = parsed.media_hashes;
        let mut bank = Bank {
            header: parsed.header,
            knowledge_points: parsed.knowledge_points,
            items: parsed.items,
            media,
            media_hashes,
            canonical: String::new(),
            hash: ContentHash::PLACEHOLDER,
        };
        bank.canonical = canonical::bank_json(&bank);
        bank.hash = ContentHash::of(bank.canonical.as_bytes());
        Ok(bank)
    }

    /// The `[bank]` table.
    pub fn header(&self) -> &BankHeader {
        &self.header
    }

    /// The items, sorted by id.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items
            .binary_search_by(|item| item.id.as_str().cmp(id))
            .ok()
            .map(|index| &self.items[index])
    }

    /// The declared knowledge points, sorted by id.
    pub fn knowledge_points(&self) -> &[KnowledgePoint] {
        &self.knowledge_points
    }

    /// The knowledge point with this id.
    pub fn knowledge_point(&self, id: &str) -> Option<&KnowledgePoint> {
        self.knowledge_points.iter().find(|kp| kp.id == id)
    }

    /// The media files (`media/...` name to bytes), for the server to serve.
    pub fn media(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.media
    }

    /// The SHA-256 of every media file.
    pub fn media_hashes(&self) -> &BTreeMap<String, ContentHash> {
        &self.media_hashes
    }

    /// The SHA-256 of [`Bank::canonical`]: the version's identity.
    pub fn content_hash(&self) -> ContentHash {
        self.hash
    }

    /// The canonical form the version hash is taken over (documented in BANK-FORMAT.md).
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The bank as one normalized native TOML file: keys in a fixed order, defaults written
    /// out, items sorted by id. Parsing it (with the same media) gives a bank with the same hash.
    pub fn to_toml(&self) -> String {
        canonical::bank_toml(self)
    }
}

/// What changed between two versions, by item id and item hash. Each list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankDiff {
    /// Ids only in the new version.
    pub added: Vec<String>,
    /// Ids only in the old version.
    pub removed: Vec<String>,
    /// Ids in both whose content hash differs.
    pub changed: Vec<String>,
}

impl BankDiff {
    /// Whether the two versions hold the same items with the same content.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares two versions by item id and content hash.
pub fn diff(old: &Bank, new: &Bank) -> BankDiff {
    let mut result = BankDiff::default();
    let (mut i, mut j) = (0, 0);
    let (a, b) = (old.items(), new.items());
    // Both item lists are sorted by id, so one merge pass finds every difference.
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.id == y.id => {
                if x.hash != y.hash {
                    result.changed.push(x.id.clone());
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.id < y.id => {
                result.removed.push(x.id.clone());
                i += 1;
            }
            (Some(_), Some(y)) | (None, Some(y)) => {
                result.added.push(y.id.clone());
                j += 1;
            }
            (Some(x), None) => {
                result.removed.push(x.id.clone());
                i += 1;
            }
            (None, None) => break,
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank(items: &[(&str, &str)]) -> Bank {
        let mut text = String::from(
            "[bank]\ncertificate = \"X\"\nlevel = \"senior\"\nversion = \"1\"\ntitle = \"t\"\n",
        );
        for (id, stem) in items {
            text.push_str(&format!(
                "[[item]]\nid = \"{id}\"\ntype = \"true_false\"\ndifficulty = 0.5\npoints = 1\nstem = \"{stem}\"\nanswer = true\n"
            ));
        }
        Bank::parse(&BankSource::single("b.toml", text)).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn diff_lists_added_removed_and_changed_ids_sorted() {
        let old = bank(&[("A", "a"), ("B", "b"), ("C", "c"), ("E", "e")]);
        let new = bank(&[("B", "b"), ("C", "c2"), ("D", "d"), ("F", "f"), ("E", "e2")]);
        let changes = diff(&old, &new);
        assert_eq!(changes.added, ["D", "F"]);
        assert_eq!(changes.removed, ["A"]);
        assert_eq!(changes.changed, ["C", "E"]);
    }

    #[test]
    fn a_bank_does_not_differ_from_itself() {
        let one = bank(&[("A", "a"), ("B", "b")]);
        assert!(diff(&one, &one).is_empty());
    }

    #[test]
    fn items_are_found_by_id_in_canonical_order() {
        let one = bank(&[("B", "b"), ("A", "a")]);
        assert_eq!(one.items()[0].id(), "A");
        assert_eq!(one.item("B").map(Item::stem), Some("b"));
        assert!(one.item("Z").is_none());
    }

    #[test]
    fn points_display_as_exact_decimals() {
        let shown: Vec<String> = [200, 50, 125, 1000, 5]
            .into_iter()
            .map(|h| Points::from_hundredths(h).to_string())
            .collect();
        assert_eq!(shown, ["2", "0.5", "1.25", "10", "0.05"]);
        assert_eq!(Points::from_f64(0.5).map(Points::hundredths).ok(), Some(50));
        assert!(Points::from_f64(0.001).is_err());
        assert!(Points::from_f64(0.0).is_err());
    }

    #[test]
    fn the_hash_is_sixty_four_lowercase_hex_digits() {
        let hex = bank(&[("A", "a")]).content_hash().to_string();
        assert_eq!(hex.len(), 64);
        assert!(
            hex.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }

    #[test]
    fn the_diagnostic_display_omits_what_is_unknown() {
        let d = Diagnostic {
            file: "dir".into(),
            line: None,
            column: None,
            item: None,
            message: "no bank.toml".into(),
        };
        assert_eq!(d.to_string(), "dir: no bank.toml");
    }

    #[test]
    fn stats_count_items_per_type_and_band() {
        let one = bank(&[("A", "a"), ("B", "b")]);
        let stats = BankStats::of(&one);
        assert_eq!(stats.total.by_type(ItemType::TrueFalse), 2);
        assert_eq!(stats.total.by_band(DifficultyBand::Medium), 2);
        assert_eq!(stats.total.points.to_string(), "2");
        assert_eq!(stats.rows.len(), 1);
        assert_eq!(stats.rows[0].knowledge_point, None);
    }
}
