//! A candidate's drawn paper: how it is drawn and stored, the candidate's view of it, and the
//! validation of a response against an item.
//!
//! The stored form ([`DrawnPaper`], JSON in `attempts.paper`) keeps what grading and saving
//! need without the bank: each item's type, points, blank count and the bank's option ids in
//! the order shown. It never leaves the server. The candidate's view
//! ([`CandidatePaper`]) is built from it and the bank's text: options are relabelled `A`, `B`,
//! `C`, … in the order shown, so a response names the label and the server maps it back, the
//! bank's option ids never leak, and "the answer is B" is useless to a neighbour whose options
//! were shuffled differently.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use xcert_assembly::{AssemblyError, Blueprint, MultipleScoring, Plan, Pool, Seed};
use xcert_bank::{Bank, ItemType};

/// Longest text accepted for a short answer, essay or practical response, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 20_000;

/// The paper as stored with the attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DrawnPaper {
    /// Sections in blueprint order, each with its items in paper order.
    pub(crate) sections: Vec<DrawnSection>,
}

/// A section of a drawn paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DrawnSection {
    /// Title shown to candidates.
    pub(crate) title: String,
    /// `all_or_nothing` or `partial`.
    pub(crate) multiple_scoring: String,
    /// Items in the order shown.
    pub(crate) items: Vec<DrawnItem>,
}

/// An item of a drawn paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DrawnItem {
    /// The bank's item id (shown to the candidate: it carries no key).
    pub(crate) id: String,
    /// The contract's type name.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Points in this paper, hundredths (a blueprint section may override the item's own).
    pub(crate) points: u32,
    /// Bank option ids in the order shown (single and multiple only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) options: Vec<String>,
    /// Number of blanks (fill_blank only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) blanks: usize,
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}

impl DrawnPaper {
    /// Every item with its section, in paper order.
    pub(crate) fn items(&self) -> impl Iterator<Item = (&DrawnSection, &DrawnItem)> {
        self.sections
            .iter()
            .flat_map(|section| section.items.iter().map(move |item| (section, item)))
    }

    /// One item by id.
    pub(crate) fn item(&self, id: &str) -> Option<(&DrawnSection, &DrawnItem)> {
        self.items().find(|(_, item)| item.id == id)
    }
}

impl DrawnSection {
    /// The section's multiple-choice scoring rule.
    pub(crate) fn scoring(&self) -> MultipleScoring {
        if self.multiple_scoring == MultipleScoring::Partial.as_str() {
            MultipleScoring::Partial
        } else {
            MultipleScoring::AllOrNothing
        }
    }
}

impl DrawnItem {
    /// The item type; `None` only for a corrupt stored paper.
    pub(crate) fn item_type(&self) -> Option<ItemType> {
        ItemType::parse(&self.kind).ok()
    }
}

/// A bank and a blueprint compiled for drawing: compiling the plan is the expensive part, so a
/// caller drawing many papers builds this once.
#[derive(Debug)]
pub(crate) struct PaperSource {
    pool: Pool,
    blueprint: Blueprint,
}

impl PaperSource {
    /// Indexes `bank` for drawing with `blueprint`.
    pub(crate) fn new(bank: &Bank, blueprint: Blueprint) -> Result<Self, AssemblyError> {
        Ok(Self {
            pool: Pool::from_bank(bank)?,
            blueprint,
        })
    }

    /// The bank's content hash, as `xcert paper draw` prints it.
    pub(crate) fn bank_hash(&self) -> &str {
        self.pool.content_hash()
    }

    /// The blueprint's hash, as `xcert paper draw` prints it.
    pub(crate) fn blueprint_hash(&self) -> String {
        self.blueprint.hash_hex()
    }

    /// Draws a whole sitting with the blueprint's exposure cap: one paper per candidate, in
    /// the order given (the server passes registration ids sorted ascending), exactly as
    /// `xcert_assembly::draw_sitting_relaxed` does and an auditor re-runs it.
    pub(crate) fn draw_sitting(
        &self,
        bank: &Bank,
        secret: &Seed,
        candidates: &[String],
    ) -> Result<SittingDraw, AssemblyError> {
        let plan = Plan::new(&self.pool, &self.blueprint)?;
        let mut papers = Vec::with_capacity(candidates.len());
        let report =
            xcert_assembly::draw_sitting_relaxed(&plan, secret, candidates, |_, paper| {
                papers.push(self.stored_form(bank, paper));
            })?;
        Ok(SittingDraw {
            papers,
            exposure_limit: report.exposure_limit,
            exposure_counts: self.counts_json(&report.exposure_counts),
            max_exposure: report.max_exposure,
        })
    }

