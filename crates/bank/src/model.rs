//! The validated domain types. Every field is private and every constructor is the parser, so an
//! `Item` or a `Bank` that exists has passed every rule of the format.

use std::collections::BTreeMap;
use std::fmt;

use crate::BankError;

/// A SHA-256 digest of some canonical bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// All zeros: stands in while an item or bank is being built, before its hash is known.
    pub(crate) const PLACEHOLDER: ContentHash = ContentHash([0; 32]);

    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> ContentHash {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes);
        let mut out = [0_u8; 32];
        out.copy_from_slice(&digest);
        ContentHash(out)
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The certificate level of a bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 初级.
    Junior,
    /// 中级.
    Intermediate,
    /// 高级.
    Senior,
}

impl Level {
    /// Every level, in order.
    pub const ALL: [Level; 3] = [Level::Junior, Level::Intermediate, Level::Senior];

    /// The spelling used in bank files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Junior => "junior",
            Level::Intermediate => "intermediate",
            Level::Senior => "senior",
        }
    }

    /// Reads `junior`, `intermediate` or `senior`.
    pub fn parse(text: &str) -> Result<Level, BankError> {
        Level::ALL
            .into_iter()
            .find(|level| level.as_str() == text)
            .ok_or_else(|| BankError::UnknownLevel(text.to_owned()))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The eight item types of CONTRACT section 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemType {
    /// One correct option.
    Single,
    /// One or more correct options.
    Multiple,
    /// A statement that is true or false.
    TrueFalse,
    /// Blanks in the stem, each with a list of accepted answers.
    FillBlank,
    /// A number with a tolerance.
    Numeric,
    /// A short text with a list of accepted answers.
    ShortAnswer,
    /// A written answer graded by hand against a rubric.
    Essay,
    /// A practical (operation) task graded by hand against a rubric.
    Practical,
}

impl ItemType {
    /// Every type, in the contract's order.
    pub const ALL: [ItemType; 8] = [
        ItemType::Single,
        ItemType::Multiple,
        ItemType::TrueFalse,
        ItemType::FillBlank,
        ItemType::Numeric,
        ItemType::ShortAnswer,
        ItemType::Essay,
        ItemType::Practical,
    ];

    /// The contract's snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Single => "single",
            ItemType::Multiple => "multiple",
            ItemType::TrueFalse => "true_false",
            ItemType::FillBlank => "fill_blank",
            ItemType::Numeric => "numeric",
            ItemType::ShortAnswer => "short_answer",
            ItemType::Essay => "essay",
            ItemType::Practical => "practical",
        }
    }

    /// Reads a contract name such as `true_false`.
    pub fn parse(text: &str) -> Result<ItemType, BankError> {
        ItemType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| BankError::UnknownItemType(text.to_owned()))
    }

    /// Whether items of this type carry `options` (single and multiple only).
    pub fn has_options(self) -> bool {
        matches!(self, ItemType::Single | ItemType::Multiple)
    }

    /// Whether items of this type are graded by hand against a rubric.
    pub fn has_rubric(self) -> bool {
        matches!(self, ItemType::Essay | ItemType::Practical)
    }

    /// Whether a machine can grade this type from its key.
    pub fn is_auto_gradable(self) -> bool {
        !self.has_rubric()
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A score, exact to the hundredth (real papers use 0.5-point items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Points(u32);

impl Points {
    /// The largest score one item may carry: far above any real item, small enough that a
    /// paper's sum never overflows.
    pub const MAX_HUNDREDTHS: u32 = 10_000_000;

    /// Points from hundredths: `Points::from_hundredths(50)` is half a point.
    pub fn from_hundredths(hundredths: u32) -> Points {
        Points(hundredths)
    }

    /// The exact value in hundredths.
    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// The value as a float, for statistics.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// Reads a positive number with at most two decimals, such as `2`, `0.5` or `1.25`.
    pub fn from_f64(value: f64) -> Result<Points, BankError> {
        let scaled = value * 100.0;
        let rounded = scaled.round();
        if !value.is_finite() || value <= 0.0 {
            return Err(BankError::InvalidPoints(value.to_string()));
        }
        if (scaled - rounded).abs() > 1e-6 {
            return Err(BankError::PointsPrecision(value.to_string()));
        }
        if rounded > f64::from(Points::MAX_HUNDREDTHS) {
            return Err(BankError::InvalidPoints(value.to_string()));
        }
        // The range check above makes the cast exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Points(rounded as u32))
    }

    /// The sum of two scores; `None` on overflow.
    pub fn checked_add(self, other: Points) -> Option<Points> {
        self.0.checked_add(other.0).map(Points)
    }
}

impl std::iter::Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        Points(iter.map(|p| p.0).fold(0_u32, u32::saturating_add))
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let frac = self.0 % 100;
        if frac == 0 {
            write!(f, "{whole}")
        } else if frac % 10 == 0 {
            write!(f, "{whole}.{}", frac / 10)
        } else {
            write!(f, "{whole}.{frac:02}")
        }
    }
}

