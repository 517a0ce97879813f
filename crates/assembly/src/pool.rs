//! The compact, indexed view of a bank that drawing works on.
//!
//! A [`Pool`] holds only what assembly needs (id, knowledge point, type, difficulty, points,
//! enemies, option ids, whether options may be shuffled), with every cross-reference resolved
//! to a `u32` index, so the hot path never hashes a string.

use std::collections::HashMap;

use crate::AssemblyError;

/// The item types of CONTRACT section 1: the bank crate's enum, so the two never drift.
pub use xcert_bank::ItemType;

/// One item as the caller describes it, before indexing. Points are in hundredths (2.5 points
/// = 250), the bank's exact representation.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSpec {
    /// Unique id.
    pub id: String,
    /// Knowledge point id, if the bank has knowledge points.
    pub knowledge_point: Option<String>,
    /// Type.
    pub item_type: ItemType,
    /// Classical p-value, 0 < p < 1.
    pub difficulty: f64,
    /// Points in hundredths, > 0.
    pub points_hundredths: u32,
    /// Ids of items never to share a paper with this one.
    pub enemies: Vec<String>,
    /// Option ids in authored order (single and multiple only).
    pub options: Vec<String>,
    /// Whether options may be shuffled.
    pub shuffle_options: bool,
}

/// One item of a [`Pool`], indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolItem {
    id: String,
    knowledge_point: Option<u32>,
    item_type: ItemType,
    difficulty: f64,
    points: u32,
    enemies: Vec<u32>,
    options: Vec<String>,
    shuffle_options: bool,
}

impl PoolItem {
    /// The item id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Index into [`Pool::knowledge_points`].
    pub const fn knowledge_point(&self) -> Option<u32> {
        self.knowledge_point
    }
    /// The type.
    pub const fn item_type(&self) -> ItemType {
        self.item_type
    }
    /// The p-value.
    pub const fn difficulty(&self) -> f64 {
        self.difficulty
    }
    /// Points in hundredths.
    pub const fn points(&self) -> u32 {
        self.points
    }
    /// Pool indices of enemies (symmetric: if a names b, both list each other), sorted.
    pub fn enemies(&self) -> &[u32] {
        &self.enemies
    }
    /// Option ids in authored order.
    pub fn options(&self) -> &[String] {
        &self.options
    }
    /// Whether the item allows its options to be shuffled.
    pub const fn shuffle_options(&self) -> bool {
        self.shuffle_options
    }
}

/// A bank version as assembly sees it: items sorted by id, indices resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    knowledge_points: Vec<String>,
    items: Vec<PoolItem>,
    content_hash: String,
}

/// The most options an item may have: option orders are stored as `u8` indices.
pub const MAX_OPTIONS: usize = 64;

impl Pool {
    /// Builds a pool. `content_hash` is the bank's content hash (hex), recorded in papers.
    /// Items are sorted by id; enemies are made symmetric.
    pub fn new(
        knowledge_points: Vec<String>,
        mut specs: Vec<ItemSpec>,
        content_hash: String,
    ) -> Result<Pool, AssemblyError> {
        specs.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(pair) = specs.windows(2).find(|pair| pair[0].id == pair[1].id) {
            return Err(AssemblyError::InvalidPool(format!(
                "item id `{}` appears twice",
                pair[0].id
            )));
        }
        if specs.len() >= u32::MAX as usize {
            return Err(AssemblyError::InvalidPool("too many items".to_owned()));
        }
        let kp_index: HashMap<&str, u32> = knowledge_points
            .iter()
            .enumerate()
            .map(|(index, id)| (id.as_str(), index as u32))
            .collect();
        let id_index: HashMap<&str, u32> = specs
            .iter()
            .enumerate()
            .map(|(index, spec)| (spec.id.as_str(), index as u32))
            .collect();
        let mut enemies: Vec<Vec<u32>> = vec![Vec::new(); specs.len()];
        for (index, spec) in specs.iter().enumerate() {
            if !(spec.difficulty > 0.0 && spec.difficulty < 1.0) {
                return Err(AssemblyError::InvalidPool(format!(
                    "item `{}`: difficulty {} is outside (0, 1)",
                    spec.id, spec.difficulty
                )));
            }
            if spec.points_hundredths == 0 {
                return Err(AssemblyError::InvalidPool(format!(
                    "item `{}`: points must be > 0",
                    spec.id
                )));
            }
            if spec.options.len() > MAX_OPTIONS {
                return Err(AssemblyError::InvalidPool(format!(
                    "item `{}`: {} options; at most {MAX_OPTIONS} are supported",
                    spec.id,
                    spec.options.len()
                )));
            }
            for enemy in &spec.enemies {
                let Some(&other) = id_index.get(enemy.as_str()) else {
                    return Err(AssemblyError::InvalidPool(format!(
                        "item `{}`: enemy `{enemy}` is not in the bank",
                        spec.id
                    )));
                };
                if other as usize != index {
                    enemies[index].push(other);
                    enemies[other as usize].push(index as u32);
                }
            }
        }
        let mut items = Vec::with_capacity(specs.len());
        for (spec, mut enemy_list) in specs.into_iter().zip(enemies) {
            enemy_list.sort_unstable();
            enemy_list.dedup();
            let knowledge_point = match &spec.knowledge_point {
                None => None,
                Some(kp) => Some(*kp_index.get(kp.as_str()).ok_or_else(|| {
                    AssemblyError::InvalidPool(format!(
                        "item `{}`: unknown knowledge point `{kp}`",
                        spec.id
                    ))
                })?),
            };
            items.push(PoolItem {
                id: spec.id,
                knowledge_point,
                item_type: spec.item_type,
                difficulty: spec.difficulty,
                points: spec.points_hundredths,
                enemies: enemy_list,
                options: spec.options,
                shuffle_options: spec.shuffle_options,
            });
        }
        Ok(Pool {
            knowledge_points,
            items,
            content_hash,
        })
    }

