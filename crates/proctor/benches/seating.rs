//! Criterion bench for seating plans at province scale: 300,000 candidates from 500 schools
//! into 10,000 rooms of 30 seats (5 × 6) in 2 slots, 30,000 proctors, school-level
//! avoidance, 2 per room, at least 1 external (the generator's `Shape::province`).
//!
//! `plan` is the seating draw with its Hall's-condition check; `plan_and_confirm` adds the
//! exact assignment solver on the composed rooms (what `xcert seating plan` runs).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use xcert_proctor::generate::{Shape, generate};
use xcert_proctor::seating::{self, SeatingInput, SeatingOutcome};

fn province(c: &mut Criterion) {
    let sitting = generate(&Shape::province(), 1);
    let input = SeatingInput::from_assignment(&sitting, 5, 6);
    let SeatingOutcome::Planned(plan) = seating::plan(&input, 1).expect("valid input") else {
        panic!("the province sitting must be plannable")
    };
    assert_eq!(plan.report.candidates, 300_000);
    let mut group = c.benchmark_group("seating_province_300000c_500s_10000r");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let mut seed = 0_u64;
    group.bench_function("plan", |b| {
        b.iter(|| {
            seed += 1;
            seating::plan(black_box(&input), seed)
        });
    });
    group.bench_function("plan_and_confirm", |b| {
        b.iter(|| {
            seed += 1;
            seating::plan_and_confirm(black_box(&input), seed)
        });
    });
    group.finish();
}

criterion_group!(benches, province);
criterion_main!(benches);
