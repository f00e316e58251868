//! Size, order, timeout, failures: the pool without cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::pool::{Object, PoolConfig, PoolError};
use anyscope_core::{sleep, spawn};

use super::manager::{TestError, assert_whole, close_and_check, close_and_check_detached, open};
use crate::support::{Flag, wait_until};

/// 64 tasks share a pool of 4: never more than 4 objects alive (the manager's high-water
/// mark), and every acquire succeeds.
pub async fn max_size_never_exceeded_under_64_users() {
    let (pool, manager) = open(PoolConfig::builder().max_size(4)).await;
    let served = Arc::new(AtomicUsize::new(0));
    let res = task_group(|tg| {
        let (pool, served) = (pool.clone(), served.clone());
        async move {
            for _ in 0..64 {
                let (pool, served) = (pool.clone(), served.clone());
                tg.spawn(async move {
                    for _ in 0..3 {
                        let conn = pool.acquire().await?;
                        assert!(conn.id >= 1);
                        sleep(Duration::from_millis(1)).await;
                        served.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok::<(), PoolError<TestError>>(())
                })
                .expect("the group is open");
            }
            Ok(())
        }
    })
    .await;
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(served.load(Ordering::SeqCst), 64 * 3);
    assert!(manager.high_water() <= 4, "high water {}", manager.high_water());
    let stats = pool.stats();
    assert!(stats.created <= 4 && stats.size <= 4, "{stats:?}");
    assert_eq!((stats.in_use, stats.waiting), (0, 0));
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// Acquires that wait are served first come, first served.
pub async fn waiters_are_served_in_fifo_order() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    let log = manager.log();
    let held = pool.acquire().await.unwrap();
    let mut waiters = Vec::new();
    for i in 0..5 {
        let (p, log) = (pool.clone(), log.clone());
        waiters.push(spawn(async move {
            let conn = p.acquire().await.unwrap();
            log.push(format!("waiter {i} got {}", conn.id));
        }));
        // The next waiter is queued only once this one waits.
        let p = pool.clone();
        wait_until("the waiter queues", move || p.stats().waiting == i + 1).await;
    }
    drop(held);
    for w in waiters {
        w.await.unwrap();
    }
    let got: Vec<_> = log.events().into_iter().filter(|e| e.starts_with("waiter")).collect();
    let want: Vec<_> = (0..5).map(|i| format!("waiter {i} got 1")).collect();
    assert_eq!(got, want);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// With every object held, an acquire fails after the pool's acquire timeout with an error
/// that says so; the pool is unchanged.
pub async fn acquire_timeout_is_a_clear_error() {
    let timeout = Duration::from_millis(30);
    let (pool, manager) = open(PoolConfig::builder().max_size(1).acquire_timeout(timeout)).await;
    let held = pool.acquire().await.unwrap();
    let err = pool.acquire().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(err, PoolError::Timeout(d) if d == timeout));
    let msg = err.to_string();
    assert!(msg.contains("acquire timeout") && msg.contains("30ms"), "{msg}");
    let stats = pool.stats();
    assert_eq!((stats.timed_out, stats.waiting, stats.in_use, stats.size), (1, 0, 1, 1), "{stats:?}");
    drop(held);
    assert_eq!(pool.stats().idle, 1);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A failing create frees its slot: the waiter gets the manager's error, the next acquire
/// creates again — also for a waiter queued behind the failing create.
pub async fn create_failure_frees_its_slot() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    manager.fail_creates(1);
    let err = pool.acquire().await.unwrap_err();
    assert!(matches!(&err, PoolError::Create(e) if e.0 == "connection refused"), "{err:?}");
    assert_eq!(err.to_string(), "creating a pool object failed");
    assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "connection refused");
    let stats = pool.stats();
    assert_eq!((stats.size, stats.in_use, stats.failed), (0, 0, 1), "{stats:?}");
    // A slow failing create, with a waiter behind it: the freed slot goes to the waiter.
    manager.fail_creates(1);
    manager.create_delay(20);
    let first = {
        let pool = pool.clone();
        spawn(async move { pool.acquire().await.map(|c| c.id) })
    };
    let p = pool.clone();
    wait_until("the first create runs", move || p.stats().size == 1).await;
    let second = {
        let pool = pool.clone();
        spawn(async move { pool.acquire().await.map(|c| c.id) })
    };
    assert!(first.await.unwrap().is_err());
    assert_eq!(second.await.unwrap().unwrap(), 1);
    assert_eq!(pool.stats().failed, 2);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A recycle that fails closes the object, and the same acquire goes on with a new one.
pub async fn failing_recycle_closes_and_acquire_goes_on() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    drop(pool.acquire().await.unwrap());
    manager.fail_recycles(true);
    let conn = pool.acquire().await.unwrap();
    assert_eq!(conn.id, 2, "a new object replaced the stale one");
    let events = manager.log().events();
    let pos = |e: &str| events.iter().position(|x| x == e).unwrap_or_else(|| panic!("{e} in {events:?}"));
    assert!(pos("recycle 1 failed") < pos("close 1") && pos("close 1") < pos("create 2"), "{events:?}");
    let stats = pool.stats();
    assert_eq!((stats.failed, stats.closed, stats.created, stats.size), (1, 1, 2, 1), "{stats:?}");
    drop(conn);
    manager.fail_recycles(false);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// An object returned broken is closed, not reused.
pub async fn broken_object_is_not_reused() {
    let (pool, manager) = open(PoolConfig::builder().max_size(2)).await;
    let mut conn = pool.acquire().await.unwrap();
    conn.broken = true;
    drop(conn);
    let p = pool.clone();
    wait_until("the broken object is closed", move || p.stats().closed == 1).await;
    assert_eq!(pool.stats().idle, 0);
    let conn = pool.acquire().await.unwrap();
    assert_eq!(conn.id, 2);
    assert!(manager.log().events().contains(&"close 1".to_string()));
    drop(conn);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A detached object leaves the pool: its slot is free at once (a waiter gets it), and the
/// pool never closes it.
pub async fn detach_frees_the_slot() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    let held = pool.acquire().await.unwrap();
    let waiter = {
        let pool = pool.clone();
        spawn(async move { pool.acquire().await.map(|c| c.id) })
    };
    let p = pool.clone();
    wait_until("the waiter queues", move || p.stats().waiting == 1).await;
    let conn = Object::detach(held);
    assert_eq!(conn.id, 1);
    assert_eq!(waiter.await.unwrap().unwrap(), 2);
    drop(conn);
    assert_whole(&pool, &manager);
    close_and_check_detached(pool, &manager, 1).await;
}

/// `try_acquire` takes an idle object or fails at once: `Busy` when nothing is idle, and it
/// never takes an object a waiter is owed.
pub async fn try_acquire_takes_idle_only_and_never_barges() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    assert!(matches!(pool.try_acquire(), Err(PoolError::Busy)), "nothing idle yet");
    drop(pool.acquire().await.unwrap());
    let held = pool.try_acquire().expect("an idle object");
    assert_eq!(held.id, 1);
    assert!(matches!(pool.try_acquire(), Err(PoolError::Busy)));
    let done = Flag::new();
    let waiter = {
        let (pool, done) = (pool.clone(), done.clone());
        spawn(async move {
            let conn = pool.acquire().await.unwrap();
            wait_until("the case is done", || done.is_set()).await; // holds it till then
            conn.id
        })
    };
    let p = pool.clone();
    wait_until("the waiter queues", move || p.stats().waiting == 1).await;
    drop(held); // handed straight to the waiter, which keeps it
    assert!(matches!(pool.try_acquire(), Err(PoolError::Busy)), "no barging past the waiter");
    done.set();
    assert_eq!(waiter.await.unwrap(), 1);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// The pool, its guard and the acquire future can cross threads.
pub async fn pool_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let (pool, manager) = open(PoolConfig::builder()).await;
    send_sync(&pool);
    let acquire = pool.acquire();
    send(&acquire);
    let conn = acquire.await.unwrap();
    send_sync(&conn);
    drop(conn);
    close_and_check(pool, &manager).await;
}
