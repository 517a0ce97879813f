//! One test per rejection rule of CONTRACT section 1 and of docs/BANK-FORMAT.md, each checking
//! the file, line, column and item of the diagnostic.

use crate::{Bank, BankSource, Diagnostic, ItemType};

const HEADER: &str = "[bank]\ncertificate = \"WEB-FE\"\nlevel = \"junior\"\nversion = \"2025.1\"\ntitle = \"Web\"\n\n";

const TF: &str = "[[item]]\nid = \"T1\"\ntype = \"true_false\"\ndifficulty = 0.5\npoints = 1\nstem = \"HTML is a markup language.\"\nanswer = true\n\n";

fn bank_text(items: &str) -> String {
    format!("{HEADER}{items}")
}

fn parse(text: &str) -> Result<Bank, Vec<Diagnostic>> {
    Bank::parse(&BankSource::single("bank.toml", text))
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(_) => panic!("the bank was accepted:\n{text}"),
        Err(diagnostics) => diagnostics,
    }
}

/// The 1-based line and column where `needle` first occurs.
fn at(text: &str, needle: &str) -> (u32, u32) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in text"));
    let line = text[..offset].matches('\n').count() + 1;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line as u32, column as u32)
}

/// Asserts there is exactly one diagnostic, at `needle`, for `item`, containing `message`.
fn assert_one(text: &str, needle: &str, item: Option<&str>, message: &str) {
    let diagnostics = errors(text);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_at(&diagnostics[0], text, needle, item, message);
}

fn assert_at(d: &Diagnostic, text: &str, needle: &str, item: Option<&str>, message: &str) {
    let (line, column) = at(text, needle);
    assert_eq!(d.file, "bank.toml");
    assert_eq!((d.line, d.column), (Some(line), Some(column)), "{d}");
    assert_eq!(d.item.as_deref(), item, "{d}");
    assert!(
        d.message.contains(message),
        "`{}` lacks `{message}`",
        d.message
    );
}

#[test]
fn a_valid_bank_with_every_type_is_accepted() {
    let text = bank_text(concat!(
        "[[item]]\nid = \"S1\"\ntype = \"single\"\ndifficulty = 0.62\npoints = 2\nstem = \"Which element marks the main content?\"\n",
        "options = [ { id = \"A\", text = \"`<div>`\" }, { id = \"B\", text = \"`<main>`\" } ]\nanswer = \"B\"\nenemies = [\"M1\"]\n\n",
        "[[item]]\nid = \"M1\"\ntype = \"multiple\"\ndifficulty = 0.4\npoints = 2\nstem = \"Which are block elements?\"\n",
        "options = [ { id = \"A\", text = \"`div`\" }, { id = \"B\", text = \"`span`\" }, { id = \"C\", text = \"`p`\" } ]\nanswer = [\"C\", \"A\"]\nshuffle_options = false\n\n",
        "[[item]]\nid = \"T1\"\ntype = \"true_false\"\ndifficulty = 0.8\npoints = 1\nstem = \"HTML is a markup language.\"\nanswer = true\n\n",
        "[[item]]\nid = \"F1\"\ntype = \"fill_blank\"\ndifficulty = 0.5\npoints = 2\nstem = \"The ___ element and the ___ element.\"\nanswer = [[\"main\"], [\"nav\", \"NAV\"]]\n\n",
        "[[item]]\nid = \"N1\"\ntype = \"numeric\"\ndifficulty = 0.3\npoints = 1.5\nstem = \"Width of a 100px box with 10px padding in `content-box`?\"\nanswer = { value = 120, tolerance = 0 }\n\n",
        "[[item]]\nid = \"SA1\"\ntype = \"short_answer\"\ndifficulty = 0.6\npoints = 0.5\nstem = \"Name the HTTP method for reading.\"\nanswer = [\"GET\", \"get\"]\n\n",
        "[[item]]\nid = \"E1\"\ntype = \"essay\"\ndifficulty = 0.35\npoints = 5\nstem = \"Explain the cascade.\"\nrubric = [ { criterion = \"Origin\", points = 2 }, { criterion = \"Specificity\", points = 3 } ]\n\n",
        "[[item]]\nid = \"P1\"\ntype = \"practical\"\ndifficulty = 0.25\npoints = 10\nstem = \"Build a two-column layout with Grid.\"\nrubric = [ { criterion = \"Grid used\", points = 4.5 }, { criterion = \"Responsive\", points = 5.5 } ]\n",
    ));
    let bank = parse(&text).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(bank.items().len(), 8);
    let ids: Vec<&str> = bank.items().iter().map(|i| i.id()).collect();
    assert_eq!(ids, ["E1", "F1", "M1", "N1", "P1", "S1", "SA1", "T1"]);
    for kind in ItemType::ALL {
        assert_eq!(
            bank.items()
                .iter()
                .filter(|i| i.item_type() == kind)
                .count(),
            1
        );
    }
    let multiple = bank.item("M1").unwrap_or_else(|| panic!("M1"));
    assert_eq!(
        multiple.answer(),
        Some(&crate::Answer::Multiple(vec!["A".into(), "C".into()]))
    );
    assert!(!multiple.shuffle_options());
    assert_eq!(bank.item("F1").map(|i| i.blanks()), Some(2));
    assert_eq!(
        bank.item("SA1").map(|i| i.points().to_string()),
        Some("0.5".into())
    );
    assert_eq!(
        bank.item("P1")
            .and_then(|i| i.rubric())
            .map(|r| r.criteria().len()),
        Some(2)
    );
    assert_eq!(bank.content_hash().to_hex().len(), 64);
}

