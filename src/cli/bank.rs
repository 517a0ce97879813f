//! `xcert bank validate | diff | stats`: the file I/O around `xcert-bank`.
//!
//! Reading a bank (a single `.toml` file or a directory) happens here and only here; the
//! crate gets bytes. I/O problems are `Err` (exit 2); an invalid bank is `Ok(Err(diagnostics))`
//! (exit 1), so every command reports bank errors the same way.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};
use xcert_bank::{
    Bank, BankSource, BankStats, Diagnostic, DifficultyBand, ItemType, MAX_BANK_BYTES,
    MAX_FILE_BYTES, StatsRow,
};

use super::{Exit, print_json, print_stderr, print_stdout};

#[derive(Debug, Subcommand)]
pub(crate) enum BankCommand {
    /// Check a bank version and report every error with file:line:col and item id.
    Validate {
        /// A bank: one .toml file, or a directory holding bank.toml and more *.toml files.
        path: PathBuf,
        /// Input format (default: from the path; a .toml file or a directory is native).
        #[arg(long, value_enum)]
        format: Option<BankFormat>,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Compare two versions by item id and content hash.
    Diff {
        /// The older version.
        old: PathBuf,
        /// The newer version.
        new: PathBuf,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Items per knowledge point x type x difficulty band, with points: check before publishing.
    Stats {
        /// A bank: one .toml file or a directory.
        path: PathBuf,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// The formats of CONTRACT section 2. Only `native` is read by this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BankFormat {
    Native,
    Gift,
    MoodleXml,
    Qti,
    Xlsx,
    Csv,
}

impl BankFormat {
    fn as_str(self) -> &'static str {
        match self {
            BankFormat::Native => "native",
            BankFormat::Gift => "gift",
            BankFormat::MoodleXml => "moodle-xml",
            BankFormat::Qti => "qti",
            BankFormat::Xlsx => "xlsx",
            BankFormat::Csv => "csv",
        }
    }

    /// The format a path's extension suggests; directories and `.toml` files are native.
    fn from_path(path: &Path) -> BankFormat {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("gift" | "txt") => BankFormat::Gift,
            Some("xml") => BankFormat::MoodleXml,
            Some("zip") => BankFormat::Qti,
            Some("xlsx") => BankFormat::Xlsx,
            Some("csv") => BankFormat::Csv,
            _ => BankFormat::Native,
        }
    }
}

pub(crate) fn run(command: BankCommand) -> anyhow::Result<Exit> {
    match command {
        BankCommand::Validate { path, format, json } => validate(&path, format, json),
        BankCommand::Diff { old, new, json } => diff(&old, &new, json),
        BankCommand::Stats { path, json } => stats(&path, json),
    }
}

/// Reads at most `limit + 1` bytes: enough for the crate to see that a file is too large
/// without holding a huge file in memory.
fn read_capped(path: &Path, limit: usize) -> anyhow::Result<Vec<u8>> {
    let file = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(limit).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Adds every file under `dir` (the bank's `media/` folder) as `media/<relative path>`.
fn read_media(dir: &Path, source: &mut BankSource) -> anyhow::Result<Option<Diagnostic>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut total: u64 = 0;
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if !entry.file_type().is_file() || is_hidden(entry.path()) {
            continue;
        }
        let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let name: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        total += entry.metadata().map(|m| m.len()).unwrap_or(0);
        if total > u64::try_from(MAX_BANK_BYTES).unwrap_or(u64::MAX) {
            return Ok(Some(Diagnostic {
                file: dir.display().to_string(),
                line: None,
                column: None,
                item: None,
                message: format!(
                    "the media folder is larger than {} MiB, the limit for one bank version: shrink or remove media",
                    MAX_BANK_BYTES / (1024 * 1024)
                ),
            }));
        }
        let bytes = fs::read(entry.path())
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        source.add_media(format!("media/{}", name.join("/")), bytes);
    }
    Ok(None)
}

/// Reads a bank: a single `.toml` file (with the `media/` folder beside it, if any), or a
/// directory with `bank.toml`, every `*.toml` below it and every file under `media/`.
/// I/O errors are `Err`; validation errors are `Ok(Err(..))`.
pub(crate) fn read_bank(path: &Path) -> anyhow::Result<Result<Bank, Vec<Diagnostic>>> {
    let metadata = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut source = BankSource::new();
    let media_dir;
    if metadata.is_dir() {
        if !path.join("bank.toml").is_file() {
            return Ok(Err(vec![Diagnostic {
                file: path.display().to_string(),
                line: None,
                column: None,
                item: None,
                message: "no bank.toml in this directory: a directory bank needs bank.toml holding the [bank] table".to_owned(),
            }]));
        }
        media_dir = path.join("media");
        let walker = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.path() == path || (!is_hidden(e.path()) && e.path() != media_dir));
        for entry in walker {
            let entry = entry.with_context(|| format!("cannot list {}", path.display()))?;
            let is_toml = entry.path().extension().is_some_and(|e| e == "toml");
            if entry.file_type().is_file() && is_toml {
                let bytes = read_capped(entry.path(), MAX_FILE_BYTES)?;
                source.add_file(entry.path().display().to_string(), bytes);
            }
        }
    } else {
        let bytes = read_capped(path, MAX_FILE_BYTES)?;
        source.add_file(path.display().to_string(), bytes);
        media_dir = path.parent().unwrap_or(Path::new(".")).join("media");
    }
    if let Some(problem) = read_media(&media_dir, &mut source)? {
        return Ok(Err(vec![problem]));
    }
    Ok(Bank::parse(&source))
}