    /// Draws the paper of a candidate added after the sitting's draw, against the stored
    /// exposure counts (`{"item id": n}`) of the `papers_before` papers drawn so far under
    /// `limit_before` (`xcert_assembly::draw_latecomer`): the paper, the limit it was drawn
    /// under, and the counts including it.
    pub(crate) fn draw_latecomer(
        &self,
        bank: &Bank,
        secret: &Seed,
        counts_json: &str,
        papers_before: usize,
        limit_before: u32,
        candidate: &str,
    ) -> Result<(DrawnPaper, u32, String), AssemblyError> {
        let stored: BTreeMap<String, u32> = serde_json::from_str(counts_json).map_err(|error| {
            AssemblyError::InvalidPool(format!("the stored exposure counts do not parse: {error}"))
        })?;
        let index: HashMap<&str, usize> = self
            .pool
            .items()
            .iter()
            .enumerate()
            .map(|(position, item)| (item.id(), position))
            .collect();
        let mut counts = vec![0u32; self.pool.items().len()];
        for (id, count) in &stored {
            let position = index.get(id.as_str()).ok_or_else(|| {
                AssemblyError::InvalidPool(format!(
                    "the stored exposure counts name item `{id}`, which the bank lacks"
                ))
            })?;
            counts[*position] = *count;
        }
        let plan = Plan::new(&self.pool, &self.blueprint)?;
        let (paper, limit) = xcert_assembly::draw_latecomer(
            &plan,
            secret,
            &mut counts,
            papers_before,
            limit_before,
            candidate,
        )?;
        Ok((
            self.stored_form(bank, &paper),
            limit,
            self.counts_json(&counts),
        ))
    }

    /// Papers per item as JSON `{"item id": n}`, items in no paper left out.
    fn counts_json(&self, counts: &[u32]) -> String {
        let map: BTreeMap<&str, u32> = self
            .pool
            .items()
            .iter()
            .zip(counts)
            .filter(|(_, count)| **count > 0)
            .map(|(item, count)| (item.id(), *count))
            .collect();
        serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
    }

    fn stored_form(&self, bank: &Bank, paper: &xcert_assembly::Paper) -> DrawnPaper {
        let blueprint_sections = self.blueprint.sections();
        let mut sections: Vec<DrawnSection> = blueprint_sections
            .iter()
            .map(|section| DrawnSection {
                title: section.title.clone(),
                multiple_scoring: section.multiple_scoring.as_str().to_owned(),
                items: Vec::new(),
            })
            .collect();
        for entry in paper.items() {
            let pool_item = &self.pool.items()[entry.item() as usize];
            let blanks = bank
                .item(pool_item.id())
                .map_or(0, xcert_bank::Item::blanks);
            let options = paper
                .option_order(entry)
                .iter()
                .map(|&index| pool_item.options()[usize::from(index)].clone())
                .collect();
            if let Some(section) = sections.get_mut(usize::from(entry.section())) {
                section.items.push(DrawnItem {
                    id: pool_item.id().to_owned(),
                    kind: pool_item.item_type().as_str().to_owned(),
                    points: entry.points(),
                    options,
                    blanks,
                });
            }
        }
        sections.retain(|section| !section.items.is_empty());
        DrawnPaper { sections }
    }
}

/// A sitting's papers drawn under its exposure cap.
#[derive(Debug)]
pub(crate) struct SittingDraw {
    /// One paper per candidate, in the candidates' order.
    pub(crate) papers: Vec<DrawnPaper>,
    /// max(1, floor(cap x papers)).
    pub(crate) exposure_limit: u32,
    /// Papers per item, JSON `{"item id": n}`.
    pub(crate) exposure_counts: String,
    /// Highest share of papers holding any one item.
    pub(crate) max_exposure: f64,
}

/// The label shown for the option at `position` (0-based): `A` … `Z`, then `AA`, `AB`, …
pub(crate) fn option_label(position: usize) -> String {
    let mut label = Vec::new();
    let mut n = position + 1;
    while n > 0 {
        let digit = (n - 1) % 26;
        label.push(b'A' + u8::try_from(digit).unwrap_or(0));
        n = (n - 1) / 26;
    }
    label.reverse();
    String::from_utf8(label).unwrap_or_default()
}

/// The position named by a label (the inverse of [`option_label`]); `None` if it is not one.
pub(crate) fn label_position(label: &str) -> Option<usize> {
    if label.is_empty() || label.len() > 3 || !label.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut n = 0_usize;
    for byte in label.bytes() {
        n = n * 26 + usize::from(byte - b'A') + 1;
    }
    Some(n - 1)
}

