//! Throughput against deadpool-postgres on the same server, pool size and queries.
//!
//! Two measurements per pool, each for `--secs` seconds, repeated `--rounds` times with the
//! pools taking turns (the median is reported):
//!
//! - transfers per second: 32 tasks run asyncpg's `transfer_funds` (BEGIN, two UPDATEs on
//!   random accounts of 1,000, COMMIT) on a pool of 16;
//! - the latency of acquire + one query (`SELECT 1`), p50 and p99, from 32 tasks on a pool of 16.
//!
//! anyscope's acquire always has a timeout (30 s by default; the waiting acquires of a pool
//! share one timer); deadpool waits forever by default, so it is measured both ways.
//!
//! anyscope runs on tokio (multi-thread) and on smol; deadpool-postgres on tokio
//! (multi-thread, the same runtime anyscope's tokio adapter builds). Statements are sent the
//! same way by both (tokio-postgres' `execute(&str)`: no statement cache), and deadpool
//! recycles with `RecyclingMethod::Fast`, which makes no round trip, as anyscope's pool does
//! for a connection its holder left clean.
//!
//! ```text
//! bash ci/postgres.sh
//! cargo run --release -p anyscope-postgres-example --example throughput -- --secs 5 --rounds 3
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyscope_core::group::task_group;
use anyscope_postgres_example::{PgError, PgPool, PoolOptions, with_pool};

const ACCOUNTS: i32 = 1000;
const POOL: usize = 16;
const TASKS: usize = 32;
const THIRTY: Duration = Duration::from_secs(30);
const DEBIT: &str = "UPDATE bench_accounts SET balance = balance - $2 WHERE id = $1";
const CREDIT: &str = "UPDATE bench_accounts SET balance = balance + $2 WHERE id = $1";

/// Two distinct accounts, in id order (concurrent transfers never deadlock).
fn pair(rng: &mut fastrand::Rng) -> (i32, i32) {
    let a = rng.i32(1..=ACCOUNTS);
    let b = (a + rng.i32(0..ACCOUNTS - 1)) % ACCOUNTS + 1;
    (a.min(b), a.max(b))
}

