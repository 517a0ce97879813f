//! From bytes to a validated bank: one pass over every file that records every problem.
//!
//! The walk uses toml's span-carrying tree (`DeTable`), so each problem points at the key or
//! value concerned. Field-level problems are found item by item; cross-item rules (duplicate
//! ids, knowledge points, enemies) run once every file has been read. The bank is built only if
//! no problem was found at all, which is what makes `Item` valid by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::markdown::{self, IMAGE_EXTENSIONS, MEDIA_LIMIT};
use crate::model::{
    Answer, BankHeader, ChoiceOption, ContentHash, Criterion, Difficulty, Item, ItemType,
    KnowledgePoint, Level, Points, Rubric,
};
use crate::{BankSource, Diagnostic};

/// Largest single TOML file, in bytes (16 MiB).
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Largest bank (all TOML files and media together), in bytes (256 MiB).
pub const MAX_BANK_BYTES: usize = 256 * 1024 * 1024;
/// Largest image an item may show, in bytes (1 MiB).
pub const MAX_MEDIA_BYTES: usize = MEDIA_LIMIT;
/// Image extensions an item may show.
pub const MEDIA_EXTENSIONS: [&str; 6] = IMAGE_EXTENSIONS;
/// The `format` values this build reads.
pub const SUPPORTED_FORMATS: [u32; 1] = [1];

/// Syntax errors reported per file before the rest are summarised: a binary file fed in by
/// mistake would otherwise produce thousands.
const MAX_SYNTAX_ERRORS: usize = 50;
/// Longest item id.
const MAX_ID_CHARS: usize = 64;

const ITEM_KEYS: [&str; 11] = [
    "id",
    "type",
    "knowledge_point",
    "difficulty",
    "points",
    "stem",
    "options",
    "answer",
    "rubric",
    "enemies",
    "shuffle_options",
];
const BANK_KEYS: [&str; 5] = ["format", "certificate", "level", "version", "title"];
const KNOWLEDGE_POINT_KEYS: [&str; 2] = ["id", "title"];
const OPTION_KEYS: [&str; 2] = ["id", "text"];
const CRITERION_KEYS: [&str; 2] = ["criterion", "points"];
const NUMERIC_KEYS: [&str; 2] = ["value", "tolerance"];

type Value<'i> = Spanned<DeValue<'i>>;

/// What a successful parse hands to `Bank`.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) header: BankHeader,
    pub(crate) knowledge_points: Vec<KnowledgePoint>,
    pub(crate) items: Vec<Item>,
    pub(crate) media_hashes: BTreeMap<String, ContentHash>,
}

/// One file's text with its line index, to turn byte offsets into line and column.
struct FileText<'a> {
    path: &'a str,
    text: &'a str,
    /// Built on the first error only: a valid bank never needs it.
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> FileText<'a> {
    fn new(path: &'a str, text: &'a str) -> FileText<'a> {
        FileText {
            path,
            text,
            line_starts: std::cell::OnceCell::new(),
        }
    }

    fn locate(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(memchr_newlines(self.text.as_bytes()).map(|i| i + 1));
            starts
        });
        let line = line_starts.partition_point(|&start| start <= offset) - 1;
        let start = line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (to_u32(line + 1), to_u32(column + 1))
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Where diagnostics go, with the file and item they concern.
struct Sink<'a, 'f> {
    file: &'a FileText<'f>,
    item: Option<String>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Sink<'_, '_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = self.file.locate(span.start);
        self.diagnostics.push(Diagnostic {
            file: self.file.path.to_owned(),
            line: Some(line),
            column: Some(column),
            item: self.item.clone(),
            message: message.into(),
        });
    }
}

fn whole_file(path: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: path.to_owned(),
        line: None,
        column: None,
        item: None,
        message: message.into(),
    }
}

/// A value with the file it came from, for the cross-item checks.
#[derive(Debug, Clone)]
struct Located<T> {
    value: T,
    file: usize,
    span: Range<usize>,
}

/// An item whose fields all passed, waiting for the cross-item checks.
struct Draft {
    file: usize,
    span: Range<usize>,
    id: Located<String>,
    item_type: ItemType,
    knowledge_point: Option<Located<String>>,
    difficulty: Difficulty,
    points: Points,
    stem: String,
    options: Vec<ChoiceOption>,
    answer: Option<Answer>,
    rubric: Option<Rubric>,
    enemies: Vec<Located<String>>,
    shuffle_options: bool,
    blanks: usize,
    media: Vec<String>,
}

/// The cross-item references of an item that failed its own checks. They are still checked
/// (unknown knowledge point, unknown enemy), so one run reports every error of the bank.
struct BrokenItem {
    file: usize,
    span: Range<usize>,
    id: Located<String>,
    knowledge_point: Option<Located<String>>,
    /// Whether the item has no `knowledge_point` key at all (rather than a malformed one,
    /// which has been reported already).
    knowledge_point_absent: bool,
    enemies: Vec<Located<String>>,
}

/// What the cross-item rules look at of an item, valid or broken.
struct ItemReferences<'a> {
    file: usize,
    span: &'a Range<usize>,
    id: &'a str,
    knowledge_point: Option<&'a Located<String>>,
    knowledge_point_absent: bool,
    enemies: &'a [Located<String>],
}

