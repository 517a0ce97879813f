//! Criterion benches for proctor assignment (filled in with the solver).

use criterion::{Criterion, criterion_group, criterion_main};

fn parse(c: &mut Criterion) {
    let text =
        r#"{"policy":{"proctors_per_room":1},"slots":[],"rooms":[],"candidates":[],"proctors":[]}"#;
    c.bench_function("parse_empty", |b| {
        b.iter(|| xcert_proctor::AssignmentInput::from_json(text));
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
