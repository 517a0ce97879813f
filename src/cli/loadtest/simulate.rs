//! The simulation: one task per candidate, each following its own timetable (start within
//! the ramp, a save per interval with jitter, the submit rush), then the loss check.
//!
//! Time is modelled on absolute instants: a candidate's next save is due at a moment fixed in
//! advance, not "interval after the previous answer came back", so a slow server cannot
//! thin out the load it is given (no coordinated omission). How late the tasks woke against
//! their timetable is measured too: if the generator itself falls behind, the report says so.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng as _};
use reqwest::Method;
use serde_json::{Value, json};

use super::answers::{PaperItem, paper_items, response, same_response};
use super::client::{Api, Body, Call, segment};
use super::setup::Candidate;
use super::stats::Samples;

/// The timetable every candidate follows, with its own random draws.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timetable {
    /// Every candidate logs in and starts at a uniformly random moment within this.
    pub(super) ramp: Duration,
    /// One save per interval, ±20% jitter.
    pub(super) save_interval: Duration,
    /// How long each candidate keeps answering after their start.
    pub(super) exam: Duration,
    /// The submit rush: after the last candidate's exam time, everyone submits within this.
    pub(super) submit_window: Duration,
    /// Whether the browser flushes one last save right before submitting.
    pub(super) final_save: bool,
}

impl Timetable {
    /// When the submit rush begins, from the simulation's start.
    fn rush(&self) -> Duration {
        self.ramp + self.exam
    }

    /// The latest moment any candidate acts, from the simulation's start.
    pub(super) fn end(&self) -> Duration {
        self.rush() + self.submit_window
    }
}

/// What one candidate sent with each seq, and the highest seq the server acknowledged.
#[derive(Debug, Default)]
struct ItemLog {
    sent: Vec<(u64, Value)>,
    acknowledged: Option<u64>,
}

/// One candidate's record, filled in as the simulation goes, read by the loss check.
#[derive(Debug, Default)]
pub(super) struct CandidateLog {
    attempt_id: Option<String>,
    token: Option<String>,
    items: HashMap<String, ItemLog>,
    submitted: bool,
}

/// Live counters for the progress lines and the report.
#[derive(Debug, Default)]
pub(super) struct Progress {
    pub(super) started: AtomicU64,
    pub(super) saves_acknowledged: AtomicU64,
    pub(super) submitted: AtomicU64,
    /// How late candidates woke for their planned actions.
    pub(super) lag: Samples,
    /// The saves while answering alone (they are in the save figures too).
    pub(super) answering_saves: Samples,
    /// The saves of the submit rush alone (they are in the save figures too).
    pub(super) rush_saves: Samples,
}

/// What every candidate task shares.
#[derive(Debug)]
pub(super) struct Simulation {
    pub(super) api: Arc<Api>,
    pub(super) progress: Progress,
    pub(super) timetable: Timetable,
    /// The simulation's start: every timetable counts from here.
    pub(super) t0: Instant,
    /// With the candidate's index, fixes every random draw of that candidate.
    pub(super) seed: u64,
}

/// Runs one candidate from login to submit, recording in `log` what was sent and
/// acknowledged.
pub(super) async fn candidate(
    simulation: Arc<Simulation>,
    log: Arc<Mutex<CandidateLog>>,
    who: Candidate,
    index: u64,
) {
    let Simulation {
        api,
        progress,
        timetable,
        t0,
        seed,
    } = &*simulation;
    let (timetable, t0, seed) = (*timetable, *t0, *seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let start_at = t0 + timetable.ramp.mul_f64(unit(&mut rng));
    let answer_until = start_at + timetable.exam;
    let submit_at = t0 + timetable.rush() + timetable.submit_window.mul_f64(unit(&mut rng));

    wake_at(progress, start_at).await;
    let Some(token) = login(api, &who).await else {
        return;
    };
    let Some((attempt_id, items)) = start(api, &token).await else {
        return;
    };
    progress.started.fetch_add(1, Ordering::Relaxed);
    {
        let mut log = lock(&log);
        log.attempt_id = Some(attempt_id.clone());
        log.token = Some(token.clone());
    }

    let mut saver = Saver {
        api,
        progress,
        log: &log,
        token: &token,
        attempt_id: &attempt_id,
        items: &items,
        seq: 0,
    };
    let mut next_save = start_at + jittered(timetable.save_interval, &mut rng);
    while next_save < answer_until {
        wake_at(progress, next_save).await;
        saver.save(&mut rng, false).await;
        next_save += jittered(timetable.save_interval, &mut rng);
    }

    wake_at(progress, submit_at).await;
    if timetable.final_save {
        saver.save(&mut rng, true).await;
    }
    let path = format!("/attempts/{}/submit", segment(&attempt_id));
    if let Some(reply) = api
        .call(Call::Submit, Method::POST, &path, Some(&token), Body::None)
        .await
    {
        if reply.status == 200 {
            lock(&log).submitted = true;
            progress.submitted.fetch_add(1, Ordering::Relaxed);
        } else {
            api.unexpected(Call::Submit, &reply);
        }
    }
}

/// `POST /candidate/sessions` → the token.
async fn login(api: &Api, who: &Candidate) -> Option<String> {
    let body = json!({"ticket": who.ticket, "id_number": who.id_number});
    let reply = api
        .call(
            Call::Login,
            Method::POST,
            "/candidate/sessions",
            None,
            Body::Json(&body),
        )
        .await?;
    match (reply.status, reply.body["token"].as_str()) {
        (200, Some(token)) => Some(token.to_owned()),
        _ => {
            api.unexpected(Call::Login, &reply);
            None
        }
    }
}

/// `POST /attempts` → the attempt id and the paper's items.
async fn start(api: &Api, token: &str) -> Option<(String, Vec<PaperItem>)> {
    let reply = api
        .call(
            Call::Start,
            Method::POST,
            "/attempts",
            Some(token),
            Body::None,
        )
        .await?;
    let items = paper_items(&reply.body);
    match (reply.status, reply.body["id"].as_str()) {
        (200 | 201, Some(id)) if !items.is_empty() => Some((id.to_owned(), items)),
        (200 | 201, _) => {
            api.error(Call::Start, "answered without an attempt id or items");
            None
        }
        _ => {
            api.unexpected(Call::Start, &reply);
            None
        }
    }
}

/// One candidate's saves: the next item in paper order each time, seq increasing.
struct Saver<'a> {
    api: &'a Api,
    progress: &'a Progress,
    log: &'a Mutex<CandidateLog>,
    token: &'a str,
    attempt_id: &'a str,
    items: &'a [PaperItem],
    seq: u64,
}