/// Checks a response against the item as shown; `Err` says what is wrong in words the
/// candidate's client can show. `null` (clearing the answer) is always valid.
pub(crate) fn validate_response(item: &DrawnItem, response: &Value) -> Result<(), String> {
    if response.is_null() {
        return Ok(());
    }
    let Some(item_type) = item.item_type() else {
        return Err(format!("item {} has an unknown type", item.id));
    };
    let labels = || {
        (0..item.options.len())
            .map(option_label)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let is_label = |value: &Value| {
        value
            .as_str()
            .and_then(label_position)
            .is_some_and(|position| position < item.options.len())
    };
    match item_type {
        ItemType::Single => {
            if is_label(response) {
                Ok(())
            } else {
                Err(format!(
                    "a single-choice answer is one option label: one of {}",
                    labels()
                ))
            }
        }
        ItemType::Multiple => {
            let Some(values) = response.as_array() else {
                return Err(format!(
                    "a multiple-choice answer is a list of option labels from {}",
                    labels()
                ));
            };
            if values.is_empty() {
                return Err(
                    "a multiple-choice answer names at least one option; send null to clear it"
                        .to_owned(),
                );
            }
            if !values.iter().all(is_label) {
                return Err(format!(
                    "a multiple-choice answer names only option labels from {}",
                    labels()
                ));
            }
            let mut seen: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() != values.len() {
                return Err("a multiple-choice answer names each option at most once".to_owned());
            }
            Ok(())
        }
        ItemType::TrueFalse => {
            if response.is_boolean() {
                Ok(())
            } else {
                Err("a true/false answer is true or false".to_owned())
            }
        }
        ItemType::FillBlank => {
            let well_formed = response.as_array().is_some_and(|values| {
                values.len() == item.blanks
                    && values.iter().all(|value| {
                        value
                            .as_str()
                            .is_some_and(|text| text.chars().count() <= MAX_TEXT_CHARS)
                    })
            });
            if well_formed {
                Ok(())
            } else {
                Err(format!(
                    "a fill-in-the-blank answer is a list of {} strings, one per blank",
                    item.blanks
                ))
            }
        }
        ItemType::Numeric => {
            if response.as_f64().is_some_and(f64::is_finite) {
                Ok(())
            } else {
                Err("a numeric answer is a finite number".to_owned())
            }
        }
        ItemType::ShortAnswer | ItemType::Essay | ItemType::Practical => match response.as_str() {
            Some(text) if text.chars().count() <= MAX_TEXT_CHARS => Ok(()),
            Some(_) => Err(format!(
                "a written answer is at most {MAX_TEXT_CHARS} characters"
            )),
            None => Err("a written answer is a string".to_owned()),
        },
    }
}

/// The candidate's view of a paper (CONTRACT section 3).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CandidatePaper {
    pub(crate) sections: Vec<CandidateSection>,
}

/// A section as the candidate sees it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CandidateSection {
    pub(crate) title: String,
    pub(crate) items: Vec<CandidateItem>,
}

/// An item as the candidate sees it: no key, rubric, difficulty, knowledge point or enemies.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CandidateItem {
    pub(crate) id: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Sanitized HTML.
    pub(crate) stem: String,
    pub(crate) points: Value,
    /// In the order shown, relabelled `A`, `B`, …; empty for types without options.
    pub(crate) options: Vec<CandidateOption>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) blanks: Option<usize>,
}

/// An option as the candidate sees it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CandidateOption {
    /// The label shown (`A`, `B`, …), not the bank's option id.
    pub(crate) id: String,
    /// Sanitized HTML.
    pub(crate) text: String,
}

/// Points as JSON: an integer when whole, else a decimal.
pub(crate) fn points_json(hundredths: u32) -> Value {
    if hundredths % 100 == 0 {
        Value::from(hundredths / 100)
    } else {
        Value::from(f64::from(hundredths) / 100.0)
    }
}

/// The URL of a media file shown in an attempt's paper.
pub(crate) fn media_url(attempt_id: &str, media_path: &str) -> String {
    let name = media_path.strip_prefix("media/").unwrap_or(media_path);
    format!("/api/v1/attempts/{attempt_id}/media/{name}")
}

