//! The pooled-transaction cases, each on tokio (multi-thread), tokio current-thread and smol,
//! against the real server. Test names read `<runtime>::<case>`. Every case works on its own
//! table and counts only the backends of its own `application_name`, so the cases run in
//! parallel.

mod support;

use std::time::Duration;

use anyscope_core::{fail_after, move_on_after};
use anyscope_postgres_example::{PgError, PgPool, with_pool};
use support::{
    TestError, accounts, backends, balances, drop_table, idle_in_transaction, observed, options, running,
    settles,
};

async fn transfer(pool: &PgPool, t: &str, amount: i64) -> Result<(), PgError> {
    let (debit, credit) = (
        format!("UPDATE {t} SET balance = balance - $1 WHERE id = 1"),
        format!("UPDATE {t} SET balance = balance + $1 WHERE id = 2"),
    );
    pool.transaction(async |tx| {
        tx.execute(&debit, &[&amount]).await?;
        tx.execute(&credit, &[&amount]).await?;
        Ok(())
    })
    .await
}

/// A committed transfer is visible from another connection. On smol, with no tokio runtime
/// anywhere: tokio-postgres without its `runtime` feature needs none.
async fn commit_visible(app: &'static str) {
    if app.starts_with("sm_") {
        assert!(::tokio::runtime::Handle::try_current().is_err(), "no tokio runtime on the smol runner");
    }
    observed(app, async |obs| {
        accounts(&obs, app, &[1000, 0]).await;
        with_pool(options(app).min_size(1).max_size(2), async |pool| {
            transfer(&pool, app, 100).await.expect("the transfer commits");
            assert_eq!(balances(&obs, app).await, [900, 100]);
        })
        .await
        .unwrap();
        drop_table(&obs, app).await;
    })
    .await;
}

/// A body that returns an error, or a statement the server rejects, rolls back.
async fn error_rolls_back(app: &'static str) {
    observed(app, async |obs| {
        accounts(&obs, app, &[1000, 0]).await;
        with_pool(options(app).min_size(1).max_size(1), async |pool| {
            let debit = format!("UPDATE {app} SET balance = balance - 100 WHERE id = 1");
            let res: Result<(), TestError> = pool
                .transaction(async |tx| {
                    tx.execute(&debit, &[]).await?;
                    Err(TestError::Refused)
                })
                .await;
            assert!(matches!(res, Err(TestError::Refused)), "{res:?}");
            let res: Result<(), PgError> = pool
                .transaction(async |tx| {
                    tx.execute(&debit, &[]).await?;
                    tx.execute("SELECT 1 / 0", &[]).await?;
                    Ok(())
                })
                .await;
            assert_eq!(res.unwrap_err().code(), Some("22012"), "division by zero");
            assert_eq!(balances(&obs, app).await, [1000, 0]);
            assert_eq!(idle_in_transaction(&obs, app).await, 0);
            // The connection is clean for the next user.
            transfer(&pool, app, 1).await.expect("the next transfer commits");
            assert_eq!(balances(&obs, app).await, [999, 1]);
        })
        .await
        .unwrap();
        drop_table(&obs, app).await;
    })
    .await;
}

/// A 50 ms deadline cuts a transaction off mid-statement: it is rolled back, the statement is
/// cancelled on the server, and no backend is left `idle in transaction` — all before the
/// deadline's scope returns.
async fn deadline_rolls_back(app: &'static str) {
    observed(app, async |obs| {
        accounts(&obs, app, &[1000, 0]).await;
        with_pool(options(app).min_size(1).max_size(1), async |pool| {
            let debit = format!("UPDATE {app} SET balance = balance - 100 WHERE id = 1");
            let out = move_on_after(Duration::from_millis(50), async {
                pool.transaction(async |tx| {
                    tx.execute(&debit, &[]).await?;
                    tx.execute("SELECT pg_sleep(30)", &[]).await?;
                    Ok::<_, PgError>(())
                })
                .await
            })
            .await;
            assert!(out.is_none(), "the deadline cut the transaction off");
            // No waiting: the rollback has run before move_on_after returned.
            assert_eq!(idle_in_transaction(&obs, app).await, 0);
            assert_eq!(running(&obs, app, "pg_sleep").await, 0, "the statement was cancelled on the server");
            assert_eq!(balances(&obs, app).await, [1000, 0]);
            // The same (only) connection serves the next transfer at once.
            let next = fail_after(Duration::from_secs(10), transfer(&pool, app, 1)).await;
            assert!(matches!(next, Ok(Ok(()))), "{next:?}");
            assert_eq!(balances(&obs, app).await, [999, 1]);
        })
        .await
        .unwrap();
        drop_table(&obs, app).await;
    })
    .await;
}