impl Saver<'_> {
    /// Saves the next item; the latency is also recorded among the answering or the rush's
    /// saves, as `in_rush` says.
    async fn save(&mut self, rng: &mut ChaCha8Rng, in_rush: bool) {
        let item = &self.items[(self.seq % self.items.len() as u64) as usize];
        self.seq += 1;
        let seq = self.seq;
        let answer = response(item, seq, rng);
        let body = json!({"seq": seq, "response": answer});
        lock(self.log)
            .items
            .entry(item.id.clone())
            .or_default()
            .sent
            .push((seq, answer));
        let path = format!(
            "/attempts/{}/responses/{}",
            segment(self.attempt_id),
            segment(&item.id)
        );
        let Some(reply) = self
            .api
            .call(
                Call::Save,
                Method::PUT,
                &path,
                Some(self.token),
                Body::Json(&body),
            )
            .await
        else {
            return;
        };
        if in_rush {
            self.progress.rush_saves.record(reply.latency);
        } else {
            self.progress.answering_saves.record(reply.latency);
        }
        if reply.status != 200 {
            self.api.unexpected(Call::Save, &reply);
            return;
        }
        match reply.body["seq"].as_u64() {
            Some(stored) if stored >= seq => {
                let mut log = lock(self.log);
                let item_log = log.items.entry(item.id.clone()).or_default();
                item_log.acknowledged = item_log.acknowledged.max(Some(seq));
                self.progress
                    .saves_acknowledged
                    .fetch_add(1, Ordering::Relaxed);
            }
            // Each seq of a candidate is newer than all before it: an answer naming an older
            // one means the save was not taken.
            Some(_) => self
                .api
                .error(Call::Save, "200 with an older seq than the one sent"),
            None => self.api.error(Call::Save, "200 without a seq"),
        }
    }
}

/// What the loss check found.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct LossReport {
    /// Items whose stored answer is missing, older than the highest acknowledged save, or not
    /// what was sent with the stored seq.
    pub(super) lost_answers: u64,
    /// Acknowledged saves the check covered (items with at least one).
    pub(super) items_checked: u64,
    /// Candidates whose attempt could not be read back (counted in the errors).
    pub(super) unchecked_candidates: u64,
    /// Candidates whose submit was acknowledged but whose attempt is not `submitted`.
    pub(super) submissions_lost: u64,
}

