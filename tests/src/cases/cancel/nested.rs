//! Nested executors inside a cancelled scope: a future polled synchronously inside a task's
//! poll (`block_on`, a `Drop` that blocks on a future) runs in a frame of its own when wrapped in
//! `runtime::isolated`, and completes instead of blocking forever.
//!
//! Only futures that need neither timers nor other tasks are blocked on: on a current-thread
//! runtime nothing else runs while the thread is blocked.

use anyscope_core::runtime::isolated;
use anyscope_core::sync::{Event, Mutex};
use anyscope_core::{CancelScope, Scoped, checkpoint, checkpoint_if_cancelled, tracker};
use futures_lite::future::block_on;

use crate::fixtures::{TestRes, assert_clean, closes, unique_kind};
use crate::support::Log;

/// Awaitables that complete at once (a checkpoint of a non-cancelled frame, an uncontended
/// lock, a set event) — each returns `Pending` for good under a cancelled scope.
async fn ready_work() -> u32 {
    checkpoint_if_cancelled().await;
    let m = Mutex::new(1);
    *m.lock().await += 1;
    let e = Event::new();
    e.set();
    e.wait().await;
    let v = *m.lock().await;
    v + 3
}

/// `block_on(isolated(..))` in the body of a cancelled scope completes: the nested future does
/// not see the cancelled scope. The body never reaches a checkpoint of its own, so the scope
/// returns the value and caught nothing.
pub async fn block_on_isolated_in_cancelled_scope_completes() {
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope.run(async { block_on(isolated(ready_work())) }).await;
    assert_eq!(out, Some(5));
    assert!(scope.cancel_called());
    assert!(!scope.cancelled_caught());
}

/// A `Drop` that blocks on a future while a cancelled scope drops its body runs that future to
/// its end.
pub async fn drop_blocking_on_isolated_future_during_cancel_completes() {
    struct BlocksInDrop(Log);
    impl Drop for BlocksInDrop {
        fn drop(&mut self) {
            let v = block_on(isolated(ready_work()));
            self.0.push(format!("drop computed {v}"));
        }
    }
    let log = Log::new();
    let l = log.clone();
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async move {
            let _b = BlocksInDrop(l);
            checkpoint().await;
        })
        .await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    assert_eq!(log.events(), ["drop computed 5"]);
}

/// A guard dropped inside an isolated future is closed by the isolated frame before
/// `block_on` returns (counted as adopted), not handed to the cancelled scope around it.
pub async fn guard_dropped_in_isolated_future_is_closed_before_it_returns() {
    let kind = unique_kind("cancel::isolated_guard");
    let log = Log::new();
    let l = log.clone();
    let scope = CancelScope::new();
    scope.cancel();
    let l2 = l.clone();
    let out = scope
        .run(async move {
            block_on(isolated(async move {
                let _g = Scoped::new(TestRes::open(kind, "n", &l2));
            }));
            l.push("block_on returned");
        })
        .await;
    assert_eq!(out, Some(()));
    assert_eq!(log.events(), ["open n", "closing n", "closed n", "block_on returned"]);
    assert_eq!(closes(&log), ["closed n"]);
    assert_eq!(tracker::kind(kind).closed_adopted, 1);
    assert_clean(kind).await;
}