    /// The pool of a validated bank version: items in the bank's id order, hundredths
    /// taken from the bank's exact points, the bank's content hash as `bank_hash`.
    pub fn from_bank(bank: &xcert_bank::Bank) -> Result<Pool, AssemblyError> {
        let knowledge_points = bank
            .knowledge_points()
            .iter()
            .map(|kp| kp.id().to_owned())
            .collect();
        let specs = bank
            .items()
            .iter()
            .map(|item| ItemSpec {
                id: item.id().to_owned(),
                knowledge_point: item.knowledge_point().map(str::to_owned),
                item_type: item.item_type(),
                difficulty: item.difficulty(),
                points_hundredths: item.points().hundredths(),
                enemies: item.enemies().to_vec(),
                options: item
                    .options()
                    .iter()
                    .map(|option| option.id().to_owned())
                    .collect(),
                shuffle_options: item.shuffle_options(),
            })
            .collect();
        Pool::new(knowledge_points, specs, bank.content_hash().to_string())
    }

    /// Items sorted by id; a `u32` item index is a position in this slice.
    pub fn items(&self) -> &[PoolItem] {
        &self.items
    }

    /// Knowledge point ids, in the bank's order.
    pub fn knowledge_points(&self) -> &[String] {
        &self.knowledge_points
    }

    /// The bank's content hash (hex).
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn spec(id: &str, kp: &str, kind: ItemType, p: f64, points: u32) -> ItemSpec {
        let options = match kind {
            ItemType::Single | ItemType::Multiple => ["A", "B", "C", "D"]
                .iter()
                .map(|option| (*option).to_owned())
                .collect(),
            _ => Vec::new(),
        };
        ItemSpec {
            id: id.to_owned(),
            knowledge_point: Some(kp.to_owned()),
            item_type: kind,
            difficulty: p,
            points_hundredths: points,
            enemies: Vec::new(),
            options,
            shuffle_options: true,
        }
    }

    #[test]
    fn enemies_are_made_symmetric_and_items_sorted() {
        let mut a = spec("B", "k", ItemType::Single, 0.5, 100);
        a.enemies.push("A".to_owned());
        let b = spec("A", "k", ItemType::Single, 0.5, 100);
        let pool = Pool::new(vec!["k".to_owned()], vec![a, b], "h".to_owned()).expect("valid");
        assert_eq!(pool.items()[0].id(), "A");
        assert_eq!(pool.items()[0].enemies(), &[1]);
        assert_eq!(pool.items()[1].enemies(), &[0]);
    }

    #[test]
    fn an_enemy_missing_from_the_bank_is_rejected() {
        let mut a = spec("A", "k", ItemType::Single, 0.5, 100);
        a.enemies.push("Z".to_owned());
        let error = Pool::new(vec!["k".to_owned()], vec![a], "h".to_owned()).expect_err("bad");
        assert!(error.to_string().contains("enemy `Z`"), "{error}");
    }

    #[test]
    fn a_difficulty_of_one_is_rejected() {
        let a = spec("A", "k", ItemType::Single, 1.0, 100);
        let error = Pool::new(vec!["k".to_owned()], vec![a], "h".to_owned()).expect_err("bad");
        assert!(error.to_string().contains("outside (0, 1)"), "{error}");
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let a = spec("A", "k", ItemType::Single, 0.5, 100);
        let error =
            Pool::new(vec!["k".to_owned()], vec![a.clone(), a], "h".to_owned()).expect_err("dup");
        assert!(error.to_string().contains("appears twice"), "{error}");
    }
}
