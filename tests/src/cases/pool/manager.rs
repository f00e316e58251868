//! A test [`Manager`]: counts, logs, fails and stalls on demand.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::pool::{Manager, Pool, PoolConfigBuilder, Recycle, RecycleError};
use anyscope_core::{sleep, tracker};

use crate::fixtures::{assert_clean, unique_kind};
use crate::support::Log;

/// A pooled test connection.
#[derive(Debug)]
pub struct Conn {
    /// Its number, in creation order from 1.
    pub id: u32,
    /// `is_broken` says yes.
    pub broken: bool,
    _live: Live,
}

/// Counts a live object in its manager (decremented when the object is dropped).
#[derive(Debug)]
struct Live(Arc<Inner>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The error of a failing create or recycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestError(pub String);

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestError {}

#[derive(Debug, Default)]
struct Inner {
    log: Log,
    next_id: AtomicU32,
    live: AtomicUsize,
    high_water: AtomicUsize,
    creates: AtomicUsize,
    recycles: AtomicUsize,
    closes: AtomicUsize,
    fail_creates: AtomicUsize,
    fail_recycles: AtomicBool,
    create_delay_ms: AtomicU32,
    recycle_delay_ms: AtomicU32,
    whys: std::sync::Mutex<Vec<Recycle>>,
}

/// The test manager; clones share their counters, so a case keeps one to look at.
#[derive(Clone, Debug, Default)]
pub struct TestManager(Arc<Inner>);

impl TestManager {
    /// A manager with no failures and no delays.
    pub fn new() -> Self {
        TestManager::default()
    }

    /// Its log: `create n`, `recycle n`, `recycled n`, `close n`, and what the case adds.
    pub fn log(&self) -> Log {
        self.0.log.clone()
    }

    /// Objects alive now.
    pub fn live(&self) -> usize {
        self.0.live.load(Ordering::SeqCst)
    }

    /// The most objects ever alive at once.
    pub fn high_water(&self) -> usize {
        self.0.high_water.load(Ordering::SeqCst)
    }

    /// Calls of `create` (finished or not), `recycle`, `close`.
    pub fn calls(&self) -> (usize, usize, usize) {
        let i = &self.0;
        (i.creates.load(Ordering::SeqCst), i.recycles.load(Ordering::SeqCst), i.closes.load(Ordering::SeqCst))
    }

    /// The next `n` creates fail.
    pub fn fail_creates(&self, n: usize) {
        self.0.fail_creates.store(n, Ordering::SeqCst);
    }

    /// Recycles fail (or stop failing).
    pub fn fail_recycles(&self, on: bool) {
        self.0.fail_recycles.store(on, Ordering::SeqCst);
    }

    /// Creates take `ms` milliseconds.
    pub fn create_delay(&self, ms: u32) {
        self.0.create_delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Why each recycle ran, in order.
    pub fn whys(&self) -> Vec<Recycle> {
        self.0.whys.lock().unwrap().clone()
    }

    /// Recycles take `ms` milliseconds.
    pub fn recycle_delay(&self, ms: u32) {
        self.0.recycle_delay_ms.store(ms, Ordering::SeqCst);
    }
}

impl Manager for TestManager {
    type Object = Conn;
    type Error = TestError;

    async fn create(&self) -> Result<Conn, TestError> {
        let i = &self.0;
        i.creates.fetch_add(1, Ordering::SeqCst);
        let delay = i.create_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            sleep(Duration::from_millis(delay.into())).await;
        }
        let fail =
            i.fail_creates.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if fail {
            i.log.push("create failed");
            return Err(TestError("connection refused".into()));
        }
        let live = i.live.fetch_add(1, Ordering::SeqCst) + 1;
        i.high_water.fetch_max(live, Ordering::SeqCst);
        let id = i.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        i.log.push(format!("create {id}"));
        Ok(Conn { id, broken: false, _live: Live(Arc::clone(i)) })
    }

    async fn recycle(&self, conn: &mut Conn, why: Recycle) -> Result<(), RecycleError<TestError>> {
        let i = &self.0;
        i.whys.lock().unwrap().push(why);
        i.recycles.fetch_add(1, Ordering::SeqCst);
        i.log.push(format!("recycle {}", conn.id));
        let delay = i.recycle_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            sleep(Duration::from_millis(delay.into())).await;
        }
        if i.fail_recycles.load(Ordering::SeqCst) {
            i.log.push(format!("recycle {} failed", conn.id));
            return Err(TestError(format!("conn {} is stale", conn.id)).into());
        }
        i.log.push(format!("recycled {}", conn.id));
        Ok(())
    }

    async fn close(&self, conn: Conn) {
        self.0.closes.fetch_add(1, Ordering::SeqCst);
        self.0.log.push(format!("close {}", conn.id));
    }

    fn is_broken(&self, conn: &Conn) -> bool {
        conn.broken
    }
}

/// Opens a pool of a fresh [`TestManager`] with `config` (its tracker kind made unique).
pub async fn open(config: PoolConfigBuilder) -> (Pool<TestManager>, TestManager) {
    let manager = TestManager::new();
    let config = config.kind(unique_kind("pool-conn")).build().expect("a valid test config");
    (Pool::open(manager.clone(), config).await, manager)
}

/// The pool is whole: the tracker counts exactly the pool's objects as open, none lost, and the
/// manager agrees. Call it when no create or close is under way.
pub fn assert_whole(pool: &Pool<TestManager>, manager: &TestManager) {
    let stats = pool.stats();
    let kind = tracker::kind(pool.object_kind());
    assert_eq!(kind.open(), stats.size as u64, "tracker vs pool: {kind:?} {stats:?}");
    assert_eq!(kind.lost, 0, "lost objects: {kind:?}");
    assert_eq!(manager.live(), stats.size, "manager vs pool: {stats:?}");
    assert!(stats.size <= stats.max_size, "{stats:?}");
}

/// Closes the pool and checks that nothing is left: no object open or lost in the tracker,
/// none alive in the manager, every created object closed once.
pub async fn close_and_check(pool: Pool<TestManager>, manager: &TestManager) {
    close_and_check_detached(pool, manager, 0).await;
}

/// As [`close_and_check`], when `detached` objects were taken out of the pool (and dropped).
pub async fn close_and_check_detached(pool: Pool<TestManager>, manager: &TestManager, detached: usize) {
    pool.close().await;
    let stats = pool.stats();
    assert_eq!((stats.size, stats.idle, stats.in_use, stats.waiting), (0, 0, 0, 0), "{stats:?}");
    assert_clean(pool.object_kind()).await;
    assert_eq!(manager.live(), 0, "objects alive after close");
    let made = manager.0.next_id.load(Ordering::SeqCst) as usize;
    let (_, _, closes) = manager.calls();
    assert_eq!(closes + detached, made, "every object closed once: {:?}", manager.log().events());
}
