//! Behaviour of drawing, sittings and feasibility through the public API.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use xcert_assembly::synthetic::SyntheticBank;
use xcert_assembly::{
    AssemblyError, Blueprint, ItemSpec, ItemType, Paper, Plan, Pool, ProblemKind, Seed, draw,
    draw_latecomer, draw_sitting, draw_sitting_relaxed, exposure_limit,
};

fn seed(n: u64) -> Seed {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    Seed::from_bytes(bytes)
}

fn item(id: &str, kp: &str, kind: ItemType, p: f64, points: u32) -> ItemSpec {
    let options = match kind {
        ItemType::Single | ItemType::Multiple => ["A", "B", "C", "D"]
            .iter()
            .map(|o| (*o).to_owned())
            .collect(),
        _ => Vec::new(),
    };
    ItemSpec {
        id: id.to_owned(),
        knowledge_point: Some(kp.to_owned()),
        item_type: kind,
        difficulty: p,
        points_hundredths: points,
        enemies: Vec::new(),
        options,
        shuffle_options: true,
    }
}

/// Checks every invariant a drawn paper must satisfy against its plan's blueprint.
fn assert_paper_satisfies(pool: &Pool, blueprint: &Blueprint, paper: &Paper) {
    let mut seen = HashSet::new();
    let ids: HashSet<u32> = paper.items().iter().map(|item| item.item()).collect();
    assert_eq!(ids.len(), paper.items().len(), "an item appears twice");
    for paper_item in paper.items() {
        assert!(seen.insert(paper_item.item()));
        let item = &pool.items()[paper_item.item() as usize];
        for enemy in item.enemies() {
            assert!(
                !ids.contains(enemy),
                "{} and an enemy share a paper",
                item.id()
            );
        }
        let order = paper.option_order(paper_item);
        assert_eq!(order.len(), item.options().len());
        let mut sorted = order.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..item.options().len() as u8).collect::<Vec<_>>());
        if !item.shuffle_options() {
            assert_eq!(order, sorted.as_slice());
        }
    }
    // Per section: the items can be matched to the rules (each rule gets `count` items that
    // satisfy its filters); checked greedily rule by rule, which is exact when rules of a
    // section do not overlap, as in these tests.
    for (section_index, section) in blueprint.sections().iter().enumerate() {
        let mut left: Vec<u32> = paper
            .items()
            .iter()
            .filter(|item| usize::from(item.section()) == section_index)
            .map(|item| item.item())
            .collect();
        let expected: u32 = section.rules.iter().map(|rule| rule.count).sum();
        assert_eq!(left.len() as u32, expected, "section {}", section.id);
        for rule in &section.rules {
            for _ in 0..rule.count {
                let at = left
                    .iter()
                    .position(|&index| {
                        let item = &pool.items()[index as usize];
                        rule.item_type.is_none_or(|kind| kind == item.item_type())
                            && rule
                                .difficulty
                                .as_ref()
                                .is_none_or(|range| range.contains(item.difficulty()))
                            && rule.knowledge_point.as_ref().is_none_or(|pattern| {
                                item.knowledge_point().is_some_and(|kp| {
                                    xcert_assembly::glob_matches(
                                        pattern,
                                        &pool.knowledge_points()[kp as usize],
                                    )
                                })
                            })
                    })
                    .unwrap_or_else(|| panic!("no item for rule {}", rule.describe()));
                left.swap_remove(at);
            }
        }
    }
    assert_eq!(paper.total_points(), blueprint.total_points());
}

fn small_pool(items: u32, enemy_every: u32) -> Pool {
    let specs = (0..items)
        .map(|i| {
            let kind = if i % 3 == 2 {
                ItemType::TrueFalse
            } else {
                ItemType::Single
            };
            let mut spec = item(
                &format!("I{i:04}"),
                if i % 2 == 0 { "html.a" } else { "css.b" },
                kind,
                0.1 + 0.8 * f64::from((i * 37) % 101) / 101.0,
                100,
            );
            if enemy_every > 0 && i % enemy_every == 0 && i + 2 < items {
                spec.enemies.push(format!("I{:04}", i + 2));
            }
            spec.shuffle_options = i % 5 != 0;
            spec
        })
        .collect();
    Pool::new(
        vec!["html.a".to_owned(), "css.b".to_owned()],
        specs,
        "hash".to_owned(),
    )
    .expect("valid pool")
}

