//! Cancellation: a cancelled acquire loses nothing, an object dropped by a cancelled or
//! panicking holder is checked before anyone reuses it.

use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::pool::{PoolConfig, RecyclePolicy};
use anyscope_core::{CancelScope, move_on_after, sleep, spawn};

use super::manager::{TestError, assert_whole, close_and_check, open};
use crate::support::wait_until;

/// The caller's scope ends a wait the pool's own timeout (a minute) would not.
pub async fn callers_scope_bounds_acquire() {
    let (pool, manager) =
        open(PoolConfig::builder().max_size(1).acquire_timeout(Duration::from_secs(60))).await;
    let held = pool.acquire().await.unwrap();
    let out = move_on_after(Duration::from_millis(20), pool.acquire()).await;
    assert!(out.is_none(), "the scope's deadline ended the acquire");
    let stats = pool.stats();
    assert_eq!((stats.waiting, stats.timed_out, stats.in_use), (0, 0, 1), "{stats:?}");
    // A scope cancelled before the acquire: it takes nothing, even with an object idle.
    drop(held);
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope.run(pool.acquire()).await;
    assert!(out.is_none());
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.in_use), (1, 0), "{stats:?}");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A waiter cancelled around the moment the object is handed to it: the object ends up idle,
/// untouched (not recycled, not closed), and the stats are as before.
pub async fn cancelled_acquire_keeps_the_pool_whole() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1).recycle(RecyclePolicy::SuspectOnly)).await;
    let held = pool.acquire().await.unwrap();
    let before = pool.stats();
    for _ in 0..3 {
        let scope = CancelScope::new();
        let waiter = {
            let (pool, scope) = (pool.clone(), scope.clone());
            spawn(async move { scope.run(pool.acquire()).await.map(|r| r.map(|c| c.id)) })
        };
        let p = pool.clone();
        wait_until("the waiter queues", move || p.stats().waiting == 1).await;
        scope.cancel();
        assert!(waiter.await.unwrap().is_none(), "the waiter was cancelled");
        assert_eq!(pool.stats(), before);
    }
    // Now the hand-over races the cancellation: release, then cancel at once.
    let scope = CancelScope::new();
    let waiter = {
        let (pool, scope) = (pool.clone(), scope.clone());
        spawn(async move { scope.run(pool.acquire()).await.map(|r| r.map(|c| c.id)) })
    };
    let p = pool.clone();
    wait_until("the waiter queues", move || p.stats().waiting == 1).await;
    drop(held);
    scope.cancel();
    let got = waiter.await.unwrap();
    assert!(matches!(got, None | Some(Ok(1))), "{got:?}");
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.in_use, stats.size, stats.waiting), (1, 0, 1, 0), "{stats:?}");
    assert_eq!((stats.closed, stats.created), (0, 1));
    assert_eq!(manager.calls().1, 0, "a healthy object is not checked, nor discarded");
    assert_eq!(pool.acquire().await.unwrap().id, 1, "the same object, still idle");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// An acquire cancelled while it recycles an idle object returns at its bound, even if the
/// recycle would never end: the object, cut off mid-check, is not trusted — it is closed on a
/// detached cleanup and its slot freed — and the next acquire gets a new one.
pub async fn acquire_cancelled_mid_recycle_returns_and_closes_the_object() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    drop(pool.acquire().await.unwrap());
    manager.recycle_delay(u32::MAX); // a recycle that never ends
    let out = move_on_after(Duration::from_millis(10), pool.acquire()).await;
    assert!(out.is_none());
    let p = pool.clone();
    wait_until("the object is closed and its slot freed", move || p.stats().size == 0).await;
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.in_use, stats.closed), (0, 0, 1), "{stats:?}");
    manager.recycle_delay(0);
    assert_eq!(pool.acquire().await.unwrap().id, 2, "a new object");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A holder cancelled while it uses an object: the object is recycled before the next user,
