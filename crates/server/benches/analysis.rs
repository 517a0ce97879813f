//! Item analysis of one sitting with 20,000 attempts × 35 items (the size the brief names):
//!
//! - `analyse`: the statistics alone (`xcert_server::analysis::analyse`) on prepared records;
//! - `prepare_and_analyse`: from stored rows (paper JSON, item scores, response JSON) against
//!   the bank, as the route does after loading;
//! - `load_sqlite`: `Storage::analysis_attempts`, the route's three queries, on a SQLite file
//!   holding the sitting's results, attempts, item scores and responses (inserted with foreign
//!   keys off: the queries read only these tables).
//!
//! The sitting is synthetic and seeded: a bank of 140 one-point items (80 single with 4
//! options, 20 multiple, 40 true/false), each paper 25 + 5 + 5 of them with shuffled
//! options, candidates of varying ability. Run with
//! `cargo bench -p xcert-server --bench analysis`.

use std::fmt::Write as _;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use xcert_bank::{Bank, BankSource};
use xcert_server::Storage;
use xcert_server::analysis::{
    StoredAttempt, StoredItemResponse, StoredItemScore, Thresholds, analyse, prepare,
};

const ATTEMPTS: usize = 20_000;
const SINGLES: usize = 80;
const MULTIPLES: usize = 20;
const TRUE_FALSE: usize = 40;

/// xorshift64*: enough randomness for a synthetic sitting, seeded so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// `k` distinct numbers from `0..n`.
    fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(k);
        all
    }
}

fn bank_toml() -> String {
    let mut toml = String::from(
        "[bank]\nformat = 1\ncertificate = \"BENCH\"\nlevel = \"junior\"\nversion = \"1\"\n\
         title = \"Analysis bench\"\n",
    );
    let options = "options = [ { id = \"A\", text = \"a\" }, { id = \"B\", text = \"b\" }, \
                   { id = \"C\", text = \"c\" }, { id = \"D\", text = \"d\" } ]";
    for i in 0..SINGLES {
        let _ = write!(
            toml,
            "\n[[item]]\nid = \"S{i:03}\"\ntype = \"single\"\ndifficulty = 0.5\npoints = 1\n\
             stem = \"s\"\n{options}\nanswer = \"A\"\n"
        );
    }
    for i in 0..MULTIPLES {
        let _ = write!(
            toml,
            "\n[[item]]\nid = \"M{i:03}\"\ntype = \"multiple\"\ndifficulty = 0.5\npoints = 1\n\
             stem = \"m\"\n{options}\nanswer = [\"A\", \"C\"]\n"
        );
    }
    for i in 0..TRUE_FALSE {
        let _ = write!(
            toml,
            "\n[[item]]\nid = \"T{i:03}\"\ntype = \"true_false\"\ndifficulty = 0.5\npoints = 1\n\
             stem = \"t\"\nanswer = true\n"
        );
    }
    toml
}

const LABELS: [&str; 4] = ["A", "B", "C", "D"];

/// The synthetic sitting as storage would load it.
fn sitting() -> Vec<StoredAttempt> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let ease: Vec<f64> = (0..SINGLES + MULTIPLES + TRUE_FALSE)
        .map(|_| rng.unit())
        .collect();
    (0..ATTEMPTS)
        .map(|index| {
            let ability = rng.unit();
            let mut chosen: Vec<(char, usize)> = Vec::with_capacity(35);
            chosen.extend(rng.sample(SINGLES, 25).into_iter().map(|i| ('S', i)));
            chosen.extend(rng.sample(MULTIPLES, 5).into_iter().map(|i| ('M', i)));
            chosen.extend(rng.sample(TRUE_FALSE, 5).into_iter().map(|i| ('T', i)));
            let mut items = Vec::new();
            let mut scores = Vec::new();
            let mut responses = Vec::new();
            let mut total = 0;
            for (kind, i) in chosen {
                let id = format!("{kind}{i:03}");
                let offset = match kind {
                    'S' => 0,
                    'M' => SINGLES,
                    _ => SINGLES + MULTIPLES,
                };
                let right = rng.unit() < (ability + ease[offset + i]) / 2.0;
                let order = rng.sample(4, 4);
                let shown: Vec<&str> = order.iter().map(|&o| LABELS[o]).collect();
                // The label under which bank option `bank` was shown.
                let label = |bank: &str| {
                    LABELS[shown.iter().position(|&s| s == bank).unwrap_or(0)].to_owned()
                };
                let response = match kind {
                    'S' if right => format!("\"{}\"", label("A")),
                    'S' => format!("\"{}\"", label(LABELS[1 + rng.below(3)])),
                    'M' if right => format!("[\"{}\",\"{}\"]", label("A"), label("C")),
                    'M' => format!("[\"{}\"]", label("B")),
                    _ => right.to_string(),
                };
                items.push(match kind {
                    'T' => format!(r#"{{"id":"{id}","type":"true_false","points":100}}"#),
                    _ => format!(
                        r#"{{"id":"{id}","type":"{}","points":100,"options":["{}"]}}"#,
                        if kind == 'S' { "single" } else { "multiple" },
                        shown.join("\",\"")
                    ),
                });
                let score = if right { 100 } else { 0 };
                total += score;
                scores.push(StoredItemScore {
                    item_id: id.clone(),
                    score_hundredths: Some(score),
                    max_hundredths: 100,
                });
                responses.push(StoredItemResponse {
                    item_id: id,
                    response,
                });
            }
            scores.sort_by(|a, b| a.item_id.cmp(&b.item_id));
            responses.sort_by(|a, b| a.item_id.cmp(&b.item_id));
            StoredAttempt {
                attempt_id: format!("a{index:06}"),
                total_hundredths: total,
                max_hundredths: 3500,
                paper: format!(
                    r#"{{"sections":[{{"title":"All","multiple_scoring":"all_or_nothing","items":[{}]}}]}}"#,
                    items.join(",")
                ),
                scores,
                responses,
            }
        })
        .collect()
}