/// Everything read from the files so far.
#[derive(Default)]
struct Collected {
    header: Option<Located<BankHeader>>,
    header_count: usize,
    knowledge_points: Vec<Located<KnowledgePoint>>,
    drafts: Vec<Draft>,
    /// Items that had field errors, for the cross-item checks.
    broken: Vec<BrokenItem>,
    /// Ids of items that had field errors, so cross-item checks do not call them unknown.
    broken_ids: BTreeSet<String>,
    /// Every readable item id in reading order, valid item or not, for the duplicate check.
    ids: Vec<Located<String>>,
    any_item_table: bool,
}

pub(crate) fn parse(source: &BankSource) -> Result<Parsed, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let mut order: Vec<usize> = (0..source.files().len()).collect();
    order.sort_by(|&a, &b| source.files()[a].0.cmp(&source.files()[b].0));

    let total: usize = source.files().iter().map(|(_, b)| b.len()).sum::<usize>()
        + source.media().values().map(Vec::len).sum::<usize>();
    if total > MAX_BANK_BYTES {
        let path = source.files().first().map_or("bank", |(p, _)| p.as_str());
        return Err(vec![whole_file(
            path,
            format!(
                "the bank is {} MiB, over the {} MiB limit for one bank version: split it into several banks or shrink its media",
                total / (1024 * 1024),
                MAX_BANK_BYTES / (1024 * 1024)
            ),
        )]);
    }

    // Decode every file first; the texts must outlive the spans that point into them.
    let mut texts: Vec<FileText<'_>> = Vec::new();
    for &index in &order {
        let (path, bytes) = &source.files()[index];
        if bytes.len() > MAX_FILE_BYTES {
            diagnostics.push(whole_file(
                path,
                format!(
                    "the file is larger than {} MiB, the limit for one file: split the bank into several files",
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            ));
            continue;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => texts.push(FileText::new(path, text)),
            Err(error) => {
                let good = &bytes[..error.valid_up_to()];
                let line = good.iter().filter(|b| **b == b'\n').count() + 1;
                let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                let column = std::str::from_utf8(&good[line_start..])
                    .map_or(1, |prefix| prefix.chars().count() + 1);
                diagnostics.push(Diagnostic {
                    file: path.clone(),
                    line: Some(to_u32(line)),
                    column: Some(to_u32(column)),
                    item: None,
                    message: format!(
                        "the file is not valid UTF-8 (byte 0x{:02x} at byte offset {}): save it as UTF-8",
                        bytes[error.valid_up_to()],
                        error.valid_up_to()
                    ),
                });
            }
        }
    }

    let media_hashes: BTreeMap<String, ContentHash> = source
        .media()
        .iter()
        .map(|(name, bytes)| (name.clone(), ContentHash::of(bytes)))
        .collect();

    let mut collected = Collected::default();
    for (file_index, file) in texts.iter().enumerate() {
        read_file(file_index, file, source, &mut collected, &mut diagnostics);
    }

    let first_path = source
        .files()
        .iter()
        .map(|(p, _)| p.as_str())
        .min()
        .unwrap_or("bank");
    // A file that could not be read may well hold the header: do not claim it is missing.
    let all_read = texts.len() == source.files().len();
    if collected.header.is_none() && collected.header_count == 0 && all_read {
        let empty = texts.len() == 1 && texts[0].text.trim().is_empty();
        diagnostics.push(whole_file(
            first_path,
            if empty {
                "the file is empty: no [bank] table (a bank starts with [bank] giving certificate, level, version and title)".to_owned()
            } else {
                "no [bank] table: a bank needs [bank] with certificate, level, version and title".to_owned()
            },
        ));
    }

    cross_check(&collected, &texts, &mut diagnostics);
    let items = if diagnostics.is_empty() && collected.broken_ids.is_empty() {
        build_items(std::mem::take(&mut collected.drafts), &media_hashes)
    } else {
        Vec::new()
    };

    if !diagnostics.is_empty() {
        // Cross-item problems are found last; show everything in reading order. The sort is
        // stable, so problems at one place keep the order they were found in.
        diagnostics.sort_by(|a, b| {
            let key = |d: &Diagnostic| (d.file.clone(), d.line.is_none(), d.line, d.column);
            key(a).cmp(&key(b))
        });
        return Err(diagnostics);
    }
    let Some(header) = collected.header else {
        // Unreachable in practice: a missing header is reported above.
        return Err(vec![whole_file(first_path, "no [bank] table")]);
    };
    let mut knowledge_points: Vec<KnowledgePoint> = collected
        .knowledge_points
        .into_iter()
        .map(|kp| kp.value)
        .collect();
    knowledge_points.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Parsed {
        header: header.value,
        knowledge_points,
        items,
        media_hashes,
    })
}

