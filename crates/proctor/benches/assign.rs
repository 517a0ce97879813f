//! Criterion benches for proctor assignment on the three shapes of issue 4.
//!
//! `validate+assign` is the whole library path from a parsed input (indexing, conflict
//! lists, solve); `assign` is the solver alone on a prepared instance.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use xcert_proctor::generate::{Shape, generate};
use xcert_proctor::{Instance, Outcome, assign};

fn bench_shape(c: &mut Criterion, name: &str, shape: &Shape, samples: usize) {
    let input = generate(shape, 1);
    let instance = Instance::new(input.clone()).expect("generated input is valid");
    assert!(
        matches!(assign(&instance, 1), Outcome::Assigned(_)),
        "the {name} instance must be feasible"
    );
    let mut group = c.benchmark_group(name);
    group.sample_size(samples);
    group.measurement_time(Duration::from_secs(8));
    let mut seed = 0u64;
    group.bench_function("assign", |b| {
        b.iter(|| {
            seed += 1;
            assign(black_box(&instance), seed)
        });
    });
    group.bench_function("validate+assign", |b| {
        b.iter(|| {
            seed += 1;
            let instance = Instance::new(black_box(input.clone())).expect("valid");
            assign(&instance, seed)
        });
    });
    group.finish();
}

fn small(c: &mut Criterion) {
    bench_shape(c, "small_300p_20s_60r", &Shape::small(), 50);
}

fn medium(c: &mut Criterion) {
    bench_shape(c, "medium_900p_30s_150r", &Shape::medium(), 20);
}

fn province(c: &mut Criterion) {
    bench_shape(c, "province_30000p_2s_10000r", &Shape::province(), 10);
}

criterion_group!(benches, small, medium, province);
criterion_main!(benches);
