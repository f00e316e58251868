//! The money soak: 10 accounts, 100,000 transfers from 64 concurrent tasks on a pool of 20,
//! with random deadlines (about 10 % of the transfers cut off), 1 % injected panics and 1 %
//! injected errors, plus the transfers refused for insufficient funds. Checks that the total
//! balance is conserved exactly, that no connection leaked, and that no backend is left
//! `idle in transaction`; prints the figures.
//!
//! ```text
//! bash ci/postgres.sh       # a server at ANYSCOPE_PG_URL (default postgres://anyscope:anyscope@127.0.0.1:5432/anyscope)
//! cargo run --release -p anyscope-postgres-example --example money_soak -- --transfers 100000 --runtime both
//! ```

use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyscope_core::group::task_group;
use anyscope_core::{move_on_after, spawn, tracker};
use anyscope_postgres_example::{PgError, PgPool, PoolOptions, with_pool};

const ACCOUNTS: i32 = 10;
const START: i64 = 10_000;
const TASKS: usize = 64;
const TABLE: &str = "soak_accounts";

#[derive(Debug)]
enum TransferError {
    Pg(PgError),
    InsufficientFunds,
    Injected,
}

impl From<PgError> for TransferError {
    fn from(e: PgError) -> Self {
        TransferError::Pg(e)
    }
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::Pg(e) => write!(f, "{e}"),
            TransferError::InsufficientFunds => f.write_str("insufficient funds"),
            TransferError::Injected => f.write_str("injected error"),
        }
    }
}

#[derive(Clone, Copy)]
enum Fault {
    None,
    Error,
    Panic,
}

async fn transfer(pool: &PgPool, from: i32, to: i32, amount: i64, fault: Fault) -> Result<(), TransferError> {
    pool.transaction(async |tx| {
        let debit = "UPDATE soak_accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2";
        let credit = "UPDATE soak_accounts SET balance = balance + $2 WHERE id = $1";
        // Rows locked in id order: concurrent transfers never deadlock.
        let (first, second) =
            if from < to { ((debit, from), (credit, to)) } else { ((credit, to), (debit, from)) };
        let changed = tx.execute(first.0, &[&first.1, &amount]).await?;
        match fault {
            Fault::None => {}
            Fault::Error => return Err(TransferError::Injected),
            Fault::Panic => panic!("money_soak: injected panic mid-transaction"),
        }
        let changed = changed.min(tx.execute(second.0, &[&second.1, &amount]).await?);
        if changed == 0 {
            return Err(TransferError::InsufficientFunds);
        }
        Ok(())
    })
    .await
}

#[derive(Default)]
struct Tally {
    committed: AtomicU64,
    cut_off: AtomicU64,
    panicked: AtomicU64,
    injected: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
}

