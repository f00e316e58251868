//! The server restarted mid-run (`pg_ctlcluster 15 main restart`, through `ci/postgres.sh
//! restart`): broken connections are replaced, calls in flight get clear errors, nothing
//! hangs, and no money is lost. A test binary of its own, because it restarts the shared
//! server; its three runners take turns.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::{fail_after, run_blocking, sleep};
use anyscope_postgres_example::{PgError, PgPool, with_pool};
use support::{accounts, balances, drop_table, observed, options};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const ACCOUNTS: i32 = 4;
const WORKERS: usize = 4;

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    ok_after: AtomicU64,
    failed: AtomicU64,
    restarted: AtomicBool,
    unclear: Mutex<Vec<String>>,
}

async fn transfer(pool: &PgPool, t: &str, from: i32, to: i32) -> Result<(), PgError> {
    let (debit, credit) = (
        format!("UPDATE {t} SET balance = balance - 1 WHERE id = $1"),
        format!("UPDATE {t} SET balance = balance + 1 WHERE id = $1"),
    );
    pool.transaction(async |tx| {
        // Rows locked in id order: concurrent transfers never deadlock.
        if from < to {
            tx.execute(&debit, &[&from]).await?;
            tx.execute(&credit, &[&to]).await?;
        } else {
            tx.execute(&credit, &[&to]).await?;
            tx.execute(&debit, &[&from]).await?;
        }
        Ok(())
    })
    .await
}

/// Transfers until 10 have succeeded after the restart; every call is bounded (a call that
/// does not end within 30 s is a hang, and fails the test).
async fn worker(pool: PgPool, t: &'static str, w: usize, tally: Arc<Tally>) -> Result<(), String> {
    let from = (w as i32 % ACCOUNTS) + 1;
    let to = (from % ACCOUNTS) + 1;
    let mut after = 0;
    while after < 10 {
        let restarted = tally.restarted.load(Ordering::SeqCst);
        match fail_after(Duration::from_secs(30), transfer(&pool, t, from, to)).await {
            Err(_) => return Err(format!("worker {w}: a transfer hung for 30 s")),
            Ok(Ok(())) => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
                if restarted {
                    after += 1;
                    tally.ok_after.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Err(e)) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                if !e.is_connection_lost() {
                    tally.unclear.lock().unwrap().push(format!("{e}: {:?}", std::error::Error::source(&e)));
                }
                sleep(Duration::from_millis(20)).await;
            }
        }
    }
    Ok(())
}

async fn restart_mid_run(app: &'static str) {
    observed(app, async |obs| {
        accounts(&obs, app, &[1000; ACCOUNTS as usize]).await;
        let tally = Arc::new(Tally::default());
        let options = options(app).min_size(2).max_size(4).connect_timeout(Duration::from_secs(5));
        let created = with_pool(options, async |pool| {
            let t = Arc::clone(&tally);
            let run = task_group(|tg| async move {
                for w in 0..WORKERS {
                    tg.spawn(worker(pool.clone(), app, w, Arc::clone(&t))).expect("the group is open");
                }
                while t.ok.load(Ordering::Relaxed) < 20 {
                    sleep(Duration::from_millis(10)).await;
                }
                let before = pool.stats().created;
                run_blocking(support::restart_server).await;
                t.restarted.store(true, Ordering::SeqCst);
                Ok::<_, String>((before, pool))
            });
            let (before, pool) = fail_after(Duration::from_secs(120), run)
                .await
                .expect("the run ends")
                .unwrap_or_else(|e| panic!("{:?}", e.into_errors()));
            assert!(pool.stats().created > before, "broken connections were replaced: {}", pool.stats());
            pool.stats()
        })
        .await
        .expect("the pool opens");
        println!(
            "{app}: {} transfers committed ({} after the restart), {} failed with the connection lost; pool: {created}",
            tally.ok.load(Ordering::Relaxed),
            tally.ok_after.load(Ordering::Relaxed),
            tally.failed.load(Ordering::Relaxed),
        );
        let unclear = tally.unclear.lock().unwrap().clone();
        assert!(unclear.is_empty(), "errors that do not say the connection was lost: {unclear:?}");
        assert!(tally.ok_after.load(Ordering::Relaxed) >= 10 * WORKERS as u64);
        // The observer's own connection died with the restart too: its pool replaces it.
        let total: i64 = balances(&obs, app).await.iter().sum();
        assert_eq!(total, 1000 * i64::from(ACCOUNTS), "no money created or lost ({created})");
        drop_table(&obs, app).await;
    })
    .await;
}

macro_rules! on_runner {
    ($($name:ident: $runner:path, $app:literal;)*) => {
        $(
            #[test]
            fn $name() {
                support::server();
                let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
                $runner(restart_mid_run($app));
            }
        )*
    };
}

on_runner! {
    tokio: anyscope_tokio::run, "tk_restart";
    tokio_current_thread: anyscope_tokio::run_current_thread, "tc_restart";
    smol: anyscope_smol::run, "sm_restart";
}