#[test]
fn a_missing_required_field_is_reported_at_the_item_header() {
    let text = bank_text(
        "[[item]]\nid = \"T1\"\ntype = \"true_false\"\npoints = 1\nstem = \"s\"\nanswer = true\n",
    );
    assert_one(&text, "[[item]]", Some("T1"), "missing field `difficulty`");
}

#[test]
fn an_item_without_an_id_is_reported_without_an_item_id() {
    let text = bank_text(
        "[[item]]\ntype = \"true_false\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\nanswer = true\n",
    );
    assert_one(&text, "[[item]]", None, "missing field `id`");
}

#[test]
fn a_wrong_typed_field_is_reported_at_its_value() {
    let text = bank_text(&TF.replace("difficulty = 0.5", "difficulty = \"0.5\""));
    assert_one(
        &text,
        "\"0.5\"",
        Some("T1"),
        "`difficulty` must be a number, found a string",
    );
}

#[test]
fn a_duplicate_item_id_is_reported_at_the_second_copy() {
    let text = bank_text(&format!("{TF}{TF}"));
    let diagnostics = errors(&text);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let second = text.rfind("id = \"T1\"").map(|o| o + 5).unwrap_or(0);
    let line = text[..second].matches('\n').count() as u32 + 1;
    assert_eq!(
        (diagnostics[0].line, diagnostics[0].column),
        (Some(line), Some(6))
    );
    assert_eq!(diagnostics[0].item.as_deref(), Some("T1"));
    assert!(
        diagnostics[0]
            .message
            .contains("duplicate item id `T1`: first defined at bank.toml:8")
    );
}

#[test]
fn an_unknown_type_is_reported_with_the_valid_types() {
    let text = bank_text(&TF.replace("\"true_false\"", "\"truefalse\""));
    assert_one(
        &text,
        "\"truefalse\"",
        Some("T1"),
        "unknown type `truefalse`, expected one of single, multiple",
    );
}

#[test]
fn an_answer_of_the_wrong_shape_for_the_type_is_reported() {
    let text = bank_text(&TF.replace("answer = true", "answer = \"true\""));
    assert_one(&text, "\"true\"", Some("T1"), "must be true or false");
}

#[test]
fn a_single_answer_naming_a_missing_option_is_reported() {
    let text = bank_text(
        "[[item]]\nid = \"S1\"\ntype = \"single\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\noptions = [ { id = \"A\", text = \"a\" }, { id = \"B\", text = \"b\" } ]\nanswer = \"C\"\n",
    );
    assert_one(
        &text,
        "\"C\"",
        Some("S1"),
        "answer `C` names no option of this item (options: A, B)",
    );
}

