//! The blueprint format (TOML, `format = 1`; see docs/BLUEPRINT-FORMAT.md): parsing,
//! validation with line numbers, and the canonical form that `blueprint_hash` covers.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::pool::ItemType;

/// One problem in a blueprint, with its position when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlueprintDiagnostic {
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// What the problem is about, e.g. "section `single`, rule 2".
    pub context: String,
    /// A sentence saying what is wrong.
    pub message: String,
}

impl fmt::Display for BlueprintDiagnostic {
    /// `line:col: context: message`; the caller prefixes the file name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{line}:{column}: ")?,
            (Some(line), None) => write!(f, "{line}: ")?,
            _ => {}
        }
        if !self.context.is_empty() {
            write!(f, "{}: ", self.context)?;
        }
        f.write_str(&self.message)
    }
}

/// What a paper's fairness is measured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FairnessMeasure {
    /// Sum over items of points x p-value: the score an average candidate expects.
    ExpectedScore,
    /// Mean p-value over the paper's items.
    MeanDifficulty,
}

impl FairnessMeasure {
    /// The blueprint's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            FairnessMeasure::ExpectedScore => "expected_score",
            FairnessMeasure::MeanDifficulty => "mean_difficulty",
        }
    }
}

/// How multiple-choice items are scored in a section (used by delivery and grading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipleScoring {
    /// Full points only for exactly the keyed set (the default).
    AllOrNothing,
    /// Partial credit, as the grading rules define it.
    Partial,
}

impl MultipleScoring {
    /// The blueprint's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            MultipleScoring::AllOrNothing => "all_or_nothing",
            MultipleScoring::Partial => "partial",
        }
    }
}

/// The fairness target of a paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fairness {
    /// What is measured.
    pub measure: FairnessMeasure,
    /// The target value; `None` means "the mean of unconstrained in-cell draws".
    pub target: Option<f64>,
    /// Relative tolerance: a paper is fair when |value - target| <= tolerance x target.
    pub tolerance: f64,
}

/// A difficulty filter: `min <= p < max`.
#[derive(Debug, Clone, PartialEq)]
pub struct DifficultyRange {
    /// The band's name, or `None` for an explicit range.
    pub band: Option<String>,
    /// Inclusive lower limit.
    pub min: f64,
    /// Exclusive upper limit.
    pub max: f64,
}

impl DifficultyRange {
    /// Whether a p-value falls in the range.
    pub fn contains(&self, p: f64) -> bool {
        p >= self.min && p < self.max
    }
}

/// One draw rule: `count` items matching every filter given.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Knowledge point id or glob (`*` any run of characters, `?` one character).
    pub knowledge_point: Option<String>,
    /// Item type.
    pub item_type: Option<ItemType>,
    /// Difficulty band or range.
    pub difficulty: Option<DifficultyRange>,
    /// Only items worth exactly this many points (hundredths).
    pub item_points: Option<u32>,
    /// How many items per paper.
    pub count: u32,
    /// Line of the rule's table in the blueprint file.
    pub line: u32,
}

impl Rule {
    /// A short human description, e.g. "3 x single, kp html.*, easy".
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} x {}",
            self.count,
            self.item_type.map_or("any type", ItemType::as_str)
        );
        if let Some(kp) = &self.knowledge_point {
            let _ = write!(text, ", knowledge point {kp}");
        }
        if let Some(range) = &self.difficulty {
            match &range.band {
                Some(band) => {
                    let _ = write!(text, ", {band} ({} <= p < {})", range.min, range.max);
                }
                None => {
                    let _ = write!(text, ", {} <= p < {}", range.min, range.max);
                }
            }
        }
        if let Some(points) = self.item_points {
            let _ = write!(text, ", items worth {}", format_points(points));
        }
        text
    }
}

/// A section of the paper.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Short id, printed as `section` in paper JSON.
    pub id: String,
    /// Title shown to candidates.
    pub title: String,
    /// Whether the section's items are put in random order.
    pub shuffle_items: bool,
    /// Whether options are shuffled (items with `shuffle_options = false` never are).
    pub shuffle_options: bool,
    /// Points per item overriding the items' own (hundredths).
    pub points: Option<u32>,
    /// Multiple-choice scoring.
    pub multiple_scoring: MultipleScoring,
    /// Draw rules, in order.
    pub rules: Vec<Rule>,
    /// Line of the section's table.
    pub line: u32,
}

