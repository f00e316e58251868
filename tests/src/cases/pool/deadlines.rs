//! The waiting acquires' deadlines, kept by the pool's one timer (armed for the oldest
//! waiter): every waiter still times out at its own deadline, whether the waiter before it
//! timed out, was served or was cancelled. The timeouts leave the cases time to queue their
//! waiters on a loaded machine.

use std::time::Duration;

use anyscope_core::pool::{PoolConfig, PoolError};
use anyscope_core::{CancelScope, move_on_after, sleep, spawn};

use super::manager::{assert_whole, close_and_check, open};
use crate::support::wait_until;

/// Generous bound on a case that would hang if a deadline were lost.
const HANG: Duration = Duration::from_secs(30);

/// Three waiters behind a held object all time out (the timer is armed for the oldest one
/// only: each one that times out hands it over to the next), and leave the pool whole. (The
/// order in which their tasks then see the error is not checked: on several threads, it need
/// not be the queue's.)
pub async fn every_waiter_times_out() {
    let timeout = Duration::from_millis(300);
    let (pool, manager) = open(PoolConfig::builder().max_size(1).acquire_timeout(timeout)).await;
    let held = pool.acquire().await.unwrap();
    let mut waiters = Vec::new();
    for i in 0..3 {
        let p = pool.clone();
        waiters.push(spawn(async move { p.acquire().await.unwrap_err() }));
        let p = pool.clone();
        wait_until("the waiter queues", move || p.stats().waiting == i + 1).await;
    }
    for w in waiters {
        let err = move_on_after(HANG, w).await.expect("a waiter's deadline was lost").unwrap();
        assert!(matches!(err, PoolError::Timeout(d) if d == timeout), "{err:?}");
    }
    let stats = pool.stats();
    assert_eq!((stats.timed_out, stats.waiting, stats.in_use), (3, 0, 1), "{stats:?}");
    drop(held);
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// The oldest waiter is served (or cancelled) before its deadline, with the timer armed for
/// it: the next waiter, whose deadline is later, still times out.
pub async fn next_waiter_keeps_its_deadline_after_the_head_leaves() {
    let timeout = Duration::from_millis(300);
    for cancel_head in [false, true] {
        let (pool, manager) = open(PoolConfig::builder().max_size(1).acquire_timeout(timeout)).await;
        let mut held = Some(pool.acquire().await.unwrap());
        let scope = CancelScope::new();
        let head = {
            let (p, scope) = (pool.clone(), scope.clone());
            spawn(async move {
                let obj = scope.run(p.acquire()).await?.unwrap();
                sleep(timeout * 4).await; // keeps it past the next waiter's deadline
                drop(obj);
                Some(())
            })
        };
        let p = pool.clone();
        wait_until("the head queues", move || p.stats().waiting == 1).await;
        sleep(Duration::from_millis(10)).await; // the next deadline is later than the head's
        let next = {
            let p = pool.clone();
            spawn(async move { p.acquire().await.map(|o| o.id) })
        };
        let p = pool.clone();
        wait_until("the next waiter queues", move || p.stats().waiting == 2).await;
        if cancel_head {
            scope.cancel();
        } else {
            drop(held.take());
        }
        let p = pool.clone();
        wait_until("the head left the queue", move || p.stats().waiting == 1).await;
        // Served, the head keeps the object; cancelled, the object stays held: the next waiter
        // gets nothing and times out.
        let out = move_on_after(HANG, next).await.expect("the next waiter's deadline was lost");
        assert!(matches!(out.unwrap(), Err(PoolError::Timeout(_))), "cancel_head {cancel_head}");
        assert_eq!(head.await.unwrap().is_some(), !cancel_head);
        drop(held);
        assert_eq!(pool.stats().timed_out, 1);
        assert_whole(&pool, &manager);
        close_and_check(pool, &manager).await;
    }
}
