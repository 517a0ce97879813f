//! Storage of results, retake bans written by publication, and score corrections (migration
//! `20261122000006_results`).
//!
//! Publication ([`Storage::publish_results`]) and a correction ([`Storage::correct_score`])
//! each run in ONE transaction that starts by writing the sitting's row
//! (`UPDATE sittings SET published_at = published_at`): on SQLite that takes the database's
//! write lock before anything is read, on PostgreSQL it locks the sitting's row like
//! `SELECT ... FOR UPDATE`. So two replicas publishing at once run one after the other, and the
//! second sees `published_at` set and returns the first one's numbers without writing; a
//! correction and a publication never interleave either. Inside, the sitting is re-read,
//! totals are summed from `item_scores`, the pure rule ([`crate::results::rule`]) ranks them
//! and picks the banned, and every row, ban and audit entry is written before the commit.

use std::collections::HashMap;

use super::{AuditEntry, Storage, StorageError};
use crate::results::rule::{self, BanPolicy, Points};

/// A stored result: one graded attempt of a published sitting.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResultRow {
    /// The attempt.
    pub attempt_id: String,
    /// Its sitting.
    pub sitting_id: String,
    /// The registration.
    pub registration_id: String,
    /// The person.
    pub person_id: String,
    /// Hundredths.
    pub total_hundredths: i64,
    /// Hundredths: the paper's points.
    pub max_hundredths: i64,
    /// Hundredths: the blueprint's pass score.
    pub pass_hundredths: i64,
    /// `total >= pass`.
    pub passed: bool,
    /// Competition rank, 1 = best.
    pub rank: i64,
    /// `n`, the graded attempts of the sitting.
    pub graded_count: i64,
    /// `floor(n × percent / 100)`.
    pub cut: i64,
    /// Whether the bottom rule put this attempt under the cut.
    pub banned: bool,
    /// Unix seconds.
    pub published_at: i64,
    /// Unix seconds of the last change (publication or a correction).
    pub updated_at: i64,
}

const RESULT_COLUMNS: &str = "attempt_id, sitting_id, registration_id, person_id, \
    total_hundredths, max_hundredths, pass_hundredths, passed, rank, graded_count, cut, banned, \
    published_at, updated_at";

/// The retake ban of a result, as the result views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanState {
    /// The ban's id.
    pub id: String,
    /// First day the person may sit again.
    pub until: String,
    /// Why.
    pub reason: String,
    /// Unix seconds, when lifted.
    pub lifted_at: Option<i64>,
    /// Why it was lifted.
    pub lift_reason: Option<String>,
}

/// A result with the person's name and document, for the staff list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultListing {
    /// The result.
    pub result: ResultRow,
    /// The person's name.
    pub name: String,
    /// The normalized document number (mask it before showing it).
    pub document_number: String,
    /// The ban from this sitting, if any (lifted or not).
    pub ban: Option<BanState>,
}

/// A retake ban with who it concerns, for the staff list and the lift route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRecord {
    /// Random id.
    pub id: String,
    /// The person.
    pub person_id: String,
    /// The person's name.
    pub name: String,
    /// The normalized document number (mask it before showing it).
    pub document_number: String,
    /// Certificate code.
    pub certificate_code: String,
    /// Level.
    pub level: String,
    /// The sitting that produced it.
    pub sitting_id: String,
    /// The organization owning that sitting.
    pub organization_id: String,
    /// First day the person may sit again, `YYYY-MM-DD`.
    pub until: String,
    /// Why.
    pub reason: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, when lifted.
    pub lifted_at: Option<i64>,
    /// The staff user who lifted it.
    pub lifted_by: Option<String>,
    /// Why it was lifted.
    pub lift_reason: Option<String>,
}

type BanRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

const BAN_SELECT: &str = "SELECT b.id, b.person_id, p.name, p.document_number, \
    b.certificate_code, b.level, b.sitting_id, s.organization_id, b.until, b.reason, \
    b.created_at, b.lifted_at, b.lifted_by, b.lift_reason \
    FROM retake_bans b JOIN people p ON p.id = b.person_id JOIN sittings s ON s.id = b.sitting_id";

