//! A fault-injection soak: many tasks share a pool whose manager fails 5% of its creates and 5%
//! of its recycles, while 10% of the operations are cancelled at a random moment (by another
//! task, after a random number of its own steps) and 1% panic while holding a connection.
//!
//! ```text
//! cargo run --release --example soak -- --ops 1000000
//! ```
//!
//! Runs on tokio and on smol (`--runtime tokio|smol|both`, default both), prints what happened,
//! and exits non-zero if anything leaked, if the pool ever held more than its maximum, or if an
//! acquire waited past its timeout.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyscope::group::task_group;
use anyscope::pool::{Manager, Pool, PoolConfig, Recycle, RecycleError};
use anyscope::{CancelScope, checkpoint, current_time, sleep, spawn, tracker};

const MAX_SIZE: usize = 16;
const WORKERS: usize = 64;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// A small deterministic generator (xorshift64*): no dependency, reproducible runs.
#[derive(Clone, Copy)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A simulated database connection.
struct Conn {
    in_transaction: bool,
}

/// The manager: counts live connections and fails on purpose.
#[derive(Default)]
struct FlakyDb {
    seed: AtomicU64,
    live: AtomicUsize,
    max_live: AtomicUsize,
    creates_failed: AtomicUsize,
    recycles_failed: AtomicUsize,
}

#[derive(Debug)]
struct DbError(&'static str);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DbError {}

impl FlakyDb {
    fn rng(&self) -> Rng {
        Rng(self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) | 1)
    }
}

impl Manager for FlakyDb {
    type Object = Conn;
    type Error = DbError;

    async fn create(&self) -> Result<Conn, DbError> {
        checkpoint().await; // a connect takes a round trip
        if self.rng().chance(5) {
            self.creates_failed.fetch_add(1, Ordering::Relaxed);
            return Err(DbError("connection refused"));
        }
        let live = self.live.fetch_add(1, Ordering::AcqRel) + 1;
        self.max_live.fetch_max(live, Ordering::AcqRel);
        Ok(Conn { in_transaction: false })
    }

    async fn recycle(&self, conn: &mut Conn, _why: Recycle) -> Result<(), RecycleError<DbError>> {
        if self.rng().chance(5) {
            self.recycles_failed.fetch_add(1, Ordering::Relaxed);
            return Err(DbError("connection reset").into());
        }
        conn.in_transaction = false; // ROLLBACK
        Ok(())
    }

    async fn close(&self, _conn: Conn) {
        self.live.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Default)]
struct Counts {
    ok: AtomicUsize,
    cancelled: AtomicUsize,
    panicked: AtomicUsize,
    create_failed: AtomicUsize,
    timed_out: AtomicUsize,
    hung: AtomicUsize,
    dirty_handout: AtomicUsize,
}

