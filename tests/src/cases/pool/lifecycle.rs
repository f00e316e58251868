//! The pool as a resource: background refill and expiry, draining close, closing with an
//! exit stack.

use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::pool::{Object, PoolConfig, PoolError};
use anyscope_core::{ExitStack, sleep, spawn};

use super::manager::{TestError, assert_whole, close_and_check, open};
use crate::fixtures::assert_clean;
use crate::support::wait_until;

/// The background refill keeps `min_idle` objects ready, also after objects are closed.
pub async fn min_idle_refilled_after_closures() {
    let (pool, manager) = open(PoolConfig::builder().max_size(4).min_idle(2)).await;
    let p = pool.clone();
    wait_until("the refill fills the pool", move || p.stats().idle == 2).await;
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    Object::close(a).await;
    Object::close(b).await;
    let p = pool.clone();
    wait_until("the refill makes up for the closed objects", move || p.stats().idle == 2).await;
    let stats = pool.stats();
    assert_eq!((stats.closed, stats.size), (2, 2), "{stats:?}");
    assert!(stats.created >= 4, "{stats:?}");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// `close` waits for the objects still checked out, closes everything, and later acquires
/// fail with a clear error.
pub async fn close_drains_then_refuses() {
    let (pool, manager) = open(PoolConfig::builder().max_size(3)).await;
    let log = manager.log();
    drop(pool.acquire().await.unwrap()); // one idle
    let user = {
        let (pool, log) = (pool.clone(), log.clone());
        spawn(async move {
            let a = pool.acquire().await.unwrap();
            let b = pool.acquire().await.unwrap();
            log.push("user holds two");
            sleep(Duration::from_millis(30)).await;
            log.push("user returns them");
            drop((a, b));
        })
    };
    wait_until("the user holds two", || log.events().contains(&"user holds two".to_string())).await;
    pool.close().await;
    log.push("close returned");
    user.await.unwrap();
    let events = log.events();
    let pos = |e: &str| events.iter().position(|x| x == e).unwrap_or_else(|| panic!("{e} in {events:?}"));
    assert!(pos("user returns them") < pos("close returned"), "{events:?}");
    assert_eq!(events.iter().filter(|e| e.starts_with("close ")).count(), 3, "{events:?}");
    let err = pool.acquire().await.unwrap_err();
    assert!(err.is_closed() && err.to_string() == "the pool is closed", "{err:?}");
    assert!(matches!(pool.try_acquire(), Err(PoolError::Closed)));
    close_and_check(pool, &manager).await;
}

/// Acquires waiting when the pool closes fail with `Closed`.
pub async fn close_fails_waiters() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    let held = pool.acquire().await.unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            spawn(async move { pool.acquire().await.map(|c| c.id) })
        })
        .collect();
    let p = pool.clone();
    wait_until("three waiters", move || p.stats().waiting == 3).await;
    let closing = spawn(pool.close());
    for w in waiters {
        assert!(matches!(w.await.unwrap(), Err(PoolError::Closed)));
    }
    assert_eq!(pool.stats().waiting, 0);
    drop(held);
    closing.await.unwrap();
    close_and_check(pool, &manager).await;
}

/// Objects older than the max lifetime are closed (while idle, or when an acquire finds them
/// expired) and replaced by new ones.
pub async fn lifetime_expiry() {
    let (pool, manager) =
        open(PoolConfig::builder().max_size(2).max_lifetime(Duration::from_millis(30))).await;
    drop(pool.acquire().await.unwrap());
    let p = pool.clone();
    wait_until("the expired object is closed", move || p.stats().closed == 1 && p.stats().size == 0).await;
    assert!(manager.log().events().contains(&"close 1".to_string()));
    let conn = pool.acquire().await.unwrap();
    assert_eq!(conn.id, 2);
    drop(conn);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// Objects idle longer than the idle timeout are closed; objects in use are not.
pub async fn idle_expiry() {
    let (pool, manager) =
        open(PoolConfig::builder().max_size(2).idle_timeout(Duration::from_millis(30))).await;
    let held = pool.acquire().await.unwrap();
    drop(pool.acquire().await.unwrap()); // object 2 idles
    let p = pool.clone();
    wait_until("the idle object is closed", move || p.stats().closed == 1).await;
    assert!(manager.log().events().contains(&"close 2".to_string()));
    sleep(Duration::from_millis(60)).await; // object 1 is in use past the idle timeout
    assert_eq!(held.id, 1);
    drop(held);
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.closed), (1, 1), "{stats:?}");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A pool entered in an exit stack, used by a task group of workers: closing the stack after
/// the group closes the pool and every object.
pub async fn exit_stack_closes_pool_around_task_group() {
    let (pool, manager) = open(PoolConfig::builder().max_size(3)).await;
    let kind = pool.object_kind();
    let mut stack = ExitStack::new();
    let entered = stack.enter(pool.into_resource());
    let pool = (**stack.get(entered)).clone();
    let res = task_group(|tg| async move {
        for i in 0..8u64 {
            let pool = pool.clone();
            tg.spawn(async move {
                let _conn = pool.acquire().await?;
                sleep(Duration::from_millis(i % 3)).await;
                Ok::<(), PoolError<TestError>>(())
            })
            .expect("the group is open");
        }
        Ok(())
    })
    .await;
    assert!(res.is_ok(), "{res:?}");
    let pool = (**stack.get(entered)).clone();
    stack.close().await.unwrap();
    assert!(pool.is_closed());
    assert_eq!(pool.stats().size, 0);
    assert_clean(kind).await;
    assert_eq!(manager.live(), 0);
    close_and_check(pool, &manager).await;
}

/// The last handle of a pool dropped unclosed: its close is adopted by the frame that dropped
/// it, which finishes it (every object closed) before it completes.
pub async fn pool_dropped_unclosed_is_closed_by_its_frame() {
    let manager = super::manager::TestManager::new();
    let kind = crate::fixtures::unique_kind("pool-conn");
    let config = PoolConfig::builder().max_size(2).min_idle(1).kind(kind).build().unwrap();
    let out = anyscope_core::CancelScope::new()
        .run(async {
            let pool = anyscope_core::pool::Pool::open(manager.clone(), config).await;
            let a = pool.acquire().await.unwrap();
            let b = pool.acquire().await.unwrap();
            drop(a);
            drop(pool); // `b` is still out: the adopted close waits for it
            sleep(Duration::from_millis(5)).await;
            drop(b);
            "body done"
        })
        .await;
    assert_eq!(out, Some("body done"));
    assert_eq!(manager.live(), 0, "every object was closed before the scope completed");
    assert_clean(kind).await;
}

/// `pool.close().await` with `AsyncClose` in scope is still the pool's own `close(&self)`: it
/// does not move the handle, which stays usable (this case would not compile otherwise).
pub async fn close_with_async_close_in_scope_keeps_the_handle() {
    #[allow(unused_imports)]
    use anyscope_core::AsyncClose;
    let (pool, manager) = open(PoolConfig::builder().max_size(2)).await;
    drop(pool.acquire().await.unwrap());
    pool.close().await;
    assert!(pool.is_closed());
    assert_eq!(pool.stats().size, 0);
    close_and_check(pool, &manager).await;
}