#[test]
fn a_multiple_answer_naming_a_missing_option_is_reported_at_that_id() {
    let text = bank_text(
        "[[item]]\nid = \"M1\"\ntype = \"multiple\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\noptions = [ { id = \"A\", text = \"a\" }, { id = \"B\", text = \"b\" } ]\nanswer = [\"A\", \"D\"]\n",
    );
    assert_one(&text, "\"D\"", Some("M1"), "answer `D` names no option");
}

#[test]
fn options_on_a_type_without_options_are_refused() {
    let text = bank_text(&TF.replace(
        "answer = true",
        "answer = true\noptions = [ { id = \"A\", text = \"a\" }, { id = \"B\", text = \"b\" } ]",
    ));
    assert_one(
        &text,
        "[ { id = \"A\"",
        Some("T1"),
        "`options` are not allowed on a true_false item",
    );
}

#[test]
fn a_single_item_with_one_option_is_refused() {
    let text = bank_text(
        "[[item]]\nid = \"S1\"\ntype = \"single\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\noptions = [ { id = \"A\", text = \"a\" } ]\nanswer = \"A\"\n",
    );
    assert_one(&text, "[ { id", Some("S1"), "at least two options");
}

#[test]
fn duplicate_option_ids_are_refused() {
    let text = bank_text(
        "[[item]]\nid = \"S1\"\ntype = \"single\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\noptions = [ { id = \"A\", text = \"a\" }, { id = \"A\", text = \"b\" } ]\nanswer = \"A\"\n",
    );
    let diagnostics = errors(&text);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert!(diagnostics[0].message.contains("duplicate option id `A`"));
    let (line, _) = at(&text, "options =");
    assert_eq!(diagnostics[0].line, Some(line));
    // The second `id = "A"`: 12 + 26 + 7 characters in, so column 46.
    assert_eq!(diagnostics[0].column, Some(46));
}

#[test]
fn a_difficulty_of_one_is_rejected() {
    let text = bank_text(&TF.replace("difficulty = 0.5", "difficulty = 1.0"));
    assert_one(&text, "1.0", Some("T1"), "difficulty 1 is outside (0, 1)");
}

#[test]
fn a_difficulty_of_zero_is_rejected() {
    let text = bank_text(&TF.replace("difficulty = 0.5", "difficulty = 0"));
    assert_one(&text, "0\npoints", Some("T1"), "outside (0, 1)");
}

#[test]
fn zero_points_are_rejected() {
    let text = bank_text(&TF.replace("points = 1", "points = 0"));
    assert_one(
        &text,
        "0\nstem",
        Some("T1"),
        "points must be greater than 0",
    );
}

#[test]
fn negative_points_are_rejected() {
    let text = bank_text(&TF.replace("points = 1", "points = -2"));
    assert_one(&text, "-2", Some("T1"), "points must be greater than 0");
}

#[test]
fn points_with_three_decimals_are_rejected() {
    let text = bank_text(&TF.replace("points = 1", "points = 0.125"));
    assert_one(&text, "0.125", Some("T1"), "at most two decimals");
}

#[test]
fn a_rubric_not_summing_to_the_points_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"E1\"\ntype = \"essay\"\ndifficulty = 0.5\npoints = 5\nstem = \"s\"\nrubric = [ { criterion = \"a\", points = 2 }, { criterion = \"b\", points = 2.5 } ]\n",
    );
    assert_one(
        &text,
        "[ { criterion",
        Some("E1"),
        "add up to 4.5 points but the item is worth 5",
    );
}

#[test]
fn an_essay_without_a_rubric_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"E1\"\ntype = \"essay\"\ndifficulty = 0.5\npoints = 5\nstem = \"s\"\n",
    );
    assert_one(&text, "[[item]]", Some("E1"), "missing field `rubric`");
}

#[test]
fn an_answer_on_an_essay_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"E1\"\ntype = \"essay\"\ndifficulty = 0.5\npoints = 5\nstem = \"s\"\nanswer = \"x\"\nrubric = [ { criterion = \"a\", points = 5 } ]\n",
    );
    assert_one(&text, "\"x\"", Some("E1"), "has no `answer`");
}

