//! What the pool does by default with an object whose holder was cut off, and what
//! `Manager::recycle` is told.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyscope_core::pool::{Manager, Pool, PoolConfig, Recycle, RecyclePolicy};
use anyscope_core::{move_on_after, sleep, spawn};

use super::manager::{assert_whole, close_and_check, open};
use crate::fixtures::{assert_clean, unique_kind};

/// A manager that overrides nothing but `create` and `close`: the defaults decide.
#[derive(Clone, Default)]
struct Plain {
    made: Arc<AtomicU32>,
    closed: Arc<AtomicU32>,
}

impl Manager for Plain {
    type Object = u32;
    type Error = std::io::Error;

    async fn create(&self) -> Result<u32, std::io::Error> {
        Ok(self.made.fetch_add(1, Ordering::SeqCst) + 1)
    }

    async fn close(&self, _obj: u32) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

/// With the default `recycle`, an object whose holder was cancelled mid-use is closed, not
/// handed to the next user (who gets a new one); an object returned normally is reused.
pub async fn default_manager_closes_object_of_cut_off_holder() {
    let kind = unique_kind("pool-plain");
    let plain = Plain::default();
    let config = PoolConfig::builder().max_size(1).kind(kind).build().unwrap();
    let pool = Pool::open(plain.clone(), config).await;
    // An ordinary return: reused.
    let first = *pool.acquire().await.unwrap();
    assert_eq!(*pool.acquire().await.unwrap(), first, "a normally returned object is reused");
    // A holder cut off mid-use: closed, never handed out again.
    let out = move_on_after(Duration::from_millis(10), async {
        let _conn = pool.acquire().await.unwrap();
        sleep(Duration::from_secs(3600)).await; // cut off mid-query
    })
    .await;
    assert!(out.is_none());
    let stats = pool.stats();
    assert_eq!((stats.size, stats.in_use, stats.closed), (0, 0, 1), "{stats:?}");
    assert_eq!(plain.closed.load(Ordering::SeqCst), 1);
    let next = *pool.acquire().await.unwrap();
    assert_ne!(next, first, "the next user gets a new object");
    // A holder that panicked: closed too.
    let p = pool.clone();
    let task = spawn(async move {
        let _conn = p.acquire().await.unwrap();
        panic!("the holder panics");
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(plain.closed.load(Ordering::SeqCst), 2);
    pool.close().await;
    assert_eq!(plain.closed.load(Ordering::SeqCst), plain.made.load(Ordering::SeqCst));
    assert_clean(kind).await;
}

/// `recycle` is told why it runs: `Reuse` when an acquire takes an idle object, `Cancelled`
/// or `Panicked` when a holder was cut off.
pub async fn recycle_is_told_why_it_runs() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1).recycle(RecyclePolicy::Always)).await;
    drop(pool.acquire().await.unwrap());
    drop(pool.acquire().await.unwrap()); // idle object taken: Reuse
    let out = move_on_after(Duration::from_millis(10), async {
        let _conn = pool.acquire().await.unwrap(); // Reuse
        sleep(Duration::from_secs(3600)).await;
    })
    .await;
    assert!(out.is_none()); // the holder was cancelled: Cancelled, before the scope returned
    let p = pool.clone();
    let task = spawn(async move {
        let _conn = p.acquire().await.unwrap(); // Reuse
        panic!("the holder panics");
    });
    assert!(task.await.unwrap_err().is_panic());
    let whys = manager.whys();
    assert_eq!(
        whys,
        [Recycle::Reuse, Recycle::Reuse, Recycle::Cancelled, Recycle::Reuse, Recycle::Panicked],
        "{whys:?}"
    );
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A manager whose close never ends.
struct Stuck;

impl Manager for Stuck {
    type Object = u32;
    type Error = std::io::Error;

    async fn create(&self) -> Result<u32, std::io::Error> {
        Ok(1)
    }

    async fn close(&self, _obj: u32) {
        std::future::pending::<()>().await;
    }
}

/// A close that never ends is abandoned at the pool's recycle timeout: the object is dropped,
/// its slot freed, and the pool's own close returns.
pub async fn close_that_never_ends_frees_its_slot() {
    let kind = unique_kind("pool-stuck");
    let config = PoolConfig::builder().max_size(1).recycle_timeout(Duration::from_millis(10)).kind(kind);
    let pool = Pool::open(Stuck, config.build().unwrap()).await;
    anyscope_core::pool::Object::close(pool.acquire().await.unwrap()).await;
    let stats = pool.stats();
    assert_eq!((stats.size, stats.in_use, stats.timed_out), (0, 0, 1), "{stats:?}");
    drop(pool.acquire().await.unwrap()); // idle now: the pool's close must close it
    pool.close().await;
    assert_eq!(pool.stats().size, 0);
    assert_clean(kind).await;
}
