//! A `select!`-style loop inside a scope, one branch a busy stream that always has an item,
//! the other an anyscope sleep kept across iterations (as `tokio::select!` with `&mut sleep`
//! is written): the loop never suspends, and the scope's deadline or a cancel from another
//! task must still reach it (within one cooperative budget), losing no item.
//!
//! Each loop carries a hang guard on the wall clock (10 s): a loop never cut off fails the case
//! instead of hanging it.

use std::pin::pin;
use std::time::{Duration, Instant};

use anyscope_core::stream::channel;
use anyscope_core::{CancelScope, move_on_after, sleep, spawn};
use futures_util::future::{Either, select};

use crate::support::{Flag, wait_until};

const HANG_GUARD: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(3600);

/// Runs the loop: receives an item (always ready: each one is sent back) or sees the sleep
/// fire; returns how many items it received, or `None` if the hang guard tripped.
async fn busy_select_loop(items: usize, count: &mut u64) -> Option<&'static str> {
    let (tx, rx) = channel::<usize>(items);
    for i in 0..items {
        tx.try_send(i).expect("room for every item");
    }
    let give_up = Instant::now() + HANG_GUARD;
    let mut tick = pin!(sleep(LONG));
    loop {
        let recv = pin!(rx.recv());
        match select(recv, tick.as_mut()).await {
            Either::Left((item, _)) => {
                *count += 1;
                tx.try_send(item.expect("the stream stays open")).expect("room for the item");
            }
            Either::Right(((), _)) => return Some("the one-hour sleep fired"),
        }
        if Instant::now() > give_up {
            return Some("never cut off");
        }
    }
}

/// The scope's deadline reaches a select loop whose stream branch is always ready.
pub async fn deadline_reaches_a_select_loop_over_a_busy_stream() {
    let mut count = 0u64;
    let start = anyscope_core::current_time();
    let out = move_on_after(Duration::from_millis(20), busy_select_loop(4, &mut count)).await;
    assert_eq!(out, None, "the deadline cut the loop off");
    assert!(count > 0);
    assert!(anyscope_core::current_time() >= start + Duration::from_millis(20));
}

/// A cancel from another task reaches the same loop, even on a current-thread runtime where
/// the canceller runs only because the loop yields when its budget is spent.
pub async fn foreign_cancel_reaches_a_select_loop_over_a_busy_stream() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let looping = Flag::new();
    let l = looping.clone();
    let canceller = spawn(async move {
        wait_until("the loop runs", || l.is_set()).await;
        handle.cancel_with("stop");
    });
    let mut count = 0u64;
    let out = scope
        .run(async {
            looping.set();
            busy_select_loop(1, &mut count).await
        })
        .await;
    assert_eq!(out, None, "the cancel cut the loop off");
    assert!(scope.cancelled_caught());
    canceller.await.unwrap();
}