/// A panic in the body rolls back before the panic reaches the task's owner.
async fn panic_rolls_back(app: &'static str) {
    observed(app, async |obs| {
        accounts(&obs, app, &[1000, 0]).await;
        with_pool(options(app).min_size(1).max_size(1), async |pool| {
            let (p, debit) = (pool.clone(), format!("UPDATE {app} SET balance = balance - 100 WHERE id = 1"));
            let joined = anyscope_core::spawn(async move {
                p.transaction(async |tx| {
                    tx.execute(&debit, &[]).await?;
                    if tx.is_closed() {
                        return Err(PgError::Closed);
                    }
                    panic!("injected panic mid-transaction");
                    #[allow(unreachable_code)]
                    Ok::<(), PgError>(())
                })
                .await
            })
            .await;
            assert!(joined.unwrap_err().is_panic());
            assert_eq!(idle_in_transaction(&obs, app).await, 0);
            assert_eq!(balances(&obs, app).await, [1000, 0]);
            transfer(&pool, app, 1).await.expect("the connection is clean for the next user");
            assert_eq!(balances(&obs, app).await, [999, 1]);
        })
        .await
        .unwrap();
        drop_table(&obs, app).await;
    })
    .await;
}

/// A holder cut off during `pg_sleep`, with a transaction of its own open: the next acquirer
/// gets a clean connection (the same one: max size 1) at once, and the sleep was cancelled on
/// the server.
async fn cut_off_holder(app: &'static str) {
    observed(app, async |obs| {
        accounts(&obs, app, &[1000, 0]).await;
        with_pool(options(app).min_size(1).max_size(1), async |pool| {
            let mut first = pool.acquire().await.unwrap();
            let pid: i32 = first.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
            drop(first);
            let debit = format!("BEGIN; UPDATE {app} SET balance = balance - 100 WHERE id = 1");
            let out = move_on_after(Duration::from_millis(50), async {
                let mut conn = pool.acquire().await.unwrap();
                conn.batch_execute(&debit).await.unwrap();
                conn.execute("SELECT pg_sleep(30)", &[]).await
            })
            .await;
            assert!(out.is_none());
            assert_eq!(running(&obs, app, "pg_sleep").await, 0, "the sleep was cancelled on the server");
            let next = fail_after(Duration::from_secs(10), async {
                let mut conn = pool.acquire().await.unwrap();
                let again: i32 = conn.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
                let credit = format!("UPDATE {app} SET balance = balance + 1 WHERE id = 2");
                conn.execute(&credit, &[]).await.unwrap();
                again
            })
            .await;
            assert_eq!(next.expect("the next acquirer is served at once"), pid, "reset, not replaced");
            // Autocommit again: the credit is visible elsewhere, the cut-off debit is not.
            assert_eq!(balances(&obs, app).await, [1000, 1]);
            assert_eq!(idle_in_transaction(&obs, app).await, 0);
        })
        .await
        .unwrap();
        drop_table(&obs, app).await;
    })
    .await;
}

/// A holder that returns its connection in the ordinary way with a transaction it opened by
/// hand still open: the next acquirer gets it rolled back, not mid-transaction.
async fn left_open_by_hand(app: &'static str) {
    observed(app, async |obs| {
        accounts(&obs, app, &[1000, 0]).await;
        with_pool(options(app).min_size(1).max_size(1), async |pool| {
            let mut conn = pool.acquire().await.unwrap();
            conn.batch_execute(&format!("BEGIN; UPDATE {app} SET balance = balance - 100 WHERE id = 1"))
                .await
                .unwrap();
            drop(conn);
            let mut conn = pool.acquire().await.unwrap();
            conn.execute(&format!("UPDATE {app} SET balance = balance + 1 WHERE id = 2"), &[]).await.unwrap();
            drop(conn);
            assert_eq!(balances(&obs, app).await, [1000, 1]);
            assert_eq!(idle_in_transaction(&obs, app).await, 0);
        })
        .await
        .unwrap();
        drop_table(&obs, app).await;
    })
    .await;
}

