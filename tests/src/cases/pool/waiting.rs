//! deadpool's status tests, second round: the counters (`size`, `idle`, `in_use`, `waiting`)
//! while acquires queue, leave and are served; a slot freed by `Object::close` goes to the
//! waiter.

use anyscope_core::pool::{Object, PoolConfig, PoolError};
use anyscope_core::{CancelScope, spawn};

use super::manager::{assert_whole, close_and_check, open};
use crate::support::wait_until;

/// `size`, `idle`, `in_use` and `waiting` stay consistent as three acquires queue behind two
/// held objects, the middle one is cancelled, and the others are served in order as objects
/// come back; the pool ends whole with two objects created.
pub async fn stats_follow_waiters_that_queue_leave_and_are_served() {
    let (pool, manager) = open(PoolConfig::builder().max_size(2)).await;
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    let s = pool.stats();
    assert_eq!((s.size, s.idle, s.in_use, s.waiting, s.created), (2, 0, 2, 0, 2), "{s}");
    let middle = CancelScope::new();
    let mut waiters = Vec::new();
    for i in 0..3 {
        let (p, scope) = (pool.clone(), middle.clone());
        waiters.push(spawn(async move {
            let acquire = async { p.acquire().await }; // the object comes back to the case
            if i == 1 { scope.run(acquire).await } else { Some(acquire.await) }
        }));
        let p = pool.clone();
        wait_until("the acquire queues", move || p.stats().waiting == i + 1).await;
    }
    middle.cancel();
    let p = pool.clone();
    wait_until("the middle acquire left", move || p.stats().waiting == 2).await;
    let s = pool.stats();
    assert_eq!((s.size, s.idle, s.in_use), (2, 0, 2), "{s}");
    let mut waiters = waiters.into_iter();
    let (first, cancelled, last) =
        (waiters.next().unwrap(), waiters.next().unwrap(), waiters.next().unwrap());
    assert!(cancelled.await.unwrap().is_none(), "the cancelled acquire got nothing");
    drop(a);
    let first_obj = first.await.unwrap().unwrap().unwrap();
    let s = pool.stats();
    assert_eq!((s.size, s.idle, s.in_use, s.waiting), (2, 0, 2, 1), "the last acquire still waits: {s}");
    drop(b);
    let last_obj = last.await.unwrap().unwrap().unwrap();
    assert_eq!((first_obj.id, last_obj.id), (1, 2), "each returned object went to the oldest waiter");
    drop((first_obj, last_obj));
    let s = pool.stats();
    assert_eq!((s.size, s.idle, s.in_use, s.waiting, s.created), (2, 2, 0, 0, 2), "{s}");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// `Object::close` on the only object while an acquire waits: the slot it frees goes to the
/// waiter, which gets a new object; `closed` counts the one closed.
pub async fn object_close_hands_the_slot_to_a_waiter() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    let held = pool.acquire().await.unwrap();
    assert_eq!(held.id, 1);
    let waiter = {
        let pool = pool.clone();
        spawn(async move { pool.acquire().await.map(|c| c.id) })
    };
    let p = pool.clone();
    wait_until("the waiter queues", move || p.stats().waiting == 1).await;
    Object::close(held).await;
    assert_eq!(waiter.await.unwrap().unwrap(), 2);
    let s = pool.stats();
    assert_eq!((s.size, s.idle, s.waiting, s.created, s.closed), (1, 1, 0, 2, 1), "{s}");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A slot freed while two acquires wait, whose create then fails for the first: the first gets
/// the create error, and the slot goes on to the second, whose create succeeds (no acquire is
/// left waiting for a slot nobody uses).
pub async fn failed_create_for_a_waiter_passes_the_slot_on() {
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    let held = pool.acquire().await.unwrap();
    let mut waiters = Vec::new();
    for i in 0..2 {
        let p = pool.clone();
        waiters.push(spawn(async move { p.acquire().await.map(|c| c.id) }));
        let p = pool.clone();
        wait_until("the acquire queues", move || p.stats().waiting == i + 1).await;
    }
    manager.fail_creates(1);
    Object::close(held).await;
    let mut waiters = waiters.into_iter();
    let first = waiters.next().unwrap().await.unwrap();
    assert!(matches!(first, Err(PoolError::Create(_))), "{first:?}");
    let second = waiters.next().unwrap().await.unwrap();
    assert_eq!(second.unwrap(), 2, "the second waiter got a new object");
    let s = pool.stats();
    assert_eq!((s.size, s.idle, s.waiting, s.failed, s.closed), (1, 1, 0, 1, 1), "{s}");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}
