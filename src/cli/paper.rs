//! `xcert paper draw|simulate|sitting|verify` and `xcert blueprint check`: the shell around
//! `xcert-assembly`. Reads files, prints results, maps outcomes to CONTRACT exit codes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use xcert_assembly::{
    AssemblyError, Blueprint, FeasibilityReport, Paper, Plan, Pool, Seed, SittingReport,
    format_points,
};

use super::{Exit, print_json, print_stderr, print_stdout};

#[derive(Debug, Subcommand)]
pub(crate) enum PaperCommand {
    /// Draw one paper from a bank and a blueprint, deterministically from a seed.
    Draw {
        #[command(flatten)]
        inputs: Inputs,
        /// Paper seed: 64 hex digits (32 bytes).
        #[arg(long)]
        seed: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Draw a whole sitting of N papers with the exposure cap and report its statistics.
    Simulate {
        #[command(flatten)]
        inputs: Inputs,
        /// Number of papers (candidates `C000001`, `C000002`, ...).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        papers: u32,
        /// Sitting secret: 64 hex digits; candidate c's paper seed is
        /// HMAC-SHA256(secret, "paper" || 0x00 || c).
        #[arg(long)]
        seed: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Re-derive every paper of a sitting as the server drew it: the first candidate list
    /// under the exposure cap, then the latecomers in the order they were drawn.
    Sitting {
        #[command(flatten)]
        inputs: Inputs,
        /// The sitting's secret: 64 hex digits (from the sitting's draw record).
        #[arg(long)]
        secret: String,
        /// The candidates of the first draw in draw order (the server's: registration ids
        /// sorted ascending): one id a line, or a JSON array of strings.
        #[arg(long)]
        candidates: PathBuf,
        /// Candidates drawn after the first draw, in the order they were drawn (same forms).
        #[arg(long)]
        latecomers: Option<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Re-derive a paper from bank, blueprint and seed and compare it with a stored one.
    Verify {
        #[command(flatten)]
        inputs: Inputs,
        /// The paper seed.
        #[arg(long)]
        seed: String,
        /// The stored paper: what `xcert paper draw --json` printed.
        #[arg(long)]
        paper: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BlueprintCommand {
    /// Validate a blueprint against a bank and report whether it can be met.
    Check {
        #[command(flatten)]
        inputs: Inputs,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct Inputs {
    /// The bank: a `.toml` file or a directory holding `bank.toml`.
    #[arg(long)]
    bank: PathBuf,
    /// The blueprint `.toml` file.
    #[arg(long)]
    blueprint: PathBuf,
}

pub(crate) fn run(command: PaperCommand) -> anyhow::Result<Exit> {
    match command {
        PaperCommand::Draw { inputs, seed, json } => draw(&inputs, &seed, json),
        PaperCommand::Simulate {
            inputs,
            papers,
            seed,
            json,
        } => simulate(&inputs, papers, &seed, json),
        PaperCommand::Sitting {
            inputs,
            secret,
            candidates,
            latecomers,
            json,
        } => sitting(&inputs, &secret, &candidates, latecomers.as_deref(), json),
        PaperCommand::Verify {
            inputs,
            seed,
            paper,
            json,
        } => verify(&inputs, &seed, &paper, json),
    }
}

pub(crate) fn run_blueprint(command: BlueprintCommand) -> anyhow::Result<Exit> {
    match command {
        BlueprintCommand::Check { inputs, json } => check(&inputs, json),
    }
}

/// A failure that ends the command with an exit code after its message was printed.
struct Stop(Exit);

#[derive(Serialize)]
struct ErrorJson<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
    errors: Vec<String>,
}

/// Prints a failure: lines on stderr, and with `--json` one error document on stdout.
fn fail(
    json: bool,
    exit: Exit,
    code: &str,
    message: &str,
    errors: Vec<String>,
) -> anyhow::Result<Stop> {
    print_stderr(&format!("error: {message}"));
    for line in &errors {
        print_stderr(&format!("  {line}"));
    }
    if json {
        print_json(&ErrorJson {
            error: ErrorBody {
                code,
                message: message.to_owned(),
                errors,
            },
        })?;
    }
    Ok(Stop(exit))
}

fn parse_seed(text: &str, json: bool) -> anyhow::Result<Result<Seed, Stop>> {
    match Seed::parse_hex(text) {
        Ok(seed) => Ok(Ok(seed)),
        Err(error) => Ok(Err(fail(
            json,
            Exit::Invalid,
            "invalid_seed",
            &error.to_string(),
            Vec::new(),
        )?)),
    }
}

/// Reads and validates both inputs.
fn load(inputs: &Inputs, json: bool) -> anyhow::Result<Result<(Pool, Blueprint), Stop>> {
    let text = std::fs::read_to_string(&inputs.blueprint)
        .with_context(|| format!("cannot read {}", inputs.blueprint.display()))?;
    let blueprint = match Blueprint::parse(&text) {
        Ok(blueprint) => blueprint,
        Err(diagnostics) => {
            let file = inputs.blueprint.display().to_string();
            let errors = diagnostics.iter().map(|d| format!("{file}:{d}")).collect();
            return Ok(Err(fail(
                json,
                Exit::Invalid,
                "invalid_blueprint",
                "the blueprint is invalid",
                errors,
            )?));
        }
    };
    let bank = match super::bank::read_bank(&inputs.bank)? {
        Ok(bank) => bank,
        Err(diagnostics) => {
            let errors = diagnostics.iter().map(ToString::to_string).collect();
            return Ok(Err(fail(
                json,
                Exit::Invalid,
                "invalid_bank",
                "the bank is invalid",
                errors,
            )?));
        }
    };
    match Pool::from_bank(&bank) {
        Ok(pool) => Ok(Ok((pool, blueprint))),
        Err(error) => Ok(Err(fail(
            json,
            Exit::Invalid,
            "invalid_bank",
            &error.to_string(),
            Vec::new(),
        )?)),
    }
}

/// Compiles the plan; a blueprint naming what the bank lacks is exit 1.
fn plan<'a>(
    inputs: &Inputs,
    pool: &'a Pool,
    blueprint: &'a Blueprint,
    json: bool,
) -> anyhow::Result<Result<Plan<'a>, Stop>> {
    match Plan::new(pool, blueprint) {
        Ok(plan) => Ok(Ok(plan)),
        Err(AssemblyError::InvalidBlueprint(diagnostics)) => {
            let file = inputs.blueprint.display().to_string();
            let errors = diagnostics.iter().map(|d| format!("{file}:{d}")).collect();
            Ok(Err(fail(
                json,
                Exit::Invalid,
                "invalid_blueprint",
                "the blueprint does not fit this bank",
                errors,
            )?))
        }
        Err(error) => Ok(Err(fail(
            json,
            Exit::Invalid,
            "invalid_blueprint",
            &error.to_string(),
            Vec::new(),
        )?)),
    }
}

/// Runs the feasibility analysis; an infeasible blueprint is exit 3. A single paper does
/// not care about the exposure cap, so `paper draw` passes `sitting = false`.
fn require_feasible(
    plan: &Plan<'_>,
    sitting: bool,
    json: bool,
) -> anyhow::Result<Result<(), Stop>> {
    let report = plan.feasibility();
    let blocking: Vec<_> = report
        .problems
        .iter()
        .filter(|p| sitting || p.kind != xcert_assembly::ProblemKind::Exposure)
        .collect();
    if blocking.is_empty() {
        return Ok(Ok(()));
    }
    let errors = blocking.iter().map(|p| p.message.clone()).collect();
    Ok(Err(fail(
        json,
        Exit::Infeasible,
        "infeasible",
        "the blueprint cannot be met by this bank (see `xcert blueprint check`)",
        errors,
    )?))
}

fn draw_failure(error: &AssemblyError, json: bool) -> anyhow::Result<Stop> {
    let exit = match error {
        AssemblyError::DrawFailed(_) | AssemblyError::Infeasible(_) => Exit::Infeasible,
        _ => Exit::Invalid,
    };
    fail(json, exit, "draw_failed", &error.to_string(), Vec::new())
}

macro_rules! attempt {
    ($step:expr) => {
        match $step? {
            Ok(value) => value,
            Err(Stop(exit)) => return Ok(exit),
        }
    };
}

/// Points as JSON: an integer when whole, else a decimal (hundredths are exact in f64 text).
fn points_json(hundredths: u32) -> serde_json::Value {
    if hundredths % 100 == 0 {
        serde_json::Value::from(hundredths / 100)
    } else {
        serde_json::Value::from(f64::from(hundredths) / 100.0)
    }
}

/// Rounds to 6 decimals so printed figures are short and stable.
fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

#[derive(Debug, Serialize)]
struct PaperJson {
    bank_hash: String,
    blueprint_hash: String,
    seed: String,
    total_points: serde_json::Value,
    expected_score: f64,
    mean_difficulty: f64,
    items: Vec<PaperItemJson>,
}

#[derive(Debug, Serialize)]
struct PaperItemJson {
    id: String,
    section: String,
    points: serde_json::Value,
    option_order: Vec<String>,
}

fn paper_json(plan: &Plan<'_>, seed: &Seed, paper: &Paper) -> PaperJson {
    let pool = plan.pool();
    let sections = plan.blueprint().sections();
    PaperJson {
        bank_hash: pool.content_hash().to_owned(),
        blueprint_hash: plan.blueprint().hash_hex(),
        seed: seed.to_string(),
        total_points: points_json(paper.total_points()),
        expected_score: round6(paper.expected_score()),
        mean_difficulty: round6(paper.mean_difficulty()),
        items: paper
            .items()
            .iter()
            .map(|entry| {
                let item = &pool.items()[entry.item() as usize];
                PaperItemJson {
                    id: item.id().to_owned(),
                    section: sections[usize::from(entry.section())].id.clone(),
                    points: points_json(entry.points()),
                    option_order: paper
                        .option_order(entry)
                        .iter()
                        .map(|&index| item.options()[usize::from(index)].clone())
                        .collect(),
                }
            })
            .collect(),
    }
}

fn draw(inputs: &Inputs, seed: &str, json: bool) -> anyhow::Result<Exit> {
    let seed = attempt!(parse_seed(seed, json));
    let (pool, blueprint) = attempt!(load(inputs, json));
    let plan = attempt!(plan(inputs, &pool, &blueprint, json));
    attempt!(require_feasible(&plan, false, json));
    let paper = match xcert_assembly::draw(&plan, &seed) {
        Ok(paper) => paper,
        Err(error) => return Ok(draw_failure(&error, json)?.0),
    };
    let document = paper_json(&plan, &seed, &paper);
    if json {
        print_json(&document)?;
    } else {
        print_stdout(&human_paper(&plan, &paper, &document));
    }
    Ok(Exit::Success)
}

fn human_paper(plan: &Plan<'_>, paper: &Paper, document: &PaperJson) -> String {
    let blueprint = plan.blueprint();
    let pool = plan.pool();
    let mut out = String::new();
    let _ = writeln!(out, "{}", blueprint.title());
    let _ = writeln!(out, "seed       {}", document.seed);
    let _ = writeln!(out, "bank       {}", document.bank_hash);
    let _ = writeln!(out, "blueprint  {}", document.blueprint_hash);
    let _ = writeln!(
        out,
        "{} items, {} points, {} minutes, pass at {}; expected score {:.2}, mean difficulty (p) {:.3}; fairness target {:.3} ± {:.3} ({})",
        paper.items().len(),
        format_points(paper.total_points()),
        blueprint.duration_minutes(),
        format_points(blueprint.pass_score()),
        paper.expected_score(),
        paper.mean_difficulty(),
        plan.fairness_target(),
        plan.fairness_tolerance(),
        blueprint.fairness().measure.as_str()
    );
    let mut current = None;
    for (number, (entry, item_json)) in paper.items().iter().zip(&document.items).enumerate() {
        if current != Some(entry.section()) {
            current = Some(entry.section());
            let section = &blueprint.sections()[usize::from(entry.section())];
            let _ = writeln!(out, "\n{} [{}]", section.title, section.id);
        }
        let item = &pool.items()[entry.item() as usize];
        let _ = writeln!(
            out,
            "{:>4}. {:<18} {:<12} {:>5} pt  p={:.2}  {}",
            number + 1,
            item.id(),
            item.item_type().as_str(),
            format_points(entry.points()),
            item.difficulty(),
            if item_json.option_order.is_empty() {
                String::new()
            } else {
                format!("options {}", item_json.option_order.join(" "))
            }
        );
    }
    out.trim_end().to_owned()
}

#[derive(Debug, Serialize)]
struct SpreadJson {
    min: f64,
    max: f64,
    mean: f64,
    sd: f64,
}

impl From<xcert_assembly::Spread> for SpreadJson {
    fn from(spread: xcert_assembly::Spread) -> SpreadJson {
        SpreadJson {
            min: round6(spread.min),
            max: round6(spread.max),
            mean: round6(spread.mean),
            sd: round6(spread.sd),
        }
    }
}

#[derive(Debug, Serialize)]
struct AnalyticJson {
    expected_score_sd: f64,
    mean_difficulty_sd: f64,
}

#[derive(Debug, Serialize)]
struct FairnessTargetJson {
    measure: &'static str,
    target: f64,
    tolerance: f64,
}

#[derive(Debug, Serialize)]
struct SimulateJson {
    papers: usize,
    mean_difficulty: SpreadJson,
    max_exposure: f64,
    items_used: usize,
    expected_score: SpreadJson,
    analytic_unconstrained: AnalyticJson,
    fairness: FairnessTargetJson,
    exposure_limit: u32,
    exposure_histogram: Vec<u32>,
    repaired_papers: usize,
}

fn simulate(inputs: &Inputs, papers: u32, seed: &str, json: bool) -> anyhow::Result<Exit> {
    let secret = attempt!(parse_seed(seed, json));
    let (pool, blueprint) = attempt!(load(inputs, json));
    let plan = attempt!(plan(inputs, &pool, &blueprint, json));
    attempt!(require_feasible(&plan, true, json));
    let width = papers.to_string().len().max(6);
    let candidates: Vec<String> = (1..=papers).map(|i| format!("C{i:0width$}")).collect();
    let report = match xcert_assembly::draw_sitting(&plan, &secret, &candidates, |_, _| {}) {
        Ok(report) => report,
        Err(error) => return Ok(draw_failure(&error, json)?.0),
    };
    let document = simulate_json(&plan, &report);
    if json {
        print_json(&document)?;
    } else {
        print_stdout(&human_simulation(&plan, &document));
    }
    Ok(Exit::Success)
}

fn simulate_json(plan: &Plan<'_>, report: &SittingReport) -> SimulateJson {
    SimulateJson {
        papers: report.papers,
        mean_difficulty: report.mean_difficulty.into(),
        max_exposure: round6(report.max_exposure),
        items_used: report.items_used,
        expected_score: report.expected_score.into(),
        analytic_unconstrained: AnalyticJson {
            expected_score_sd: round6(report.analytic_expected_score_sd),
            mean_difficulty_sd: round6(report.analytic_mean_difficulty_sd),
        },
        fairness: FairnessTargetJson {
            measure: plan.blueprint().fairness().measure.as_str(),
            target: round6(plan.fairness_target()),
            tolerance: round6(plan.fairness_tolerance()),
        },
        exposure_limit: report.exposure_limit,
        exposure_histogram: report.exposure_histogram.clone(),
        repaired_papers: report.repaired_papers,
    }
}

fn human_simulation(plan: &Plan<'_>, d: &SimulateJson) -> String {
    let cap = plan.blueprint().max_exposure();
    let mut out = String::new();
    let _ = writeln!(out, "{} papers ({} items each)", d.papers, plan.slots());
    let _ = writeln!(
        out,
        "expected score   min {:.3}  max {:.3}  mean {:.3}  sd {:.3}   (unconstrained in-cell sampling: sd {:.3})",
        d.expected_score.min,
        d.expected_score.max,
        d.expected_score.mean,
        d.expected_score.sd,
        d.analytic_unconstrained.expected_score_sd
    );
    let _ = writeln!(
        out,
        "mean difficulty  min {:.4}  max {:.4}  mean {:.4}  sd {:.4}   (unconstrained: sd {:.4})",
        d.mean_difficulty.min,
        d.mean_difficulty.max,
        d.mean_difficulty.mean,
        d.mean_difficulty.sd,
        d.analytic_unconstrained.mean_difficulty_sd
    );
    let _ = writeln!(
        out,
        "fairness         {} target {:.4} ± {:.4}; {} papers needed swaps",
        d.fairness.measure, d.fairness.target, d.fairness.tolerance, d.repaired_papers
    );
    let _ = writeln!(
        out,
        "exposure         max {:.4} (cap {cap}, at most {} papers per item); {} items used",
        d.max_exposure, d.exposure_limit, d.items_used
    );
    let _ = writeln!(out, "items by exposure rate:");
    for (bin, count) in d.exposure_histogram.iter().enumerate() {
        let low = cap * bin as f64 / 10.0;
        let high = cap * (bin + 1) as f64 / 10.0;
        let _ = writeln!(
            out,
            "  {low:.3}–{high:.3}  {count:>6}  {}",
            "#".repeat((*count as usize).min(60))
        );
    }
    out.trim_end().to_owned()
}

#[derive(Debug, Serialize)]
struct VerifyJson {
    identical: bool,
    differences: Vec<String>,
}

/// Reads a candidate list: a JSON array of strings, or one id a line (blank lines skipped).
fn read_candidates(path: &Path) -> anyhow::Result<Result<Vec<String>, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if text.trim_start().starts_with('[') {
        return Ok(serde_json::from_str::<Vec<String>>(&text)
            .map_err(|error| format!("{}: not a JSON array of ids: {error}", path.display())));
    }
    Ok(Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()))
}

#[derive(Debug, Serialize)]
struct SittingJson {
    bank_hash: String,
    blueprint_hash: String,
    papers: usize,
    first_papers: usize,
    latecomers: usize,
    exposure_limit: u32,
    max_exposure: f64,
    candidates: Vec<SittingPaperJson>,
}

#[derive(Debug, Serialize)]
struct SittingPaperJson {
    id: String,
    latecomer: bool,
    seed: String,
    total_points: serde_json::Value,
    items: Vec<PaperItemJson>,
}

fn sitting(
    inputs: &Inputs,
    secret: &str,
    candidates_path: &Path,
    latecomers_path: Option<&Path>,
    json: bool,
) -> anyhow::Result<Exit> {
    let secret = attempt!(parse_seed(secret, json));
    let mut lists = Vec::new();
    for path in std::iter::once(candidates_path).chain(latecomers_path) {
        match read_candidates(path)? {
            Ok(list) => lists.push(list),
            Err(message) => {
                return Ok(fail(
                    json,
                    Exit::Invalid,
                    "invalid_candidates",
                    &message,
                    Vec::new(),
                )?
                .0);
            }
        }
    }
    let latecomers = if lists.len() > 1 {
        lists.pop().unwrap_or_default()
    } else {
        Vec::new()
    };
    let first = lists.pop().unwrap_or_default();
    let (pool, blueprint) = attempt!(load(inputs, json));
    let plan = attempt!(plan(inputs, &pool, &blueprint, json));
    attempt!(require_feasible(&plan, true, json));
    let mut papers = Vec::with_capacity(first.len() + latecomers.len());
    let entry = |id: &str, latecomer: bool, paper: &Paper| {
        let seed = secret.paper_seed(id);
        let document = paper_json(&plan, &seed, paper);
        SittingPaperJson {
            id: id.to_owned(),
            latecomer,
            seed: document.seed,
            total_points: document.total_points,
            items: document.items,
        }
    };
    let report = match xcert_assembly::draw_sitting_relaxed(&plan, &secret, &first, |id, paper| {
        papers.push(entry(id, false, paper));
    }) {
        Ok(report) => report,
        Err(error) => return Ok(draw_failure(&error, json)?.0),
    };
    let mut counts = report.exposure_counts;
    let mut limit = report.exposure_limit;
    for (index, id) in latecomers.iter().enumerate() {
        match xcert_assembly::draw_latecomer(
            &plan,
            &secret,
            &mut counts,
            first.len() + index,
            limit,
            id,
        ) {
            Ok((paper, used)) => {
                limit = used;
                papers.push(entry(id, true, &paper));
            }
            Err(error) => return Ok(draw_failure(&error, json)?.0),
        }
    }
    let total = papers.len();
    let most = counts.iter().copied().max().unwrap_or(0);
    let document = SittingJson {
        bank_hash: pool.content_hash().to_owned(),
        blueprint_hash: blueprint.hash_hex(),
        papers: total,
        first_papers: first.len(),
        latecomers: latecomers.len(),
        exposure_limit: limit,
        max_exposure: if total > 0 {
            round6(f64::from(most) / total as f64)
        } else {
            0.0
        },
        candidates: papers,
    };
    if json {
        print_json(&document)?;
    } else {
        let mut out = String::new();
        let _ = writeln!(out, "bank       {}", document.bank_hash);
        let _ = writeln!(out, "blueprint  {}", document.blueprint_hash);
        let _ = writeln!(
            out,
            "{} papers ({} in the first draw, {} latecomers); no item in more than {} (max exposure {:.4})",
            document.papers,
            document.first_papers,
            document.latecomers,
            document.exposure_limit,
            document.max_exposure
        );
        for paper in &document.candidates {
            let items: Vec<&str> = paper.items.iter().map(|item| item.id.as_str()).collect();
            let _ = writeln!(
                out,
                "{}{}  {}",
                paper.id,
                if paper.latecomer { " (latecomer)" } else { "" },
                items.join(" ")
            );
        }
        print_stdout(out.trim_end());
    }
    Ok(Exit::Success)
}

fn verify(inputs: &Inputs, seed: &str, paper_path: &Path, json: bool) -> anyhow::Result<Exit> {
    let seed = attempt!(parse_seed(seed, json));
    let stored_text = std::fs::read_to_string(paper_path)
        .with_context(|| format!("cannot read {}", paper_path.display()))?;
    let stored: serde_json::Value = match serde_json::from_str(&stored_text) {
        Ok(value) => value,
        Err(error) => {
            return Ok(fail(
                json,
                Exit::Invalid,
                "invalid_paper",
                &format!(
                    "{}: not a paper JSON document: {error}",
                    paper_path.display()
                ),
                Vec::new(),
            )?
            .0);
        }
    };
    let (pool, blueprint) = attempt!(load(inputs, json));
    let plan = attempt!(plan(inputs, &pool, &blueprint, json));
    let paper = match xcert_assembly::draw(&plan, &seed) {
        Ok(paper) => paper,
        Err(error) => return Ok(draw_failure(&error, json)?.0),
    };
    let derived = serde_json::to_value(paper_json(&plan, &seed, &paper))?;
    let differences = compare(&stored, &derived);
    let identical = differences.is_empty();
    if json {
        print_json(&VerifyJson {
            identical,
            differences,
        })?;
    } else if identical {
        print_stdout(&format!(
            "identical: {} re-derives from this bank, blueprint and seed ({} items)",
            paper_path.display(),
            paper.items().len()
        ));
    } else {
        print_stdout(&format!(
            "DIFFERENT: {} does not match the re-derived paper:",
            paper_path.display()
        ));
        for line in &differences {
            print_stdout(&format!("  {line}"));
        }
    }
    Ok(if identical {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

/// The first differences between a stored and a re-derived paper (at most 20), on the
/// contract's keys.
fn compare(stored: &serde_json::Value, derived: &serde_json::Value) -> Vec<String> {
    const LIMIT: usize = 20;
    let mut out = Vec::new();
    for key in ["bank_hash", "blueprint_hash", "seed", "total_points"] {
        if stored.get(key) != derived.get(key) {
            let hint = match key {
                "bank_hash" => " (drawn from another bank version)",
                "blueprint_hash" => " (drawn from another blueprint)",
                _ => "",
            };
            out.push(format!(
                "{key}: stored {}, re-derived {}{hint}",
                show(stored.get(key)),
                show(derived.get(key))
            ));
        }
    }
    let empty = Vec::new();
    let stored_items = stored
        .get("items")
        .and_then(serde_json::Value::as_array)
        .unwrap_or(&empty);
    let derived_items = derived
        .get("items")
        .and_then(serde_json::Value::as_array)
        .unwrap_or(&empty);
    if stored_items.len() != derived_items.len() {
        out.push(format!(
            "items: stored {} items, re-derived {}",
            stored_items.len(),
            derived_items.len()
        ));
    }
    for (index, (a, b)) in stored_items.iter().zip(derived_items).enumerate() {
        for key in ["id", "section", "points", "option_order"] {
            if a.get(key) != b.get(key) {
                out.push(format!(
                    "items[{index}].{key}: stored {}, re-derived {}",
                    show(a.get(key)),
                    show(b.get(key))
                ));
            }
        }
        if out.len() >= LIMIT {
            break;
        }
    }
    out.truncate(LIMIT);
    out
}

fn show(value: Option<&serde_json::Value>) -> String {
    value.map_or_else(|| "(missing)".to_owned(), ToString::to_string)
}

#[derive(Debug, Serialize)]
struct CheckJson {
    feasible: bool,
    bank_hash: String,
    blueprint_hash: String,
    items_per_paper: u32,
    total_points: serde_json::Value,
    max_exposure: f64,
    rules: Vec<RuleJson>,
    fairness: FairnessJson,
    problems: Vec<ProblemJson>,
}

#[derive(Debug, Serialize)]
struct RuleJson {
    section: String,
    rule: u32,
    line: u32,
    description: String,
    count: u32,
    qualifying: u32,
    drawn_from: u32,
    needed_for_exposure: u32,
    enemy_pairs: u32,
    points: serde_json::Value,
}

#[derive(Debug, Serialize)]
struct FairnessJson {
    measure: &'static str,
    target: f64,
    tolerance: f64,
    min_possible: f64,
    max_possible: f64,
    analytic_mean: f64,
    analytic_sd: f64,
    share_within_tolerance: f64,
}

#[derive(Debug, Serialize)]
struct ProblemJson {
    kind: &'static str,
    rules: Vec<String>,
    lines: Vec<u32>,
    needed: f64,
    available: f64,
    message: String,
}

fn check_json(plan: &Plan<'_>, report: &FeasibilityReport) -> CheckJson {
    let f = &report.fairness;
    CheckJson {
        feasible: report.is_feasible(),
        bank_hash: plan.pool().content_hash().to_owned(),
        blueprint_hash: plan.blueprint().hash_hex(),
        items_per_paper: report.items_per_paper,
        total_points: points_json(plan.blueprint().total_points()),
        max_exposure: report.max_exposure,
        rules: report
            .rules
            .iter()
            .map(|rule| RuleJson {
                section: rule.section.clone(),
                rule: rule.rule,
                line: rule.line,
                description: rule.description.clone(),
                count: rule.count,
                qualifying: rule.qualifying,
                drawn_from: rule.drawn_from,
                needed_for_exposure: rule.needed_for_exposure,
                enemy_pairs: rule.enemy_pairs,
                points: points_json(rule.points),
            })
            .collect(),
        fairness: FairnessJson {
            measure: f.measure.as_str(),
            target: round6(f.target),
            tolerance: round6(f.tolerance),
            min_possible: round6(f.min_possible),
            max_possible: round6(f.max_possible),
            analytic_mean: round6(f.analytic_mean),
            analytic_sd: round6(f.analytic_sd),
            share_within_tolerance: round6(f.share_within_tolerance),
        },
        problems: report
            .problems
            .iter()
            .map(|p| ProblemJson {
                kind: p.kind.as_str(),
                rules: p.rules.clone(),
                lines: p.lines.clone(),
                needed: round6(p.needed),
                available: round6(p.available),
                message: p.message.clone(),
            })
            .collect(),
    }
}

fn check(inputs: &Inputs, json: bool) -> anyhow::Result<Exit> {
    let (pool, blueprint) = attempt!(load(inputs, json));
    let plan = attempt!(plan(inputs, &pool, &blueprint, json));
    let report = plan.feasibility();
    let document = check_json(&plan, &report);
    if json {
        print_json(&document)?;
    } else {
        print_stdout(&human_check(inputs, &document));
    }
    Ok(if report.is_feasible() {
        Exit::Success
    } else {
        Exit::Infeasible
    })
}

fn human_check(inputs: &Inputs, d: &CheckJson) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} against {}: {} items per paper, {} points, exposure cap {}",
        inputs.blueprint.display(),
        inputs.bank.display(),
        d.items_per_paper,
        d.total_points,
        d.max_exposure
    );
    let _ = writeln!(
        out,
        "\n{:<24} {:>5} {:>5} {:>10} {:>10} {:>8} {:>7}  rule",
        "section/rule", "line", "count", "qualifying", "drawn from", "for cap", "enemies"
    );
    for rule in &d.rules {
        let flag = if rule.qualifying < rule.count {
            "  <- too few"
        } else if rule.drawn_from < rule.needed_for_exposure {
            "  <- below exposure need"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<24} {:>5} {:>5} {:>10} {:>10} {:>8} {:>7}  {}{flag}",
            format!("{} #{}", rule.section, rule.rule),
            rule.line,
            rule.count,
            rule.qualifying,
            rule.drawn_from,
            rule.needed_for_exposure,
            rule.enemy_pairs,
            rule.description
        );
    }
    let f = &d.fairness;
    let _ = writeln!(
        out,
        "\nfairness: {} target {:.4} ± {:.4}; reachable {:.4}..{:.4}; unconstrained draws: mean {:.4}, sd {:.4}, {:.1}% within tolerance (the rest are repaired by swaps)",
        f.measure,
        f.target,
        f.tolerance,
        f.min_possible,
        f.max_possible,
        f.analytic_mean,
        f.analytic_sd,
        f.share_within_tolerance * 100.0
    );
    if d.problems.is_empty() {
        let _ = writeln!(out, "\nfeasible");
    } else {
        let _ = writeln!(out, "\nINFEASIBLE:");
        for problem in &d.problems {
            let _ = writeln!(out, "  {}: {}", problem.kind, problem.message);
        }
    }
    out.trim_end().to_owned()
}
