//! Durable answer saves through the group-commit writer alone (no HTTP): a temporary SQLite
//! file with the server's settings (WAL, `synchronous=FULL`), one attempt per submitter, and
//! 1, 64 or 1,024 concurrent submitters each saving one answer after another and waiting for
//! its acknowledgement, as a candidate's browser does. Run with
//! `cargo bench -p xcert-server --bench saves`; throughput is saves per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xcert_server::Storage;
use xcert_server::delivery::{GRACE_MS, Writer};
use xcert_server::storage::delivery::{Save, SaveOutcome};

/// Far in the future, so no save is late.
const DEADLINE: i64 = 4_102_444_800_000;

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
                std::env::temp_dir().join(format!("xcert-bench-saves-{}", std::process::id()));
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

/// A migrated database with `attempts` open attempts `a0`, `a1`, ... The attempts are inserted
/// with foreign keys off on one connection: the writer only needs the attempt rows.
fn fixture(attempts: usize) -> Fixture {
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
        for n in 0..attempts {
            sqlx::query(
                "INSERT INTO attempts (id, registration_id, sitting_id, status, started_at, deadline, paper, seed, bank_version_id, bank_hash, blueprint_hash) \
                 VALUES ($1, $2, 's', 'in_progress', 0, $3, '{}', '', 'b', '', '')",
            )
            .bind(format!("a{n}"))
            .bind(format!("r{n}"))
            .bind(DEADLINE)
            .execute(&mut *connection)
            .await
            .expect("an attempt");
        }
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *connection)
            .await
            .expect("pragma");
        storage
    });
    Fixture {
        runtime,
        storage,
        _dir: dir,
    }
}

/// `total` saves by `submitters` concurrent submitters; returns the elapsed time.
fn run(
    fixture: &Fixture,
    writer: &Writer,
    submitters: usize,
    total: u64,
    seq: &Arc<AtomicU64>,
) -> Duration {
    fixture.runtime.block_on(async {
        let per_submitter = total / submitters as u64;
        let began = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for submitter in 0..submitters {
            let writer = writer.clone();
            let seq = Arc::clone(seq);
            tasks.spawn(async move {
                for n in 0..per_submitter {
                    let save = Save {
                        attempt_id: format!("a{submitter}"),
                        item_id: format!("item-{}", n % 60),
                        seq: i64::try_from(seq.fetch_add(1, Ordering::Relaxed)).unwrap_or(i64::MAX),
                        response: "[\"A\",\"C\"]".to_owned(),
                        received_at: 1,
                    };
                    let outcome = writer.save(save).await.expect("a durable save");
                    assert!(matches!(outcome, SaveOutcome::Stored { .. }), "{outcome:?}");
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("a submitter");
        }
        began.elapsed()
    })
}

fn saves(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_saves");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (submitters, total) in [(1_usize, 400_u64), (64, 12_800), (1_024, 51_200)] {
        let fixture = fixture(submitters);
        let (writer, _tasks) = {
            let _entered = fixture.runtime.enter();
            Writer::start(&fixture.storage, GRACE_MS, 1)
        };
        let seq = Arc::new(AtomicU64::new(1));
        group.throughput(Throughput::Elements(total));
        group.bench_function(format!("{submitters}_submitters"), |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| run(&fixture, &writer, submitters, total, &seq))
                    .sum()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, saves);
criterion_main!(benches);