fn read_file(
    file_index: usize,
    file: &FileText<'_>,
    source: &BankSource,
    collected: &mut Collected,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let (document, errors) = DeTable::parse_recoverable(file.text);
    let mut sink = Sink {
        file,
        item: None,
        diagnostics,
    };
    if !errors.is_empty() {
        let mut errors: Vec<_> = errors
            .iter()
            .map(|e| (e.span().unwrap_or(0..0), e.message().to_owned()))
            .collect();
        errors.sort_by_key(|(span, _)| span.start);
        errors.dedup_by(|a, b| a.0.start == b.0.start);
        let extra = errors.len().saturating_sub(MAX_SYNTAX_ERRORS);
        for (span, message) in errors.into_iter().take(MAX_SYNTAX_ERRORS) {
            sink.error(span, format!("TOML syntax error: {message}"));
        }
        if extra > 0 {
            sink.diagnostics.push(whole_file(
                file.path,
                format!("{extra} more TOML syntax errors not shown"),
            ));
        }
        return;
    }
    for (key, value) in document.get_ref().iter() {
        match key.get_ref().as_ref() {
            "bank" => read_header(value, file_index, &mut sink, collected),
            "knowledge_point" => {
                for_each_table(value, "knowledge_point", &mut sink, |table, span, sink| {
                    if let Some(kp) = read_knowledge_point(table, span.clone(), sink) {
                        collected.knowledge_points.push(Located {
                            value: kp,
                            file: file_index,
                            span,
                        });
                    }
                });
            }
            "item" => {
                collected.any_item_table = true;
                for_each_table(value, "item", &mut sink, |table, span, sink| {
                    match read_item(table, span, file_index, source, sink) {
                        Ok(draft) => {
                            collected.ids.push(draft.id.clone());
                            collected.drafts.push(draft);
                        }
                        Err(Some(broken)) => {
                            collected.broken_ids.insert(broken.id.value.clone());
                            collected.ids.push(broken.id.clone());
                            collected.broken.push(*broken);
                        }
                        Err(None) => {}
                    }
                    sink.item = None;
                });
            }
            other => sink.error(
                key.span(),
                format!(
                    "unknown top-level key `{other}`, expected [bank], [[knowledge_point]] or [[item]]"
                ),
            ),
        }
    }
}

