//! The cooperative budget: deadlines and foreign cancels reach bodies that never suspend,
//! because every anyscope awaitable that is ready at once still spends from the task's budget.
//!
//! Each loop carries a hang guard on the wall clock (10 s): without the budget it would never
//! be cut off, and the case fails instead of hanging.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyscope_core::sync::{Event, Mutex};
use anyscope_core::{CancelScope, move_on_after, sleep, spawn, stream::channel};

/// How long a loop may run before the case gives up on it: far beyond any deadline used here.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// The reproduction: a loop of uncontended locks under a 20 ms deadline returns.
pub async fn deadline_cuts_off_a_loop_of_ready_locks() {
    let m = Mutex::new(0u64);
    let give_up = Instant::now() + HANG_GUARD;
    let out = move_on_after(Duration::from_millis(20), async {
        loop {
            *m.lock().await += 1;
            if Instant::now() > give_up {
                return "never cut off";
            }
        }
    })
    .await;
    assert_eq!(out, None);
    assert!(*m.lock().await > 0);
}

/// Draining a channel full of buffered items (50 µs of work each) under a 1 ms deadline stops
/// long before the last item.
///
/// The deadline is on the runtime's clock. On a real clock the work makes it pass after about
/// twenty items, and the drain must stop within a budget of them. On a virtual clock (the
/// deterministic runtime) busy work takes no time at all: the deadline never passes and the
/// drain must run to its end, yielding every budget without losing an item.
pub async fn deadline_stops_a_drain_of_buffered_items_early() {
    const ITEMS: usize = 20_000;
    let (tx, rx) = channel::<usize>(ITEMS);
    for i in 0..ITEMS {
        tx.try_send(i).expect("room for every item");
    }
    let mut received = 0usize;
    let start = anyscope_core::current_time();
    let out = move_on_after(Duration::from_millis(1), async {
        while rx.recv().await.is_ok() {
            received += 1;
            let work = Instant::now() + Duration::from_micros(50);
            while Instant::now() < work {
                std::hint::spin_loop();
            }
            if received == ITEMS {
                return;
            }
        }
    })
    .await;
    if anyscope_core::current_time() >= start + Duration::from_millis(1) {
        assert_eq!(out, None, "the deadline cut the drain off");
        assert!(received < ITEMS, "received all {ITEMS} items");
        assert!(rx.try_recv().is_ok(), "the items not received stay in the channel");
    } else {
        assert_eq!((out, received), (Some(()), ITEMS), "no time passed: the drain ran to its end");
    }
}

/// A cancel from another task reaches a loop of ready waits on a set event, even on a
/// current-thread runtime, where the canceller runs only because the loop yields.
pub async fn foreign_cancel_reaches_a_loop_of_ready_events() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let canceller = spawn(async move {
        sleep(Duration::from_millis(5)).await;
        handle.cancel();
    });
    let ev = Arc::new(Event::new());
    ev.set();
    let give_up = Instant::now() + HANG_GUARD;
    let out = scope
        .run(async {
            loop {
                ev.wait().await;
                if Instant::now() > give_up {
                    return "never cut off";
                }
            }
        })
        .await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    canceller.await.unwrap();
}

/// A loop of zero-length sleeps (ready at once) under a deadline is cut off too.
pub async fn deadline_cuts_off_a_loop_of_elapsed_sleeps() {
    let give_up = Instant::now() + HANG_GUARD;
    let out = move_on_after(Duration::from_millis(20), async {
        loop {
            sleep(Duration::ZERO).await;
            if Instant::now() > give_up {
                return "never cut off";
            }
        }
    })
    .await;
    assert_eq!(out, None);
}