/// A validated blueprint.
#[derive(Debug, Clone, PartialEq)]
pub struct Blueprint {
    title: String,
    duration_minutes: u32,
    total_points: u32,
    pass_score: u32,
    bands: Vec<DifficultyRange>,
    fairness: Fairness,
    max_exposure: f64,
    sections: Vec<Section>,
    canonical: String,
    hash: [u8; 32],
}

/// The default difficulty bands, as `bank stats` prints them.
pub const DEFAULT_BANDS: [(&str, f64, f64); 3] =
    [("easy", 0.7, 1.0), ("medium", 0.4, 0.7), ("hard", 0.0, 0.4)];
/// The default fairness tolerance (relative).
pub const DEFAULT_TOLERANCE: f64 = 0.01;
/// The default maximum exposure rate.
pub const DEFAULT_MAX_EXPOSURE: f64 = 0.25;
/// The blueprint format this build reads.
pub const FORMAT: i64 = 1;

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(untagged)]
enum Number {
    Integer(i64),
    Float(f64),
}

impl Number {
    fn get(self) -> f64 {
        match self {
            Number::Integer(value) => value as f64,
            Number::Float(value) => value,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlueprint {
    format: Spanned<i64>,
    title: Spanned<String>,
    duration_minutes: Spanned<i64>,
    total_points: Spanned<Number>,
    pass_score: Spanned<Number>,
    difficulty_bands: Option<Spanned<BTreeMap<String, Spanned<RawBand>>>>,
    fairness: Option<Spanned<RawFairness>>,
    exposure: Option<Spanned<RawExposure>>,
    #[serde(default)]
    section: Vec<Spanned<RawSection>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    min: Number,
    max: Number,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFairness {
    measure: Option<Spanned<String>>,
    target: Option<Spanned<Number>>,
    tolerance: Option<Spanned<Number>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExposure {
    max_rate: Spanned<Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: Spanned<String>,
    title: Spanned<String>,
    shuffle_items: Option<bool>,
    shuffle_options: Option<bool>,
    points: Option<Spanned<Number>>,
    multiple_scoring: Option<Spanned<String>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawDifficulty {
    Band(String),
    Range(Vec<Number>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    knowledge_point: Option<Spanned<String>>,
    #[serde(rename = "type")]
    item_type: Option<Spanned<String>>,
    difficulty: Option<Spanned<RawDifficulty>>,
    item_points: Option<Spanned<Number>>,
    count: Spanned<i64>,
}

struct Collector<'a> {
    text: &'a str,
    diagnostics: Vec<BlueprintDiagnostic>,
}

impl Collector<'_> {
    fn position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |tail| tail.chars().count())
            + 1;
        (line as u32, column as u32)
    }

    fn line(&self, offset: usize) -> u32 {
        self.position(offset).0
    }

    fn error(&mut self, offset: usize, context: &str, message: String) {
        let (line, column) = self.position(offset);
        self.diagnostics.push(BlueprintDiagnostic {
            line: Some(line),
            column: Some(column),
            context: context.to_owned(),
            message,
        });
    }
}

/// Converts a points value to exact hundredths, or says why not.
fn to_hundredths(value: f64) -> Result<u32, String> {
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("points must be > 0 (got {value})"));
    }
    let scaled = (value * 100.0).round();
    if (scaled - value * 100.0).abs() > 1e-6 || scaled > f64::from(u32::MAX / 2) {
        return Err(format!("points take at most two decimals (got {value})"));
    }
    Ok(scaled as u32)
}

/// Formats hundredths as the shortest decimal: 200 -> "2", 250 -> "2.5", 5 -> "0.05".
pub fn format_points(hundredths: u32) -> String {
    let whole = hundredths / 100;
    let frac = hundredths % 100;
    if frac == 0 {
        format!("{whole}")
    } else if frac % 10 == 0 {
        format!("{whole}.{}", frac / 10)
    } else {
        format!("{whole}.{frac:02}")
    }
}

/// Whether `name` matches a glob of `*` (any run) and `?` (any one character).
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((star_p, star_n)) = star {
            p = star_p + 1;
            n = star_n + 1;
            star = Some((star_p, star_n + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ch if (ch as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", ch as u32);
            }
            ch => out.push(ch),
        }
    }
    out.push('"');
    out
}

impl Blueprint {
    /// Parses and validates a blueprint, collecting every problem found.
    pub fn parse(text: &str) -> Result<Blueprint, Vec<BlueprintDiagnostic>> {
        let mut collector = Collector {
            text,
            diagnostics: Vec::new(),
        };
        let raw: RawBlueprint = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(error) => {
                let (line, column) = match error.span() {
                    Some(span) => {
                        let (line, column) = collector.position(span.start);
                        (Some(line), Some(column))
                    }
                    None => (None, None),
                };
                return Err(vec![BlueprintDiagnostic {
                    line,
                    column,
                    context: String::new(),
                    message: error.message().trim().to_owned(),
                }]);
            }
        };
        let blueprint = validate(&mut collector, &raw);
        if collector.diagnostics.is_empty() {
            Ok(blueprint)
        } else {
            Err(collector.diagnostics)
        }
    }

