//! Property tests of the content hash: invariant under formatting, key order, comments and
//! file splitting; changed by any single-field change; stable through the normalized TOML.

use proptest::prelude::*;
use xcert_bank::{Bank, BankSource};

/// One generated item, before it is written as TOML.
#[derive(Debug, Clone)]
struct Spec {
    kind: usize,
    difficulty_milli: u32,
    points_hundredths: u32,
    stem: String,
    options: Vec<String>,
    choice: usize,
    shuffle: Option<bool>,
    enemy: Option<usize>,
}

/// How one rendering writes the bank: the same content, different bytes.
#[derive(Debug, Clone)]
struct Style {
    literal_strings: bool,
    exponent_floats: bool,
    integer_points_as_float: bool,
    comments: bool,
    explicit_defaults: bool,
    order_salt: Vec<u32>,
    files: Vec<usize>,
}

const TYPES: [&str; 8] = [
    "single",
    "multiple",
    "true_false",
    "fill_blank",
    "numeric",
    "short_answer",
    "essay",
    "practical",
];

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..8_usize,
        1..1000_u32,
        prop::sample::select(vec![50_u32, 100, 150, 200, 250, 500, 1000]),
        "[A-Za-z0-9 ,.?中文]{0,30}",
        prop::collection::vec("[A-Za-z0-9中文][A-Za-z0-9 中文]{0,11}", 2..5),
        0..5_usize,
        prop::option::of(any::<bool>()),
        prop::option::of(0..20_usize),
    )
        .prop_map(
            |(kind, difficulty_milli, points_hundredths, stem, options, choice, shuffle, enemy)| {
                Spec {
                    kind,
                    difficulty_milli,
                    points_hundredths,
                    stem: format!("Q {}", stem.trim()),
                    options,
                    choice,
                    shuffle,
                    enemy,
                }
            },
        )
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<u32>(), 12),
        prop::collection::vec(0..3_usize, 20),
    )
        .prop_map(
            |(
                literal_strings,
                exponent_floats,
                integer_points_as_float,
                comments,
                explicit_defaults,
                order_salt,
                files,
            )| Style {
                literal_strings,
                exponent_floats,
                integer_points_as_float,
                comments,
                explicit_defaults,
                order_salt,
                files,
            },
        )
}

fn string(style: &Style, s: &str) -> String {
    if style.literal_strings && !s.contains('\'') {
        format!("'{s}'")
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn float(style: &Style, milli: u32) -> String {
    let value = f64::from(milli) / 1000.0;
    if style.exponent_floats {
        format!("{value:e}")
    } else {
        format!("{value:?}")
    }
}

fn points(style: &Style, hundredths: u32) -> String {
    if hundredths % 100 == 0 && !style.integer_points_as_float {
        format!("{}", hundredths / 100)
    } else if style.exponent_floats {
        format!("{:e}", f64::from(hundredths) / 100.0)
    } else {
        format!("{:?}", f64::from(hundredths) / 100.0)
    }
}

fn id(index: usize) -> String {
    format!("I-{index:03}")
}

/// The key-value lines of one item.
fn item_lines(index: usize, spec: &Spec, count: usize, style: &Style) -> Vec<String> {
    let kind = TYPES[spec.kind];
    let mut lines = vec![
        format!("id = {}", string(style, &id(index))),
        format!("type = {}", string(style, kind)),
        format!("difficulty = {}", float(style, spec.difficulty_milli)),
        format!("points = {}", points(style, spec.points_hundredths)),
    ];
    let stem = if kind == "fill_blank" {
        format!("{} ___ and ___", spec.stem)
    } else {
        spec.stem.clone()
    };
    lines.push(format!("stem = {}", string(style, &stem)));
    let option_ids: Vec<String> = (0..spec.options.len())
        .map(|i| char::from(b'A' + i as u8).to_string())
        .collect();
    let choice = option_ids[spec.choice % option_ids.len()].clone();
    if kind == "single" || kind == "multiple" {
        let options: Vec<String> = option_ids
            .iter()
            .zip(&spec.options)
            .map(|(id, text)| {
                format!(
                    "{{ id = {}, text = {} }}",
                    string(style, id),
                    string(style, text)
                )
            })
            .collect();
        lines.push(format!("options = [{}]", options.join(", ")));
    }
    match kind {
        "single" => lines.push(format!("answer = {}", string(style, &choice))),
        "multiple" => {
            // Order of the keyed ids is not content: write them in either order.
            let mut ids = [
                choice,
                option_ids[(spec.choice + 1) % option_ids.len()].clone(),
            ];
            if style.literal_strings {
                ids.reverse();
            }
            let ids: Vec<String> = ids.iter().map(|i| string(style, i)).collect();
            lines.push(format!("answer = [{}]", ids.join(", ")));
        }
        "true_false" => lines.push(format!("answer = {}", spec.choice % 2 == 0)),
        "fill_blank" => lines.push(format!(
            "answer = [[{}], [{}]]",
            string(style, &spec.options[0]),
            string(style, &spec.options[1])
        )),
        "numeric" => lines.push(format!(
            "answer = {{ value = {}, tolerance = {} }}",
            float(style, spec.difficulty_milli),
            float(style, 0)
        )),
        "short_answer" => lines.push(format!("answer = [{}]", string(style, &spec.options[0]))),
        _ => {
            let half = spec.points_hundredths / 2;
            lines.push(format!(
                "rubric = [{{ criterion = {}, points = {} }}, {{ criterion = {}, points = {} }}]",
                string(style, &spec.options[0]),
                points(style, half),
                string(style, &spec.options[1]),
                points(style, spec.points_hundredths - half)
            ));
        }
    }
    match spec.shuffle {
        Some(shuffle) => lines.push(format!("shuffle_options = {shuffle}")),
        None if style.explicit_defaults => lines.push("shuffle_options = true".to_owned()),
        None => {}
    }
    match spec.enemy.map(|e| e % count).filter(|e| *e != index) {
        Some(enemy) => lines.push(format!("enemies = [{}]", string(style, &id(enemy)))),
        None if style.explicit_defaults => lines.push("enemies = []".to_owned()),
        None => {}
    }
    // Reorder keys by the style's salt: key order is not content.
    let mut keyed: Vec<(u32, String)> = lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            (
                style.order_salt[i % style.order_salt.len()].wrapping_mul(i as u32 + 1),
                line,
            )
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, line)| line).collect()
}

