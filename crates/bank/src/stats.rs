//! The summary an author checks before publishing: items per knowledge point, type and
//! difficulty band, with points.

use std::collections::BTreeMap;

use crate::Bank;
use crate::model::{DifficultyBand, ItemType, Points};

/// One knowledge point's counts (or the bank's totals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRow {
    /// The knowledge point id; `None` for items without one, or for the totals row.
    pub knowledge_point: Option<String>,
    /// Items per type and band: `counts[type index][band index]`, in `ItemType::ALL` and
    /// `DifficultyBand::ALL` order.
    pub counts: [[usize; 3]; 8],
    /// The points of all these items.
    pub points: Points,
}

impl StatsRow {
    fn new(knowledge_point: Option<String>) -> StatsRow {
        StatsRow {
            knowledge_point,
            counts: [[0; 3]; 8],
            points: Points::default(),
        }
    }

    /// Items of one type, over all bands.
    pub fn by_type(&self, kind: ItemType) -> usize {
        let index = ItemType::ALL.iter().position(|t| *t == kind).unwrap_or(0);
        self.counts[index].iter().sum()
    }

    /// Items in one band, over all types.
    pub fn by_band(&self, band: DifficultyBand) -> usize {
        let index = DifficultyBand::ALL
            .iter()
            .position(|b| *b == band)
            .unwrap_or(0);
        self.counts.iter().map(|row| row[index]).sum()
    }

    /// All items of the row.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }
}

/// Items per knowledge point x type x difficulty band (easy p >= 0.7, medium 0.4 <= p < 0.7,
/// hard p < 0.4), with totals and points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankStats {
    /// One row per knowledge point, in id order; items without a knowledge point last.
    pub rows: Vec<StatsRow>,
    /// The whole bank.
    pub total: StatsRow,
    /// Mean difficulty over all items, in thousandths (so the struct stays `Eq`).
    pub mean_difficulty_milli: u32,
}

impl BankStats {
    /// Counts a bank.
    pub fn of(bank: &Bank) -> BankStats {
        let mut rows: BTreeMap<Option<&str>, StatsRow> = BTreeMap::new();
        for kp in bank.knowledge_points() {
            rows.insert(Some(kp.id()), StatsRow::new(Some(kp.id().to_owned())));
        }
        let mut total = StatsRow::new(None);
        let mut difficulty_sum = 0.0;
        for item in bank.items() {
            let kind = ItemType::ALL
                .iter()
                .position(|t| *t == item.item_type())
                .unwrap_or(0);
            let band = DifficultyBand::ALL
                .iter()
                .position(|b| *b == item.difficulty_value().band())
                .unwrap_or(0);
            let row = rows
                .entry(item.knowledge_point())
                .or_insert_with(|| StatsRow::new(item.knowledge_point().map(str::to_owned)));
            row.counts[kind][band] += 1;
            row.points = row.points.checked_add(item.points()).unwrap_or(row.points);
            total.counts[kind][band] += 1;
            total.points = total
                .points
                .checked_add(item.points())
                .unwrap_or(total.points);
            difficulty_sum += item.difficulty();
        }
        let count = bank.items().len();
        let mean = if count == 0 {
            0.0
        } else {
            difficulty_sum / count as f64
        };
        // Items without a knowledge point sort first under `None`; show them last.
        let mut rows: Vec<StatsRow> = rows.into_values().collect();
        rows.sort_by_key(|row| row.knowledge_point.is_none());
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let mean_difficulty_milli = (mean * 1000.0).round() as u32;
        BankStats {
            rows,
            total,
            mean_difficulty_milli,
        }
    }
}
