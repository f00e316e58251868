//! Bad input is a clear error, never a hang or a panic: durations too long to add to the clock
//! (`Duration::MAX`) given as a pool's bounds are treated as no bound at all.

use std::time::Duration;

use anyscope_core::move_on_after;
use anyscope_core::pool::{PoolConfig, RecyclePolicy};

use super::manager::{assert_whole, close_and_check, open};
use crate::support::wait_until;

/// A pool whose every bound is `Duration::MAX`: acquires (including one that waits), recycles,
/// releases and the close work; nothing panics on an overflowing deadline.
pub async fn pool_with_duration_max_bounds_works() {
    let huge = Duration::MAX;
    let (pool, manager) = open(
        PoolConfig::builder()
            .max_size(1)
            .min_idle(1)
            .acquire_timeout(huge)
            .create_timeout(huge)
            .recycle_timeout(huge)
            .max_lifetime(huge)
            .idle_timeout(huge)
            .recycle(RecyclePolicy::Always),
    )
    .await;
    let p = pool.clone();
    wait_until("the refill created one", move || p.stats().idle == 1).await;
    let held = pool.acquire().await.unwrap();
    let p = pool.clone();
    let waiter = anyscope_core::spawn(async move { p.acquire().await.map(|c| c.id) });
    let p = pool.clone();
    wait_until("the waiter queues", move || p.stats().waiting == 1).await;
    drop(held);
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
    let out = move_on_after(Duration::from_millis(5), async {
        let _held = pool.acquire().await.unwrap();
        pool.acquire().await.map(|c| c.id) // waits: cut off by the caller's deadline
    })
    .await;
    assert!(out.is_none());
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}