#[test]
fn a_rubric_on_an_auto_graded_item_is_rejected() {
    let text = bank_text(&TF.replace(
        "answer = true",
        "answer = true\nrubric = [ { criterion = \"a\", points = 1 } ]",
    ));
    assert_one(
        &text,
        "[ { criterion",
        Some("T1"),
        "`rubric` is only for essay and practical items",
    );
}

#[test]
fn an_enemy_naming_an_unknown_item_is_rejected() {
    let text = bank_text(&TF.replace("answer = true", "answer = true\nenemies = [\"X9\"]"));
    assert_one(
        &text,
        "\"X9\"",
        Some("T1"),
        "enemy `X9` is not an item of this bank",
    );
}

#[test]
fn an_item_with_its_own_errors_still_has_its_enemies_and_knowledge_point_checked() {
    let kp = "[[knowledge_point]]\nid = \"html.semantics\"\ntitle = \"Semantic HTML\"\n\n";
    let item = TF
        .replace(
            "points = 1",
            "points = 0\nknowledge_point = \"html.semantic\"",
        )
        .replace("answer = true", "answer = true\nenemies = [\"X9\"]");
    let text = bank_text(&format!("{kp}{item}"));
    let diagnostics = errors(&text);
    assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
    assert_at(&diagnostics[0], &text, "0\n", Some("T1"), "greater than 0");
    assert_at(
        &diagnostics[1],
        &text,
        "\"html.semantic\"",
        Some("T1"),
        "unknown knowledge point `html.semantic`",
    );
    assert_at(&diagnostics[2], &text, "\"X9\"", Some("T1"), "enemy `X9`");
}

#[test]
fn a_malformed_knowledge_point_is_reported_once_not_also_as_missing() {
    let kp = "[[knowledge_point]]\nid = \"html.semantics\"\ntitle = \"Semantic HTML\"\n\n";
    let item = TF.replace("points = 1", "points = 1\nknowledge_point = 7");
    let text = bank_text(&format!("{kp}{item}"));
    assert_one(&text, "7\n", Some("T1"), "knowledge_point");
}

#[test]
fn an_item_naming_itself_as_enemy_is_rejected() {
    let text = bank_text(&TF.replace("answer = true", "answer = true\nenemies = [\"T1\"]"));
    assert_one(&text, "\"T1\"]", Some("T1"), "its own enemy");
}

#[test]
fn an_unknown_knowledge_point_is_rejected_with_a_suggestion() {
    let kp = "[[knowledge_point]]\nid = \"html.semantics\"\ntitle = \"Semantic HTML\"\n\n";
    let item = TF.replace(
        "answer = true",
        "answer = true\nknowledge_point = \"html.semantic\"",
    );
    let text = bank_text(&format!("{kp}{item}"));
    assert_one(
        &text,
        "\"html.semantic\"",
        Some("T1"),
        "unknown knowledge point `html.semantic` (did you mean `html.semantics`?)",
    );
}

#[test]
fn an_item_without_knowledge_point_is_rejected_when_the_bank_declares_them() {
    let kp = "[[knowledge_point]]\nid = \"html.semantics\"\ntitle = \"Semantic HTML\"\n\n";
    let text = bank_text(&format!("{kp}{TF}"));
    assert_one(
        &text,
        "[[item]]",
        Some("T1"),
        "missing field `knowledge_point`",
    );
}

#[test]
fn a_knowledge_point_on_an_item_is_rejected_when_the_bank_declares_none() {
    let text = bank_text(&TF.replace("answer = true", "answer = true\nknowledge_point = \"css\""));
    assert_one(
        &text,
        "\"css\"",
        Some("T1"),
        "the bank declares no [[knowledge_point]]",
    );
}

#[test]
fn raw_html_in_a_stem_is_rejected() {
    let text = bank_text(&TF.replace("\"HTML is a markup language.\"", "\"Is <b>this</b> bold?\""));
    let diagnostics = errors(&text);
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    assert_at(
        &diagnostics[0],
        &text,
        "\"Is <b>",
        Some("T1"),
        "raw HTML `<b>` is not allowed",
    );
}

