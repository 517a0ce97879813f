//! A sitting's papers, drawn once under the blueprint's exposure cap and stored.
//!
//! The whole sitting is drawn with `xcert_assembly::draw_sitting` over its registration ids
//! sorted ascending, at the first start of the sitting (or earlier, when staff ask for it with
//! `POST /sittings/{id}/papers`), and stored with every paper in one transaction
//! ([`crate::storage::papers`]). Two replicas drawing at once end with one stored draw; the
//! loser throws its papers away and every start, on any replica, reads the registration's
//! stored paper by its id. A registration added after the draw (a *latecomer*) is drawn with
//! `xcert_assembly::draw_latecomer` against the stored exposure counts, one latecomer at a time,
//! so the cap holds for the sitting as it grows and the order latecomers were drawn in is
//! recorded for an auditor.

use std::sync::Arc;

use serde_json::json;
use xcert_assembly::Seed;
use xcert_bank::Bank;

use super::paper::DrawnPaper;
use super::{SittingPapers, now_ms, parse_paper};
use crate::app::{AppState, audit_entry};
use crate::error::AppError;
use crate::storage::papers::{Latecomer, LatecomerPaper, NewSittingDraw};
use crate::storage::sittings::Sitting;

/// The sitting's secret as a seed.
pub(crate) fn sitting_secret(sitting: &Sitting) -> Result<Seed, AppError> {
    Seed::parse_hex(&sitting.secret).map_err(|error| {
        AppError::Internal(format!(
            "sitting {} has an unusable secret: {error}",
            sitting.id
        ))
    })
}

/// Draws and stores the sitting's papers unless a draw is stored already. `Ok(true)` when this
/// call stored the draw, `Ok(false)` when one was there (or another replica stored its own
/// first: this one is then dropped). The papers this call stored are kept in `papers` for
/// the starts that follow in this process.
pub(crate) async fn ensure_drawn(
    state: &AppState,
    papers: &Arc<SittingPapers>,
    bank: &Arc<Bank>,
    sitting: &Sitting,
    actor: &str,
) -> Result<bool, AppError> {
    if state.storage.sitting_draw_exists(&sitting.id).await? {
        return Ok(false);
    }
    let candidates = state.storage.sitting_registration_ids(&sitting.id).await?;
    let secret = sitting_secret(sitting)?;
    let (source, bank_for_draw, ids) = (
        Arc::clone(papers),
        Arc::clone(bank),
        Arc::new(candidates.clone()),
    );
    let drawn = tokio::task::spawn_blocking(move || {
        source.source.draw_sitting(&bank_for_draw, &secret, &ids)
    })
    .await
    .map_err(|error| AppError::Internal(format!("the paper task failed: {error}")))?
    .map_err(|error| {
        AppError::Internal(format!("sitting {}: drawing papers: {error}", sitting.id))
    })?;
    let texts = drawn
        .papers
        .iter()
        .map(|paper| {
            serde_json::to_string(paper)
                .map_err(|error| AppError::Internal(format!("serializing a paper: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let draw = NewSittingDraw {
        sitting_id: sitting.id.clone(),
        candidates: candidates.clone(),
        papers: texts,
        exposure_limit: drawn.exposure_limit,
        exposure_counts: drawn.exposure_counts,
        bank_hash: papers.source.bank_hash().to_owned(),
        blueprint_hash: papers.source.blueprint_hash(),
        drawn_by: actor.to_owned(),
        drawn_at: now_ms(),
    };
    let audit = audit_entry(
        actor,
        "sitting.papers_draw",
        &format!("sitting:{}", sitting.id),
        &json!({
            "papers": candidates.len(),
            "exposure_limit": drawn.exposure_limit,
            "max_exposure": drawn.max_exposure,
            "bank_hash": draw.bank_hash,
            "blueprint_hash": draw.blueprint_hash,
        }),
    );
    let stored = state.storage.store_sitting_draw(&draw, &audit).await?;
    if stored {
        papers.keep(candidates.into_iter().zip(drawn.papers));
    }
    Ok(stored)
}

/// The paper of `registration_id` in `sitting`: drawn ahead in this process, else the stored
/// one (one row by registration id), else after drawing the sitting (first start), else as
/// a latecomer.
pub(crate) async fn paper_for(
    state: &AppState,
    papers: &Arc<SittingPapers>,
    bank: &Arc<Bank>,
    sitting: &Sitting,
    registration_id: &str,
) -> Result<DrawnPaper, AppError> {
    if let Some(paper) = papers.take(registration_id) {
        return Ok(paper);
    }
    if let Some(text) = state.storage.drawn_paper(registration_id).await? {
        return parse_paper(&text);
    }
    papers
        .filled
        .get_or_try_init(|| async {
            ensure_drawn(state, papers, bank, sitting, "system")
                .await
                .map(|_| ())
        })
        .await?;
    if let Some(paper) = papers.take(registration_id) {
        return Ok(paper);
    }
    if let Some(text) = state.storage.drawn_paper(registration_id).await? {
        return parse_paper(&text);
    }
    latecomer(state, papers, bank, sitting, registration_id).await
}

/// Draws a registration added after the sitting's draw against the stored exposure counts.
async fn latecomer(
    state: &AppState,
    papers: &Arc<SittingPapers>,
    bank: &Arc<Bank>,
    sitting: &Sitting,
    registration_id: &str,
) -> Result<DrawnPaper, AppError> {
    let secret = sitting_secret(sitting)?;
    let audit = audit_entry(
        "system",
        "sitting.papers_latecomer",
        &format!("sitting:{}", sitting.id),
        &json!({ "registration": registration_id }),
    );
    let outcome = state
        .storage
        .draw_latecomer(&sitting.id, registration_id, &audit, |tally| {
            let before = usize::try_from(tally.papers).unwrap_or(0);
            let limit_before = u32::try_from(tally.exposure_limit).unwrap_or(1);
            let (paper, exposure_limit, exposure_counts) = papers.source.draw_latecomer(
                bank,
                &secret,
                &tally.exposure_counts,
                before,
                limit_before,
                registration_id,
            )?;
            let paper_text = serde_json::to_string(&paper).map_err(|error| {
                xcert_assembly::AssemblyError::InvalidPool(format!("serializing a paper: {error}"))
            })?;
            Ok::<_, xcert_assembly::AssemblyError>(LatecomerPaper {
                paper: paper_text,
                exposure_limit,
                exposure_counts,
            })
        })
        .await?;
    match outcome {
        Latecomer::Paper(text) => parse_paper(&text),
        Latecomer::Failed(error) => Err(AppError::Internal(format!(
            "sitting {}: drawing the paper of latecomer {registration_id}: {error}",
            sitting.id
        ))),
        Latecomer::NoDraw => Err(AppError::Internal(format!(
            "sitting {} has no stored draw after drawing it",
            sitting.id
        ))),
    }
}