async fn soak(url: String, transfers: u64) -> bool {
    let options = PoolOptions::new(&url).expect("ANYSCOPE_PG_URL parses");
    let app = "money_soak";
    let setup = with_pool(options.clone().min_size(1).max_size(1).application_name("money_soak_admin"), async |admin| {
        let mut c = admin.acquire().await?;
        c.batch_execute(&format!(
            "DROP TABLE IF EXISTS {TABLE}; CREATE TABLE {TABLE} (id int PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0)); \
             INSERT INTO {TABLE} SELECT g, {START} FROM generate_series(1, {ACCOUNTS}) g"
        ))
        .await
    })
    .await;
    if let Err(e) = setup.and_then(|r| r) {
        println!(
            "money_soak: cannot set up the accounts at {url}: {e} ({:?})",
            std::error::Error::source(&e)
        );
        println!("money_soak: start a server with `bash ci/postgres.sh`, or set ANYSCOPE_PG_URL");
        return false;
    }
    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let pool_options = options.clone().min_size(10).max_size(20).application_name(app);
    let (stats, idle_in_tx) = with_pool(pool_options, async |pool| {
        let (t, workers) = (Arc::clone(&tally), pool.clone());
        let res = task_group(|tg| async move {
            for _ in 0..TASKS {
                let (pool, t, next) = (workers.clone(), Arc::clone(&t), Arc::clone(&next));
                tg.spawn(async move {
                    let mut rng = fastrand::Rng::new();
                    while next.fetch_add(1, Ordering::Relaxed) < transfers {
                        let from = rng.i32(1..=ACCOUNTS);
                        let to = (from + rng.i32(0..ACCOUNTS - 1)) % ACCOUNTS + 1;
                        let amount = rng.i64(1..=500);
                        let fault = match rng.u32(0..100) {
                            0 => Fault::Panic,
                            1 => Fault::Error,
                            _ => Fault::None,
                        };
                        // About one in ten gets a deadline shorter than a transfer takes.
                        let deadline = if rng.u32(0..10) == 0 {
                            Duration::from_micros(rng.u64(0..2_000))
                        } else {
                            Duration::from_secs(30)
                        };
                        let outcome = if let Fault::Panic = fault {
                            // A panic is caught where tasks catch them: run it in a task.
                            let p = pool.clone();
                            let h = spawn(async move { move_on_after(deadline, transfer(&p, from, to, amount, fault)).await });
                            match h.await {
                                Ok(o) => o,
                                Err(e) if e.is_panic() => {
                                    t.panicked.fetch_add(1, Ordering::Relaxed);
                                    continue;
                                }
                                Err(_) => None,
                            }
                        } else {
                            move_on_after(deadline, transfer(&pool, from, to, amount, fault)).await
                        };
                        let counter = match outcome {
                            None => &t.cut_off,
                            Some(Ok(())) => &t.committed,
                            Some(Err(TransferError::Injected)) => &t.injected,
                            Some(Err(TransferError::InsufficientFunds)) => &t.refused,
                            Some(Err(TransferError::Pg(_))) => &t.failed,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok::<(), String>(())
                })
                .expect("the group is open");
            }
            Ok(())
        })
        .await;
        if let Err(e) = res {
            println!("money_soak: a task failed: {:?}", e.into_errors());
        }
        let mut c = pool.acquire().await.expect("a connection");
        let idle_in_tx: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
                &[&app],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        drop(c);
        (pool.stats(), idle_in_tx)
    })
    .await
    .expect("the soak's pool opens");
    let elapsed = started.elapsed();
    let check =
        with_pool(options.min_size(1).max_size(1).application_name("money_soak_admin"), async |admin| {
            let mut c = admin.acquire().await?;
            let total: i64 =
                c.query_one(&format!("SELECT sum(balance)::bigint FROM {TABLE}"), &[]).await?.get(0);
            let mut backends: i64 = -1;
            for _ in 0..500 {
                backends = c
                    .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&app])
                    .await?
                    .get(0);
                if backends == 0 {
                    break;
                }
                anyscope_core::sleep(Duration::from_millis(20)).await;
            }
            c.batch_execute(&format!("DROP TABLE {TABLE}")).await?;
            Ok::<_, PgError>((total, backends))
        })
        .await;
    let (total, backends) = match check.and_then(|r| r) {
        Ok(v) => v,
        Err(e) => {
            println!("money_soak: the final check failed: {e}");
            return false;
        }
    };
    let conns = tracker::kind("postgres connection");
    let txs = tracker::kind("postgres transaction");
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let done = n(&tally.committed)
        + n(&tally.cut_off)
        + n(&tally.panicked)
        + n(&tally.injected)
        + n(&tally.refused)
        + n(&tally.failed);
    println!(
        "  {transfers} transfers from {TASKS} tasks on a pool of 20 in {elapsed:.2?} ({:.0}/s)",
        done as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  committed {}, cut off by their deadline {} ({:.1} %), panicked {}, injected errors {}, refused (funds) {}, other errors {}",
        n(&tally.committed),
        n(&tally.cut_off),
        100.0 * n(&tally.cut_off) as f64 / transfers as f64,
        n(&tally.panicked),
        n(&tally.injected),
        n(&tally.refused),
        n(&tally.failed),
    );
    println!(
        "  total balance {total} (expected {}), backends left {backends}, idle in transaction at the end {idle_in_tx}",
        START * i64::from(ACCOUNTS)
    );
    println!("  pool: {stats}");
    println!(
        "  tracker: connections opened {} open {} lost {}; transactions opened {} open {} lost {} failed closes {}",
        conns.opened,
        conns.open(),
        conns.lost,
        txs.opened,
        txs.open(),
        txs.lost,
        txs.close_failed
    );
    let checks = [
        ("every transfer accounted for", done == transfers),
        ("total balance conserved exactly", total == START * i64::from(ACCOUNTS)),
        ("zero idle in transaction", idle_in_tx == 0),
        ("zero backends left after close", backends == 0),
        (
            "no connection or transaction leaked",
            conns.open() == 0 && conns.lost == 0 && txs.open() == 0 && txs.lost == 0,
        ),
        ("no unexpected errors", n(&tally.failed) == 0),
    ];
    let mut ok = true;
    for (what, held) in checks {
        println!("  {}: {what}", if held { "ok" } else { "FAILED" });
        ok &= held;
    }
    ok
}

fn main() -> ExitCode {
    let mut transfers = 100_000u64;
    let mut runtimes = vec!["tokio", "smol"];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--transfers" => {
                transfers = args.next().and_then(|v| v.parse().ok()).expect("--transfers takes a number")
            }
            "--runtime" => {
                runtimes = match args.next().as_deref() {
                    Some("tokio") => vec!["tokio"],
                    Some("smol") => vec!["smol"],
                    Some("both") => vec!["tokio", "smol"],
                    other => panic!("--runtime takes tokio, smol or both, not {other:?}"),
                }
            }
            other => panic!(
                "unknown argument {other:?}; usage: money_soak [--transfers N] [--runtime tokio|smol|both]"
            ),
        }
    }
    let url = std::env::var("ANYSCOPE_PG_URL")
        .unwrap_or_else(|_| "postgres://anyscope:anyscope@127.0.0.1:5432/anyscope".into());
    // The injected panics are expected: keep them off the terminal, let any other through.
    let quiet = Arc::new(AtomicBool::new(true));
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let injected =
            info.payload().downcast_ref::<&str>().is_some_and(|m| m.starts_with("money_soak: injected"));
        if !(injected && quiet.load(Ordering::Relaxed)) {
            default_hook(info);
        }
    }));
    let mut all = true;
    for rt in runtimes {
        println!("money_soak on {rt}:");
        all &= match rt {
            "tokio" => anyscope_tokio::run(soak(url.clone(), transfers)),
            _ => anyscope_smol::run(soak(url.clone(), transfers)),
        };
    }
    println!("money_soak: {}", if all { "every check held" } else { "FAILED" });
    if all { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