#[test]
fn raw_html_in_an_option_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"S1\"\ntype = \"single\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\noptions = [ { id = \"A\", text = \"<main>\" }, { id = \"B\", text = \"`<div>`\" } ]\nanswer = \"A\"\n",
    );
    assert_one(&text, "\"<main>\"", Some("S1"), "raw HTML `<main>`");
}

#[test]
fn a_missing_image_is_rejected() {
    let text = bank_text(&TF.replace(
        "\"HTML is a markup language.\"",
        "\"See ![box](media/box.svg)\"",
    ));
    assert_one(
        &text,
        "\"See",
        Some("T1"),
        "image `media/box.svg` is missing",
    );
}

#[test]
fn an_existing_image_is_accepted_and_its_bytes_are_hashed() {
    let text = bank_text(&TF.replace(
        "\"HTML is a markup language.\"",
        "\"See ![box](media/box.svg)\"",
    ));
    let mut source = BankSource::single("bank.toml", text.clone());
    source.add_media("media/box.svg", b"<svg/>".to_vec());
    let one = Bank::parse(&source).unwrap_or_else(|d| panic!("{d:#?}"));
    let mut source = BankSource::single("bank.toml", text);
    source.add_media("media/box.svg", b"<svg></svg>".to_vec());
    let two = Bank::parse(&source).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_ne!(
        one.item("T1").map(|i| i.content_hash()),
        two.item("T1").map(|i| i.content_hash())
    );
    assert_ne!(one.content_hash(), two.content_hash());
}

#[test]
fn an_oversized_image_is_rejected() {
    let text = bank_text(&TF.replace(
        "\"HTML is a markup language.\"",
        "\"See ![box](media/box.png)\"",
    ));
    let mut source = BankSource::single("bank.toml", text.clone());
    source.add_media("media/box.png", vec![0_u8; 1024 * 1024 + 1]);
    let diagnostics = Bank::parse(&source).err().unwrap_or_default();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_at(
        &diagnostics[0],
        &text,
        "\"See",
        Some("T1"),
        "over the 1 MiB limit",
    );
}

#[test]
fn a_remote_image_is_rejected() {
    let text = bank_text(&TF.replace(
        "\"HTML is a markup language.\"",
        "\"See ![x](https://example.com/x.png)\"",
    ));
    assert_one(&text, "\"See", Some("T1"), "remote");
}

#[test]
fn a_javascript_link_is_rejected() {
    let text = bank_text(&TF.replace(
        "\"HTML is a markup language.\"",
        "\"[x](javascript:alert(1))\"",
    ));
    assert_one(&text, "\"[x]", Some("T1"), "scheme that is not allowed");
}

#[test]
fn invalid_latex_is_rejected() {
    let text = bank_text(&TF.replace("\"HTML is a markup language.\"", "'Area $\\frac{a}$'"));
    assert_one(&text, "'Area", Some("T1"), "invalid LaTeX math");
}

#[test]
fn a_fill_blank_with_more_answers_than_blanks_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"F1\"\ntype = \"fill_blank\"\ndifficulty = 0.5\npoints = 1\nstem = \"The ___ element.\"\nanswer = [[\"main\"], [\"nav\"]]\n",
    );
    assert_one(
        &text,
        "[[\"main\"]",
        Some("F1"),
        "the stem has 1 blank(s) (___) but the answer gives 2",
    );
}

#[test]
fn a_fill_blank_without_blanks_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"F1\"\ntype = \"fill_blank\"\ndifficulty = 0.5\npoints = 1\nstem = \"The `___` element.\"\nanswer = [[\"main\"]]\n",
    );
    assert_one(&text, "\"The", Some("F1"), "needs at least one blank");
}

#[test]
fn a_negative_numeric_tolerance_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"N1\"\ntype = \"numeric\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\nanswer = { value = 3.14, tolerance = -0.01 }\n",
    );
    assert_one(
        &text,
        "-0.01",
        Some("N1"),
        "tolerance -0.01 must be 0 or more",
    );
}

#[test]
fn a_numeric_answer_without_tolerance_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"N1\"\ntype = \"numeric\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\nanswer = { value = 3.14 }\n",
    );
    assert_one(&text, "{ value", Some("N1"), "missing field `tolerance`");
}