/// One operation: acquire, run a "transaction" of a few steps, release.
async fn operation(pool: Pool<FlakyDb>, counts: Arc<Counts>, mut rng: Rng, panic: bool) {
    let started = Instant::now();
    let conn = pool.acquire().await;
    if started.elapsed() > ACQUIRE_TIMEOUT + Duration::from_secs(1) {
        counts.hung.fetch_add(1, Ordering::Relaxed);
    }
    let mut conn = match conn {
        Ok(conn) => conn,
        Err(e) if e.is_timeout() => {
            counts.timed_out.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(_) => {
            counts.create_failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    if conn.in_transaction {
        // Someone else's transaction was handed out: the pool let a poisoned object through.
        counts.dirty_handout.fetch_add(1, Ordering::Relaxed);
    }
    conn.in_transaction = true; // BEGIN
    for _ in 0..rng.below(4) {
        checkpoint().await;
    }
    if rng.chance(1) {
        sleep(Duration::from_micros(200)).await;
    }
    if panic {
        panic!("soak: injected panic while holding a connection");
    }
    conn.in_transaction = false; // COMMIT
    counts.ok.fetch_add(1, Ordering::Relaxed);
}

async fn soak(ops: usize, kind: &'static str) -> Report {
    let db = FlakyDb { seed: AtomicU64::new(0x5EED), ..FlakyDb::default() };
    let config = PoolConfig::builder()
        .max_size(MAX_SIZE)
        .min_idle(4)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .kind(kind)
        .build()
        .expect("valid pool config");
    let pool = Pool::open(db, config).await;
    let counts = Arc::new(Counts::default());
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let (p, c, n) = (pool.clone(), counts.clone(), next.clone());
    let group = task_group(move |tg| async move {
        for w in 0..WORKERS {
            let (pool, counts, next) = (p.clone(), c.clone(), n.clone());
            tg.spawn(async move {
                let mut rng = Rng(0xA5A5_0000 + w as u64 * 7919);
                while next.fetch_add(1, Ordering::Relaxed) < ops {
                    let cancel = rng.chance(10);
                    let panic = !cancel && rng.chance(1);
                    let scope = CancelScope::new();
                    if cancel {
                        // Cancelled from another task after a random number of its own steps.
                        let (handle, steps) = (scope.clone(), rng.below(6));
                        let _canceller = spawn(async move {
                            for _ in 0..steps {
                                checkpoint().await;
                            }
                            handle.cancel();
                        });
                    }
                    let op = operation(pool.clone(), counts.clone(), Rng(rng.next() | 1), panic);
                    let task = spawn(async move { scope.run(op).await });
                    match task.await {
                        Ok(Some(())) => {}
                        Ok(None) => drop(counts.cancelled.fetch_add(1, Ordering::Relaxed)),
                        Err(e) if e.is_panic() => drop(counts.panicked.fetch_add(1, Ordering::Relaxed)),
                        Err(_) => drop(counts.cancelled.fetch_add(1, Ordering::Relaxed)),
                    }
                }
                Ok::<_, DbError>(())
            })
            .expect("the group is open");
        }
        Ok::<_, DbError>(())
    })
    .await;
    let elapsed = start.elapsed();
    let group_ok = group.is_ok();
    let stats_before_close = pool.stats();
    pool.close().await;
    let stats = pool.stats();
    let db = pool.manager();
    Report {
        ops: next.load(Ordering::Relaxed).min(ops),
        elapsed,
        group_ok,
        counts,
        stats_line: format!("{stats_before_close:?}"),
        final_stats: format!("{stats:?}"),
        live_after_close: db.live.load(Ordering::Acquire),
        max_live: db.max_live.load(Ordering::Acquire),
        creates_failed: db.creates_failed.load(Ordering::Relaxed),
        recycles_failed: db.recycles_failed.load(Ordering::Relaxed),
        tracker: tracker::kind(kind),
        kind,
        now: current_time(),
    }
}

struct Report {
    ops: usize,
    elapsed: Duration,
    group_ok: bool,
    counts: Arc<Counts>,
    stats_line: String,
    final_stats: String,
    live_after_close: usize,
    max_live: usize,
    creates_failed: usize,
    recycles_failed: usize,
    tracker: tracker::KindStats,
    kind: &'static str,
    now: Instant,
}

impl Report {
    /// Prints the report; returns whether every check held.
    fn print(&self, runtime: &str) -> bool {
        let c = &self.counts;
        let get = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        println!("soak on {runtime}: {} operations in {:.2?}", self.ops, self.elapsed);
        println!(
            "  outcomes: ok {}, cancelled {}, panicked {}, create failed {}, timed out {}",
            get(&c.ok),
            get(&c.cancelled),
            get(&c.panicked),
            get(&c.create_failed),
            get(&c.timed_out)
        );
        println!(
            "  manager: creates failed {}, recycles failed {}, most connections alive at once {} (max {MAX_SIZE})",
            self.creates_failed, self.recycles_failed, self.max_live
        );
        println!("  pool before close: {}", self.stats_line);
        println!("  pool after close:  {}", self.final_stats);
        let t = &self.tracker;
        println!(
            "  tracker ({}): opened {}, closed {}, open {}, lost {}, abandoned {}",
            self.kind,
            t.opened,
            t.closed(),
            t.open(),
            t.lost,
            t.abandoned
        );
        let _ = self.now;
        let checks = [
            ("the task group of workers ended without error", self.group_ok),
            ("no connection alive after close", self.live_after_close == 0),
            ("tracker: zero open, zero lost", t.open() == 0 && t.lost == 0),
            ("never more than max_size connections", self.max_live <= MAX_SIZE),
            ("no acquire waited past its timeout", get(&c.hung) == 0),
            ("no connection handed out mid-transaction", get(&c.dirty_handout) == 0),
        ];
        let mut all = true;
        for (what, ok) in checks {
            println!("  [{}] {what}", if ok { "ok" } else { "FAILED" });
            all &= ok;
        }
        all
    }
}

fn main() -> ExitCode {
    let mut ops = 100_000;
    let mut runtimes = vec!["tokio", "smol"];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ops" => ops = args.next().and_then(|v| v.parse().ok()).expect("--ops takes a number"),
            "--runtime" => {
                runtimes = match args.next().as_deref() {
                    Some("tokio") => vec!["tokio"],
                    Some("smol") => vec!["smol"],
                    Some("both") => vec!["tokio", "smol"],
                    other => panic!("--runtime takes tokio, smol or both, not {other:?}"),
                }
            }
            other => panic!("unknown argument {other:?}; usage: soak [--ops N] [--runtime tokio|smol|both]"),
        }
    }
    // The injected panics are expected: keep them off the terminal, let any other through.
    let quiet = Arc::new(AtomicBool::new(true));
    let default_hook = std::panic::take_hook();
    let q = quiet.clone();
    std::panic::set_hook(Box::new(move |info| {
        let injected = info.payload().downcast_ref::<&str>().is_some_and(|m| m.starts_with("soak: injected"));
        if !(injected && q.load(Ordering::Relaxed)) {
            default_hook(info);
        }
    }));
    let mut all = true;
    for rt in runtimes {
        let report = match rt {
            "tokio" => anyscope_tokio::run(soak(ops, "soak::conn@tokio")),
            _ => anyscope_smol::run(soak(ops, "soak::conn@smol")),
        };
        all &= report.print(rt);
    }
    if all {
        println!("soak: every check held");
        ExitCode::SUCCESS
    } else {
        println!("soak: FAILED");
        ExitCode::FAILURE
    }
}