fn blueprint(singles_html: u32, singles_css: u32, tf: u32, tolerance: f64) -> Blueprint {
    let total = singles_html + singles_css + tf;
    Blueprint::parse(&format!(
        r#"format = 1
title = "T"
duration_minutes = 60
total_points = {total}
pass_score = 1
[fairness]
tolerance = {tolerance}
[[section]]
id = "a"
title = "A"
[[section.rule]]
knowledge_point = "html.*"
type = "single"
count = {singles_html}
[[section.rule]]
knowledge_point = "css.*"
type = "single"
count = {singles_css}
[[section]]
id = "b"
title = "B"
shuffle_items = false
[[section.rule]]
type = "true_false"
count = {tf}
"#
    ))
    .expect("valid blueprint")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_paper_satisfies_its_blueprint(
        items in 60u32..200,
        enemy_every in 0u32..6,
        html in 1u32..6,
        css in 1u32..6,
        tf in 1u32..5,
        tolerance in prop::sample::select(vec![0.01, 0.03, 0.5]),
        n in any::<u64>(),
    ) {
        let pool = small_pool(items, enemy_every);
        let blueprint = blueprint(html, css, tf, tolerance);
        let plan = Plan::new(&pool, &blueprint).expect("plan");
        match draw(&plan, &seed(n)) {
            Ok(paper) => {
                assert_paper_satisfies(&pool, &blueprint, &paper);
                let target = plan.fairness_target();
                prop_assert!((paper.expected_score() - target).abs() <= plan.fairness_tolerance() + 1e-9);
                let again = draw(&plan, &seed(n)).expect("same seed draws again");
                prop_assert_eq!(paper, again);
            }
            // The fairness tolerance holds or the draw says why it cannot.
            Err(AssemblyError::DrawFailed(message)) => prop_assert!(!message.is_empty()),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn a_sitting_never_exceeds_its_exposure_cap(
        papers in 4usize..120,
        cap in prop::sample::select(vec![0.25, 0.5, 1.0]),
        n in any::<u64>(),
    ) {
        let pool = small_pool(150, 4);
        let text = blueprint(2, 2, 2, 0.05)
            .canonical()
            .to_owned();
        prop_assert!(text.contains("exposure 0.25"));
        let blueprint = Blueprint::parse(&format!(
            "format = 1\ntitle = \"T\"\nduration_minutes = 60\ntotal_points = 6\npass_score = 1\n[fairness]\ntolerance = 0.05\n[exposure]\nmax_rate = {cap}\n[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.rule]]\nknowledge_point = \"html.*\"\ntype = \"single\"\ncount = 2\n[[section.rule]]\nknowledge_point = \"css.*\"\ntype = \"single\"\ncount = 2\n[[section.rule]]\ntype = \"true_false\"\ncount = 2\n"
        )).expect("valid");
        let plan = Plan::new(&pool, &blueprint).expect("plan");
        let candidates: Vec<String> = (0..papers).map(|i| format!("C{i:04}")).collect();
        match draw_sitting(&plan, &seed(n), &candidates, |_, paper| assert_paper_satisfies(&pool, &blueprint, paper)) {
            Ok(report) => {
                let limit = ((cap * papers as f64).floor() as u32).max(1);
                prop_assert!(report.exposure_counts.iter().all(|&count| count <= limit));
                if papers as f64 * cap >= 1.0 {
                    prop_assert!(report.max_exposure <= cap + 1e-12);
                }
                prop_assert_eq!(report.papers, papers);
            }
            Err(AssemblyError::DrawFailed(message)) => prop_assert!(message.contains("candidate")),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}

#[test]
fn different_seeds_give_different_papers() {
    let pool = small_pool(150, 0);
    let blueprint = blueprint(4, 4, 3, 0.05);
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let papers: Vec<Vec<u32>> = (0..50)
        .map(|n| {
            draw(&plan, &seed(n))
                .expect("draw")
                .items()
                .iter()
                .map(|item| item.item())
                .collect()
        })
        .collect();
    let distinct: HashSet<&Vec<u32>> = papers.iter().collect();
    assert_eq!(distinct.len(), 50);
}

#[test]
fn selection_frequencies_within_a_cell_pass_a_chi_square_test() {
    // One cell of 20 items, 5 drawn per paper, no enemies, a tolerance so wide that the
    // fairness repair never acts, no exposure cap: every item should be drawn in 1/4 of
    // the papers.
    let specs: Vec<ItemSpec> = (0..20)
        .map(|i| {
            item(
                &format!("Q{i:02}"),
                "k",
                ItemType::Single,
                0.05 + 0.045 * f64::from(i),
                100,
            )
        })
        .collect();
    let pool = Pool::new(vec!["k".to_owned()], specs, "h".to_owned()).expect("pool");
    let blueprint = Blueprint::parse(
        "format = 1\ntitle = \"T\"\nduration_minutes = 10\ntotal_points = 5\npass_score = 1\n[fairness]\ntolerance = 0.99\n[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.rule]]\ncount = 5\n",
    )
    .expect("blueprint");
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let papers = 20_000u32;
    let mut counts = vec![0u32; 20];
    let mut positions: HashMap<(u32, usize), u32> = HashMap::new();
    for n in 0..papers {
        let paper = draw(&plan, &seed(u64::from(n))).expect("draw");
        assert_eq!(paper.repair_swaps(), 0);
        for (position, paper_item) in paper.items().iter().enumerate() {
            counts[paper_item.item() as usize] += 1;
            *positions.entry((paper_item.item(), position)).or_default() += 1;
        }
    }
    let expected = f64::from(papers) * 5.0 / 20.0;
    let chi: f64 = counts
        .iter()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum();
    // 19 degrees of freedom: the 0.999 quantile is 43.82.
    assert!(chi < 43.82, "chi-square {chi}, counts {counts:?}");
    // Positions are shuffled too: item 0 appears in each of the 5 positions about equally.
    let per_position: Vec<u32> = (0..5)
        .map(|p| positions.get(&(0, p)).copied().unwrap_or(0))
        .collect();
    let mean = f64::from(per_position.iter().sum::<u32>()) / 5.0;
    let chi_positions: f64 = per_position
        .iter()
        .map(|&c| (f64::from(c) - mean).powi(2) / mean)
        .sum();
    assert!(chi_positions < 18.47, "positions {per_position:?}"); // 4 df, 0.999 quantile
}

#[test]
fn fairness_holds_on_every_paper_of_a_synthetic_sitting() {
    let bank = SyntheticBank {
        items: 1200,
        knowledge_points: 10,
        enemy_pairs: 200,
        seed: 5,
    };
    let pool = bank.pool();
    let blueprint = Blueprint::parse(&bank.blueprint_text(0.01, 0.25)).expect("blueprint");
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    assert!(
        plan.feasibility().is_feasible(),
        "{}",
        plan.feasibility().problems_text()
    );
    let candidates: Vec<String> = (0..2000).map(|i| format!("C{i:05}")).collect();
    let target = plan.fairness_target();
    let tolerance = plan.fairness_tolerance();
    let report = draw_sitting(&plan, &seed(1), &candidates, |_, paper| {
        assert!((paper.expected_score() - target).abs() <= tolerance + 1e-9);
        assert_paper_satisfies(&pool, &blueprint, paper);
    })
    .expect("sitting");
    assert!(report.max_exposure <= 0.25);
    assert!(report.expected_score.sd <= report.analytic_expected_score_sd);
}

#[test]
fn latecomers_keep_the_sitting_under_the_cap_and_re_derive_from_the_same_order() {
    let bank = SyntheticBank {
        items: 400,
        knowledge_points: 5,
        enemy_pairs: 40,
        seed: 9,
    };
    let pool = bank.pool();
    let blueprint = Blueprint::parse(&bank.blueprint_text(0.02, 0.2)).expect("blueprint");
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let first: Vec<String> = (0..300).map(|i| format!("C{i:05}")).collect();
    let later: Vec<String> = (0..60).map(|i| format!("L{i:05}")).collect();
    let run = || {
        let mut papers: Vec<Vec<u32>> = Vec::new();
        let report = draw_sitting(&plan, &seed(3), &first, |_, paper| {
            papers.push(paper.items().iter().map(|item| item.item()).collect());
        })
        .expect("sitting");
        let mut counts = report.exposure_counts.clone();
        let mut limit = report.exposure_limit;
        for (index, candidate) in later.iter().enumerate() {
            let before = first.len() + index;
            let (paper, used) =
                draw_latecomer(&plan, &seed(3), &mut counts, before, limit, candidate)
                    .expect("latecomer");
            assert_paper_satisfies(&pool, &blueprint, &paper);
            assert_eq!(used, exposure_limit(0.2, before + 1));
            limit = used;
            assert!(counts.iter().all(|&count| count <= limit), "over {limit}");
            papers.push(paper.items().iter().map(|item| item.item()).collect());
        }
        (papers, counts)
    };
    let (papers, counts) = run();
    // The counts are exactly the papers' items, and the cap holds for the whole sitting.
    let mut recount = vec![0u32; pool.items().len()];
    for paper in &papers {
        for &item in paper {
            recount[item as usize] += 1;
        }
    }
    assert_eq!(recount, counts);
    let limit = exposure_limit(0.2, first.len() + later.len());
    assert!(counts.iter().all(|&count| count <= limit));
    // The same inputs in the same order give the same papers.
    assert_eq!(run().0, papers);
    // Counts for another bank are refused, not misread.
    let mut short = vec![0u32; 3];
    assert!(matches!(
        draw_latecomer(&plan, &seed(3), &mut short, 300, 60, "X"),
        Err(AssemblyError::InvalidPool(_))
    ));
}

#[test]
fn a_sitting_too_small_for_its_cap_is_drawn_under_the_smallest_limit_that_fits() {
    // 12 html singles serve 3 a paper: cap 0.25 needs 12 of them, but 5 papers at a limit
    // of ⌊0.25 × 5⌋ = 1 would need 15.
    let pool = small_pool(36, 0);
    let blueprint = blueprint(3, 1, 1, 0.5);
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    assert!(plan.feasibility().is_feasible());
    let candidates: Vec<String> = (0..5).map(|i| format!("C{i}")).collect();
    assert!(matches!(
        draw_sitting(&plan, &seed(2), &candidates, |_, _| {}),
        Err(AssemblyError::DrawFailed(_))
    ));
    let mut seen = Vec::new();
    let report = draw_sitting_relaxed(&plan, &seed(2), &candidates, |candidate, paper| {
        assert_paper_satisfies(&pool, &blueprint, paper);
        seen.push(candidate.to_owned());
    })
    .expect("relaxed");
    assert_eq!(seen, candidates, "each paper once, in order");
    assert_eq!(report.exposure_limit, 2);
    assert!(report.exposure_counts.iter().all(|&count| count <= 2));
    // A sitting big enough for its cap is drawn exactly as draw_sitting draws it.
    let many: Vec<String> = (0..40).map(|i| format!("C{i}")).collect();
    let mut strict = Vec::new();
    let exact = draw_sitting(&plan, &seed(2), &many, |_, paper| {
        strict.push(paper.clone())
    })
    .expect("strict");
    let mut relaxed = Vec::new();
    let same = draw_sitting_relaxed(&plan, &seed(2), &many, |_, paper| {
        relaxed.push(paper.clone())
    })
    .expect("relaxed");
    assert_eq!(strict, relaxed);
    assert_eq!(exact.exposure_limit, same.exposure_limit);
}

#[test]
fn a_rule_asking_for_more_items_than_qualify_is_named_with_its_shortfall() {
    let pool = small_pool(30, 0);
    // 30 items: html.* singles are items 0, 4, 6, 10, ... (even, i % 3 != 2): 10 of them.
    let blueprint = blueprint(12, 1, 1, 0.5);
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let report = plan.feasibility();
    assert!(!report.is_feasible());
    let problem = &report.problems[0];
    assert_eq!(problem.kind, ProblemKind::PerPaper);
    assert_eq!(problem.rules, vec!["section `a`, rule 1".to_owned()]);
    assert!(
        problem.message.contains("short by 2"),
        "{}",
        problem.message
    );
    assert!(matches!(
        draw(&plan, &seed(1)),
        Err(AssemblyError::DrawFailed(_))
    ));
}

#[test]
fn overlapping_rules_are_solved_as_a_matching_not_by_counting() {
    // Rule 1 takes any single (10 qualify), rule 2 takes html singles (5 qualify).
    // Counting says both are fine; but 8 + 5 = 13 > 10 distinct singles.
    let specs: Vec<ItemSpec> = (0..10)
        .map(|i| {
            item(
                &format!("S{i}"),
                if i < 5 { "html" } else { "css" },
                ItemType::Single,
                0.5,
                100,
            )
        })
        .collect();
    let pool = Pool::new(
        vec!["html".to_owned(), "css".to_owned()],
        specs,
        "h".to_owned(),
    )
    .expect("pool");
    let blueprint = Blueprint::parse(
        "format = 1\ntitle = \"T\"\nduration_minutes = 10\ntotal_points = 13\npass_score = 1\n[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.rule]]\ntype = \"single\"\ncount = 8\n[[section.rule]]\nknowledge_point = \"html\"\ntype = \"single\"\ncount = 5\n",
    )
    .expect("blueprint");
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let report = plan.feasibility();
    assert_eq!(report.rules[0].qualifying, 10);
    assert_eq!(report.rules[1].qualifying, 5);
    let problem = &report.problems[0];
    assert_eq!(problem.needed, 13.0);
    assert_eq!(problem.available, 10.0);
    assert!(problem.message.contains("short by 3"));
}

#[test]
fn a_cell_too_small_for_the_exposure_cap_is_reported() {
    let pool = small_pool(40, 0);
    // true_false items: i % 3 == 2 -> 13 of 40; 4 per paper at cap 0.25 needs 16.
    let blueprint = blueprint(1, 1, 4, 0.5);
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let report = plan.feasibility();
    let problem = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Exposure)
        .expect("exposure problem");
    assert_eq!(problem.rules, vec!["section `b`, rule 1".to_owned()]);
    assert!(
        problem
            .message
            .contains("need at least 16 qualifying items but have 13 (short by 3)"),
        "{}",
        problem.message
    );
    let candidates: Vec<String> = (0..100).map(|i| format!("C{i}")).collect();
    let refused = draw_sitting(&plan, &seed(1), &candidates, |_, _| {});
    assert!(
        matches!(refused, Err(AssemblyError::Infeasible(report)) if report.problems.len() == 1)
    );
}

#[test]
fn an_unreachable_fairness_target_is_reported() {
    let pool = small_pool(60, 0);
    let text = blueprint(2, 2, 2, 0.01).canonical().to_owned();
    assert!(text.contains("auto"));
    let blueprint = Blueprint::parse(
        "format = 1\ntitle = \"T\"\nduration_minutes = 10\ntotal_points = 2\npass_score = 1\n[fairness]\ntarget = 1.99\n[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.rule]]\ntype = \"single\"\ncount = 2\n",
    )
    .expect("blueprint");
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let report = plan.feasibility();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::Fairness)
    );
    assert!(
        matches!(draw(&plan, &seed(3)), Err(AssemblyError::DrawFailed(m)) if m.contains("fairness target"))
    );
}

#[test]
fn a_knowledge_point_the_bank_lacks_is_a_blueprint_error_with_its_line() {
    let pool = small_pool(30, 0);
    let blueprint = Blueprint::parse(
        "format = 1\ntitle = \"T\"\nduration_minutes = 10\ntotal_points = 1\npass_score = 1\n[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.rule]]\nknowledge_point = \"js.*\"\ncount = 1\n",
    )
    .expect("blueprint");
    let Err(AssemblyError::InvalidBlueprint(found)) = Plan::new(&pool, &blueprint) else {
        panic!("expected a blueprint error");
    };
    assert_eq!(found[0].line, Some(9));
    assert!(found[0].message.contains("`js.*` matches none"));
}

#[test]
fn cells_with_mixed_points_need_an_override() {
    let specs = vec![
        item("A", "k", ItemType::Practical, 0.5, 1000),
        item("B", "k", ItemType::Practical, 0.5, 2000),
    ];
    let pool = Pool::new(vec!["k".to_owned()], specs, "h".to_owned()).expect("pool");
    let blueprint = Blueprint::parse(
        "format = 1\ntitle = \"T\"\nduration_minutes = 10\ntotal_points = 10\npass_score = 1\n[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.rule]]\ntype = \"practical\"\ncount = 1\n",
    )
    .expect("blueprint");
    let Err(AssemblyError::InvalidBlueprint(found)) = Plan::new(&pool, &blueprint) else {
        panic!("expected a blueprint error");
    };
    assert!(
        found[0].message.contains("different points (10, 20)"),
        "{}",
        found[0]
    );
}

#[test]
fn overlapping_rules_share_their_items_so_that_each_can_meet_the_cap() {
    // 40 singles: 20 html (10 of them hard), 20 css (10 hard). Rule 1 takes 2 html singles,
    // rule 2 takes 2 hard singles of any knowledge point. Each needs 8 items of its own at
    // cap 0.25; a naive split (all html to rule 1) would leave rule 2 only the 10 hard css.
    let specs: Vec<ItemSpec> = (0..40)
        .map(|i| {
            let kp = if i < 20 { "html" } else { "css" };
            let p = if i % 2 == 0 { 0.3 } else { 0.8 };
            item(&format!("S{i:02}"), kp, ItemType::Single, p, 100)
        })
        .collect();
    let pool = Pool::new(
        vec!["html".to_owned(), "css".to_owned()],
        specs,
        "h".to_owned(),
    )
    .expect("pool");
    let blueprint = Blueprint::parse(
        "format = 1\ntitle = \"T\"\nduration_minutes = 10\ntotal_points = 4\npass_score = 1\n[fairness]\ntolerance = 0.5\n[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.rule]]\nknowledge_point = \"html\"\ncount = 2\n[[section.rule]]\ndifficulty = \"hard\"\ncount = 2\n",
    )
    .expect("blueprint");
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    assert_eq!(plan.partition(), xcert_assembly::Partition::ForExposureCap);
    let report = plan.feasibility();
    assert_eq!(report.rules[0].qualifying, 20);
    assert_eq!(report.rules[1].qualifying, 20);
    // 30 distinct items qualify; max-min sharing gives each rule 15, above the 8 it needs.
    assert_eq!(report.rules[0].drawn_from + report.rules[1].drawn_from, 30);
    assert!(
        report.rules.iter().all(|rule| rule.drawn_from >= 14),
        "{:?}",
        report.rules
    );
    let candidates: Vec<String> = (0..400).map(|i| format!("C{i:03}")).collect();
    let sitting = draw_sitting(&plan, &seed(8), &candidates, |_, _| {}).expect("sitting");
    assert!(sitting.max_exposure <= 0.25);
    assert_eq!(sitting.items_used, 30);
}