/// Calls `each` on every table of an array of tables, reporting anything else.
fn for_each_table(
    value: &Value<'_>,
    name: &str,
    sink: &mut Sink<'_, '_>,
    mut each: impl FnMut(&DeTable<'_>, Range<usize>, &mut Sink<'_, '_>),
) {
    match value.get_ref() {
        DeValue::Array(array) => {
            for element in array.iter() {
                match element.get_ref() {
                    DeValue::Table(table) => each(table, element.span(), sink),
                    other => sink.error(
                        element.span(),
                        format!("each `{name}` must be a table, found {}", other.type_str()),
                    ),
                }
            }
        }
        DeValue::Table(_) => sink.error(
            value.span(),
            format!("`{name}` must be an array of tables: write [[{name}]], not [{name}]"),
        ),
        other => sink.error(
            value.span(),
            format!(
                "`{name}` must be an array of tables ([[{name}]]), found {}",
                other.type_str()
            ),
        ),
    }
}

/// The known fields of one table. A table has a dozen keys at most, so a vector searched in
/// order is faster than a map (this runs for every item, option and criterion).
struct Fields<'t, 'i>(Vec<(&'t str, &'t Value<'i>)>);

impl<'t, 'i> Fields<'t, 'i> {
    fn get(&self, name: &str) -> Option<&&'t Value<'i>> {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }
}

/// The fields of a table by name, with unknown keys reported.
fn fields<'t, 'i>(
    table: &'t DeTable<'i>,
    known: &[&str],
    what: &str,
    sink: &mut Sink<'_, '_>,
) -> Fields<'t, 'i> {
    let mut out = Fields(Vec::with_capacity(table.len()));
    for (key, value) in table.iter() {
        let name: &str = key.get_ref().as_ref();
        if known.contains(&name) {
            out.0.push((name, value));
        } else {
            let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            let hint = suggestion(name, known)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            sink.error(
                key.span(),
                format!(
                    "unknown field `{name}` in {what}{hint}, expected one of {}",
                    expected.join(", ")
                ),
            );
        }
    }
    out
}

/// The known key closest to a misspelt one, if any is close.
fn suggestion<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn missing(sink: &mut Sink<'_, '_>, span: Range<usize>, what: &str, name: &str, hint: &str) {
    sink.error(span, format!("missing field `{name}` in {what}{hint}"));
}

/// A required or optional string field.
fn string_field(
    fields: &Fields<'_, '_>,
    name: &str,
    what: &str,
    owner: &Range<usize>,
    required: bool,
    sink: &mut Sink<'_, '_>,
) -> Result<Option<(String, Range<usize>)>, ()> {
    match fields.get(name) {
        None if required => {
            missing(sink, owner.clone(), what, name, "");
            Err(())
        }
        None => Ok(None),
        Some(value) => match value.get_ref() {
            DeValue::String(s) if s.trim().is_empty() => {
                sink.error(value.span(), format!("`{name}` must not be empty"));
                Err(())
            }
            DeValue::String(s) => Ok(Some((s.to_string(), value.span()))),
            other => {
                sink.error(
                    value.span(),
                    format!("`{name}` must be a string, found {}", describe(other)),
                );
                Err(())
            }
        },
    }
}

fn number(value: &DeValue<'_>) -> Option<f64> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            // Bank numbers are far below 2^53, where this conversion is exact.
            .map(|n| n as f64),
        DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
        _ => None,
    }
}

fn number_field(
    fields: &Fields<'_, '_>,
    name: &str,
    what: &str,
    owner: &Range<usize>,
    sink: &mut Sink<'_, '_>,
) -> Result<(f64, Range<usize>), ()> {
    match fields.get(name) {
        None => {
            missing(sink, owner.clone(), what, name, "");
            Err(())
        }
        Some(value) => match number(value.get_ref()) {
            Some(n) if n.is_finite() => Ok((n, value.span())),
            Some(_) => {
                sink.error(value.span(), format!("`{name}` must be a finite number"));
                Err(())
            }
            None => {
                sink.error(
                    value.span(),
                    format!(
                        "`{name}` must be a number, found {}",
                        describe(value.get_ref())
                    ),
                );
                Err(())
            }
        },
    }
}

fn points_field(
    fields: &Fields<'_, '_>,
    name: &str,
    what: &str,
    owner: &Range<usize>,
    sink: &mut Sink<'_, '_>,
) -> Result<Points, ()> {
    let (value, span) = number_field(fields, name, what, owner, sink)?;
    Points::from_f64(value).map_err(|error| sink.error(span, error.to_string()))
}

fn valid_id(id: &str) -> bool {
    id.chars().count() <= MAX_ID_CHARS
        && id
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\'')
}

fn read_header(
    value: &Value<'_>,
    file_index: usize,
    sink: &mut Sink<'_, '_>,
    collected: &mut Collected,
) {
    collected.header_count += 1;
    let Some(table) = value.get_ref().as_table() else {
        sink.error(
            value.span(),
            format!(
                "`bank` must be a table ([bank]), found {}",
                describe(value.get_ref())
            ),
        );
        return;
    };
    let span = value.span();
    if collected.header_count > 1 {
        sink.error(
            span,
            "a second [bank] table: a bank has exactly one, in bank.toml (other files hold [[item]] tables)",
        );
        return;
    }
    let what = "[bank]";
    let fields = fields(table, &BANK_KEYS, what, sink);
    let mut ok = true;
    let format = match fields.get("format") {
        None => 1,
        Some(v) => match v.get_ref() {
            DeValue::Integer(i) => match i.as_str().parse::<u32>() {
                Ok(n) if SUPPORTED_FORMATS.contains(&n) && i.radix() == 10 => n,
                _ => {
                    ok = false;
                    sink.error(
                        v.span(),
                        format!(
                            "format {} is not supported: this build reads format 1",
                            i.as_str()
                        ),
                    );
                    0
                }
            },
            other => {
                ok = false;
                sink.error(
                    v.span(),
                    format!(
                        "`format` must be an integer (this build reads format 1), found {}",
                        describe(other)
                    ),
                );
                0
            }
        },
    };
    let certificate = string_field(&fields, "certificate", what, &span, true, sink);
    if let Ok(Some((code, span))) = &certificate {
        if !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        {
            ok = false;
            sink.error(
                span.clone(),
                format!("certificate code `{code}` must use only A-Z, 0-9 and -"),
            );
        }
    }
    let level = match string_field(&fields, "level", what, &span, true, sink) {
        Ok(Some((text, span))) => match Level::parse(&text) {
            Ok(level) => Some(level),
            Err(_) => {
                sink.error(
                    span,
                    format!("unknown level `{text}`, expected junior, intermediate or senior"),
                );
                None
            }
        },
        _ => None,
    };
    let version = string_field(&fields, "version", what, &span, true, sink);
    let title = string_field(&fields, "title", what, &span, true, sink);
    if let (true, Ok(Some(certificate)), Some(level), Ok(Some(version)), Ok(Some(title))) =
        (ok, certificate, level, version, title)
    {
        collected.header = Some(Located {
            value: BankHeader {
                format,
                certificate: certificate.0,
                level,
                version: version.0,
                title: title.0,
            },
            file: file_index,
            span,
        });
    }
}

fn read_knowledge_point(
    table: &DeTable<'_>,
    span: Range<usize>,
    sink: &mut Sink<'_, '_>,
) -> Option<KnowledgePoint> {
    let what = "[[knowledge_point]]";
    let fields = fields(table, &KNOWLEDGE_POINT_KEYS, what, sink);
    let id = string_field(&fields, "id", what, &span, true, sink);
    let title = string_field(&fields, "title", what, &span, true, sink);
    if let Ok(Some((id, id_span))) = &id {
        if !valid_id(id) {
            sink.error(
                id_span.clone(),
                format!("knowledge point id `{id}` must be at most {MAX_ID_CHARS} characters without spaces or quotes"),
            );
            return None;
        }
    }
    match (id, title) {
        (Ok(Some((id, _))), Ok(Some((title, _)))) => Some(KnowledgePoint { id, title }),
        _ => None,
    }
}

/// Reads one `[[item]]`. `Err(Some(id))` when it had problems but a readable id.
fn read_item(
    table: &DeTable<'_>,
    span: Range<usize>,
    file_index: usize,
    source: &BankSource,
    sink: &mut Sink<'_, '_>,
) -> Result<Draft, Option<Box<BrokenItem>>> {
    let before = sink.diagnostics.len();
    let what = "[[item]]";
    // The id first, so every later problem can name the item.
    let id = match table.get_key_value("id") {
        Some((_, value)) => match value.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() && valid_id(s) => {
                sink.item = Some(s.to_string());
                Some(Located {
                    value: s.to_string(),
                    file: file_index,
                    span: value.span(),
                })
            }
            DeValue::String(s) => {
                sink.error(
                    value.span(),
                    format!("item id `{s}` must be 1 to {MAX_ID_CHARS} characters without spaces or quotes"),
                );
                None
            }
            other => {
                sink.error(
                    value.span(),
                    format!("`id` must be a string, found {}", describe(other)),
                );
                None
            }
        },
        None => {
            missing(sink, span.clone(), what, "id", "");
            None
        }
    };
    let fields = fields(table, &ITEM_KEYS, what, sink);

    let item_type = match string_field(&fields, "type", what, &span, true, sink) {
        Ok(Some((text, type_span))) => match ItemType::parse(&text) {
            Ok(kind) => Some(kind),
            Err(_) => {
                let names: Vec<&str> = ItemType::ALL.iter().map(|t| t.as_str()).collect();
                sink.error(
                    type_span,
                    format!(
                        "unknown type `{text}`, expected one of {}",
                        names.join(", ")
                    ),
                );
                None
            }
        },
        _ => None,
    };

    let knowledge_point = match string_field(&fields, "knowledge_point", what, &span, false, sink) {
        Ok(Some((kp, kp_span))) => Some(Located {
            value: kp,
            file: file_index,
            span: kp_span,
        }),
        _ => None,
    };

    let difficulty = number_field(&fields, "difficulty", what, &span, sink).and_then(
        |(value, value_span)| {
            Difficulty::new(value).map_err(|_| {
                sink.error(
                    value_span,
                    format!(
                        "difficulty {value} is outside (0, 1): it is the expected share of candidates answering right, e.g. 0.62"
                    ),
                );
            })
        },
    );
    let points = points_field(&fields, "points", what, &span, sink);

    let mut media = Vec::new();
    let mut text_check = |text: &str, text_span: Range<usize>, sink: &mut Sink<'_, '_>| {
        let report = markdown::check_text(text, source.media());
        for problem in report.problems {
            sink.error(text_span.clone(), problem);
        }
        media.extend(report.media);
        report.blanks
    };

    let stem = string_field(&fields, "stem", what, &span, true, sink);
    let mut blanks = 0;
    let mut stem_span = span.clone();
    if let Ok(Some((text, text_span))) = &stem {
        blanks = text_check(text, text_span.clone(), sink);
        stem_span = text_span.clone();
    }

    // Options: required on single and multiple, refused elsewhere.
    let mut options = Vec::new();
    match (item_type, fields.get("options")) {
        (Some(kind), Some(value)) if !kind.has_options() => sink.error(
            value.span(),
            format!("`options` are not allowed on a {kind} item (only single and multiple items have options)"),
        ),
        (Some(kind), None) if kind.has_options() => missing(
            sink,
            span.clone(),
            what,
            "options",
            &format!(" (a {kind} item needs at least two options)"),
        ),
        (_, Some(value)) => {
            options = read_options(value, sink, &mut text_check);
        }
        _ => {}
    }

    let answer = read_answer(
        item_type, &fields, &span, &options, blanks, &stem_span, sink,
    );

    let rubric = match (item_type, fields.get("rubric")) {
        (Some(kind), Some(value)) if !kind.has_rubric() => {
            sink.error(
                value.span(),
                format!("`rubric` is only for essay and practical items, not {kind}"),
            );
            None
        }
        (Some(kind), None) if kind.has_rubric() => {
            missing(
                sink,
                span.clone(),
                what,
                "rubric",
                &format!(" (a {kind} item is graded by hand against its rubric)"),
            );
            None
        }
        (_, Some(value)) => read_rubric(value, points.ok(), sink, &mut text_check),
        _ => None,
    };

    let enemies = match fields.get("enemies") {
        None => Vec::new(),
        Some(value) => match value.get_ref() {
            DeValue::Array(array) => {
                let mut enemies = Vec::new();
                for element in array.iter() {
                    match element.get_ref() {
                        DeValue::String(s) => enemies.push(Located {
                            value: s.to_string(),
                            file: file_index,
                            span: element.span(),
                        }),
                        other => sink.error(
                            element.span(),
                            format!(
                                "each enemy must be an item id string, found {}",
                                describe(other)
                            ),
                        ),
                    }
                }
                enemies
            }
            other => {
                sink.error(
                    value.span(),
                    format!(
                        "`enemies` must be an array of item ids, found {}",
                        describe(other)
                    ),
                );
                Vec::new()
            }
        },
    };

    let shuffle_options = match fields.get("shuffle_options") {
        None => true,
        Some(value) => match value.get_ref() {
            DeValue::Boolean(b) => *b,
            other => {
                sink.error(
                    value.span(),
                    format!(
                        "`shuffle_options` must be true or false, found {}",
                        describe(other)
                    ),
                );
                true
            }
        },
    };

    let knowledge_point_absent = fields.get("knowledge_point").is_none();
    let clean = sink.diagnostics.len() == before;
    match (clean, id, item_type, difficulty, points, stem) {
        (true, Some(id), Some(item_type), Ok(difficulty), Ok(points), Ok(Some((stem, _)))) => {
            Ok(Draft {
                file: file_index,
                span,
                id,
                item_type,
                knowledge_point,
                difficulty,
                points,
                stem,
                options,
                answer,
                rubric,
                enemies,
                shuffle_options,
                blanks: if item_type == ItemType::FillBlank {
                    blanks
                } else {
                    0
                },
                media,
            })
        }
        (_, Some(id), ..) => Err(Some(Box::new(BrokenItem {
            file: file_index,
            span,
            id,
            knowledge_point,
            knowledge_point_absent,
            enemies,
        }))),
        (_, None, ..) => Err(None),
    }
}