fn ban_from_row(row: BanRow) -> BanRecord {
    let (
        id,
        person_id,
        name,
        document_number,
        certificate_code,
        level,
        sitting_id,
        organization_id,
        until,
        reason,
        created_at,
        lifted_at,
        lifted_by,
        lift_reason,
    ) = row;
    BanRecord {
        id,
        person_id,
        name,
        document_number,
        certificate_code,
        level,
        sitting_id,
        organization_id,
        until,
        reason,
        created_at,
        lifted_at,
        lifted_by,
        lift_reason,
    }
}

/// A closed attempt (submitted or expired) of a sitting without any item score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnscoredAttempt {
    /// The attempt.
    pub id: String,
    /// The pinned bank version.
    pub bank_version_id: String,
    /// The drawn paper (JSON).
    pub paper: String,
    /// Its saved responses.
    pub responses: Vec<super::delivery::StoredResponse>,
}

/// What a sitting's evaluation needs besides the scores: decided by the service before the
/// transaction, from the sitting, its certificate and its blueprint.
#[derive(Debug, Clone)]
pub struct SittingRules {
    /// The sitting.
    pub sitting_id: String,
    /// Its title, for the ban's reason.
    pub title: String,
    /// Certificate code the bans apply to.
    pub certificate_code: String,
    /// Level the bans apply to.
    pub level: String,
    /// `YYYY-MM-DD` (CST): bans are counted from it.
    pub exam_date: String,
    /// The certificate's percent and years.
    pub policy: BanPolicy,
    /// The blueprint's pass score, hundredths.
    pub pass_hundredths: i64,
    /// The acting staff user.
    pub actor: String,
    /// Unix seconds.
    pub now: i64,
}

/// What [`Storage::publish_results`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Published now.
    Published {
        /// Results written.
        graded: usize,
        /// Bans written.
        banned: usize,
    },
    /// Published before: nothing written; the current numbers.
    AlreadyPublished {
        /// Results of the sitting.
        graded: usize,
        /// Results under the cut.
        banned: usize,
    },
    /// Attempts are still running or paused.
    AttemptsOpen {
        /// How many.
        open: i64,
    },
    /// Manual grading is outstanding, or a closed attempt has no scores.
    GradingIncomplete {
        /// Items waiting for manual grading.
        items: i64,
        /// Attempts not fully graded.
        attempts: i64,
    },
    /// No such sitting.
    NoSitting,
}

/// A score correction after publication.
#[derive(Debug, Clone)]
pub struct Correction {
    /// Random id of the history row.
    pub id: String,
    /// The attempt.
    pub attempt_id: String,
    /// The item.
    pub item_id: String,
    /// The new score, hundredths.
    pub score: i64,
    /// Why.
    pub reason: String,
}

/// How a correction changed the sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrected {
    /// The item's score before, hundredths.
    pub old_score: i64,
    /// The item's score now, hundredths.
    pub new_score: i64,
    /// The corrected attempt's result afterwards.
    pub result: ResultRow,
    /// Results whose total, rank, pass or ban changed.
    pub results_changed: usize,
    /// Bans written or reinstated.
    pub bans_added: usize,
    /// Bans lifted as no longer justified.
    pub bans_lifted: usize,
}

/// What [`Storage::correct_score`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorrectionOutcome {
    /// Written (or the score was already this: nothing changed, `results_changed` is 0).
    Done(Box<Corrected>),
    /// The sitting's results are not published.
    NotPublished,
    /// No result of this attempt in this sitting.
    NoResult,
    /// The item is not in the attempt's paper.
    NoItem,
    /// The score is above the item's points.
    OutOfRange {
        /// The item's points, hundredths.
        max: i64,
    },
}

/// What [`Storage::lift_retake_ban`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiftOutcome {
    /// Lifted now.
    Lifted(Box<BanRecord>),
    /// Lifted before: nothing changed.
    AlreadyLifted(Box<BanRecord>),
    /// No such ban.
    NoBan,
}

/// The reason written on a ban lifted because a correction moved its holder above the cut.
pub const LIFTED_BY_CORRECTION: &str = "score corrected";

/// One graded attempt's sums, as read inside the transaction.
#[derive(Debug, Clone)]
struct Standing {
    attempt_id: String,
    registration_id: String,
    person_id: String,
    items: i64,
    manual: i64,
    total: i64,
    max: i64,
}

type StandingRow = (String, String, String, i64, i64, i64, i64);

