//! The sample blueprints in `question-banks/` against the sample banks beside them: each
//! must be feasible, draw reproducibly, and survive a 1,000-paper sitting within its
//! exposure cap and fairness tolerance (what the contract smoke test runs).

use std::fs;
use std::path::{Path, PathBuf};

use xcert_assembly::{Blueprint, Plan, Pool, Seed, draw, draw_sitting};
use xcert_bank::{Bank, BankSource};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .expect("readable directory")
        .map(|entry| entry.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Reads a bank as `xcert bank validate` does: a file, or a directory of `*.toml`, plus
/// the `media/` folder beside the file or inside the directory.
fn load_bank(path: &Path) -> Bank {
    let mut source = BankSource::new();
    let media_dir = if path.is_dir() {
        let mut files = Vec::new();
        collect(path, &mut files);
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "toml"))
        {
            source.add_file(
                file.display().to_string(),
                fs::read(file).expect("bank file"),
            );
        }
        path.join("media")
    } else {
        source.add_file(
            path.display().to_string(),
            fs::read(path).expect("bank file"),
        );
        path.parent().expect("parent").join("media")
    };
    if media_dir.is_dir() {
        let mut files = Vec::new();
        collect(&media_dir, &mut files);
        for file in files {
            let name = file
                .strip_prefix(&media_dir)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            source.add_media(format!("media/{name}"), fs::read(&file).expect("media"));
        }
    }
    Bank::parse(&source).unwrap_or_else(|errors| {
        panic!(
            "{} is invalid: {:?}",
            path.display(),
            &errors[..errors.len().min(3)]
        )
    })
}

fn check(bank_path: &str, blueprint_path: &str) {
    let root = repository();
    let bank_path = root.join(bank_path);
    let blueprint_path = root.join(blueprint_path);
    if !bank_path.exists() || !blueprint_path.exists() {
        panic!(
            "missing sample: {} or {}",
            bank_path.display(),
            blueprint_path.display()
        );
    }
    let bank = load_bank(&bank_path);
    let pool = Pool::from_bank(&bank).expect("pool");
    let text = fs::read_to_string(&blueprint_path).expect("blueprint");
    assert!(
        !text.contains("[bank]"),
        "the contract smoke test would take the blueprint for a bank"
    );
    let blueprint = Blueprint::parse(&text).unwrap_or_else(|errors| panic!("{errors:?}"));
    let plan = Plan::new(&pool, &blueprint).unwrap_or_else(|error| panic!("{error}"));
    let report = plan.feasibility();
    assert!(report.is_feasible(), "{}", report.problems_text());
    let seed = Seed::from_bytes([0x11; 32]);
    let paper = draw(&plan, &seed).expect("draw");
    assert_eq!(paper, draw(&plan, &seed).expect("draw again"));
    assert_eq!(paper.total_points(), blueprint.total_points());
    let candidates: Vec<String> = (1..=1000).map(|i| format!("C{i:06}")).collect();
    let (target, tolerance) = (plan.fairness_target(), plan.fairness_tolerance());
    let sitting = draw_sitting(
        &plan,
        &Seed::from_bytes([0x22; 32]),
        &candidates,
        |_, paper| {
            assert!((paper.expected_score() - target).abs() <= tolerance + 1e-9);
        },
    )
    .expect("a 1000-paper sitting");
    assert!(sitting.max_exposure <= blueprint.max_exposure());
}

#[test]
fn the_web_front_end_blueprint_fits_the_2025_bank() {
    check(
        "question-banks/web-fe-junior/2025.1",
        "question-banks/web-fe-junior/blueprint-junior.toml",
    );
}

#[test]
fn the_web_front_end_blueprint_fits_the_2026_bank() {
    check(
        "question-banks/web-fe-junior/2026.1",
        "question-banks/web-fe-junior/blueprint-junior.toml",
    );
}

#[test]
fn the_cloud_operations_blueprint_fits_its_bank() {
    check(
        "question-banks/cloud-ops-intermediate/cloud-ops-2025.1.toml",
        "question-banks/cloud-ops-intermediate/blueprint-intermediate.toml",
    );
}