/// A classical difficulty (p-value): the expected share of candidates answering right, in (0, 1).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Difficulty(f64);

impl Difficulty {
    /// Accepts a value strictly between 0 and 1.
    pub fn new(value: f64) -> Result<Difficulty, BankError> {
        if value > 0.0 && value < 1.0 {
            Ok(Difficulty(value))
        } else {
            Err(BankError::InvalidDifficulty(value.to_string()))
        }
    }

    /// The p-value.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The band `bank stats` reports: easy p >= 0.7, medium 0.4 <= p < 0.7, hard p < 0.4.
    pub fn band(self) -> DifficultyBand {
        if self.0 >= 0.7 {
            DifficultyBand::Easy
        } else if self.0 >= 0.4 {
            DifficultyBand::Medium
        } else {
            DifficultyBand::Hard
        }
    }
}

/// A coarse difficulty band for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DifficultyBand {
    /// p >= 0.7.
    Easy,
    /// 0.4 <= p < 0.7.
    Medium,
    /// p < 0.4.
    Hard,
}

impl DifficultyBand {
    /// Every band, easy first.
    pub const ALL: [DifficultyBand; 3] = [
        DifficultyBand::Easy,
        DifficultyBand::Medium,
        DifficultyBand::Hard,
    ];

    /// `easy`, `medium` or `hard`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifficultyBand::Easy => "easy",
            DifficultyBand::Medium => "medium",
            DifficultyBand::Hard => "hard",
        }
    }
}

/// The bank's `[bank]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankHeader {
    pub(crate) format: u32,
    pub(crate) certificate: String,
    pub(crate) level: Level,
    pub(crate) version: String,
    pub(crate) title: String,
}

impl BankHeader {
    /// The format version of the file (1 is the only one this build reads).
    pub fn format(&self) -> u32 {
        self.format
    }
    /// The certificate code, `[A-Z0-9-]+`.
    pub fn certificate(&self) -> &str {
        &self.certificate
    }
    /// The certificate level.
    pub fn level(&self) -> Level {
        self.level
    }
    /// The bank version, unique per certificate and level.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The human title.
    pub fn title(&self) -> &str {
        &self.title
    }
}

/// One `[[knowledge_point]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgePoint {
    pub(crate) id: String,
    pub(crate) title: String,
}

impl KnowledgePoint {
    /// The id items refer to.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The human title.
    pub fn title(&self) -> &str {
        &self.title
    }
}

/// One option of a single or multiple item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceOption {
    pub(crate) id: String,
    pub(crate) text: String,
}