/// Sums the item scores of every closed attempt (submitted or expired) of a sitting;
/// terminated attempts and registrations without an attempt are not in it.
const STANDINGS_SQL: &str = "SELECT a.id, a.registration_id, g.person_id, \
    CAST(COUNT(s.item_id) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN s.state = 'needs_manual' THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s.score_hundredths), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s.max_hundredths), 0) AS BIGINT) \
    FROM attempts a JOIN registrations g ON g.id = a.registration_id \
    LEFT JOIN item_scores s ON s.attempt_id = a.id \
    WHERE a.sitting_id = $1 AND a.status IN ('submitted', 'expired') \
    GROUP BY a.id, a.registration_id, g.person_id ORDER BY a.id";

/// Result rows per INSERT statement (14 values each).
const RESULT_CHUNK: usize = 128;

/// `$first, $first+1, ...` placeholders for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn insert_results_sql(rows: usize) -> String {
    let values = (0..rows)
        .map(|row| format!("({})", placeholders(row * 14 + 1, 14)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("INSERT INTO results ({RESULT_COLUMNS}) VALUES {values}")
}

fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_usize(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

/// The result rows of a sitting from its standings, by the rule.
fn evaluate(standings: &[Standing], rules: &SittingRules, published_at: i64) -> Vec<ResultRow> {
    let totals: Vec<i64> = standings.iter().map(|standing| standing.total).collect();
    let evaluation = rule::evaluate(&totals, rules.policy);
    standings
        .iter()
        .zip(&evaluation.standings)
        .map(|(standing, verdict)| ResultRow {
            attempt_id: standing.attempt_id.clone(),
            sitting_id: rules.sitting_id.clone(),
            registration_id: standing.registration_id.clone(),
            person_id: standing.person_id.clone(),
            total_hundredths: standing.total,
            max_hundredths: standing.max,
            pass_hundredths: rules.pass_hundredths,
            passed: rule::passed(standing.total, rules.pass_hundredths),
            rank: i64::try_from(verdict.rank).unwrap_or(i64::MAX),
            graded_count: to_i64(evaluation.graded),
            cut: to_i64(evaluation.cut),
            banned: verdict.banned,
            published_at,
            updated_at: rules.now,
        })
        .collect()
}

/// The reason written on a ban.
fn ban_reason(rules: &SittingRules, result: &ResultRow) -> String {
    format!(
        "bottom {}% of sitting \"{}\" on {}: total {} of {}, rank {} of {} graded; the lowest {} fall under the cut",
        rules.policy.percent(),
        rules.title,
        rules.exam_date,
        Points(result.total_hundredths),
        Points(result.max_hundredths),
        result.rank,
        result.graded_count,
        result.cut
    )
}

fn audit(
    rules: &SittingRules,
    action: &str,
    object: &str,
    payload: &serde_json::Value,
) -> AuditEntry {
    crate::app::audit_entry(&rules.actor, action, object, payload)
}

/// Reads a sitting's standings inside `$tx`.
macro_rules! standings_in {
    ($tx:ident, $sitting_id:expr) => {{
        let rows: Vec<StandingRow> = sqlx::query_as(STANDINGS_SQL)
            .bind($sitting_id)
            .fetch_all(&mut *$tx)
            .await?;
        rows.into_iter()
            .map(
                |(attempt_id, registration_id, person_id, items, manual, total, max)| Standing {
                    attempt_id,
                    registration_id,
                    person_id,
                    items,
                    manual,
                    total,
                    max,
                },
            )
            .collect::<Vec<Standing>>()
    }};
}

/// Takes the sitting's lock inside `$tx` (see the module documentation) and evaluates to its
/// `published_at`, or `None` when there is no such sitting.
macro_rules! lock_sitting_in {
    ($tx:ident, $sitting_id:expr) => {{
        let touched = sqlx::query("UPDATE sittings SET published_at = published_at WHERE id = $1")
            .bind($sitting_id)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if touched == 0 {
            None
        } else {
            let (published_at,): (Option<i64>,) =
                sqlx::query_as("SELECT published_at FROM sittings WHERE id = $1")
                    .bind($sitting_id)
                    .fetch_one(&mut *$tx)
                    .await?;
            Some(published_at)
        }
    }};
}

/// Writes a new ban (or reinstates one a correction lifted) inside `$tx`; evaluates to
/// whether a ban came into force.
macro_rules! ban_in {
    ($tx:ident, $rules:expr, $result:expr, $until:expr) => {{
        let rules: &SittingRules = $rules;
        let result: &ResultRow = $result;
        let reason = ban_reason(rules, result);
        let existing: Option<(String, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT id, lifted_at, lift_reason FROM retake_bans WHERE person_id = $1 AND sitting_id = $2",
        )
        .bind(&result.person_id)
        .bind(&rules.sitting_id)
        .fetch_optional(&mut *$tx)
        .await?;
        match existing {
            None => {
                let id = crate::random::hex_id();
                sqlx::query(
                    "INSERT INTO retake_bans (id, person_id, certificate_code, level, sitting_id, until, reason, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&id)
                .bind(&result.person_id)
                .bind(&rules.certificate_code)
                .bind(&rules.level)
                .bind(&rules.sitting_id)
                .bind($until)
                .bind(&reason)
                .bind(rules.now)
                .execute(&mut *$tx)
                .await?;
                let entry = audit(
                    rules,
                    "retake_ban.create",
                    &format!("retake_ban:{id}"),
                    &serde_json::json!({"person": result.person_id, "sitting": rules.sitting_id, "until": $until, "reason": reason}),
                );
                append_audit!(&mut *$tx, entry)?;
                true
            }
            // A ban a correction lifted comes back when a later correction puts its holder
            // under the cut again; one lifted by an admin (an appeal) stays lifted.
            Some((id, Some(_), Some(lift_reason))) if lift_reason == LIFTED_BY_CORRECTION => {
                sqlx::query(
                    "UPDATE retake_bans SET lifted_at = NULL, lifted_by = NULL, lift_reason = NULL, reason = $2 WHERE id = $1",
                )
                .bind(&id)
                .bind(&reason)
                .execute(&mut *$tx)
                .await?;
                let entry = audit(
                    rules,
                    "retake_ban.reinstate",
                    &format!("retake_ban:{id}"),
                    &serde_json::json!({"person": result.person_id, "sitting": rules.sitting_id, "reason": reason}),
                );
                append_audit!(&mut *$tx, entry)?;
                true
            }
            Some(_) => false,
        }
    }};
}

impl Storage {
    /// The closed attempts (submitted or expired) of a sitting that have no item score yet,
    /// with their responses: publication grades them before it sums.
    pub async fn unscored_attempts(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<UnscoredAttempt>, StorageError> {
        let attempts: Vec<(String, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.bank_version_id, a.paper FROM attempts a \
                 WHERE a.sitting_id = $1 AND a.status IN ('submitted', 'expired') \
                 AND a.graded_at IS NULL ORDER BY a.id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        });
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let responses: Vec<(String, String, i64, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.attempt_id, r.item_id, r.seq, r.response, r.saved_at FROM responses r \
                 JOIN attempts a ON a.id = r.attempt_id \
                 WHERE a.sitting_id = $1 AND a.status IN ('submitted', 'expired') \
                 AND a.graded_at IS NULL \
                 ORDER BY r.attempt_id, r.item_id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        });
        let mut by_attempt: HashMap<String, Vec<super::delivery::StoredResponse>> = HashMap::new();
        for (attempt_id, item_id, seq, response, saved_at) in responses {
            by_attempt
                .entry(attempt_id)
                .or_default()
                .push(super::delivery::StoredResponse {
                    item_id,
                    seq,
                    response,
                    saved_at,
                });
        }
        Ok(attempts
            .into_iter()
            .map(|(id, bank_version_id, paper)| UnscoredAttempt {
                responses: by_attempt.remove(&id).unwrap_or_default(),
                id,
                bank_version_id,
                paper,
            })
            .collect())
    }

    /// Publishes a sitting's results in ONE transaction (see the module documentation):
    /// records `late` scores of attempts that had none, refuses while attempts are open or
    /// grading is outstanding, and otherwise writes the results, the bans, `published_at` and
    /// the audit entries. Publishing a published sitting writes nothing and returns its
    /// numbers.
    pub async fn publish_results(
        &self,
        rules: &SittingRules,
        late: &[super::delivery::AttemptScores],
    ) -> Result<PublishOutcome, StorageError> {
        let sitting_id = rules.sitting_id.as_str();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let Some(published_at) = lock_sitting_in!(tx, sitting_id) else {
                return Ok(PublishOutcome::NoSitting);
            };
            if published_at.is_some() {
                let (graded, banned): (i64, i64) = sqlx::query_as(
                    "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN banned THEN 1 ELSE 0 END), 0) AS BIGINT) \
                     FROM results WHERE sitting_id = $1",
                )
                .bind(sitting_id)
                .fetch_one(&mut *tx)
                .await?;
                tx.rollback().await?;
                return Ok(PublishOutcome::AlreadyPublished {
                    graded: to_usize(graded),
                    banned: to_usize(banned),
                });
            }
            let (open,): (i64,) = sqlx::query_as(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM attempts WHERE sitting_id = $1 AND status IN ('in_progress', 'paused')",
            )
            .bind(sitting_id)
            .fetch_one(&mut *tx)
            .await?;
            if open > 0 {
                tx.rollback().await?;
                return Ok(PublishOutcome::AttemptsOpen { open });
            }
            for attempt in late {
                grade_in!(tx, attempt);
            }
            let standings = standings_in!(tx, sitting_id);
            let items: i64 = standings.iter().map(|standing| standing.manual).sum();
            let attempts = standings
                .iter()
                .filter(|standing| standing.manual > 0 || standing.items == 0)
                .count();
            if items > 0 || attempts > 0 {
                tx.rollback().await?;
                return Ok(PublishOutcome::GradingIncomplete {
                    items,
                    attempts: to_i64(attempts),
                });
            }
            let results = evaluate(&standings, rules, rules.now);
            for chunk in results.chunks(RESULT_CHUNK) {
                let sql = insert_results_sql(chunk.len());
                let mut query = sqlx::query(&sql);
                for result in chunk {
                    query = query
                        .bind(&result.attempt_id)
                        .bind(&result.sitting_id)
                        .bind(&result.registration_id)
                        .bind(&result.person_id)
                        .bind(result.total_hundredths)
                        .bind(result.max_hundredths)
                        .bind(result.pass_hundredths)
                        .bind(result.passed)
                        .bind(result.rank)
                        .bind(result.graded_count)
                        .bind(result.cut)
                        .bind(result.banned)
                        .bind(result.published_at)
                        .bind(result.updated_at);
                }
                query.execute(&mut *tx).await?;
            }
            let mut banned = 0;
            let until = if rules.policy.bans() {
                Some(
                    rule::ban_until(&rules.exam_date, rules.policy.years())
                        .map_err(|error| StorageError::Corrupt(error.to_string()))?,
                )
            } else {
                None
            };
            if let Some(until) = &until {
                for result in results.iter().filter(|result| result.banned) {
                    if ban_in!(tx, rules, result, until) {
                        banned += 1;
                    }
                }
            }
            sqlx::query("UPDATE sittings SET published_at = $2 WHERE id = $1")
                .bind(sitting_id)
                .bind(rules.now)
                .execute(&mut *tx)
                .await?;
            let cut = results.first().map_or(0, |result| result.cut);
            let entry = audit(
                rules,
                "results.publish",
                &format!("sitting:{sitting_id}"),
                &serde_json::json!({
                    "graded": results.len(),
                    "banned": banned,
                    "cut": cut,
                    "percent": rules.policy.percent(),
                    "years": rules.policy.years(),
                    "pass_hundredths": rules.pass_hundredths,
                    "until": until,
                }),
            );
            append_audit!(&mut *tx, entry)?;
            tx.commit().await?;
            Ok(PublishOutcome::Published {
                graded: results.len(),
                banned,
            })
        })
    }

    /// Corrects one item score of a published sitting and re-evaluates the whole sitting in
    /// ONE transaction: totals, ranks, pass/fail and the rule; bans newly required are written
    /// (or a ban a correction lifted is reinstated), bans no longer justified are lifted with
    /// the reason [`LIFTED_BY_CORRECTION`]; the history row and every change are audited.
    pub async fn correct_score(
        &self,
        rules: &SittingRules,
        correction: &Correction,
    ) -> Result<CorrectionOutcome, StorageError> {
        let sitting_id = rules.sitting_id.as_str();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let Some(published_at) = lock_sitting_in!(tx, sitting_id) else {
                return Ok(CorrectionOutcome::NotPublished);
            };
            if published_at.is_none() {
                tx.rollback().await?;
                return Ok(CorrectionOutcome::NotPublished);
            }
            let select = format!("SELECT {RESULT_COLUMNS} FROM results WHERE sitting_id = $1 ORDER BY attempt_id");
            let before: Vec<ResultRow> = sqlx::query_as(&select)
                .bind(sitting_id)
                .fetch_all(&mut *tx)
                .await?;
            if !before.iter().any(|result| result.attempt_id == correction.attempt_id) {
                tx.rollback().await?;
                return Ok(CorrectionOutcome::NoResult);
            }
            let item: Option<(Option<i64>, i64)> = sqlx::query_as(
                "SELECT score_hundredths, max_hundredths FROM item_scores WHERE attempt_id = $1 AND item_id = $2",
            )
            .bind(&correction.attempt_id)
            .bind(&correction.item_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((old_score, max)) = item else {
                tx.rollback().await?;
                return Ok(CorrectionOutcome::NoItem);
            };
            if correction.score < 0 || correction.score > max {
                tx.rollback().await?;
                return Ok(CorrectionOutcome::OutOfRange { max });
            }
            let old_score = old_score.unwrap_or(0);
            let find = |rows: &[ResultRow]| {
                rows.iter()
                    .find(|result| result.attempt_id == correction.attempt_id)
                    .cloned()
                    .ok_or_else(|| StorageError::Corrupt("a corrected result vanished".to_owned()))
            };
            if old_score == correction.score {
                tx.rollback().await?;
                return Ok(CorrectionOutcome::Done(Box::new(Corrected {
                    old_score,
                    new_score: correction.score,
                    result: find(&before)?,
                    results_changed: 0,
                    bans_added: 0,
                    bans_lifted: 0,
                })));
            }
            sqlx::query(
                "UPDATE item_scores SET score_hundredths = $3, state = 'graded', graded_at = $4 WHERE attempt_id = $1 AND item_id = $2",
            )
            .bind(&correction.attempt_id)
            .bind(&correction.item_id)
            .bind(correction.score)
            .bind(rules.now.saturating_mul(1000))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO score_corrections (id, sitting_id, attempt_id, item_id, old_hundredths, new_hundredths, reason, actor, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&correction.id)
            .bind(sitting_id)
            .bind(&correction.attempt_id)
            .bind(&correction.item_id)
            .bind(old_score)
            .bind(correction.score)
            .bind(&correction.reason)
            .bind(&rules.actor)
            .bind(rules.now)
            .execute(&mut *tx)
            .await?;
            let entry = audit(
                rules,
                "results.correct",
                &format!("attempt:{}", correction.attempt_id),
                &serde_json::json!({
                    "sitting": sitting_id,
                    "item": correction.item_id,
                    "old_hundredths": old_score,
                    "new_hundredths": correction.score,
                    "reason": correction.reason,
                }),
            );
            append_audit!(&mut *tx, entry)?;
            // Only the attempts published are re-ranked: the n of the rule stays the same.
            let published: HashMap<&str, &ResultRow> = before
                .iter()
                .map(|result| (result.attempt_id.as_str(), result))
                .collect();
            let standings: Vec<Standing> = standings_in!(tx, sitting_id)
                .into_iter()
                .filter(|standing| published.contains_key(standing.attempt_id.as_str()))
                .collect();
            let first_published = before.first().map_or(rules.now, |result| result.published_at);
            let after = evaluate(&standings, rules, first_published);
            let until = rule::ban_until(&rules.exam_date, rules.policy.years())
                .map_err(|error| StorageError::Corrupt(error.to_string()))?;
            let (mut changed, mut added, mut lifted) = (0, 0, 0);
            for result in &after {
                let Some(old) = published.get(result.attempt_id.as_str()) else {
                    continue;
                };
                let same = old.total_hundredths == result.total_hundredths
                    && old.max_hundredths == result.max_hundredths
                    && old.passed == result.passed
                    && old.rank == result.rank
                    && old.banned == result.banned
                    && old.cut == result.cut
                    && old.graded_count == result.graded_count;
                if same {
                    continue;
                }
                changed += 1;
                sqlx::query(
                    "UPDATE results SET total_hundredths = $2, max_hundredths = $3, passed = $4, rank = $5, \
                     graded_count = $6, cut = $7, banned = $8, updated_at = $9 WHERE attempt_id = $1",
                )
                .bind(&result.attempt_id)
                .bind(result.total_hundredths)
                .bind(result.max_hundredths)
                .bind(result.passed)
                .bind(result.rank)
                .bind(result.graded_count)
                .bind(result.cut)
                .bind(result.banned)
                .bind(rules.now)
                .execute(&mut *tx)
                .await?;
                if result.banned && !old.banned {
                    if ban_in!(tx, rules, result, &until) {
                        added += 1;
                    }
                } else if old.banned && !result.banned {
                    let ban: Option<(String,)> = sqlx::query_as(
                        "SELECT id FROM retake_bans WHERE person_id = $1 AND sitting_id = $2 AND lifted_at IS NULL",
                    )
                    .bind(&result.person_id)
                    .bind(sitting_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((id,)) = ban {
                        sqlx::query(
                            "UPDATE retake_bans SET lifted_at = $2, lifted_by = $3, lift_reason = $4 WHERE id = $1",
                        )
                        .bind(&id)
                        .bind(rules.now)
                        .bind(&rules.actor)
                        .bind(LIFTED_BY_CORRECTION)
                        .execute(&mut *tx)
                        .await?;
                        let entry = audit(
                            rules,
                            "retake_ban.lift",
                            &format!("retake_ban:{id}"),
                            &serde_json::json!({"reason": LIFTED_BY_CORRECTION, "attempt": result.attempt_id}),
                        );
                        append_audit!(&mut *tx, entry)?;
                        lifted += 1;
                    }
                }
            }
            let result = find(&after)?;
            tx.commit().await?;
            Ok(CorrectionOutcome::Done(Box::new(Corrected {
                old_score,
                new_score: correction.score,
                result,
                results_changed: changed,
                bans_added: added,
                bans_lifted: lifted,
            })))
        })
    }

    /// The results of a sitting with name, document and ban, best first.
    pub async fn results_of_sitting(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<ResultListing>, StorageError> {
        let sql = format!(
            "SELECT {} FROM results r JOIN people p ON p.id = r.person_id \
             LEFT JOIN retake_bans b ON b.person_id = r.person_id AND b.sitting_id = r.sitting_id \
             WHERE r.sitting_id = $1 ORDER BY r.rank, p.name, r.attempt_id",
            listing_columns()
        );
        let rows: Vec<ListingRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(listing_from_row).collect())
    }

    /// The result of one registration, with its ban, if published.
    pub async fn result_of_registration(
        &self,
        registration_id: &str,
    ) -> Result<Option<ResultListing>, StorageError> {
        let sql = format!(
            "SELECT {} FROM results r JOIN people p ON p.id = r.person_id \
             LEFT JOIN retake_bans b ON b.person_id = r.person_id AND b.sitting_id = r.sitting_id \
             WHERE r.registration_id = $1",
            listing_columns()
        );
        let row: Option<ListingRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(registration_id).fetch_optional(pool).await?
        });
        Ok(row.map(listing_from_row))
    }

    /// The retake bans a sitting produced, lifted ones included, by person name.
    pub async fn retake_bans_of_sitting(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<BanRecord>, StorageError> {
        let sql = format!("{BAN_SELECT} WHERE b.sitting_id = $1 ORDER BY p.name, b.id");
        let rows: Vec<BanRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(ban_from_row).collect())
    }

    /// One retake ban by id.
    pub async fn retake_ban(&self, id: &str) -> Result<Option<BanRecord>, StorageError> {
        let sql = format!("{BAN_SELECT} WHERE b.id = $1");
        let row: Option<BanRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(ban_from_row))
    }

    /// Lifts a retake ban (an admin, on appeal) with a reason, audited; a lifted ban is left
    /// as it is.
    pub async fn lift_retake_ban(
        &self,
        id: &str,
        actor: &str,
        reason: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<LiftOutcome, StorageError> {
        let lifted = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE retake_bans SET lifted_at = $2, lifted_by = $3, lift_reason = $4 WHERE id = $1 AND lifted_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .bind(actor)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                append_audit!(&mut *tx, audit)?;
            }
            tx.commit().await?;
            done.rows_affected() == 1
        });
        Ok(match self.retake_ban(id).await? {
            None => LiftOutcome::NoBan,
            Some(ban) if lifted => LiftOutcome::Lifted(Box::new(ban)),
            Some(ban) => LiftOutcome::AlreadyLifted(Box::new(ban)),
        })
    }

    /// The correction history of a sitting, oldest first.
    pub async fn score_corrections(
        &self,
        sitting_id: &str,
    ) -> Result<Vec<ScoreCorrection>, StorageError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, sitting_id, attempt_id, item_id, old_hundredths, new_hundredths, reason, actor, at \
                 FROM score_corrections WHERE sitting_id = $1 ORDER BY at, id",
            )
            .bind(sitting_id)
            .fetch_all(pool)
            .await?
        }))
    }
}

