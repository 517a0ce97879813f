//! Writes a generated proctor-assignment input (CONTRACT section 4) as JSON on stdout.
//!
//! `cargo run --release -p xcert-proctor --example proctor_instance -- small|medium|province [SEED [PROCTORS [chained]]]`

use std::io::Write as _;

use xcert_proctor::generate::{Shape, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let shape = match args.next().as_deref() {
        Some("small") => Shape::small(),
        Some("medium") => Shape::medium(),
        Some("province") => Shape::province(),
        other => return Err(format!("want small, medium or province, not {other:?}").into()),
    };
    let seed = args.next().map_or(Ok(1), |s| s.parse::<u64>())?;
    // An optional third argument overrides the number of proctors (tight variants).
    let proctors = args
        .next()
        .map_or(Ok(shape.proctors), |s| s.parse::<usize>())?;
    // An optional fourth argument `chained` makes every slot overlap the next.
    let chained = args.next().is_some_and(|a| a == "chained");
    let input = generate(
        &Shape {
            proctors,
            chained,
            ..shape
        },
        seed,
    );
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer(&mut out, &input)?;
    writeln!(out)?;
    Ok(())
}