fn error_json(diagnostic: &Diagnostic) -> Value {
    json!({
        "file": diagnostic.file,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "item": diagnostic.item,
        "message": diagnostic.message,
    })
}

fn by_type(bank: Option<&Bank>) -> serde_json::Map<String, Value> {
    ItemType::ALL
        .iter()
        .map(|kind| {
            let n = bank.map_or(0, |b| {
                b.items().iter().filter(|i| i.item_type() == *kind).count()
            });
            (kind.as_str().to_owned(), json!(n))
        })
        .collect()
}

fn validate(path: &Path, format: Option<BankFormat>, json: bool) -> anyhow::Result<Exit> {
    let format = format.unwrap_or_else(|| BankFormat::from_path(path));
    if format != BankFormat::Native {
        anyhow::bail!(
            "format `{}` is not supported by this build yet: only the native TOML format is read (import from {} comes with `xcert bank import`)",
            format.as_str(),
            format.as_str()
        );
    }
    let outcome = read_bank(path)?;
    match (&outcome, json) {
        (Ok(bank), true) => print_json(&json!({
            "valid": true,
            "format": format.as_str(),
            "items": bank.items().len(),
            "by_type": by_type(Some(bank)),
            "errors": [],
            "certificate": bank.header().certificate(),
            "level": bank.header().level().as_str(),
            "version": bank.header().version(),
            "knowledge_points": bank.knowledge_points().len(),
            "hash": bank.content_hash().to_hex(),
        }))?,
        (Err(diagnostics), true) => print_json(&json!({
            "valid": false,
            "format": format.as_str(),
            "items": 0,
            "by_type": by_type(None),
            "errors": diagnostics.iter().map(error_json).collect::<Vec<_>>(),
        }))?,
        (Ok(bank), false) => {
            let header = bank.header();
            print_stdout(&format!(
                "{}: valid: {} {} version {}, {} items, {} knowledge points",
                path.display(),
                header.certificate(),
                header.level(),
                header.version(),
                bank.items().len(),
                bank.knowledge_points().len()
            ));
            let counts: Vec<String> = ItemType::ALL
                .iter()
                .map(|kind| {
                    let n = bank
                        .items()
                        .iter()
                        .filter(|i| i.item_type() == *kind)
                        .count();
                    format!("{kind} {n}")
                })
                .collect();
            print_stdout(&format!("by type: {}", counts.join(", ")));
            print_stdout(&format!("hash {}", bank.content_hash()));
        }
        (Err(diagnostics), false) => {
            for diagnostic in diagnostics {
                print_stdout(&diagnostic.to_string());
            }
            print_stdout(&format!(
                "{}: invalid: {} error{}",
                path.display(),
                diagnostics.len(),
                if diagnostics.len() == 1 { "" } else { "s" }
            ));
        }
    }
    Ok(if outcome.is_ok() {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

/// Reads a bank for a command that needs a valid one; `None` after printing its errors.
fn read_valid(path: &Path) -> anyhow::Result<Option<Bank>> {
    match read_bank(path)? {
        Ok(bank) => Ok(Some(bank)),
        Err(diagnostics) => {
            for diagnostic in &diagnostics {
                print_stderr(&diagnostic.to_string());
            }
            print_stderr(&format!(
                "{}: invalid: {} error{}",
                path.display(),
                diagnostics.len(),
                if diagnostics.len() == 1 { "" } else { "s" }
            ));
            Ok(None)
        }
    }
}

fn diff(old: &Path, new: &Path, json: bool) -> anyhow::Result<Exit> {
    let (Some(old_bank), Some(new_bank)) = (read_valid(old)?, read_valid(new)?) else {
        return Ok(Exit::Invalid);
    };
    let changes = xcert_bank::diff(&old_bank, &new_bank);
    if json {
        print_json(&json!({
            "added": changes.added,
            "removed": changes.removed,
            "changed": changes.changed,
            "old_hash": old_bank.content_hash().to_hex(),
            "new_hash": new_bank.content_hash().to_hex(),
        }))?;
    } else {
        print_stdout(&format!(
            "{} -> {}: {} added, {} removed, {} changed",
            old_bank.header().version(),
            new_bank.header().version(),
            changes.added.len(),
            changes.removed.len(),
            changes.changed.len()
        ));
        for (sign, ids) in [
            ("+", &changes.added),
            ("-", &changes.removed),
            ("~", &changes.changed),
        ] {
            for id in ids {
                print_stdout(&format!("{sign} {id}"));
            }
        }
    }
    Ok(Exit::Success)
}

fn row_json(row: &StatsRow, title: Option<&str>) -> Value {
    let cells: serde_json::Map<String, Value> = ItemType::ALL
        .iter()
        .enumerate()
        .map(|(t, kind)| {
            let bands: serde_json::Map<String, Value> = DifficultyBand::ALL
                .iter()
                .enumerate()
                .map(|(b, band)| (band.as_str().to_owned(), json!(row.counts[t][b])))
                .collect();
            (kind.as_str().to_owned(), Value::Object(bands))
        })
        .collect();
    let by_type: serde_json::Map<String, Value> = ItemType::ALL
        .iter()
        .map(|kind| (kind.as_str().to_owned(), json!(row.by_type(*kind))))
        .collect();
    let by_band: serde_json::Map<String, Value> = DifficultyBand::ALL
        .iter()
        .map(|band| (band.as_str().to_owned(), json!(row.by_band(*band))))
        .collect();
    json!({
        "knowledge_point": row.knowledge_point,
        "title": title,
        "items": row.total(),
        "points": row.points.as_f64(),
        "by_type": by_type,
        "by_band": by_band,
        "cells": cells,
    })
}

/// Short column heads for the eight types, so the table fits a terminal.
const TYPE_HEADS: [&str; 8] = [
    "single", "multi", "t/f", "blank", "num", "short", "essay", "pract",
];

fn stats(path: &Path, json: bool) -> anyhow::Result<Exit> {
    let Some(bank) = read_valid(path)? else {
        return Ok(Exit::Invalid);
    };
    let stats = BankStats::of(&bank);
    let header = bank.header();
    if json {
        print_json(&json!({
            "certificate": header.certificate(),
            "level": header.level().as_str(),
            "version": header.version(),
            "hash": bank.content_hash().to_hex(),
            "items": stats.total.total(),
            "points": stats.total.points.as_f64(),
            "mean_difficulty": f64::from(stats.mean_difficulty_milli) / 1000.0,
            "bands": {"easy": "p >= 0.7", "medium": "0.4 <= p < 0.7", "hard": "p < 0.4"},
            "knowledge_points": stats.rows.iter().map(|row| {
                let title = row.knowledge_point.as_deref()
                    .and_then(|id| bank.knowledge_point(id)).map(|kp| kp.title());
                row_json(row, title)
            }).collect::<Vec<_>>(),
            "total": row_json(&stats.total, None),
        }))?;
        return Ok(Exit::Success);
    }
    print_stdout(&format!(
        "{} {} version {} — {} items, {} points, mean difficulty {:.3}",
        header.certificate(),
        header.level(),
        header.version(),
        stats.total.total(),
        stats.total.points,
        f64::from(stats.mean_difficulty_milli) / 1000.0
    ));
    print_stdout("difficulty bands: easy p >= 0.7, medium 0.4 <= p < 0.7, hard p < 0.4");
    print_stdout("");
    let width = stats
        .rows
        .iter()
        .filter_map(|r| r.knowledge_point.as_deref())
        .map(|id| id.chars().count())
        .chain([16])
        .max()
        .unwrap_or(16);
    let mut head = format!("{:<width$}", "knowledge point");
    for name in TYPE_HEADS {
        head.push_str(&format!(" {name:>6}"));
    }
    head.push_str(" |   easy medium   hard |  items  points");
    print_stdout(&head);
    print_stdout(&"-".repeat(head.chars().count()));
    let line = |label: &str, row: &StatsRow| {
        let mut text = format!("{label:<width$}");
        for kind in ItemType::ALL {
            text.push_str(&format!(" {:>6}", row.by_type(kind)));
        }
        text.push_str(" |");
        for band in DifficultyBand::ALL {
            text.push_str(&format!(" {:>6}", row.by_band(band)));
        }
        text.push_str(&format!(
            " | {:>6} {:>7}",
            row.total(),
            row.points.to_string()
        ));
        text
    };
    for row in &stats.rows {
        print_stdout(&line(
            row.knowledge_point.as_deref().unwrap_or("(none)"),
            row,
        ));
    }
    print_stdout(&"-".repeat(head.chars().count()));
    print_stdout(&line("total", &stats.total));
    print_stdout("");
    print_stdout("type x band (all knowledge points):");
    let mut head = format!("{:<13}", "type");
    for band in DifficultyBand::ALL {
        head.push_str(&format!(" {:>6}", band.as_str()));
    }
    print_stdout(&head);
    for (t, kind) in ItemType::ALL.iter().enumerate() {
        let mut text = format!("{:<13}", kind.as_str());
        for b in 0..DifficultyBand::ALL.len() {
            text.push_str(&format!(" {:>6}", stats.total.counts[t][b]));
        }
        print_stdout(&text);
    }
    Ok(Exit::Success)
}