    /// The paper's title.
    pub fn title(&self) -> &str {
        &self.title
    }
    /// Paper duration in minutes.
    pub const fn duration_minutes(&self) -> u32 {
        self.duration_minutes
    }
    /// Total points, hundredths.
    pub const fn total_points(&self) -> u32 {
        self.total_points
    }
    /// Pass score, hundredths.
    pub const fn pass_score(&self) -> u32 {
        self.pass_score
    }
    /// Named difficulty bands.
    pub fn bands(&self) -> &[DifficultyRange] {
        &self.bands
    }
    /// The fairness target.
    pub const fn fairness(&self) -> Fairness {
        self.fairness
    }
    /// Maximum exposure rate of an item across a sitting.
    pub const fn max_exposure(&self) -> f64 {
        self.max_exposure
    }
    /// Sections, in paper order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }
    /// The canonical text that the hash covers.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
    /// SHA-256 of [`Blueprint::canonical`], lowercase hex.
    pub fn hash_hex(&self) -> String {
        self.hash
            .iter()
            .fold(String::with_capacity(64), |mut out, byte| {
                let _ = write!(out, "{byte:02x}");
                out
            })
    }
    /// Items per paper.
    pub fn items_per_paper(&self) -> u32 {
        self.sections
            .iter()
            .flat_map(|section| &section.rules)
            .map(|rule| rule.count)
            .sum()
    }
}

