//! The library path of `xcert proctors assign` without the CLI: reads an input file, parses,
//! validates, assigns, and writes the output JSON on stdout. For peak-memory measurements
//! (`/usr/bin/time -v`) independent of the rest of the workspace.
//!
//! `cargo run --release -p xcert-proctor --example proctor_assign -- FILE SEED`

use std::io::Write as _;

use xcert_proctor::{AssignmentInput, Instance, assign};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("want FILE SEED")?;
    let seed: u64 = args.next().ok_or("want FILE SEED")?.parse()?;
    let text = std::fs::read_to_string(path)?;
    let instance = Instance::new(AssignmentInput::from_json(&text)?)?;
    drop(text);
    let outcome = assign(&instance, seed);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &outcome)?;
    writeln!(out)?;
    Ok(())
}
