//! Result publication of one sitting with 20,000 graded attempts of 30 items each (600,000
//! item scores) on SQLite with the server's settings (WAL, `synchronous=FULL`): the whole
//! publication transaction of [`Storage::publish_results`] (lock, sums, ranking and the
//! bottom-10% rule, 20,000 result rows, up to 2,000 bans with their audit entries, commit). Between
//! iterations the sitting is put back to unpublished (not measured). Run with
//! `cargo bench -p xcert-server --bench publish`.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use xcert_server::Storage;
use xcert_server::results::rule::BanPolicy;
use xcert_server::storage::results::{PublishOutcome, SittingRules};

const ATTEMPTS: usize = 20_000;
const ITEMS: usize = 30;
const SITTING: &str = "bench-sitting";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    storage: Storage,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A directory under the system temp dir, removed on drop.
    pub(crate) struct Dir(pub(crate) std::path::PathBuf);

    impl Dir {
        pub(crate) fn new() -> Self {
            let path =
                std::env::temp_dir().join(format!("xcert-bench-publish-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("a temp dir");
            Self(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A deterministic spread of scores: attempt `n`, item `i` scores 0 to 100 hundredths.
fn score(n: usize, item: usize) -> i64 {
    i64::try_from((n * 7_919 + item * 104_729) % 101).unwrap_or(0)
}

/// A migrated database with one sitting, 20,000 people, registrations and submitted attempts,
/// and 30 graded items per attempt. Rows the publication does not read (organization,
/// certificate, bank version, staff) are left out with foreign keys off on one connection.
fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempdir::Dir::new();
    let url = format!("sqlite://{}", dir.0.join("bench.sqlite").display());
    let storage = runtime.block_on(async {
        let storage = Storage::connect(&url).await.expect("open");
        storage.migrate().await.expect("migrate");
        let Storage::Sqlite(pool) = &storage else {
            unreachable!("a sqlite URL opens SQLite")
        };
        let mut connection = pool.acquire().await.expect("a connection");
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *connection)
            .await
            .expect("pragma");
        sqlx::query(
            "INSERT INTO sittings (id, organization_id, certificate_id, bank_version_id, title, blueprint, \
             blueprint_hash, secret, opens_at, closes_at, late_entry_until, duration_secs, exam_date, \
             created_by, created_at) VALUES ($1, 'o', 'c', 'b', 'Bench', '', '', '', 0, 10, 5, 10, '2026-06-06', 'u', 0)",
        )
        .bind(SITTING)
        .execute(&mut *connection)
        .await
        .expect("a sitting");
        sqlx::query("BEGIN").execute(&mut *connection).await.expect("begin");
        for n in 0..ATTEMPTS {
            sqlx::query("INSERT INTO people (id, document_kind, document_number, name, created_at) VALUES ($1, 'resident_id', $1, $1, 0)")
                .bind(format!("p{n}"))
                .execute(&mut *connection)
                .await
                .expect("a person");
            sqlx::query(
                "INSERT INTO registrations (id, sitting_id, person_id, site_id, ticket, created_by, created_at) \
                 VALUES ($1, $2, $3, 's', $1, 'u', 0)",
            )
            .bind(format!("r{n}"))
            .bind(SITTING)
            .bind(format!("p{n}"))
            .execute(&mut *connection)
            .await
            .expect("a registration");
            sqlx::query(
                "INSERT INTO attempts (id, registration_id, sitting_id, status, started_at, deadline, finished_at, paper, seed, bank_version_id, bank_hash, blueprint_hash) \
                 VALUES ($1, $2, $3, 'submitted', 0, 1, 1, '{}', '', 'b', '', '')",
            )
            .bind(format!("a{n}"))
            .bind(format!("r{n}"))
            .bind(SITTING)
            .execute(&mut *connection)
            .await
            .expect("an attempt");
            let values = (0..ITEMS)
                .map(|item| {
                    format!(
                        "('a{n}', 'item-{item}', 'graded', {}, 100, 1)",
                        score(n, item)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            sqlx::query(&format!(
                "INSERT INTO item_scores (attempt_id, item_id, state, score_hundredths, max_hundredths, graded_at) VALUES {values}"
            ))
            .execute(&mut *connection)
            .await
            .expect("scores");
        }
        sqlx::query("COMMIT").execute(&mut *connection).await.expect("commit");
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *connection)
            .await
            .expect("pragma");
        drop(connection);
        storage
    });
    Fixture {
        runtime,
        storage,
        _dir: dir,
    }
}

fn rules() -> SittingRules {
    SittingRules {
        sitting_id: SITTING.to_owned(),
        title: "Bench".to_owned(),
        certificate_code: "BENCH".to_owned(),
        level: "junior".to_owned(),
        exam_date: "2026-06-06".to_owned(),
        policy: BanPolicy::new(10, 3).expect("a policy"),
        pass_hundredths: 1_800,
        actor: "bench".to_owned(),
        now: 1_780_000_000,
    }
}

/// Puts the sitting back to unpublished.
async fn unpublish(storage: &Storage) {
    let Storage::Sqlite(pool) = storage else {
        unreachable!("SQLite")
    };
    for sql in [
        "DELETE FROM results WHERE sitting_id = $1",
        "DELETE FROM retake_bans WHERE sitting_id = $1",
        "UPDATE sittings SET published_at = NULL WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(SITTING)
            .execute(pool)
            .await
            .expect("reset");
    }
}

fn publish(c: &mut Criterion) {
    let fixture = fixture();
    let rules = rules();
    let mut group = c.benchmark_group("publication");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("20000_attempts_30_items_sqlite", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                fixture.runtime.block_on(unpublish(&fixture.storage));
                let began = Instant::now();
                let outcome = fixture
                    .runtime
                    .block_on(fixture.storage.publish_results(&rules, &[]))
                    .expect("published");
                spent += began.elapsed();
                assert!(
                    matches!(
                        outcome,
                        PublishOutcome::Published {
                            graded: ATTEMPTS,
                            ..
                        }
                    ),
                    "{outcome:?}"
                );
            }
            spent
        });
    });
    group.finish();
}

criterion_group!(benches, publish);
criterion_main!(benches);