#[test]
fn an_infinite_numeric_value_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"N1\"\ntype = \"numeric\"\ndifficulty = 0.5\npoints = 1\nstem = \"s\"\nanswer = { value = inf, tolerance = 0 }\n",
    );
    assert_one(&text, "inf", Some("N1"), "finite");
}

#[test]
fn an_unknown_item_field_is_rejected_with_a_suggestion() {
    let text = bank_text(&TF.replace("answer = true", "answr = true"));
    let diagnostics = errors(&text);
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    // Sorted by place: the item header (missing `answer`) comes before the misspelt key.
    assert_at(
        &diagnostics[1],
        &text,
        "answr",
        Some("T1"),
        "unknown field `answr` in [[item]] (did you mean `answer`?), expected one of `id`",
    );
    assert!(diagnostics[0].message.contains("missing field `answer`"));
}

#[test]
fn an_unknown_top_level_key_is_rejected() {
    let text = bank_text(&format!("[[items]]\nid = \"x\"\n\n{TF}"));
    assert_one(&text, "items", None, "unknown top-level key `items`");
}

#[test]
fn a_single_item_table_instead_of_an_array_is_rejected() {
    let text = bank_text("[item]\nid = \"T1\"\n");
    assert_one(&text, "[item]", None, "write [[item]], not [item]");
}

#[test]
fn an_unsupported_format_is_rejected_naming_the_supported_one() {
    let text = TF.to_owned();
    let text = format!(
        "[bank]\nformat = 2\ncertificate = \"X\"\nlevel = \"junior\"\nversion = \"1\"\ntitle = \"t\"\n\n{text}"
    );
    assert_one(
        &text,
        "2\ncert",
        None,
        "format 2 is not supported: this build reads format 1",
    );
}

#[test]
fn a_lowercase_certificate_code_is_rejected() {
    let text = bank_text(TF).replace("\"WEB-FE\"", "\"web-fe\"");
    assert_one(&text, "\"web-fe\"", None, "must use only A-Z, 0-9 and -");
}

#[test]
fn an_unknown_level_is_rejected() {
    let text = bank_text(TF).replace("\"junior\"", "\"expert\"");
    assert_one(&text, "\"expert\"", None, "unknown level `expert`");
}

#[test]
fn a_second_bank_table_in_another_file_is_rejected() {
    let mut source = BankSource::new();
    source.add_file("bank.toml", bank_text(TF));
    source.add_file("items/more.toml", HEADER.to_owned());
    let diagnostics = Bank::parse(&source).err().unwrap_or_default();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].file, "items/more.toml");
    assert_eq!(diagnostics[0].line, Some(1));
    assert!(diagnostics[0].message.contains("a second [bank] table"));
}

#[test]
fn an_empty_file_is_rejected_as_having_no_bank_table() {
    let diagnostics = errors("");
    assert_eq!(diagnostics.len(), 1);
    assert!(
        diagnostics[0]
            .message
            .contains("the file is empty: no [bank] table")
    );
}

#[test]
fn a_bank_without_a_bank_table_is_rejected() {
    let diagnostics = errors(TF);
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].message.starts_with("no [bank] table"));
}

#[test]
fn a_non_utf8_file_is_rejected_at_the_line_of_the_first_bad_byte() {
    let mut bytes = bank_text(TF).into_bytes();
    let at = bytes.len() - 3;
    bytes.insert(at, 0xff);
    let diagnostics = Bank::parse(&BankSource::single("bank.toml", bytes))
        .err()
        .unwrap_or_default();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].line, Some(13));
    assert!(
        diagnostics[0]
            .message
            .contains("not valid UTF-8 (byte 0xff")
    );
}

#[test]
fn a_file_over_sixteen_mebibytes_is_rejected_with_advice_to_split() {
    let mut text = bank_text(TF);
    text.push_str(&"# padding\n".repeat(16 * 1024 * 1024 / 10 + 1));
    let diagnostics = errors(&text);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert!(
        diagnostics[0]
            .message
            .contains("split the bank into several files")
    );
}

