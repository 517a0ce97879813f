//! Parse, validate and hash a generated 100,000-item bank (all eight types, Markdown stems
//! with inline code, fenced code blocks, tables and math), split over 20 files as a real
//! directory bank would be.
//!
//! Run: `cargo bench -p xcert-bank --bench parse`

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use xcert_bank::{Bank, BankSource};

const ITEMS: usize = 100_000;
const FILES: usize = 20;
const KNOWLEDGE_POINTS: usize = 15;

fn item(out: &mut String, n: usize) {
    let kp = n % KNOWLEDGE_POINTS;
    let difficulty = 0.2 + (n * 37 % 700) as f64 / 1000.0;
    let id = format!("GEN-{n:06}");
    let enemy = if n % 50 == 1 {
        format!("enemies = [\"GEN-{:06}\"]\n", n - 1)
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "\n[[item]]\nid = \"{id}\"\nknowledge_point = \"kp.{kp:02}\"\ndifficulty = {difficulty:.3}\n{enemy}"
    );
    match n % 20 {
        0..=8 => {
            let _ = write!(
                out,
                "type = \"single\"\npoints = 2\nstem = '''\nWhat does this code print for input {n}?\n\n```js\nconst xs = [1, 2, 3].map((x) => x * {n});\nconsole.log(xs.length, `<li>${{xs[0]}}</li>`);\n```\n'''\noptions = [\n  {{ id = \"A\", text = \"`3 <li>{n}</li>`\" }},\n  {{ id = \"B\", text = \"`undefined`\" }},\n  {{ id = \"C\", text = \"A `TypeError` is thrown\" }},\n  {{ id = \"D\", text = \"`NaN`\" }},\n]\nanswer = \"A\"\n"
            );
        }
        9..=11 => {
            let _ = write!(
                out,
                "type = \"multiple\"\npoints = 2\nstem = \"Which of these elements are **sectioning content** (case {n})?\"\noptions = [\n  {{ id = \"A\", text = \"`<article>`\" }},\n  {{ id = \"B\", text = \"`<section>`\" }},\n  {{ id = \"C\", text = \"`<span>`\" }},\n  {{ id = \"D\", text = \"`<nav>`\" }},\n]\nanswer = [\"A\", \"B\", \"D\"]\nshuffle_options = false\n"
            );
        }
        12..=14 => {
            let _ = write!(
                out,
                "type = \"true_false\"\npoints = 1\nstem = \"In CSS, `margin: auto` centres a block element of fixed width horizontally (case {n}).\"\nanswer = true\n"
            );
        }
        15 => {
            let _ = write!(
                out,
                "type = \"fill_blank\"\npoints = 2\nstem = \"The HTTP status ___ means *Not Found* and ___ means *Moved Permanently* ({n}).\"\nanswer = [[\"404\"], [\"301\"]]\n"
            );
        }
        16 => {
            let _ = write!(
                out,
                "type = \"numeric\"\npoints = 1.5\nstem = '''\n| property | value |\n|---|---|\n| width | {n}px |\n| padding | 10px |\n\nWith `box-sizing: content-box`, what is the rendered width in px? The answer is $w + 2p$.\n'''\nanswer = {{ value = {}, tolerance = 0 }}\n",
                n + 20
            );
        }
        17 => {
            let _ = write!(
                out,
                "type = \"short_answer\"\npoints = 1\nstem = \"Name the HTML attribute that gives an image its text alternative ({n}).\"\nanswer = [\"alt\", \"alt attribute\"]\n"
            );
        }
        18 => {
            let _ = write!(
                out,
                "type = \"essay\"\npoints = 5\nstem = \"Explain how the cascade decides which of two conflicting declarations wins ({n}).\"\nrubric = [\n  {{ criterion = \"Names origin and importance\", points = 2 }},\n  {{ criterion = \"Explains specificity with an example\", points = 2 }},\n  {{ criterion = \"Mentions source order\", points = 1 }},\n]\n"
            );
        }
        _ => {
            let _ = write!(
                out,
                "type = \"practical\"\npoints = 10\nstem = '''\nBuild a responsive two-column layout with CSS Grid ({n}):\n\n1. two columns above `768px`;\n2. one column below.\n'''\nrubric = [\n  {{ criterion = \"Uses `display: grid` with `grid-template-columns`\", points = 4 }},\n  {{ criterion = \"Media query switches to one column\", points = 4 }},\n  {{ criterion = \"Semantic markup\", points = 2 }},\n]\n"
            );
        }
    }
}

fn source() -> BankSource {
    let mut source = BankSource::new();
    let mut header = String::from(
        "[bank]\nformat = 1\ncertificate = \"GEN\"\nlevel = \"junior\"\nversion = \"bench\"\ntitle = \"Generated benchmark bank\"\n",
    );
    for kp in 0..KNOWLEDGE_POINTS {
        let _ = write!(
            header,
            "\n[[knowledge_point]]\nid = \"kp.{kp:02}\"\ntitle = \"Knowledge point {kp}\"\n"
        );
    }
    source.add_file("bench/bank.toml", header);
    let per_file = ITEMS / FILES;
    for file in 0..FILES {
        let mut text = String::with_capacity(per_file * 600);
        for n in file * per_file..(file + 1) * per_file {
            item(&mut text, n);
        }
        source.add_file(format!("bench/items/part-{file:02}.toml"), text);
    }
    source
}

fn bench(c: &mut Criterion) {
    let source = source();
    let bytes: usize = source.files().iter().map(|(_, b)| b.len()).sum();
    match Bank::parse(&source) {
        Ok(bank) => {
            assert_eq!(bank.items().len(), ITEMS);
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "input: {ITEMS} items in {} files, {:.1} MiB of TOML; hash {}",
                    FILES + 1,
                    bytes as f64 / (1024.0 * 1024.0),
                    bank.content_hash()
                );
            }
        }
        Err(diagnostics) => panic!("the generated bank is invalid: {}", diagnostics[0]),
    }
    let mut group = c.benchmark_group("bank");
    group.sample_size(10);
    group.bench_function("parse_validate_hash_100k_items", |b| {
        b.iter(|| black_box(Bank::parse(black_box(&source))).map(|bank| bank.content_hash()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
