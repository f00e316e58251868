//! deadpool's own tests (`managed_timeout.rs`, `managed_unreliable_manager.rs`, `managed.rs`)
//! ported to this pool, plus the suspect-object promise checked against `try_acquire`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyscope_core::pool::{Manager, Pool, PoolConfig, PoolError, Recycle, RecycleError, RecyclePolicy};
use anyscope_core::{CancelScope, sleep, spawn};

use super::manager::{assert_whole, close_and_check, open};
use crate::fixtures::{assert_clean, unique_kind};
use crate::support::wait_until;

/// A manager whose creates and recycles can be told to never end (deadpool's `Never`).
#[derive(Clone, Default)]
struct Hanging {
    create: Arc<AtomicBool>,
    recycle: Arc<AtomicBool>,
}

impl Manager for Hanging {
    type Object = u32;
    type Error = std::io::Error;

    async fn create(&self) -> Result<u32, std::io::Error> {
        if self.create.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        Ok(7)
    }

    async fn recycle(&self, _obj: &mut u32, _why: Recycle) -> Result<(), RecycleError<std::io::Error>> {
        if self.recycle.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

/// deadpool's `managed_timeout`: a create that never ends fails the acquire with `Timeout` at
/// the create timeout and frees its slot; a recycle that never ends counts as failed at the
/// recycle timeout: the object is closed and the same acquire goes on with a new one.
pub async fn create_and_recycle_that_never_end_are_bounded() {
    let kind = unique_kind("pool-hanging");
    let manager = Hanging::default();
    let config = PoolConfig::builder()
        .max_size(1)
        .create_timeout(Duration::from_millis(10))
        .recycle_timeout(Duration::from_millis(10))
        .kind(kind)
        .build()
        .unwrap();
    let pool = Pool::open(manager.clone(), config).await;
    manager.create.store(true, Ordering::SeqCst);
    let err = pool.acquire().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let stats = pool.stats();
    assert_eq!((stats.size, stats.in_use, stats.created), (0, 0, 0), "{stats:?}");
    manager.create.store(false, Ordering::SeqCst);
    drop(pool.acquire().await.unwrap());
    manager.recycle.store(true, Ordering::SeqCst);
    let obj = pool.acquire().await.expect("a new object replaces the one stuck in its recycle");
    let stats = pool.stats();
    assert_eq!((stats.size, stats.in_use, stats.created, stats.closed), (1, 1, 2, 1), "{stats:?}");
    drop(obj);
    manager.recycle.store(false, Ordering::SeqCst);
    pool.close().await;
    assert_eq!(pool.stats().size, 0);
    assert_clean(kind).await;
}

/// deadpool's `managed_unreliable_manager::recycle`: two idle objects whose recycle fails are
/// both closed by one acquire, which then creates a third; the pool holds one object after.
pub async fn every_idle_object_failing_its_recycle_is_replaced_in_one_acquire() {
    let (pool, manager) = open(PoolConfig::builder().max_size(4)).await;
    {
        let _a = pool.acquire().await.unwrap();
        let _b = pool.acquire().await.unwrap();
    }
    assert_eq!((pool.stats().size, pool.stats().idle), (2, 2));
    manager.fail_recycles(true);
    let conn = pool.acquire().await.unwrap();
    assert_eq!(conn.id, 3);
    let stats = pool.stats();
    assert_eq!(
        (stats.size, stats.idle, stats.in_use, stats.closed, stats.failed),
        (1, 0, 1, 2, 2),
        "{stats:?}"
    );
    drop(conn);
    manager.fail_recycles(false);
    assert_eq!((pool.stats().size, pool.stats().idle), (1, 1));
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// An object whose holder was cancelled is recycled before anyone can get it — `try_acquire`
/// included, which never waits for a recycle: polled in a loop while the slow recycle runs, it
/// gets `Busy` until the recycle has finished, never the suspect object as it was.
pub async fn try_acquire_never_takes_a_suspect_object_before_its_recycle() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1).recycle(RecyclePolicy::SuspectOnly)).await;
    let log = manager.log();
    manager.recycle_delay(30);
    let scope = CancelScope::new();
    let holder = {
        let (pool, scope, log) = (pool.clone(), scope.clone(), log.clone());
        spawn(async move {
            scope
                .run(async {
                    let _conn = pool.acquire().await.unwrap();
                    log.push("query started");
                    sleep(Duration::from_secs(60)).await;
                })
                .await
        })
    };
    wait_until("the query runs", || log.events().contains(&"query started".to_string())).await;
    let (p, l) = (pool.clone(), log.clone());
    let taker = spawn(async move {
        loop {
            match p.try_acquire() {
                Ok(conn) => {
                    l.push(format!("took {}", conn.id));
                    return;
                }
                Err(PoolError::Busy) => sleep(Duration::from_millis(1)).await,
                Err(e) => panic!("{e:?}"),
            }
        }
    });
    scope.cancel();
    assert!(holder.await.unwrap().is_none());
    taker.await.unwrap();
    let events = log.events();
    let pos = |e: &str| events.iter().position(|x| x == e).unwrap_or_else(|| panic!("{e} in {events:?}"));
    assert!(pos("recycled 1") < pos("took 1"), "{events:?}");
    assert_eq!(manager.whys(), [Recycle::Cancelled]);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// Two closes at once, with an object out: both wait for it, neither completes before it comes
/// back, and it is closed once. An object detached while the pool closes no longer holds the
/// close up.
pub async fn concurrent_closes_wait_for_the_object_and_close_it_once() {
    let (pool, manager) = open(PoolConfig::builder().max_size(2)).await;
    let held = pool.acquire().await.unwrap();
    let detached = pool.acquire().await.unwrap();
    let first = spawn(pool.close());
    let second = spawn(pool.close());
    let p = pool.clone();
    wait_until("the pool is closed", move || p.is_closed()).await;
    sleep(Duration::from_millis(10)).await;
    assert!(!first.is_finished() && !second.is_finished(), "closes wait for the objects out");
    let kept = anyscope_core::pool::Object::detach(detached);
    sleep(Duration::from_millis(10)).await;
    assert!(!first.is_finished(), "still waiting for the held object");
    drop(held);
    first.await.unwrap();
    second.await.unwrap();
    assert_eq!(manager.calls().2, 1, "the held object was closed once; the detached one never");
    assert_eq!(kept.id, 2);
    drop(kept);
    let stats = pool.stats();
    assert_eq!((stats.size, stats.closed), (0, 1), "{stats:?}");
    assert_eq!(manager.live(), 0);
}

/// The last handle dropped unclosed while another task holds an object: the frame that dropped
/// it completes only after the object came back and was closed.
pub async fn pool_dropped_while_another_task_holds_an_object() {
    let manager = super::manager::TestManager::new();
    let kind = unique_kind("pool-conn");
    let config = PoolConfig::builder().max_size(2).kind(kind).build().unwrap();
    let m = manager.clone();
    let released = crate::support::Flag::new();
    let r = released.clone();
    let out = CancelScope::new()
        .run(async move {
            let pool = Pool::open(m, config).await;
            let obj = pool.acquire().await.unwrap();
            let _holder = spawn(async move {
                sleep(Duration::from_millis(20)).await;
                r.set(); // before the drop: the scope can only end after it
                drop(obj);
            });
            drop(pool);
        })
        .await;
    assert_eq!(out, Some(()));
    assert!(released.is_set(), "the scope waited for the held object");
    assert_eq!(manager.live(), 0, "every object was closed before the scope completed");
    assert_clean(kind).await;
}