/// Builds the candidate's view of `paper` from the bank's text; images point at the
/// attempt's media route.
pub(crate) fn candidate_paper(paper: &DrawnPaper, bank: &Bank, attempt_id: &str) -> CandidatePaper {
    let render =
        |markdown: &str| xcert_bank::render_html(markdown, |path| media_url(attempt_id, path));
    CandidatePaper {
        sections: paper
            .sections
            .iter()
            .map(|section| CandidateSection {
                title: section.title.clone(),
                items: section
                    .items
                    .iter()
                    .map(|drawn| {
                        let bank_item = bank.item(&drawn.id);
                        let stem = bank_item
                            .map(|item| render(item.stem()))
                            .unwrap_or_default();
                        let options = drawn
                            .options
                            .iter()
                            .enumerate()
                            .map(|(position, option_id)| CandidateOption {
                                id: option_label(position),
                                text: bank_item
                                    .and_then(|item| {
                                        item.options().iter().find(|o| o.id() == option_id)
                                    })
                                    .map(|option| render(option.text()))
                                    .unwrap_or_default(),
                            })
                            .collect();
                        CandidateItem {
                            id: drawn.id.clone(),
                            kind: drawn.kind.clone(),
                            stem,
                            points: points_json(drawn.points),
                            options,
                            blanks: (drawn.kind == ItemType::FillBlank.as_str())
                                .then_some(drawn.blanks),
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Whether `media_path` (`media/NAME`) is shown by an item of `paper`: a candidate may fetch
/// only the images of their own paper.
pub(crate) fn paper_shows_media(paper: &DrawnPaper, bank: &Bank, media_path: &str) -> bool {
    paper.items().any(|(_, drawn)| {
        bank.item(&drawn.id)
            .is_some_and(|item| item.media().contains_key(media_path))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(kind: &str, options: usize, blanks: usize) -> DrawnItem {
        DrawnItem {
            id: "I1".to_owned(),
            kind: kind.to_owned(),
            points: 200,
            options: (0..options).map(|i| format!("opt{i}")).collect(),
            blanks,
        }
    }

    #[test]
    fn labels_run_a_to_z_then_two_letters_and_round_trip() {
        assert_eq!(option_label(0), "A");
        assert_eq!(option_label(25), "Z");
        assert_eq!(option_label(26), "AA");
        assert_eq!(option_label(63), "BL");
        for position in 0..200 {
            assert_eq!(label_position(&option_label(position)), Some(position));
        }
        assert_eq!(label_position("a"), None);
        assert_eq!(label_position(""), None);
        assert_eq!(label_position("A1"), None);
    }

    #[test]
    fn a_single_answer_must_name_a_shown_label() {
        let single = item("single", 3, 0);
        assert!(validate_response(&single, &json!("C")).is_ok());
        let error = validate_response(&single, &json!("D")).expect_err("only A to C");
        assert!(error.contains("A, B, C"), "{error}");
        assert!(validate_response(&single, &json!("opt0")).is_err());
        assert!(validate_response(&single, &json!(["A"])).is_err());
        assert!(validate_response(&single, &Value::Null).is_ok());
    }

    #[test]
    fn a_multiple_answer_is_a_non_empty_list_of_distinct_labels() {
        let multiple = item("multiple", 4, 0);
        assert!(validate_response(&multiple, &json!(["A", "D"])).is_ok());
        assert!(validate_response(&multiple, &json!([])).is_err());
        assert!(validate_response(&multiple, &json!(["A", "A"])).is_err());
        assert!(validate_response(&multiple, &json!(["E"])).is_err());
        assert!(validate_response(&multiple, &json!("A")).is_err());
    }

    #[test]
    fn other_types_check_their_shape() {
        assert!(validate_response(&item("true_false", 0, 0), &json!(true)).is_ok());
        assert!(validate_response(&item("true_false", 0, 0), &json!("true")).is_err());
        let blanks = item("fill_blank", 0, 2);
        assert!(validate_response(&blanks, &json!(["a", "b"])).is_ok());
        let error = validate_response(&blanks, &json!(["a"])).expect_err("two blanks");
        assert!(error.contains("2 strings"), "{error}");
        assert!(validate_response(&blanks, &json!(["a", 1])).is_err());
        assert!(validate_response(&item("numeric", 0, 0), &json!(2.5)).is_ok());
        assert!(validate_response(&item("numeric", 0, 0), &json!("2.5")).is_err());
        assert!(validate_response(&item("essay", 0, 0), &json!("text")).is_ok());
        let long = "字".repeat(MAX_TEXT_CHARS + 1);
        assert!(validate_response(&item("essay", 0, 0), &json!(long)).is_err());
        assert!(validate_response(&item("short_answer", 0, 0), &json!(3)).is_err());
    }

    #[test]
    fn points_print_as_integers_when_whole() {
        assert_eq!(points_json(200), json!(2));
        assert_eq!(points_json(50), json!(0.5));
    }

    #[test]
    fn a_stored_paper_round_trips_through_json_without_empty_fields() {
        let paper = DrawnPaper {
            sections: vec![DrawnSection {
                title: "One".to_owned(),
                multiple_scoring: "partial".to_owned(),
                items: vec![item("single", 2, 0), item("essay", 0, 0)],
            }],
        };
        let text = serde_json::to_string(&paper).expect("JSON");
        assert!(!text.contains("blanks"), "{text}");
        let back: DrawnPaper = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, paper);
        assert_eq!(back.sections[0].scoring(), MultipleScoring::Partial);
    }
}