fn read_options(
    value: &Value<'_>,
    sink: &mut Sink<'_, '_>,
    text_check: &mut impl FnMut(&str, Range<usize>, &mut Sink<'_, '_>) -> usize,
) -> Vec<ChoiceOption> {
    let DeValue::Array(array) = value.get_ref() else {
        sink.error(
            value.span(),
            format!(
                "`options` must be an array of {{ id, text }} tables, found {}",
                describe(value.get_ref())
            ),
        );
        return Vec::new();
    };
    if array.len() < 2 {
        sink.error(
            value.span(),
            format!("an item needs at least two options, found {}", array.len()),
        );
    }
    let mut options: Vec<ChoiceOption> = Vec::new();
    for element in array.iter() {
        let DeValue::Table(table) = element.get_ref() else {
            sink.error(
                element.span(),
                format!(
                    "each option must be a table {{ id = \"A\", text = \"...\" }}, found {}",
                    describe(element.get_ref())
                ),
            );
            continue;
        };
        let what = "an option";
        let span = element.span();
        let fields = fields(table, &OPTION_KEYS, what, sink);
        let id = string_field(&fields, "id", what, &span, true, sink);
        let text = string_field(&fields, "text", what, &span, true, sink);
        if let Ok(Some((text, text_span))) = &text {
            text_check(text, text_span.clone(), sink);
        }
        if let (Ok(Some((id, id_span))), Ok(Some((text, _)))) = (id, text) {
            if !valid_id(&id) {
                sink.error(
                    id_span,
                    format!("option id `{id}` must not contain spaces or quotes"),
                );
            } else if options.iter().any(|o| o.id == id) {
                sink.error(id_span, format!("duplicate option id `{id}` in this item"));
            } else {
                options.push(ChoiceOption { id, text });
            }
        }
    }
    options
}

