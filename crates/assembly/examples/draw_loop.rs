//! Draws N papers from the benchmark's synthetic bank in a plain loop, for `perf stat`
//! (cycles per paper are a load-independent companion to the criterion figures):
//!
//! `perf stat -e task-clock,cycles,instructions target/release/examples/draw_loop 1000000`

use xcert_assembly::synthetic::SyntheticBank;
use xcert_assembly::{Blueprint, Drawer, Paper, Plan, Seed};

fn main() {
    let papers: u64 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(1_000_000);
    let tolerance: f64 = std::env::args()
        .nth(2)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(0.99);
    let bank = SyntheticBank {
        items: 5_000,
        knowledge_points: 30,
        enemy_pairs: 1_000,
        seed: 42,
    };
    let pool = bank.pool();
    let blueprint = Blueprint::parse(&bank.blueprint_text(tolerance, 0.25)).expect("blueprint");
    let plan = Plan::new(&pool, &blueprint).expect("plan");
    let mut drawer = Drawer::new(&plan);
    let mut paper = Paper::default();
    let mut checksum = 0u64;
    let started = std::time::Instant::now();
    for n in 0..papers {
        let mut bytes = [7u8; 32];
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        drawer
            .draw_into(&plan, &Seed::from_bytes(bytes), &mut paper)
            .expect("draw");
        checksum = checksum.wrapping_add(u64::from(paper.items()[0].item()));
    }
    let elapsed = started.elapsed();
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{papers} papers in {:.3} s wall: {:.3} µs per paper (checksum {checksum})",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / papers as f64
        );
    }
}
