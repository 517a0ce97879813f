//! Storage of a sitting's drawn papers (migration `20261122000010_sitting_papers.sql`).
//!
//! - **One draw per sitting.** [`Storage::store_sitting_draw`] inserts the sitting's row with
//!   `ON CONFLICT (sitting_id) DO NOTHING` and, only when that inserted, every paper, in one
//!   transaction: of two replicas drawing at once exactly one stores, the other stores nothing
//!   and reads the winner's papers. On PostgreSQL the loser's insert waits for the winner's
//!   commit (unique index); on SQLite the first statement is a write, so the two run one after
//!   the other.
//! - **A start reads one row.** [`Storage::drawn_paper`] reads a registration's paper by its
//!   primary key.
//! - **Latecomers one at a time.** [`Storage::draw_latecomer`] locks the sitting's row with a
//!   no-op update, reads the exposure counts, draws, and writes the paper and the new counts in
//!   the same transaction, so latecomers on any replicas are drawn in one order, each against
//!   the counts its predecessors left.

use super::{AuditEntry, Storage, StorageError};

/// Papers written per multi-row `INSERT` (4 parameters a row, far below both backends' limits).
const PAPER_CHUNK: usize = 500;

/// A sitting's first draw, ready to store.
#[derive(Debug, Clone)]
pub struct NewSittingDraw {
    /// The sitting.
    pub sitting_id: String,
    /// Registration ids in draw order (sorted ascending).
    pub candidates: Vec<String>,
    /// The papers (JSON), one per candidate, in the same order.
    pub papers: Vec<String>,
    /// max(1, floor(max_rate x papers)).
    pub exposure_limit: u32,
    /// Papers per item, JSON `{"item id": n}`.
    pub exposure_counts: String,
    /// Content hash of the bank version.
    pub bank_hash: String,
    /// Hash of the blueprint.
    pub blueprint_hash: String,
    /// Staff user id, or `system`.
    pub drawn_by: String,
    /// Unix ms.
    pub drawn_at: i64,
}

/// The record of a sitting's draw: what an auditor needs, with the sitting's secret, to
/// re-derive every paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SittingDraw {
    /// The sitting.
    pub sitting_id: String,
    /// Registration ids of the first draw, in draw order (sorted ascending).
    pub candidates: Vec<String>,
    /// SHA-256 (hex) of the stored candidates JSON.
    pub candidates_sha256: String,
    /// Registrations drawn afterwards, in the order they were drawn.
    pub latecomers: Vec<String>,
    /// Papers now (first draw plus latecomers).
    pub papers: i64,
    /// The most papers any item may be in now.
    pub exposure_limit: i64,
    /// Papers per item, JSON `{"item id": n}`.
    pub exposure_counts: String,
    /// Content hash of the bank version.
    pub bank_hash: String,
    /// Hash of the blueprint.
    pub blueprint_hash: String,
    /// Staff user id, or `system`.
    pub drawn_by: String,
    /// Unix ms.
    pub drawn_at: i64,
}

/// A sitting's exposure state as a latecomer's draw finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureTally {
    /// Papers drawn so far.
    pub papers: i64,
    /// The limit they were drawn under.
    pub exposure_limit: i64,
    /// Papers per item, JSON `{"item id": n}`.
    pub exposure_counts: String,
}

/// A latecomer's drawn paper and the sitting's exposure state after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatecomerPaper {
    /// The paper (JSON).
    pub paper: String,
    /// The limit the paper was drawn under.
    pub exposure_limit: u32,
    /// Papers per item including this paper, JSON `{"item id": n}`.
    pub exposure_counts: String,
}

/// What [`Storage::draw_latecomer`] did.
#[derive(Debug)]
pub enum Latecomer<E> {
    /// The sitting has no stored draw yet.
    NoDraw,
    /// The registration's paper: drawn now, or by a request that got there first.
    Paper(String),
    /// The draw failed; nothing was written.
    Failed(E),
}

type DrawRow = (
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
);

fn paper_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO drawn_papers (registration_id, sitting_id, draw_seq, paper) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let base = row * 4;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${})",
            base + 1,
            base + 2,
            base + 3,
            base + 4
        ));
    }
    sql
}