#[derive(Clone, Copy, Debug, Default)]
struct Figures {
    transfers_per_sec: f64,
    p50: Duration,
    p99: Duration,
    queries_per_sec: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn latency_figures(mut all: Vec<Duration>, secs: f64) -> (Duration, Duration, f64) {
    all.sort_unstable();
    (percentile(&all, 0.50), percentile(&all, 0.99), all.len() as f64 / secs)
}

// ---- anyscope (tokio or smol) ----

async fn anyscope_transfer(pool: &PgPool, from: i32, to: i32) -> Result<(), PgError> {
    pool.transaction(async |tx| {
        tx.execute(DEBIT, &[&from, &1i64]).await?;
        tx.execute(CREDIT, &[&to, &1i64]).await?;
        Ok(())
    })
    .await
}

async fn anyscope_round(url: String, secs: u64, acquire_timeout: Duration) -> Figures {
    let options = PoolOptions::new(&url)
        .unwrap()
        .min_size(POOL)
        .max_size(POOL)
        .acquire_timeout(acquire_timeout)
        .application_name("bench_anyscope");
    with_pool(options, async |pool| {
        let d = Duration::from_secs(secs);
        // Transfers.
        let done = Arc::new(AtomicU64::new(0));
        let stop = Instant::now() + d;
        let (p, n) = (pool.clone(), Arc::clone(&done));
        task_group(|tg| async move {
            for _ in 0..TASKS {
                let (pool, done) = (p.clone(), Arc::clone(&n));
                tg.spawn(async move {
                    let mut rng = fastrand::Rng::new();
                    while Instant::now() < stop {
                        let (a, b) = pair(&mut rng);
                        anyscope_transfer(&pool, a, b).await?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok::<(), PgError>(())
                })
                .unwrap();
            }
            Ok(())
        })
        .await
        .expect("transfers succeed");
        let transfers_per_sec = done.load(Ordering::Relaxed) as f64 / d.as_secs_f64();
        // Acquire + one query.
        let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Instant::now() + d;
        let (p, s) = (pool.clone(), Arc::clone(&samples));
        task_group(|tg| async move {
            for _ in 0..TASKS {
                let (pool, samples) = (p.clone(), Arc::clone(&s));
                tg.spawn(async move {
                    let mut mine = Vec::new();
                    while Instant::now() < stop {
                        let t = Instant::now();
                        let mut c = pool.acquire().await?;
                        c.query_one("SELECT 1", &[]).await?;
                        drop(c);
                        mine.push(t.elapsed());
                    }
                    samples.lock().unwrap().extend(mine);
                    Ok::<(), PgError>(())
                })
                .unwrap();
            }
            Ok(())
        })
        .await
        .expect("queries succeed");
        let all = std::mem::take(&mut *samples.lock().unwrap());
        let (p50, p99, queries_per_sec) = latency_figures(all, d.as_secs_f64());
        Figures { transfers_per_sec, p50, p99, queries_per_sec }
    })
    .await
    .expect("the pool opens")
}

// ---- deadpool-postgres (tokio) ----

async fn deadpool_round(url: String, secs: u64, wait: Option<Duration>) -> Figures {
    use deadpool_postgres::{Config, ManagerConfig, PoolConfig, RecyclingMethod, Runtime};
    let mut cfg = Config::new();
    cfg.url = Some(url);
    cfg.application_name = Some("bench_deadpool".into());
    let mut pool_cfg = PoolConfig::new(POOL);
    pool_cfg.timeouts.wait = wait;
    cfg.pool = Some(pool_cfg);
    cfg.manager = Some(ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = cfg.create_pool(Some(Runtime::Tokio1), tokio_postgres::NoTls).expect("deadpool config");
    // Warm up to the same size as anyscope's min_size.
    let warm: Vec<_> = futures_join_all(&pool, POOL).await;
    drop(warm);
    let d = Duration::from_secs(secs);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + d;
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (pool, done) = (pool.clone(), Arc::clone(&done));
        handles.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::new();
            while Instant::now() < stop {
                let (a, b) = pair(&mut rng);
                let mut client = pool.get().await.expect("deadpool get");
                let tx = client.transaction().await.expect("BEGIN");
                tx.execute(DEBIT, &[&a, &1i64]).await.expect("debit");
                tx.execute(CREDIT, &[&b, &1i64]).await.expect("credit");
                tx.commit().await.expect("COMMIT");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.await.expect("a deadpool task");
    }
    let transfers_per_sec = done.load(Ordering::Relaxed) as f64 / d.as_secs_f64();
    let stop = Instant::now() + d;
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let pool = pool.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while Instant::now() < stop {
                let t = Instant::now();
                let c = pool.get().await.expect("deadpool get");
                c.query_one("SELECT 1", &[]).await.expect("SELECT 1");
                drop(c);
                mine.push(t.elapsed());
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("a deadpool task"));
    }
    pool.close();
    let (p50, p99, queries_per_sec) = latency_figures(all, d.as_secs_f64());
    Figures { transfers_per_sec, p50, p99, queries_per_sec }
}

async fn futures_join_all(pool: &deadpool_postgres::Pool, n: usize) -> Vec<deadpool_postgres::Object> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let pool = pool.clone();
        handles.push(tokio::spawn(async move { pool.get().await.expect("deadpool warm-up") }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("a warm-up task"));
    }
    out
}

async fn setup(url: String) {
    let options = PoolOptions::new(&url).unwrap().min_size(1).max_size(1).application_name("bench_admin");
    with_pool(options, async |admin| {
        let mut c = admin.acquire().await.expect("a connection (start one with `bash ci/postgres.sh`)");
        c.batch_execute(&format!(
            "DROP TABLE IF EXISTS bench_accounts; CREATE TABLE bench_accounts (id int PRIMARY KEY, balance bigint NOT NULL); \
             INSERT INTO bench_accounts SELECT g, 1000000 FROM generate_series(1, {ACCOUNTS}) g"
        ))
        .await
        .expect("create the accounts");
    })
    .await
    .expect("the server answers (start one with `bash ci/postgres.sh`)");
}

fn median(mut v: Vec<Figures>) -> Figures {
    v.sort_by(|a, b| a.transfers_per_sec.total_cmp(&b.transfers_per_sec));
    v[v.len() / 2]
}

fn main() {
    let (mut secs, mut rounds) = (5u64, 3usize);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secs" => secs = args.next().and_then(|v| v.parse().ok()).expect("--secs takes a number"),
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).expect("--rounds takes a number"),
            other => panic!("unknown argument {other:?}; usage: throughput [--secs N] [--rounds N]"),
        }
    }
    let url = std::env::var("ANYSCOPE_PG_URL")
        .unwrap_or_else(|_| "postgres://anyscope:anyscope@127.0.0.1:5432/anyscope".into());
    anyscope_tokio::run(setup(url.clone()));
    let (mut tk, mut tkn, mut sm, mut dp, mut dpt) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        tk.push(anyscope_tokio::run(anyscope_round(url.clone(), secs, THIRTY)));
        tkn.push(anyscope_tokio::run(anyscope_round(url.clone(), secs, Duration::MAX)));
        sm.push(anyscope_smol::run(anyscope_round(url.clone(), secs, THIRTY)));
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
        dp.push(rt.block_on(deadpool_round(url.clone(), secs, None)));
        dpt.push(rt.block_on(deadpool_round(url.clone(), secs, Some(THIRTY))));
    }
    let (tk, tkn, sm, dp, dpt) = (median(tk), median(tkn), median(sm), median(dp), median(dpt));
    println!("pool of {POOL}, {TASKS} tasks, {secs} s per measurement, median of {rounds} rounds");
    println!("| pool | runtime | transfers/s | vs deadpool | acquire + SELECT 1: p50 | p99 | queries/s |");
    println!("|---|---|---|---|---|---|---|");
    let rows = [
        ("deadpool-postgres (default: no wait timeout)", "tokio", dp),
        ("deadpool-postgres (wait timeout 30 s)", "tokio", dpt),
        ("anyscope (acquire timeout 30 s, its default)", "tokio", tk),
        ("anyscope (no acquire timeout, as deadpool's default)", "tokio", tkn),
        ("anyscope (acquire timeout 30 s, its default)", "smol", sm),
    ];
    for (name, rt, f) in rows {
        println!(
            "| {name} | {rt} | {:.0} | {:.2}x | {:.2?} | {:.2?} | {:.0} |",
            f.transfers_per_sec,
            f.transfers_per_sec / dp.transfers_per_sec,
            f.p50,
            f.p99,
            f.queries_per_sec
        );
    }
}