/// Writes the sitting into a fresh SQLite file: results, attempts, item scores, responses.
fn database(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    stored: &[StoredAttempt],
) -> Storage {
    let url = format!("sqlite://{}", dir.join("analysis.sqlite").display());
    runtime.block_on(async {
        let storage = Storage::connect(&url).await.expect("open");
        storage.migrate().await.expect("migrate");
        let Storage::Sqlite(pool) = &storage else {
            unreachable!("a sqlite URL opens SQLite")
        };
        let mut connection = pool.acquire().await.expect("a connection");
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *connection)
            .await
            .expect("foreign keys off");
        sqlx::query("BEGIN")
            .execute(&mut *connection)
            .await
            .expect("begin");
        for (index, attempt) in stored.iter().enumerate() {
            sqlx::query(
                "INSERT INTO attempts (id, registration_id, sitting_id, status, started_at, \
                 deadline, finished_at, paper, seed, bank_version_id, bank_hash, blueprint_hash) \
                 VALUES ($1, $2, 'sit', 'submitted', 0, 1, 1, $3, '', 'bank', '', '')",
            )
            .bind(&attempt.attempt_id)
            .bind(format!("r{index}"))
            .bind(&attempt.paper)
            .execute(&mut *connection)
            .await
            .expect("an attempt");
            sqlx::query(
                "INSERT INTO results (attempt_id, sitting_id, registration_id, person_id, \
                 total_hundredths, max_hundredths, pass_hundredths, passed, rank, graded_count, \
                 cut, banned, published_at, updated_at) \
                 VALUES ($1, 'sit', $2, $3, $4, 3500, 2100, TRUE, 1, 20000, 2000, FALSE, 0, 0)",
            )
            .bind(&attempt.attempt_id)
            .bind(format!("r{index}"))
            .bind(format!("p{index}"))
            .bind(attempt.total_hundredths)
            .execute(&mut *connection)
            .await
            .expect("a result");
            let mut scores = String::from(
                "INSERT INTO item_scores (attempt_id, item_id, state, score_hundredths, \
                 max_hundredths, graded_at) VALUES ",
            );
            for (i, score) in attempt.scores.iter().enumerate() {
                let separator = if i == 0 { "" } else { "," };
                let _ = write!(
                    scores,
                    "{separator}('{}', '{}', 'graded', {}, 100, 0)",
                    attempt.attempt_id,
                    score.item_id,
                    score.score_hundredths.unwrap_or(0)
                );
            }
            sqlx::query(&scores)
                .execute(&mut *connection)
                .await
                .expect("scores");
            let mut responses = String::from(
                "INSERT INTO responses (attempt_id, item_id, seq, response, saved_at) VALUES ",
            );
            for (i, response) in attempt.responses.iter().enumerate() {
                let separator = if i == 0 { "" } else { "," };
                let _ = write!(
                    responses,
                    "{separator}('{}', '{}', 1, '{}', 0)",
                    attempt.attempt_id, response.item_id, response.response
                );
            }
            sqlx::query(&responses)
                .execute(&mut *connection)
                .await
                .expect("responses");
        }
        sqlx::query("COMMIT")
            .execute(&mut *connection)
            .await
            .expect("commit");
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *connection)
            .await
            .expect("foreign keys on");
        drop(connection);
        storage
    })
}

fn bench(c: &mut Criterion) {
    let bank = Bank::parse(&BankSource::single("bank.toml", bank_toml())).expect("a valid bank");
    let stored = sitting();
    let prepared = prepare(&bank, &stored).expect("prepared");
    let thresholds = Thresholds::default();
    let mut group = c.benchmark_group("analysis_20000x35");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("analyse", |b| {
        b.iter(|| analyse(&prepared.items, &prepared.attempts, Some(60.0), &thresholds));
    });
    group.bench_function("prepare_and_analyse", |b| {
        b.iter(|| {
            let prepared = prepare(&bank, &stored).expect("prepared");
            analyse(&prepared.items, &prepared.attempts, Some(60.0), &thresholds)
        });
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("xcert-bench-analysis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let storage = database(&runtime, &dir, &stored);
    group.bench_function("load_sqlite", |b| {
        b.iter(|| {
            let (loaded, pass) = runtime
                .block_on(storage.analysis_attempts("sit"))
                .expect("loaded");
            assert_eq!((loaded.len(), pass), (ATTEMPTS, Some(2100)));
            loaded
        });
    });
    group.finish();
    runtime.block_on(async {
        if let Storage::Sqlite(pool) = &storage {
            pool.close().await;
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