/// already waiting, gets it.
pub async fn object_dropped_by_cancellation_is_recycled_before_reuse() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1).recycle(RecyclePolicy::SuspectOnly)).await;
    let log = manager.log();
    manager.recycle_delay(20);
    let scope = CancelScope::new();
    let holder = {
        let (pool, scope, log) = (pool.clone(), scope.clone(), log.clone());
        spawn(async move {
            scope
                .run(async {
                    let _conn = pool.acquire().await.unwrap();
                    log.push("query started");
                    sleep(Duration::from_secs(60)).await; // cut off mid-query
                })
                .await
        })
    };
    wait_until("the query runs", || log.events().contains(&"query started".to_string())).await;
    let next = {
        let (pool, log) = (pool.clone(), log.clone());
        spawn(async move {
            let conn = pool.acquire().await.unwrap();
            log.push(format!("next user got {}", conn.id));
        })
    };
    let p = pool.clone();
    wait_until("the next user waits", move || p.stats().waiting == 1).await;
    scope.cancel();
    assert!(holder.await.unwrap().is_none());
    next.await.unwrap();
    let events = log.events();
    let pos = |e: &str| events.iter().position(|x| x == e).unwrap_or_else(|| panic!("{e} in {events:?}"));
    assert!(pos("recycle 1") < pos("recycled 1") && pos("recycled 1") < pos("next user got 1"), "{events:?}");
    assert_eq!(pool.stats().recycled, 1);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A holder cancelled while it uses an object whose recycle then fails: the object is closed,
/// and the next user gets a new one.
pub async fn failing_recycle_after_cancellation_closes_it() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1).recycle(RecyclePolicy::SuspectOnly)).await;
    manager.fail_recycles(true);
    let out = move_on_after(Duration::from_millis(10), async {
        let _conn = pool.acquire().await.unwrap();
        sleep(Duration::from_secs(60)).await;
    })
    .await;
    assert!(out.is_none());
    let stats = pool.stats();
    assert_eq!((stats.size, stats.idle, stats.closed, stats.failed), (0, 0, 1, 1), "{stats:?}");
    manager.fail_recycles(false);
    assert_eq!(pool.acquire().await.unwrap().id, 2);
    assert!(manager.log().events().contains(&"close 1".to_string()));
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A task that panics while holding an object: the object is recycled, not returned blindly.
pub async fn object_dropped_by_panic_is_recycled() {
    let (pool, manager) = open(PoolConfig::builder().max_size(2).recycle(RecyclePolicy::SuspectOnly)).await;
    let res = {
        let pool = pool.clone();
        spawn(async move {
            task_group(|tg| async move {
                tg.spawn(async move {
                    let _conn = pool.acquire().await.unwrap();
                    sleep(Duration::from_millis(1)).await;
                    panic!("query panicked");
                })
                .expect("the group is open");
                Ok::<(), TestError>(())
            })
            .await
        })
        .await
    };
    assert!(res.unwrap_err().is_panic(), "the panic reached the group's owner");
    let stats = pool.stats();
    assert_eq!((stats.recycled, stats.idle, stats.in_use), (1, 1, 0), "{stats:?}");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// Users cancelled at many different points (waiting, creating, recycling, holding, in a
/// nested scope): after each round the pool is whole — nothing in use, nobody waiting, the
/// tracker counting exactly the pool's objects.
pub async fn cancellation_at_any_point_keeps_the_pool_whole() {
    let (pool, manager) = open(PoolConfig::builder().max_size(2)).await;
    manager.create_delay(2);
    manager.recycle_delay(1);
    for round in 0..12u64 {
        let p = pool.clone();
        let out = move_on_after(Duration::from_micros(700 * round), async move {
            task_group(|tg| async move {
                for user in 0..4u64 {
                    let p = p.clone();
                    tg.spawn(async move {
                        let mut conn = p.acquire().await?;
                        conn.broken = (user + round) % 5 == 0;
                        sleep(Duration::from_millis(1 + user % 2)).await;
                        Ok::<(), anyscope_core::pool::PoolError<TestError>>(())
                    })
                    .expect("the group is open");
                }
                Ok(())
            })
            .await
        })
        .await;
        if let Some(res) = out {
            assert!(res.is_ok(), "round {round}: {res:?}");
        }
        let p = pool.clone();
        wait_until("the pool settles", move || {
            let s = p.stats();
            s.in_use == 0 && s.waiting == 0 && s.size == s.idle
        })
        .await;
        assert_whole(&pool, &manager);
    }
    manager.create_delay(0);
    manager.recycle_delay(0);
    close_and_check(pool, &manager).await;
}