/// Writes the bank as `bank.toml` plus up to two more files, as the style says.
fn render(specs: &[Spec], style: &Style) -> BankSource {
    let mut files = vec![String::new(), String::new(), String::new()];
    if style.comments {
        files[0].push_str("# A generated bank.\n");
    }
    files[0].push_str(
        "[bank]\ncertificate = \"GEN\"\nlevel = \"senior\"\nversion = \"1\"\ntitle = \"Generated\"\n",
    );
    if style.explicit_defaults {
        files[0].push_str("format = 1\n");
    }
    for (index, spec) in specs.iter().enumerate() {
        let file = &mut files[style.files[index % style.files.len()]];
        file.push_str(if style.comments {
            "\n[[item]] # an item\n"
        } else {
            "\n[[item]]\n"
        });
        for line in item_lines(index, spec, specs.len(), style) {
            file.push_str(&line);
            file.push('\n');
        }
    }
    let mut source = BankSource::new();
    for (i, text) in files.into_iter().enumerate() {
        let name = if i == 0 {
            "bank.toml".to_owned()
        } else {
            format!("items/part-{i}.toml")
        };
        source.add_file(name, text);
    }
    source
}

fn parse(source: &BankSource) -> Bank {
    match Bank::parse(source) {
        Ok(bank) => bank,
        Err(diagnostics) => {
            let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            let files: Vec<String> = source
                .files()
                .iter()
                .map(|(p, b)| format!("== {p}\n{}", String::from_utf8_lossy(b)))
                .collect();
            panic!("{}\n{}", text.join("\n"), files.join("\n"));
        }
    }
}

/// Changes exactly one field of one item.
fn mutate(specs: &mut [Spec], index: usize, field: usize) {
    let spec = &mut specs[index];
    match field {
        0 => {
            spec.difficulty_milli = if spec.difficulty_milli == 999 {
                998
            } else {
                spec.difficulty_milli + 1
            }
        }
        1 => spec.points_hundredths += 100,
        2 => spec.stem.push('!'),
        // The key, or the text it is read from: options for choice items, accepted answers
        // for fill_blank and short_answer, criteria for essay and practical.
        3 => match TYPES[spec.kind] {
            "single" | "true_false" => spec.choice += 1,
            "numeric" => {
                spec.difficulty_milli = if spec.difficulty_milli == 999 {
                    998
                } else {
                    spec.difficulty_milli + 1
                }
            }
            _ => spec.options[0].push('x'),
        },
        4 => spec.kind = (spec.kind + 1) % 8,
        _ => spec.shuffle = Some(!spec.shuffle.unwrap_or(true)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_hash_ignores_formatting_key_order_comments_and_file_splitting(
        specs in prop::collection::vec(spec(), 1..20),
        one in style(),
        two in style(),
    ) {
        let a = parse(&render(&specs, &one));
        let b = parse(&render(&specs, &two));
        prop_assert_eq!(a.content_hash(), b.content_hash());
        prop_assert_eq!(a.canonical(), b.canonical());
    }

    #[test]
    fn any_single_field_change_changes_the_item_and_bank_hash(
        specs in prop::collection::vec(spec(), 1..20),
        style in style(),
        pick in any::<prop::sample::Index>(),
        field in 0..6_usize,
    ) {
        let index = pick.index(specs.len());
        let before = parse(&render(&specs, &style));
        let mut changed = specs;
        mutate(&mut changed, index, field);
        // Shuffling is only meaningful on items with options; the flag is content all the same.
        let after = parse(&render(&changed, &style));
        let id = id(index);
        prop_assert_ne!(
            before.item(&id).map(|i| i.content_hash()),
            after.item(&id).map(|i| i.content_hash())
        );
        prop_assert_ne!(before.content_hash(), after.content_hash());
        prop_assert_eq!(xcert_bank::diff(&before, &after).changed, vec![id]);
    }

    #[test]
    fn parse_then_normalized_toml_then_parse_round_trips(
        specs in prop::collection::vec(spec(), 1..20),
        style in style(),
    ) {
        let bank = parse(&render(&specs, &style));
        let again = parse(&BankSource::single("bank.toml", bank.to_toml()));
        prop_assert_eq!(bank.content_hash(), again.content_hash());
        prop_assert_eq!(bank.items(), again.items());
        prop_assert_eq!(bank.to_toml(), again.to_toml());
    }
}