fn string_list(
    value: &Value<'_>,
    name: &str,
    sink: &mut Sink<'_, '_>,
) -> Option<Vec<(String, Range<usize>)>> {
    let DeValue::Array(array) = value.get_ref() else {
        sink.error(
            value.span(),
            format!(
                "{name} must be an array of strings, found {}",
                describe(value.get_ref())
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for element in array.iter() {
        match element.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => out.push((s.to_string(), element.span())),
            DeValue::String(_) => {
                ok = false;
                sink.error(
                    element.span(),
                    format!("{name} must not contain an empty string"),
                );
            }
            other => {
                ok = false;
                sink.error(
                    element.span(),
                    format!("{name} must hold strings, found {}", describe(other)),
                );
            }
        }
    }
    if out.is_empty() && ok {
        sink.error(value.span(), format!("{name} must not be empty"));
        return None;
    }
    ok.then_some(out)
}

#[allow(clippy::too_many_arguments)]
fn read_answer(
    item_type: Option<ItemType>,
    fields: &Fields<'_, '_>,
    span: &Range<usize>,
    options: &[ChoiceOption],
    blanks: usize,
    stem_span: &Range<usize>,
    sink: &mut Sink<'_, '_>,
) -> Option<Answer> {
    let kind = item_type?;
    let value = fields.get("answer");
    let Some(value) = value else {
        if kind.has_rubric() {
            return None;
        }
        let shape = match kind {
            ItemType::Single => "an option id such as \"B\"",
            ItemType::Multiple => "a list of option ids such as [\"A\", \"C\"]",
            ItemType::TrueFalse => "true or false",
            ItemType::FillBlank => "one list of accepted answers per blank, such as [[\"main\"]]",
            ItemType::Numeric => "{ value = 3.14, tolerance = 0.01 }",
            _ => "a list of accepted answers such as [\"alt\"]",
        };
        missing(
            sink,
            span.clone(),
            "[[item]]",
            "answer",
            &format!(" (a {kind} item's answer is {shape})"),
        );
        return None;
    };
    let option_exists = |id: &str| options.iter().any(|o| o.id == id);
    let option_ids = || {
        options
            .iter()
            .map(|o| o.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind {
        ItemType::Essay | ItemType::Practical => {
            sink.error(
                value.span(),
                format!(
                    "a {kind} item has no `answer`: describe what earns points in its `rubric`"
                ),
            );
            None
        }
        ItemType::Single => match value.get_ref() {
            DeValue::String(s) if option_exists(s) => Some(Answer::Single(s.to_string())),
            DeValue::String(s) => {
                if !options.is_empty() {
                    sink.error(
                        value.span(),
                        format!(
                            "answer `{s}` names no option of this item (options: {})",
                            option_ids()
                        ),
                    );
                }
                None
            }
            other => {
                sink.error(
                    value.span(),
                    format!(
                        "the answer of a single item must be one option id such as \"B\", found {}",
                        describe(other)
                    ),
                );
                None
            }
        },
        ItemType::Multiple => {
            let list = string_list(value, "the answer of a multiple item", sink)?;
            let mut ids = Vec::new();
            let mut ok = true;
            for (id, id_span) in list {
                if !option_exists(&id) {
                    ok = false;
                    if !options.is_empty() {
                        sink.error(
                            id_span,
                            format!(
                                "answer `{id}` names no option of this item (options: {})",
                                option_ids()
                            ),
                        );
                    }
                } else if ids.contains(&id) {
                    ok = false;
                    sink.error(id_span, format!("answer `{id}` is listed twice"));
                } else {
                    ids.push(id);
                }
            }
            ids.sort();
            ok.then_some(Answer::Multiple(ids))
        }
        ItemType::TrueFalse => match value.get_ref() {
            DeValue::Boolean(b) => Some(Answer::TrueFalse(*b)),
            other => {
                sink.error(
                    value.span(),
                    format!(
                        "the answer of a true_false item must be true or false (no quotes), found {}",
                        describe(other)
                    ),
                );
                None
            }
        },
        ItemType::ShortAnswer => {
            let list = string_list(value, "the answer of a short_answer item", sink)?;
            Some(Answer::ShortAnswer(
                list.into_iter().map(|(s, _)| s).collect(),
            ))
        }
        ItemType::FillBlank => {
            let DeValue::Array(array) = value.get_ref() else {
                sink.error(
                    value.span(),
                    format!(
                        "the answer of a fill_blank item must be one list of accepted answers per blank, such as [[\"main\"], [\"nav\"]], found {}",
                        describe(value.get_ref())
                    ),
                );
                return None;
            };
            let mut lists = Vec::new();
            let mut ok = true;
            for element in array.iter() {
                match element.get_ref() {
                    DeValue::Array(_) => {
                        match string_list(element, "each blank's accepted answers", sink) {
                            Some(list) => lists.push(list.into_iter().map(|(s, _)| s).collect()),
                            None => ok = false,
                        }
                    }
                    other => {
                        ok = false;
                        sink.error(
                            element.span(),
                            format!(
                                "each blank's accepted answers must be a list such as [\"main\"], found {}",
                                describe(other)
                            ),
                        );
                    }
                }
            }
            if blanks == 0 {
                sink.error(
                    stem_span.clone(),
                    "a fill_blank stem needs at least one blank, written as ___ (three or more underscores, outside code)",
                );
                return None;
            }
            if ok && lists.len() != blanks {
                sink.error(
                    value.span(),
                    format!(
                        "the stem has {blanks} blank(s) (___) but the answer gives {} list(s) of accepted answers: give exactly one list per blank",
                        lists.len()
                    ),
                );
                return None;
            }
            ok.then_some(Answer::FillBlank(lists))
        }
        ItemType::Numeric => {
            let DeValue::Table(table) = value.get_ref() else {
                sink.error(
                    value.span(),
                    format!(
                        "the answer of a numeric item must be {{ value = 3.14, tolerance = 0.01 }}, found {}",
                        describe(value.get_ref())
                    ),
                );
                return None;
            };
            let what = "a numeric answer";
            let fields = crate::parse::fields(table, &NUMERIC_KEYS, what, sink);
            let owner = value.span();
            let number = number_field(&fields, "value", what, &owner, sink);
            let tolerance = number_field(&fields, "tolerance", what, &owner, sink);
            if let Ok((t, t_span)) = &tolerance {
                if *t < 0.0 {
                    sink.error(t_span.clone(), format!("tolerance {t} must be 0 or more"));
                    return None;
                }
            }
            match (number, tolerance) {
                (Ok((value, _)), Ok((tolerance, _))) => Some(Answer::Numeric {
                    // -0 and 0 are the same answer; keep one spelling for the canonical form.
                    value: if value == 0.0 { 0.0 } else { value },
                    tolerance: if tolerance == 0.0 { 0.0 } else { tolerance },
                }),
                _ => None,
            }
        }
    }
}

fn read_rubric(
    value: &Value<'_>,
    points: Option<Points>,
    sink: &mut Sink<'_, '_>,
    text_check: &mut impl FnMut(&str, Range<usize>, &mut Sink<'_, '_>) -> usize,
) -> Option<Rubric> {
    let DeValue::Array(array) = value.get_ref() else {
        sink.error(
            value.span(),
            format!(
                "`rubric` must be an array of {{ criterion, points }} tables, found {}",
                describe(value.get_ref())
            ),
        );
        return None;
    };
    if array.is_empty() {
        sink.error(value.span(), "`rubric` needs at least one criterion");
        return None;
    }
    let mut criteria = Vec::new();
    let mut ok = true;
    for element in array.iter() {
        let DeValue::Table(table) = element.get_ref() else {
            ok = false;
            sink.error(
                element.span(),
                format!(
                    "each rubric entry must be a table {{ criterion = \"...\", points = 2 }}, found {}",
                    describe(element.get_ref())
                ),
            );
            continue;
        };
        let what = "a rubric criterion";
        let span = element.span();
        let fields = fields(table, &CRITERION_KEYS, what, sink);
        let text = string_field(&fields, "criterion", what, &span, true, sink);
        let criterion_points = points_field(&fields, "points", what, &span, sink);
        if let Ok(Some((text, text_span))) = &text {
            text_check(text, text_span.clone(), sink);
        }
        match (text, criterion_points) {
            (Ok(Some((text, _))), Ok(points)) => criteria.push(Criterion { text, points }),
            _ => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let sum: Points = criteria.iter().map(|c| c.points).sum();
    if let Some(points) = points {
        if sum != points {
            sink.error(
                value.span(),
                format!("the rubric's criteria add up to {sum} points but the item is worth {points}: they must be equal"),
            );
            return None;
        }
    }
    Some(Rubric { criteria })
}

/// The rules that need every item: unique ids, knowledge points, enemies. Builds the items.
fn cross_check(collected: &Collected, texts: &[FileText<'_>], diagnostics: &mut Vec<Diagnostic>) {
    let mut error = |file: usize, span: Range<usize>, item: Option<&str>, message: String| {
        let mut sink = Sink {
            file: &texts[file],
            item: item.map(str::to_owned),
            diagnostics: &mut *diagnostics,
        };
        sink.error(span, message);
    };

    let mut kp_ids: BTreeMap<&str, &Located<KnowledgePoint>> = BTreeMap::new();
    for kp in &collected.knowledge_points {
        if let Some(first) = kp_ids.get(kp.value.id.as_str()) {
            let (line, _) = texts[first.file].locate(first.span.start);
            error(
                kp.file,
                kp.span.clone(),
                None,
                format!(
                    "duplicate knowledge point id `{}`: first declared at {}:{line}",
                    kp.value.id, texts[first.file].path
                ),
            );
        } else {
            kp_ids.insert(&kp.value.id, kp);
        }
    }
    let declared: Vec<&str> = kp_ids.keys().copied().collect();
    let declared_list = || {
        let shown: Vec<&str> = declared.iter().take(20).copied().collect();
        let more = if declared.len() > 20 { ", ..." } else { "" };
        format!("{}{more}", shown.join(", "))
    };

    let mut first_seen: BTreeMap<&str, &Located<String>> = BTreeMap::new();
    for id in &collected.ids {
        match first_seen.get(id.value.as_str()) {
            Some(first) => {
                let (line, _) = texts[first.file].locate(first.span.start);
                error(
                    id.file,
                    id.span.clone(),
                    Some(&id.value),
                    format!(
                        "duplicate item id `{}`: first defined at {}:{line}",
                        id.value, texts[first.file].path
                    ),
                );
            }
            None => {
                first_seen.insert(&id.value, id);
            }
        }
    }
    let references: Vec<ItemReferences<'_>> = collected
        .drafts
        .iter()
        .map(|draft| ItemReferences {
            file: draft.file,
            span: &draft.span,
            id: &draft.id.value,
            knowledge_point: draft.knowledge_point.as_ref(),
            knowledge_point_absent: draft.knowledge_point.is_none(),
            enemies: &draft.enemies,
        })
        .chain(collected.broken.iter().map(|broken| ItemReferences {
            file: broken.file,
            span: &broken.span,
            id: &broken.id.value,
            knowledge_point: broken.knowledge_point.as_ref(),
            knowledge_point_absent: broken.knowledge_point_absent,
            enemies: &broken.enemies,
        }))
        .collect();
    for draft in &references {
        let id = draft.id;
        match (draft.knowledge_point, declared.is_empty()) {
            (None, false) if draft.knowledge_point_absent => error(
                draft.file,
                draft.span.clone(),
                Some(id),
                format!(
                    "missing field `knowledge_point`: this bank declares knowledge points, so every item names one of: {}",
                    declared_list()
                ),
            ),
            (Some(kp), true) => error(
                kp.file,
                kp.span.clone(),
                Some(id),
                format!(
                    "unknown knowledge point `{}`: the bank declares no [[knowledge_point]]",
                    kp.value
                ),
            ),
            (Some(kp), false) if !kp_ids.contains_key(kp.value.as_str()) => {
                let hint = suggestion(&kp.value, &declared)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                error(
                    kp.file,
                    kp.span.clone(),
                    Some(id),
                    format!(
                        "unknown knowledge point `{}`{hint}; declared: {}",
                        kp.value,
                        declared_list()
                    ),
                );
            }
            _ => {}
        }
    }
    for draft in &references {
        let id = draft.id;
        for enemy in draft.enemies {
            if enemy.value == id {
                error(
                    enemy.file,
                    enemy.span.clone(),
                    Some(id),
                    "an item cannot be its own enemy".to_owned(),
                );
            } else if !first_seen.contains_key(enemy.value.as_str()) {
                error(
                    enemy.file,
                    enemy.span.clone(),
                    Some(id),
                    format!("enemy `{}` is not an item of this bank", enemy.value),
                );
            }
        }
    }
}

/// Turns drafts that passed every check into items, with their hashes, sorted by id.
fn build_items(drafts: Vec<Draft>, media_hashes: &BTreeMap<String, ContentHash>) -> Vec<Item> {
    let mut items: Vec<Item> = drafts
        .into_iter()
        .map(|draft| {
            let mut enemies: Vec<String> = draft.enemies.into_iter().map(|e| e.value).collect();
            enemies.sort();
            enemies.dedup();
            let media = draft
                .media
                .iter()
                .filter_map(|name| media_hashes.get(name).map(|h| (name.clone(), *h)))
                .collect();
            let mut item = Item {
                id: draft.id.value,
                item_type: draft.item_type,
                knowledge_point: draft.knowledge_point.map(|kp| kp.value),
                difficulty: draft.difficulty,
                points: draft.points,
                stem: draft.stem,
                options: draft.options,
                answer: draft.answer,
                rubric: draft.rubric,
                enemies,
                shuffle_options: draft.shuffle_options,
                blanks: draft.blanks,
                media,
                hash: ContentHash::PLACEHOLDER,
            };
            item.hash = ContentHash::of(crate::canonical::item_json(&item).as_bytes());
            item
        })
        .collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    items
}

#[cfg(test)]
mod tests;