#[test]
fn a_toml_syntax_error_is_reported_with_its_position() {
    let text = bank_text("[[item]]\nid = \"T1\"\ntype = true_false\n");
    let diagnostics = errors(&text);
    assert!(!diagnostics.is_empty());
    let (line, _) = at(&text, "type = true_false");
    assert_eq!(diagnostics[0].line, Some(line), "{diagnostics:#?}");
    assert_eq!(diagnostics[0].column, Some(8));
    assert!(diagnostics[0].message.starts_with("TOML syntax error"));
}

#[test]
fn a_hundred_thousand_open_brackets_are_rejected_without_overflowing_the_stack() {
    let text = format!("{HEADER}x = {}", "[".repeat(100_000));
    let diagnostics = errors(&text);
    assert!(
        diagnostics[0].message.starts_with("TOML syntax error"),
        "{diagnostics:#?}"
    );
    assert!(diagnostics.len() <= 51);
}

#[test]
fn deeply_nested_inline_tables_are_rejected_without_overflowing_the_stack() {
    let text = format!("{HEADER}x = {}", "{a=".repeat(100_000));
    let diagnostics = errors(&text);
    assert!(
        diagnostics[0].message.starts_with("TOML syntax error"),
        "{diagnostics:#?}"
    );
}

#[test]
fn several_defects_in_one_file_are_all_reported() {
    let items = format!(
        "{}{}{}{}",
        TF.replace("difficulty = 0.5", "difficulty = 1.5"),
        TF.replace("\"T1\"", "\"T2\"")
            .replace("points = 1", "points = 0"),
        TF.replace("\"T1\"", "\"T3\"")
            .replace("\"true_false\"", "\"essay_question\""),
        TF.replace("\"T1\"", "\"T4\"")
            .replace("answer = true", "answer = true\nenemies = [\"NOPE\"]"),
    );
    let text = bank_text(&items);
    let diagnostics = errors(&text);
    let items: Vec<Option<&str>> = diagnostics.iter().map(|d| d.item.as_deref()).collect();
    assert_eq!(
        items,
        [Some("T1"), Some("T2"), Some("T3"), Some("T4")],
        "{diagnostics:#?}"
    );
    let lines: Vec<Option<u32>> = diagnostics.iter().map(|d| d.line).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
}

#[test]
fn the_display_form_is_file_line_column_item_message() {
    let text = bank_text(&TF.replace("difficulty = 0.5", "difficulty = 1.5"));
    let diagnostics = errors(&text);
    assert_eq!(
        diagnostics[0].to_string(),
        "bank.toml:10:14: T1: difficulty 1.5 is outside (0, 1): it is the expected share of candidates answering right, e.g. 0.62"
    );
}

#[test]
fn a_duplicate_knowledge_point_id_is_rejected() {
    let kp = "[[knowledge_point]]\nid = \"html\"\ntitle = \"HTML\"\n\n";
    let item = TF.replace("answer = true", "answer = true\nknowledge_point = \"html\"");
    let text = bank_text(&format!("{kp}{kp}{item}"));
    let diagnostics = errors(&text);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].line, Some(11));
    assert!(
        diagnostics[0]
            .message
            .contains("duplicate knowledge point id `html`: first declared at bank.toml:7")
    );
}

#[test]
fn knowledge_points_and_items_may_be_split_over_files_in_any_order() {
    let mut source = BankSource::new();
    source.add_file(
        "v/items/z.toml",
        "[[knowledge_point]]\nid = \"css\"\ntitle = \"CSS\"\n",
    );
    source.add_file(
        "v/items/a.toml",
        TF.replace("answer = true", "answer = true\nknowledge_point = \"css\""),
    );
    source.add_file("v/bank.toml", HEADER);
    let bank = Bank::parse(&source).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(bank.knowledge_points().len(), 1);
    assert_eq!(
        bank.item("T1").and_then(|i| i.knowledge_point()),
        Some("css")
    );
}

#[test]
fn raw_html_in_a_rubric_criterion_is_rejected() {
    let text = bank_text(
        "[[item]]\nid = \"E1\"\ntype = \"essay\"\ndifficulty = 0.5\npoints = 5\nstem = \"s\"\nrubric = [ { criterion = \"uses <main>\", points = 5 } ]\n",
    );
    assert_one(&text, "\"uses <main>\"", Some("E1"), "raw HTML `<main>`");
}
