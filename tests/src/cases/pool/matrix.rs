//! deadpool's cancellation test, in the structure of its `tests/managed_cancellation.rs`:
//! every combination of a create and a recycle that succeed, fail, are slow or never end
//! (deadpool's `Gate`; it also gates three hooks, which this pool does not have: 4^2
//! combinations, not 4^5), with acquires cut off at every point (by the caller's scope, a
//! shielded scope's deadline, the pool's acquire timeout) and holders cut off while holding;
//! then, as deadpool does, users looping on acquires with growing bounds while the size is
//! checked, aborted from outside. Nothing hangs, no slot leaks, and the pool closes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::pool::{Manager, Pool, PoolConfig, Recycle, RecycleError};
use anyscope_core::{CancelScope, current_time, fail_after, move_on_after, sleep, spawn};

use crate::fixtures::{assert_clean, unique_kind};

/// What a create or a recycle does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behave {
    Ok,
    Err,
    Slow,
    Never,
}

const ALL: [Behave; 4] = [Behave::Ok, Behave::Err, Behave::Slow, Behave::Never];

impl Behave {
    async fn run(self) -> Result<(), std::io::Error> {
        match self {
            Behave::Ok => Ok(()),
            Behave::Err => Err(std::io::Error::other("refused")),
            Behave::Slow => {
                sleep(Duration::from_millis(8)).await;
                Ok(())
            }
            Behave::Never => std::future::pending().await,
        }
    }
}

#[derive(Clone)]
struct Matrix {
    create: Behave,
    recycle: Behave,
    made: Arc<AtomicU32>,
}

impl Manager for Matrix {
    type Object = u32;
    type Error = std::io::Error;

    async fn create(&self) -> Result<u32, std::io::Error> {
        self.create.run().await?;
        Ok(self.made.fetch_add(1, Ordering::SeqCst))
    }

    async fn recycle(&self, _obj: &mut u32, _why: Recycle) -> Result<(), RecycleError<std::io::Error>> {
        Ok(self.recycle.run().await?) // reuses even cut-off objects: the worst case
    }
}

/// How an acquire is cut off.
#[derive(Clone, Copy, Debug)]
enum CutBy {
    /// Only the pool's acquire timeout.
    Timeout,
    /// The caller's `move_on_after` after this many milliseconds.
    Scope(u64),
    /// A shielded scope's deadline after this many milliseconds.
    Shielded(u64),
}

const CUTS: [CutBy; 7] = [
    CutBy::Timeout,
    CutBy::Scope(0),
    CutBy::Scope(1),
    CutBy::Scope(5),
    CutBy::Scope(12),
    CutBy::Shielded(3),
    CutBy::Shielded(10),
];

/// One user: acquires (cut off as `cut` says), holds the object a little, returns it.
async fn user(pool: Pool<Matrix>, cut: CutBy) {
    let body = async {
        if let Ok(obj) = pool.acquire().await {
            sleep(Duration::from_millis(4)).await; // cut off while holding, sometimes
            drop(obj);
        }
    };
    match cut {
        CutBy::Timeout => body.await,
        CutBy::Scope(ms) => {
            let _ = move_on_after(Duration::from_millis(ms), body).await;
        }
        CutBy::Shielded(ms) => {
            let scope = CancelScope::shielded();
            scope.set_deadline(Some(current_time() + Duration::from_millis(ms)));
            let _ = scope.run(body).await;
        }
    }
}

async fn one_combination(create: Behave, recycle: Behave, own_bounds: bool) {
    let kind = unique_kind("pool-matrix");
    let mut config = PoolConfig::builder().max_size(2).acquire_timeout(Duration::from_millis(20)).kind(kind);
    if own_bounds {
        config = config.create_timeout(Duration::from_millis(6)).recycle_timeout(Duration::from_millis(6));
    }
    let manager = Matrix { create, recycle, made: Arc::default() };
    let pool = Pool::open(manager, config.build().unwrap()).await;
    let what = format!("create {create:?}, recycle {recycle:?}, own bounds {own_bounds}");
    let run = async {
        for cut in CUTS {
            user(pool.clone(), cut).await; // one at a time
        }
        let p = pool.clone();
        let group = task_group(move |tg| async move {
            for cut in CUTS {
                let p = p.clone();
                let _ = tg.spawn(async move {
                    user(p, cut).await;
                    Ok(())
                });
            }
            Ok::<(), std::io::Error>(())
        });
        group.await.expect("users report nothing");
        let stats = pool.stats();
        assert!(stats.size <= stats.max_size, "{what}: {stats:?}");
        // deadpool's loop: users acquire again and again under growing bounds; the size is
        // checked meanwhile; then every user is aborted wherever it is.
        let loops: Vec<_> = (0..8u64)
            .map(|i| {
                let pool = pool.clone();
                spawn(async move {
                    loop {
                        let _obj = move_on_after(Duration::from_millis(i), pool.acquire()).await;
                        // At least 1 ms: a loop that never suspends would starve a
                        // current-thread runtime (no cooperative budget yet).
                        sleep(Duration::from_millis(1 + i % 3)).await;
                    }
                })
            })
            .collect();
        for _ in 0..5 {
            sleep(Duration::from_millis(2)).await;
            let stats = pool.stats();
            assert!(stats.size <= stats.max_size, "{what}: {stats:?}");
        }
        for user in &loops {
            user.abort();
        }
        for user in loops {
            assert!(user.await.unwrap_err().is_cancelled());
        }
        pool.close().await;
    };
    if fail_after(Duration::from_secs(20), run).await.is_err() {
        panic!("{what}: hung: {:?}", pool.stats());
    }
    let stats = pool.stats();
    assert_eq!((stats.size, stats.in_use, stats.idle, stats.waiting), (0, 0, 0, 0), "{what}: {stats:?}");
    assert_clean(kind).await;
}

/// Every combination of create and recycle behaviour, with acquires and holders cut off at
/// every point, with and without the pool's own create and recycle bounds.
pub async fn every_create_and_recycle_behaviour_with_cancelled_acquires() {
    for own_bounds in [false, true] {
        for create in ALL {
            for recycle in ALL {
                one_combination(create, recycle, own_bounds).await;
            }
        }
    }
}