impl ChoiceOption {
    /// The option id (`A`, `B`, ...), unique in its item.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The option text (CommonMark).
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// The key of an auto-gradable item, one variant per type.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The id of the correct option.
    Single(String),
    /// The ids of the correct options, sorted.
    Multiple(Vec<String>),
    /// Whether the statement is true.
    TrueFalse(bool),
    /// One list of accepted answers per blank, in stem order.
    FillBlank(Vec<Vec<String>>),
    /// The value and the accepted absolute deviation.
    Numeric {
        /// The correct value.
        value: f64,
        /// The accepted absolute deviation, >= 0.
        tolerance: f64,
    },
    /// The accepted answers.
    ShortAnswer(Vec<String>),
}

/// One marking criterion of an essay or practical item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    pub(crate) text: String,
    pub(crate) points: Points,
}

impl Criterion {
    /// What the grader checks (CommonMark).
    pub fn text(&self) -> &str {
        &self.text
    }
    /// The points this criterion carries.
    pub fn points(&self) -> Points {
        self.points
    }
}

/// The rubric of an essay or practical item; its criteria sum to the item's points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rubric {
    pub(crate) criteria: Vec<Criterion>,
}

impl Rubric {
    /// The criteria, in the author's order.
    pub fn criteria(&self) -> &[Criterion] {
        &self.criteria
    }
}

/// One validated question.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub(crate) id: String,
    pub(crate) item_type: ItemType,
    pub(crate) knowledge_point: Option<String>,
    pub(crate) difficulty: Difficulty,
    pub(crate) points: Points,
    pub(crate) stem: String,
    pub(crate) options: Vec<ChoiceOption>,
    pub(crate) answer: Option<Answer>,
    pub(crate) rubric: Option<Rubric>,
    pub(crate) enemies: Vec<String>,
    pub(crate) shuffle_options: bool,
    pub(crate) blanks: usize,
    /// Media files the item's text shows, with the SHA-256 of their bytes.
    pub(crate) media: BTreeMap<String, ContentHash>,
    pub(crate) hash: ContentHash,
}

impl Item {
    /// The id, unique in the bank.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The item type.
    pub fn item_type(&self) -> ItemType {
        self.item_type
    }
    /// The knowledge point id, when the bank declares knowledge points.
    pub fn knowledge_point(&self) -> Option<&str> {
        self.knowledge_point.as_deref()
    }
    /// The p-value, in (0, 1).
    pub fn difficulty(&self) -> f64 {
        self.difficulty.get()
    }
    /// The p-value as its newtype.
    pub fn difficulty_value(&self) -> Difficulty {
        self.difficulty
    }
    /// The points, > 0.
    pub fn points(&self) -> Points {
        self.points
    }
    /// The stem (CommonMark).
    pub fn stem(&self) -> &str {
        &self.stem
    }
    /// The options, in the author's order; empty for types without options.
    pub fn options(&self) -> &[ChoiceOption] {
        &self.options
    }
    /// The key; `None` for essay and practical items.
    pub fn answer(&self) -> Option<&Answer> {
        self.answer.as_ref()
    }
    /// The rubric; `Some` exactly for essay and practical items.
    pub fn rubric(&self) -> Option<&Rubric> {
        self.rubric.as_ref()
    }
    /// Items never to share a paper with this one, sorted.
    pub fn enemies(&self) -> &[String] {
        &self.enemies
    }
    /// Whether the options may be shown in a shuffled order.
    pub fn shuffle_options(&self) -> bool {
        self.shuffle_options
    }
    /// The number of blanks (`___`) in a fill-blank stem; 0 for other types.
    pub fn blanks(&self) -> usize {
        self.blanks
    }
    /// Media files shown by this item's text (`media/...` names), with their hashes.
    pub fn media(&self) -> &BTreeMap<String, ContentHash> {
        &self.media
    }
    /// The SHA-256 of the item's canonical form (see `canonical`).
    pub fn content_hash(&self) -> ContentHash {
        self.hash
    }
    /// The item's canonical form: the bytes its hash is taken over.
    pub fn canonical(&self) -> String {
        crate::canonical::item_json(self)
    }
}