/// `min_size` backends at rest, never more than `max_size` under load.
async fn pool_sizes(app: &'static str) {
    observed(app, async |obs| {
        with_pool(options(app).min_size(2).max_size(5), async |pool| {
            assert_eq!(settles(2, async || backends(&obs, app).await).await, 2);
            let mut held = Vec::new();
            for _ in 0..5 {
                held.push(pool.acquire().await.unwrap());
            }
            assert_eq!(settles(5, async || backends(&obs, app).await).await, 5);
            let sixth = move_on_after(Duration::from_millis(100), pool.acquire()).await;
            assert!(sixth.is_none(), "a sixth acquire waits: the pool is at max_size");
            assert_eq!(backends(&obs, app).await, 5);
            drop(held);
            assert_eq!(pool.stats().size, 5);
            assert_eq!(backends(&obs, app).await, 5);
        })
        .await
        .unwrap();
    })
    .await;
}

/// `close()` leaves no backend behind, and so does leaving `with_pool`.
async fn close_leaves_zero(app: &'static str) {
    observed(app, async |obs| {
        with_pool(options(app).min_size(3).max_size(4), async |pool| {
            assert_eq!(settles(3, async || backends(&obs, app).await).await, 3);
            let conn = pool.acquire().await.unwrap();
            drop(conn);
            pool.close().await;
            assert!(pool.acquire().await.is_err(), "a closed pool hands nothing out");
            assert_eq!(settles(0, async || backends(&obs, app).await).await, 0);
        })
        .await
        .unwrap();
        let other = format!("{app}_b");
        with_pool(options(&other).min_size(2).max_size(2), async |_pool| {
            assert_eq!(settles(2, async || backends(&obs, &other).await).await, 2);
        })
        .await
        .unwrap();
        assert_eq!(settles(0, async || backends(&obs, &other).await).await, 0);
    })
    .await;
}

/// A wrong password fails `with_pool` with the server's error, promptly.
async fn bad_password_fails(app: &'static str) {
    let url = support::url();
    let bad = match url.split_once('@') {
        Some((head, tail)) => {
            format!("{}:wrong-password@{tail}", head.rsplit_once(':').map_or(head, |(u, _)| u))
        }
        None => return,
    };
    let options =
        anyscope_postgres_example::PoolOptions::new(&bad).unwrap().application_name(app).min_size(1);
    let res = fail_after(Duration::from_secs(20), with_pool(options, async |_pool| ())).await;
    let err = res.expect("no hang").expect_err("a wrong password is refused");
    assert_eq!(err.code(), Some("28P01"), "{err:?}");
}

/// Options that cannot work fail at once with an error that says why.
async fn bad_options_fail(app: &'static str) {
    let err = with_pool(options(app).min_size(5).max_size(2), async |_pool| ()).await.unwrap_err();
    assert!(matches!(err, PgError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("min_size"), "{err}");
    let err = anyscope_postgres_example::PoolOptions::new("host=/var/run/postgresql user=x").unwrap_err();
    assert!(matches!(err, PgError::Config(_)), "{err:?}");
    assert!(anyscope_postgres_example::PoolOptions::new("postgres://a@b:notaport/c").is_err());
}

macro_rules! on_runner {
    ($runner:path, $prefix:literal; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                support::server();
                $runner(super::$case(concat!($prefix, stringify!($case))));
            }
        )*
    };
}

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod tokio {
            use super::support;
            on_runner!(anyscope_tokio::run, "tk_"; $($case),*);
        }
        mod tokio_current_thread {
            use super::support;
            on_runner!(anyscope_tokio::run_current_thread, "tc_"; $($case),*);
        }
        mod smol {
            use super::support;
            on_runner!(anyscope_smol::run, "sm_"; $($case),*);
        }
    };
}

cases!(
    commit_visible,
    error_rolls_back,
    deadline_rolls_back,
    panic_rolls_back,
    cut_off_holder,
    left_open_by_hand,
    pool_sizes,
    close_leaves_zero,
    bad_password_fails,
    bad_options_fail,
);