/// Reads every candidate's attempt back and compares it, item by item, with what was
/// acknowledged. Examples of losses go to `examples` (at most a few).
pub(super) async fn check(
    api: Arc<Api>,
    logs: Arc<Vec<Arc<Mutex<CandidateLog>>>>,
    workers: usize,
) -> (LossReport, Vec<String>) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.clamp(1, logs.len().max(1)) {
        let (api, logs, next) = (Arc::clone(&api), Arc::clone(&logs), Arc::clone(&next));
        tasks.spawn(async move {
            let mut report = LossReport::default();
            let mut examples = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(log) = logs.get(index) else {
                    return (report, examples);
                };
                let (attempt_id, token, expected, submitted) = {
                    let log = lock(log);
                    let expected: Vec<Expected> = log
                        .items
                        .iter()
                        .filter_map(|(item, item_log)| {
                            Some((item.clone(), item_log.acknowledged?, item_log.sent.clone()))
                        })
                        .collect();
                    (
                        log.attempt_id.clone(),
                        log.token.clone(),
                        expected,
                        log.submitted,
                    )
                };
                let (Some(attempt_id), Some(token)) = (attempt_id, token) else {
                    continue;
                };
                let path = format!("/attempts/{}", segment(&attempt_id));
                let reply = match api
                    .call(Call::Check, Method::GET, &path, Some(&token), Body::None)
                    .await
                {
                    Some(reply) if reply.status == 200 => reply,
                    Some(reply) => {
                        api.unexpected(Call::Check, &reply);
                        report.unchecked_candidates += 1;
                        continue;
                    }
                    None => {
                        report.unchecked_candidates += 1;
                        continue;
                    }
                };
                if submitted && reply.body["status"] != "submitted" {
                    report.submissions_lost += 1;
                    if examples.len() < 5 {
                        examples.push(format!(
                            "attempt {attempt_id}: the submit was acknowledged, the status is {}",
                            reply.body["status"]
                        ));
                    }
                }
                for (item, acknowledged, sent) in expected {
                    report.items_checked += 1;
                    let stored = &reply.body["responses"][&item];
                    if let Some(loss) = compare(stored, acknowledged, &sent) {
                        report.lost_answers += 1;
                        if examples.len() < 5 {
                            examples.push(format!("attempt {attempt_id}, item {item}: {loss}"));
                        }
                    }
                }
            }
        });
    }
    let mut total = LossReport::default();
    let mut examples = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((report, found)) = joined {
            total.lost_answers += report.lost_answers;
            total.items_checked += report.items_checked;
            total.unchecked_candidates += report.unchecked_candidates;
            total.submissions_lost += report.submissions_lost;
            examples.extend(found);
        }
    }
    examples.truncate(5);
    (total, examples)
}

/// An item to check: its id, the highest acknowledged seq, and every (seq, answer) sent.
type Expected = (String, u64, Vec<(u64, Value)>);

/// Why a stored answer does not hold the acknowledged save, or `None` when it does.
fn compare(stored: &Value, acknowledged: u64, sent: &[(u64, Value)]) -> Option<String> {
    let Some(stored_seq) = stored["seq"].as_u64() else {
        return Some(format!(
            "nothing stored, seq {acknowledged} was acknowledged"
        ));
    };
    if stored_seq < acknowledged {
        return Some(format!(
            "stored seq {stored_seq} is older than the acknowledged seq {acknowledged}"
        ));
    }
    match sent.iter().find(|(seq, _)| *seq == stored_seq) {
        None => Some(format!("stored seq {stored_seq} was never sent")),
        Some((_, answer)) if !same_response(&stored["response"], answer) => Some(format!(
            "stored seq {stored_seq} holds {} but {answer} was sent",
            stored["response"]
        )),
        Some(_) => None,
    }
}

/// Sleeps until `when` and records how late the wake-up came.
async fn wake_at(progress: &Progress, when: Instant) {
    tokio::time::sleep_until(when.into()).await;
    progress
        .lag
        .record(Instant::now().saturating_duration_since(when));
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
}

/// `interval` ±20%.
fn jittered(interval: Duration, rng: &mut ChaCha8Rng) -> Duration {
    interval.mul_f64(0.8 + 0.4 * unit(rng))
}

fn lock(log: &Mutex<CandidateLog>) -> std::sync::MutexGuard<'_, CandidateLog> {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent() -> Vec<(u64, Value)> {
        vec![(3, json!("A")), (7, json!("B")), (9, json!("C"))]
    }

    #[test]
    fn the_acknowledged_answer_stored_is_not_a_loss() {
        assert_eq!(
            compare(&json!({"seq": 7, "response": "B"}), 7, &sent()),
            None
        );
    }

    #[test]
    fn a_newer_save_stored_whose_answer_never_came_back_is_not_a_loss() {
        // Seq 9 reached the server but its answer was lost on the way back.
        assert_eq!(
            compare(&json!({"seq": 9, "response": "C"}), 7, &sent()),
            None
        );
    }

    #[test]
    fn a_missing_or_older_answer_is_a_loss() {
        assert!(
            compare(&Value::Null, 7, &sent())
                .unwrap()
                .contains("nothing stored")
        );
        assert!(
            compare(&json!({"seq": 3, "response": "A"}), 7, &sent())
                .unwrap()
                .contains("older")
        );
    }

    #[test]
    fn the_right_seq_with_another_answer_is_a_loss() {
        assert!(
            compare(&json!({"seq": 7, "response": "A"}), 7, &sent())
                .unwrap()
                .contains("holds")
        );
        assert!(
            compare(&json!({"seq": 8, "response": "B"}), 7, &sent())
                .unwrap()
                .contains("never sent")
        );
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let interval = Duration::from_secs(30);
        for _ in 0..10_000 {
            let jittered = jittered(interval, &mut rng);
            assert!(jittered >= Duration::from_secs(24) && jittered < Duration::from_secs(36));
        }
    }

    #[test]
    fn the_rush_follows_the_ramp_and_the_exam() {
        let timetable = Timetable {
            ramp: Duration::from_secs(60),
            save_interval: Duration::from_secs(30),
            exam: Duration::from_secs(300),
            submit_window: Duration::from_secs(10),
            final_save: true,
        };
        assert_eq!(timetable.end(), Duration::from_secs(370));
    }
}