impl Storage {
    /// Writes an audit entry for an action that changes nothing else (reading a secret).
    pub async fn record_audit(&self, audit: &AuditEntry) -> Result<(), StorageError> {
        on_pool!(self, pool => {
            append_audit!(pool, audit)?;
        });
        Ok(())
    }

    /// Whether the sitting's papers have been drawn and stored.
    pub async fn sitting_draw_exists(&self, sitting_id: &str) -> Result<bool, StorageError> {
        let row: Option<(i64,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT papers FROM sitting_draws WHERE sitting_id = $1")
                .bind(sitting_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.is_some())
    }

    /// Every registration of a sitting, sorted ascending (in Rust, byte order: the database's
    /// collation does not decide the draw order).
    pub async fn sitting_registration_ids(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<String>, StorageError> {
        let rows: Vec<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id FROM registrations WHERE sitting_id = $1")
                .bind(sitting_id)
                .fetch_all(pool)
                .await?
        });
        let mut ids: Vec<String> = rows.into_iter().map(|(id,)| id).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Stores a sitting's first draw with all its papers, unless the sitting has one already:
    /// `true` when this call stored it, `false` when another draw was there first (nothing
    /// of this one is kept).
    pub async fn store_sitting_draw(
        &self,
        draw: &NewSittingDraw,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        if draw.candidates.len() != draw.papers.len() {
            return Err(StorageError::Corrupt(format!(
                "{} candidates but {} papers",
                draw.candidates.len(),
                draw.papers.len()
            )));
        }
        let candidates = serde_json::to_string(&draw.candidates)
            .map_err(|error| StorageError::Corrupt(format!("candidate list: {error}")))?;
        let candidates_sha256 = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(candidates.as_bytes()))
        };
        let count = i64::try_from(draw.candidates.len()).unwrap_or(i64::MAX);
        let stored = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO sitting_draws (sitting_id, candidates, candidates_sha256, first_papers, papers, exposure_limit, exposure_counts, bank_hash, blueprint_hash, drawn_by, drawn_at) \
                 VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (sitting_id) DO NOTHING",
            )
            .bind(&draw.sitting_id)
            .bind(&candidates)
            .bind(&candidates_sha256)
            .bind(count)
            .bind(i64::from(draw.exposure_limit))
            .bind(&draw.exposure_counts)
            .bind(&draw.bank_hash)
            .bind(&draw.blueprint_hash)
            .bind(&draw.drawn_by)
            .bind(draw.drawn_at)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 1 {
                let rows: Vec<(usize, (&String, &String))> = draw
                    .candidates
                    .iter()
                    .zip(&draw.papers)
                    .enumerate()
                    .collect();
                for chunk in rows.chunks(PAPER_CHUNK) {
                    let sql = paper_insert_sql(chunk.len());
                    let mut query = sqlx::query(&sql);
                    for (seq, (registration, paper)) in chunk {
                        query = query
                            .bind(*registration)
                            .bind(&draw.sitting_id)
                            .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                            .bind(*paper);
                    }
                    query.execute(&mut *tx).await?;
                }
                append_audit!(&mut *tx, audit)?;
                tx.commit().await?;
                true
            } else {
                tx.rollback().await?;
                false
            }
        });
        Ok(stored)
    }

    /// A registration's drawn paper (JSON), if the sitting's draw holds it.
    pub async fn drawn_paper(&self, registration_id: &str) -> Result<Option<String>, StorageError> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT paper FROM drawn_papers WHERE registration_id = $1")
                .bind(registration_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(paper,)| paper))
    }

    /// The record of a sitting's draw, latecomers in the order they were drawn.
    pub async fn sitting_draw(
        &self,
        sitting_id: &str,
    ) -> Result<Option<SittingDraw>, StorageError> {
        let (row, latecomers): (Option<DrawRow>, Vec<(String,)>) = on_pool!(self, pool => {
            let row = sqlx::query_as(
                "SELECT sitting_id, candidates, candidates_sha256, papers, exposure_limit, exposure_counts, bank_hash, blueprint_hash, drawn_by, drawn_at \
                 FROM sitting_draws WHERE sitting_id = $1",
            )
            .bind(sitting_id)
            .fetch_optional(pool)
            .await?;
            let latecomers = sqlx::query_as(
                "SELECT p.registration_id FROM drawn_papers p JOIN sitting_draws d ON d.sitting_id = p.sitting_id \
                 WHERE p.sitting_id = $1 AND p.draw_seq >= d.first_papers ORDER BY p.draw_seq",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?;
            (row, latecomers)
        });
        let Some((
            sitting_id,
            candidates,
            candidates_sha256,
            papers,
            exposure_limit,
            exposure_counts,
            bank_hash,
            blueprint_hash,
            drawn_by,
            drawn_at,
        )) = row
        else {
            return Ok(None);
        };
        let candidates: Vec<String> = serde_json::from_str(&candidates)
            .map_err(|error| StorageError::Corrupt(format!("a draw's candidate list: {error}")))?;
        Ok(Some(SittingDraw {
            sitting_id,
            candidates,
            candidates_sha256,
            latecomers: latecomers.into_iter().map(|(id,)| id).collect(),
            papers,
            exposure_limit,
            exposure_counts,
            bank_hash,
            blueprint_hash,
            drawn_by,
            drawn_at,
        }))
    }

    /// Draws the paper of a registration that the sitting's stored draw does not hold, one
    /// latecomer at a time: in one transaction the sitting's row is locked (a no-op update),
    /// a paper a concurrent request drew meanwhile is returned as it is, else `draw` gets
    /// the exposure state and its paper is stored with the new counts and `audit`. `draw` runs
    /// while the row is locked: keep it short (one paper).
    pub async fn draw_latecomer<E>(
        &self,
        sitting_id: &str,
        registration_id: &str,
        audit: &AuditEntry,
        draw: impl FnOnce(&ExposureTally) -> Result<LatecomerPaper, E>,
    ) -> Result<Latecomer<E>, StorageError> {
        let outcome = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let tally: Option<(i64, i64, String)> = sqlx::query_as(
                "UPDATE sitting_draws SET papers = papers WHERE sitting_id = $1 RETURNING papers, exposure_limit, exposure_counts",
            )
            .bind(sitting_id)
            .fetch_optional(&mut *tx)
            .await?;
            let existing: Option<(String,)> = sqlx::query_as(
                "SELECT paper FROM drawn_papers WHERE registration_id = $1",
            )
            .bind(registration_id)
            .fetch_optional(&mut *tx)
            .await?;
            match (tally, existing) {
                (_, Some((paper,))) => {
                    tx.rollback().await?;
                    Latecomer::Paper(paper)
                }
                (None, None) => {
                    tx.rollback().await?;
                    Latecomer::NoDraw
                }
                (Some((papers, exposure_limit, exposure_counts)), None) => {
                    match draw(&ExposureTally { papers, exposure_limit, exposure_counts }) {
                        Err(error) => {
                            tx.rollback().await?;
                            Latecomer::Failed(error)
                        }
                        Ok(drawn) => {
                            sqlx::query(
                                "UPDATE sitting_draws SET papers = $2, exposure_limit = $3, exposure_counts = $4 WHERE sitting_id = $1",
                            )
                            .bind(sitting_id)
                            .bind(papers + 1)
                            .bind(i64::from(drawn.exposure_limit))
                            .bind(&drawn.exposure_counts)
                            .execute(&mut *tx)
                            .await?;
                            sqlx::query(&paper_insert_sql(1))
                                .bind(registration_id)
                                .bind(sitting_id)
                                .bind(papers)
                                .bind(&drawn.paper)
                                .execute(&mut *tx)
                                .await?;
                            append_audit!(&mut *tx, audit)?;
                            tx.commit().await?;
                            Latecomer::Paper(drawn.paper)
                        }
                    }
                }
            }
        });
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_inserts_number_four_parameters_a_row() {
        assert_eq!(
            paper_insert_sql(2),
            "INSERT INTO drawn_papers (registration_id, sitting_id, draw_seq, paper) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)"
        );
    }
}