#[allow(clippy::too_many_lines)]
fn validate(c: &mut Collector<'_>, raw: &RawBlueprint) -> Blueprint {
    if *raw.format.get_ref() != FORMAT {
        c.error(
            raw.format.span().start,
            "format",
            format!(
                "blueprint format {} is not supported; this build reads format {FORMAT}",
                raw.format.get_ref()
            ),
        );
    }
    let title = raw.title.get_ref().trim().to_owned();
    if title.is_empty() {
        c.error(
            raw.title.span().start,
            "title",
            "the title is empty".to_owned(),
        );
    }
    let duration = *raw.duration_minutes.get_ref();
    if !(1..=24 * 60).contains(&duration) {
        c.error(
            raw.duration_minutes.span().start,
            "duration_minutes",
            format!("a duration of {duration} minutes is outside 1..=1440"),
        );
    }
    let total_points = to_hundredths(raw.total_points.get_ref().get()).unwrap_or_else(|message| {
        c.error(raw.total_points.span().start, "total_points", message);
        0
    });
    let pass_score = to_hundredths(raw.pass_score.get_ref().get()).unwrap_or_else(|message| {
        c.error(raw.pass_score.span().start, "pass_score", message);
        0
    });
    if total_points > 0 && pass_score > total_points {
        c.error(
            raw.pass_score.span().start,
            "pass_score",
            format!(
                "the pass score {} is above the total points {}",
                format_points(pass_score),
                format_points(total_points)
            ),
        );
    }

    let mut bands: Vec<DifficultyRange> = Vec::new();
    match &raw.difficulty_bands {
        None => {
            for (name, min, max) in DEFAULT_BANDS {
                bands.push(DifficultyRange {
                    band: Some(name.to_owned()),
                    min,
                    max,
                });
            }
        }
        Some(table) => {
            for (name, band) in table.get_ref() {
                let (min, max) = (band.get_ref().min.get(), band.get_ref().max.get());
                if !(0.0..=1.0).contains(&min) || !(0.0..=1.0).contains(&max) || min >= max {
                    c.error(
                        band.span().start,
                        &format!("difficulty band `{name}`"),
                        format!(
                            "limits must satisfy 0 <= min < max <= 1 (got min {min}, max {max})"
                        ),
                    );
                }
                bands.push(DifficultyRange {
                    band: Some(name.clone()),
                    min,
                    max,
                });
            }
            if bands.is_empty() {
                c.error(
                    table.span().start,
                    "difficulty_bands",
                    "no bands are defined".to_owned(),
                );
            }
        }
    }

    let mut fairness = Fairness {
        measure: FairnessMeasure::ExpectedScore,
        target: None,
        tolerance: DEFAULT_TOLERANCE,
    };
    if let Some(raw_fairness) = &raw.fairness {
        let raw_fairness = raw_fairness.get_ref();
        if let Some(measure) = &raw_fairness.measure {
            match measure.get_ref().as_str() {
                "expected_score" => fairness.measure = FairnessMeasure::ExpectedScore,
                "mean_difficulty" => fairness.measure = FairnessMeasure::MeanDifficulty,
                other => c.error(
                    measure.span().start,
                    "fairness.measure",
                    format!(
                        "unknown measure `{other}`; expected `expected_score` or `mean_difficulty`"
                    ),
                ),
            }
        }
        if let Some(tolerance) = &raw_fairness.tolerance {
            let value = tolerance.get_ref().get();
            if !(value > 0.0 && value < 1.0) {
                c.error(
                    tolerance.span().start,
                    "fairness.tolerance",
                    format!(
                        "the tolerance is relative (0.01 = ±1%) and must be in (0, 1); got {value}"
                    ),
                );
            }
            fairness.tolerance = value;
        }
        if let Some(target) = &raw_fairness.target {
            let value = target.get_ref().get();
            let limit = match fairness.measure {
                FairnessMeasure::ExpectedScore => f64::from(total_points) / 100.0,
                FairnessMeasure::MeanDifficulty => 1.0,
            };
            if !(value > 0.0 && value < limit) {
                c.error(
                    target.span().start,
                    "fairness.target",
                    format!(
                        "a {} target must be in (0, {limit}); got {value}",
                        fairness.measure.as_str()
                    ),
                );
            }
            fairness.target = Some(value);
        }
    }

    let mut max_exposure = DEFAULT_MAX_EXPOSURE;
    if let Some(exposure) = &raw.exposure {
        let rate = &exposure.get_ref().max_rate;
        let value = rate.get_ref().get();
        if !(value > 0.0 && value <= 1.0) {
            c.error(
                rate.span().start,
                "exposure.max_rate",
                format!("the maximum exposure rate must be in (0, 1]; got {value}"),
            );
        }
        max_exposure = value;
    }

    if raw.section.is_empty() {
        c.diagnostics.push(BlueprintDiagnostic {
            line: None,
            column: None,
            context: "section".to_owned(),
            message: "the blueprint has no [[section]]".to_owned(),
        });
    }
    let mut sections = Vec::new();
    let mut known_total: Option<u32> = Some(0);
    for raw_section in &raw.section {
        let section_line = c.line(raw_section.span().start);
        let raw_section = raw_section.get_ref();
        let id = raw_section.id.get_ref().trim().to_owned();
        let context = format!("section `{id}`");
        if id.is_empty() {
            c.error(
                raw_section.id.span().start,
                "section",
                "the section id is empty".to_owned(),
            );
        } else if sections.iter().any(|section: &Section| section.id == id) {
            c.error(
                raw_section.id.span().start,
                &context,
                "a section with this id already exists".to_owned(),
            );
        }
        let points = raw_section.points.as_ref().and_then(|points| {
            to_hundredths(points.get_ref().get())
                .map_err(|message| c.error(points.span().start, &context, message))
                .ok()
        });
        let multiple_scoring = match &raw_section.multiple_scoring {
            None => MultipleScoring::AllOrNothing,
            Some(value) => match value.get_ref().as_str() {
                "all_or_nothing" => MultipleScoring::AllOrNothing,
                "partial" => MultipleScoring::Partial,
                other => {
                    c.error(
                        value.span().start,
                        &context,
                        format!(
                            "unknown multiple_scoring `{other}`; expected `all_or_nothing` or `partial`"
                        ),
                    );
                    MultipleScoring::AllOrNothing
                }
            },
        };
        if raw_section.rule.is_empty() {
            c.error(
                raw_section.id.span().start,
                &context,
                "the section has no [[section.rule]]".to_owned(),
            );
        }
        let mut rules = Vec::new();
        for (rule_index, raw_rule) in raw_section.rule.iter().enumerate() {
            let rule_line = c.line(raw_rule.span().start);
            let rule_context = format!("section `{id}`, rule {}", rule_index + 1);
            let raw_rule = raw_rule.get_ref();
            let count = *raw_rule.count.get_ref();
            if !(1..=10_000).contains(&count) {
                c.error(
                    raw_rule.count.span().start,
                    &rule_context,
                    format!("count must be in 1..=10000; got {count}"),
                );
            }
            let item_type = raw_rule.item_type.as_ref().and_then(|name| {
                let parsed = ItemType::parse(name.get_ref()).ok();
                if parsed.is_none() {
                    c.error(
                        name.span().start,
                        &rule_context,
                        format!(
                            "unknown item type `{}`; expected one of {}",
                            name.get_ref(),
                            ItemType::ALL.map(ItemType::as_str).join(", ")
                        ),
                    );
                }
                parsed
            });
            let knowledge_point = raw_rule.knowledge_point.as_ref().and_then(|kp| {
                let pattern = kp.get_ref().trim();
                if pattern.is_empty() {
                    c.error(
                        kp.span().start,
                        &rule_context,
                        "the knowledge point is empty".to_owned(),
                    );
                    None
                } else {
                    Some(pattern.to_owned())
                }
            });
            let difficulty = raw_rule.difficulty.as_ref().and_then(|difficulty| {
                match difficulty.get_ref() {
                    RawDifficulty::Band(name) => {
                        let found = bands.iter().find(|band| band.band.as_deref() == Some(name.as_str()));
                        if found.is_none() {
                            c.error(
                                difficulty.span().start,
                                &rule_context,
                                format!(
                                    "unknown difficulty band `{name}`; the bands are {}",
                                    bands
                                        .iter()
                                        .filter_map(|band| band.band.as_deref())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            );
                        }
                        found.cloned()
                    }
                    RawDifficulty::Range(limits) => {
                        let ok = limits.len() == 2 && {
                            let (min, max) = (limits[0].get(), limits[1].get());
                            (0.0..=1.0).contains(&min) && (0.0..=1.0).contains(&max) && min < max
                        };
                        if ok {
                            Some(DifficultyRange {
                                band: None,
                                min: limits[0].get(),
                                max: limits[1].get(),
                            })
                        } else {
                            c.error(
                                difficulty.span().start,
                                &rule_context,
                                "an explicit difficulty range is [min, max] with 0 <= min < max <= 1".to_owned(),
                            );
                            None
                        }
                    }
                }
            });
            let item_points = raw_rule.item_points.as_ref().and_then(|points| {
                to_hundredths(points.get_ref().get())
                    .map_err(|message| c.error(points.span().start, &rule_context, message))
                    .ok()
            });
            match (points.or(item_points), known_total.as_mut()) {
                (Some(slot_points), Some(total)) => {
                    *total += slot_points * u32::try_from(count.max(0)).unwrap_or(0);
                }
                _ => known_total = None,
            }
            rules.push(Rule {
                knowledge_point,
                item_type,
                difficulty,
                item_points,
                count: u32::try_from(count).unwrap_or(0),
                line: rule_line,
            });
        }
        sections.push(Section {
            id,
            title: raw_section.title.get_ref().trim().to_owned(),
            shuffle_items: raw_section.shuffle_items.unwrap_or(true),
            shuffle_options: raw_section.shuffle_options.unwrap_or(true),
            points,
            multiple_scoring,
            rules,
            line: section_line,
        });
    }
    if let Some(sum) = known_total {
        if total_points > 0 && !raw.section.is_empty() && sum != total_points {
            c.error(
                raw.total_points.span().start,
                "total_points",
                format!(
                    "the sections add up to {} points, not {}",
                    format_points(sum),
                    format_points(total_points)
                ),
            );
        }
    }

    let mut blueprint = Blueprint {
        title,
        duration_minutes: u32::try_from(duration).unwrap_or(0),
        total_points,
        pass_score,
        bands,
        fairness,
        max_exposure,
        sections,
        canonical: String::new(),
        hash: [0; 32],
    };
    blueprint.canonical = canonical(&blueprint);
    blueprint.hash = Sha256::digest(blueprint.canonical.as_bytes()).into();
    blueprint
}

/// The canonical text: one fact per line, defaults explicit, numbers in one format (points
/// as hundredths, reals as Rust's shortest round-trip decimal), strings JSON-quoted.
fn canonical(blueprint: &Blueprint) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "xcert-blueprint {FORMAT}");
    let _ = writeln!(out, "title {}", json_string(&blueprint.title));
    let _ = writeln!(out, "duration_minutes {}", blueprint.duration_minutes);
    let _ = writeln!(out, "total_points {}", blueprint.total_points);
    let _ = writeln!(out, "pass_score {}", blueprint.pass_score);
    let mut bands: Vec<&DifficultyRange> = blueprint.bands.iter().collect();
    bands.sort_by(|a, b| a.band.cmp(&b.band));
    for band in bands {
        let _ = writeln!(
            out,
            "band {} {} {}",
            json_string(band.band.as_deref().unwrap_or("")),
            band.min,
            band.max
        );
    }
    let fairness = blueprint.fairness;
    let _ = writeln!(
        out,
        "fairness {} {} {}",
        fairness.measure.as_str(),
        fairness
            .target
            .map_or_else(|| "auto".to_owned(), |target| target.to_string()),
        fairness.tolerance
    );
    let _ = writeln!(out, "exposure {}", blueprint.max_exposure);
    for section in &blueprint.sections {
        let _ = writeln!(
            out,
            "section {} {} {} {} {} {}",
            json_string(&section.id),
            json_string(&section.title),
            section.shuffle_items,
            section.shuffle_options,
            section
                .points
                .map_or_else(|| "item".to_owned(), |points| points.to_string()),
            section.multiple_scoring.as_str()
        );
        for rule in &section.rules {
            let difficulty = rule.difficulty.as_ref().map_or_else(
                || "*".to_owned(),
                |range| format!("{} {}", range.min, range.max),
            );
            let _ = writeln!(
                out,
                "rule {} {} {} {} {}",
                rule.knowledge_point
                    .as_deref()
                    .map_or_else(|| "*".to_owned(), json_string),
                rule.item_type.map_or("*", ItemType::as_str),
                difficulty,
                rule.item_points
                    .map_or_else(|| "*".to_owned(), |points| points.to_string()),
                rule.count
            );
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = r#"
format = 1
title = "Sample"
duration_minutes = 90
total_points = 100
pass_score = 60

[fairness]
measure = "expected_score"
tolerance = 0.01

[[section]]
id = "single"
title = "Single choice"
points = 2

[[section.rule]]
knowledge_point = "html.*"
type = "single"
difficulty = "easy"
count = 20

[[section.rule]]
type = "single"
difficulty = [0.2, 0.7]
count = 20

[[section]]
id = "practical"
title = "Practical"
shuffle_items = false

[[section.rule]]
type = "practical"
item_points = 20
count = 1
"#;

    fn errors(text: &str) -> Vec<BlueprintDiagnostic> {
        Blueprint::parse(text).expect_err("should be invalid")
    }

    #[test]
    fn the_sample_blueprint_is_valid() {
        let blueprint = Blueprint::parse(SAMPLE).expect("valid");
        assert_eq!(blueprint.sections().len(), 2);
        assert_eq!(blueprint.items_per_paper(), 41);
        assert_eq!(blueprint.total_points(), 10_000);
        assert_eq!(blueprint.sections()[0].rules[1].line, 23);
        assert!(blueprint.sections()[0].shuffle_items);
        assert!(!blueprint.sections()[1].shuffle_items);
    }

    #[test]
    fn the_hash_ignores_comments_and_formatting() {
        let reformatted = SAMPLE
            .replace("count = 20", "count   =   20 # twenty")
            .replace("title = \"Sample\"", "# a comment\ntitle = 'Sample'");
        let a = Blueprint::parse(SAMPLE).expect("valid");
        let b = Blueprint::parse(&reformatted).expect("valid");
        assert_eq!(a.hash_hex(), b.hash_hex());
    }

    #[test]
    fn the_hash_changes_with_any_count() {
        let changed = SAMPLE
            .replacen("count = 20", "count = 19", 1)
            .replace("total_points = 100", "total_points = 98");
        let a = Blueprint::parse(SAMPLE).expect("valid");
        let b = Blueprint::parse(&changed).expect("valid");
        assert_ne!(a.hash_hex(), b.hash_hex());
    }

    #[test]
    fn a_wrong_total_is_reported_on_the_total_points_line() {
        let found = errors(&SAMPLE.replace("total_points = 100", "total_points = 90"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, Some(5));
        assert!(
            found[0].message.contains("add up to 100 points, not 90"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn an_unknown_type_names_the_section_and_rule() {
        let found = errors(&SAMPLE.replace("type = \"practical\"", "type = \"pratical\""));
        assert_eq!(found[0].context, "section `practical`, rule 1");
        assert!(found[0].message.contains("unknown item type `pratical`"));
        assert_eq!(found[0].line, Some(34));
    }

    #[test]
    fn an_unknown_band_lists_the_bands() {
        let found = errors(&SAMPLE.replace("\"easy\"", "\"simple\""));
        assert!(
            found[0].message.contains("easy, hard, medium")
                || found[0].message.contains("easy, medium, hard")
        );
    }

    #[test]
    fn an_unknown_key_is_reported_with_its_line() {
        let found = errors(&SAMPLE.replace("count = 1\n", "count = 1\ncuont = 2\n"));
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("cuont"), "{}", found[0]);
        assert!(found[0].line.is_some());
    }

    #[test]
    fn several_problems_are_all_reported() {
        let text = SAMPLE
            .replace("format = 1", "format = 2")
            .replace("count = 1\n", "count = 0\n")
            .replace("tolerance = 0.01", "tolerance = 1.5");
        let found = errors(&text);
        assert!(found.len() >= 3, "{found:?}");
    }

    #[test]
    fn a_pass_score_above_the_total_is_rejected() {
        let found = errors(&SAMPLE.replace("pass_score = 60", "pass_score = 120"));
        assert!(found[0].message.contains("above the total"));
    }

    #[test]
    fn three_decimals_of_points_are_rejected() {
        let found = errors(&SAMPLE.replace("points = 2\n", "points = 2.125\n"));
        assert!(
            found.iter().any(|d| d.message.contains("two decimals")),
            "{found:?}"
        );
    }

    #[test]
    fn globs_match_as_documented() {
        assert!(glob_matches("html.*", "html.forms"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("css.?ayout", "css.layout"));
        assert!(!glob_matches("html.*", "css.layout"));
        assert!(glob_matches("js.dom", "js.dom"));
        assert!(!glob_matches("js.dom", "js.dom2"));
    }

    #[test]
    fn points_are_formatted_without_trailing_zeros() {
        assert_eq!(format_points(200), "2");
        assert_eq!(format_points(250), "2.5");
        assert_eq!(format_points(5), "0.05");
    }
}