/// One row of the correction history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScoreCorrection {
    /// Random id.
    pub id: String,
    /// The sitting.
    pub sitting_id: String,
    /// The attempt.
    pub attempt_id: String,
    /// The item.
    pub item_id: String,
    /// Hundredths before.
    pub old_hundredths: i64,
    /// Hundredths after.
    pub new_hundredths: i64,
    /// Why.
    pub reason: String,
    /// The staff user.
    pub actor: String,
    /// Unix seconds.
    pub at: i64,
}

/// A result row joined with its person and ban, as the listing queries select it.
#[derive(Debug, sqlx::FromRow)]
struct ListingRow {
    #[sqlx(flatten)]
    result: ResultRow,
    name: String,
    document_number: String,
    ban_id: Option<String>,
    ban_until: Option<String>,
    ban_reason: Option<String>,
    ban_lifted_at: Option<i64>,
    ban_lift_reason: Option<String>,
}

/// The columns of a [`ListingRow`] from `results r`, `people p` and `retake_bans b`.
fn listing_columns() -> String {
    let result = RESULT_COLUMNS
        .split(',')
        .map(|column| format!("r.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{result}, p.name, p.document_number, b.id AS ban_id, b.until AS ban_until, \
         b.reason AS ban_reason, b.lifted_at AS ban_lifted_at, b.lift_reason AS ban_lift_reason"
    )
}

fn listing_from_row(row: ListingRow) -> ResultListing {
    let ban = match (row.ban_id, row.ban_until, row.ban_reason) {
        (Some(id), Some(until), Some(reason)) => Some(BanState {
            id,
            until,
            reason,
            lifted_at: row.ban_lifted_at,
            lift_reason: row.ban_lift_reason,
        }),
        _ => None,
    };
    ResultListing {
        result: row.result,
        name: row.name,
        document_number: row.document_number,
        ban,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SittingRules {
        SittingRules {
            sitting_id: "s".to_owned(),
            title: "June".to_owned(),
            certificate_code: "WEB".to_owned(),
            level: "junior".to_owned(),
            exam_date: "2026-06-06".to_owned(),
            policy: BanPolicy::new(10, 3).expect("valid"),
            pass_hundredths: 600,
            actor: "u".to_owned(),
            now: 1,
        }
    }

    #[test]
    fn results_are_evaluated_from_the_sums_with_pass_rank_and_cut() {
        let standings: Vec<Standing> = (0..10)
            .map(|index| Standing {
                attempt_id: format!("a{index}"),
                registration_id: format!("r{index}"),
                person_id: format!("p{index}"),
                items: 9,
                manual: 0,
                total: index * 100,
                max: 900,
            })
            .collect();
        let results = evaluate(&standings, &rules(), 1);
        assert_eq!(results[0].rank, 10);
        assert!(results[0].banned);
        assert!(!results[1].banned);
        assert!(!results[5].passed);
        assert!(results[6].passed);
        assert!(
            results
                .iter()
                .all(|result| result.cut == 1 && result.graded_count == 10)
        );
        let reason = ban_reason(&rules(), &results[0]);
        assert!(reason.contains("rank 10 of 10"), "{reason}");
        assert!(reason.contains("total 0 of 9"), "{reason}");
    }

    #[test]
    fn insert_statements_number_their_placeholders_per_row() {
        let sql = insert_results_sql(2);
        assert!(sql.contains("($1, $2,"), "{sql}");
        assert!(sql.contains("$15, $16"), "{sql}");
        assert!(sql.ends_with("$28)"), "{sql}");
    }
}
