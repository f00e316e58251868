//! Nested executors inside a cancelled scope: a future polled synchronously inside a task's
//! poll (`block_on`, a `Drop` that blocks on a future) completes instead of blocking forever —
//! by itself (anyscope recognises the nested executor's waker: `cancel/budget.rs`, "# Nested
//! executors"), or explicitly in a frame of its own with `runtime::isolated`. Combinators with
//! wakers of their own (`FuturesUnordered`) and `join`s under a cancelled scope are still
//! cancelled as before.
//!
//! Only futures that need neither timers nor other tasks are blocked on: on a current-thread
//! runtime (and on `sim`'s virtual clock) nothing else runs while the thread is blocked. The
//! variants that sleep inside the nested executor are in `adapters/tokio/tests/nested.rs`.

use std::time::Duration;

use anyscope_core::runtime::isolated;
use anyscope_core::stream::channel;
use anyscope_core::sync::{Event, Mutex};
use anyscope_core::{CancelScope, Scoped, checkpoint, checkpoint_if_cancelled, move_on_after, tracker};
use futures_lite::future::{block_on, zip};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

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

/// More awaitables that complete at once: a send into free capacity, a buffered item, a
/// checkpoint (which yields once). (Not a sleep, even an elapsed one: it waits for the timer
/// driver, which a current-thread runtime cannot turn while its thread is blocked.)
async fn more_ready_work() -> u32 {
    let (tx, rx) = channel(2);
    tx.send(4).await.unwrap();
    let got = rx.recv().await.unwrap();
    checkpoint().await;
    got + ready_work().await
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

/// `block_on(fut)` in the body of an explicitly cancelled scope, *without* `isolated`: the
/// nested future's ready awaitables complete. The body never reaches a checkpoint of its own,
/// so the scope returns the value and caught nothing.
pub async fn block_on_in_cancelled_scope_completes() {
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope.run(async { block_on(more_ready_work()) }).await;
    assert_eq!(out, Some(9));
    assert!(scope.cancel_called());
    assert!(!scope.cancelled_caught());
}

/// The same inside a deadline that has passed (`move_on_after(0)`, cancelled from its first
/// checkpoint on); the body's next checkpoint, polled by the task, still delivers.
pub async fn block_on_in_elapsed_move_on_after_completes_then_delivers() {
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::ZERO, async move {
        let v = block_on(more_ready_work());
        l.push(format!("block_on returned {v}"));
        checkpoint().await;
        l.push("not reached");
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(log.events(), ["block_on returned 9"]);
}

/// A scope entered inside the nested executor keeps its own semantics: an elapsed deadline and
/// an explicit cancel are delivered inside it (it returns `None`), and code after it runs.
pub async fn scope_inside_block_on_keeps_its_own_cancellation() {
    let log = Log::new();
    let l = log.clone();
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async move {
            block_on(async move {
                let inner = move_on_after(Duration::ZERO, async {
                    checkpoint().await;
                    "not reached"
                })
                .await;
                l.push(format!("elapsed inner: {inner:?}"));
                let own = CancelScope::new();
                let h = own.clone();
                let inner = own
                    .run(async move {
                        let ok = ready_work().await;
                        h.cancel();
                        checkpoint_if_cancelled().await;
                        ok
                    })
                    .await;
                l.push(format!("cancelled inner: {inner:?}, caught {}", own.cancelled_caught()));
                ready_work().await
            })
        })
        .await;
    assert_eq!(out, Some(5));
    assert_eq!(log.events(), ["elapsed inner: None", "cancelled inner: None, caught true"]);
}

/// A `Drop` that blocks on a future (no `isolated`) while a cancelled scope drops its body runs
/// that future to its end, and the scope still reports the cancellation caught.
pub async fn drop_blocking_on_a_future_during_cancel_completes() {
    struct BlocksInDrop(Log);
    impl Drop for BlocksInDrop {
        fn drop(&mut self) {
            let v = block_on(more_ready_work());
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
    assert_eq!(log.events(), ["drop computed 9"]);
}

/// A `Drop` that blocks on a connection's close (`block_on(conn.close())`, a close that takes a
/// lock and sends a goodbye) while a cancelled scope drops its body: the close runs to its end.
pub async fn drop_blocking_on_a_close_during_cancel_completes() {
    use anyscope_core::stream::Sender;
    struct Conn {
        lock: Mutex<u32>,
        tx: Sender<&'static str>,
    }
    impl Conn {
        async fn close(&self) -> u32 {
            let mut writes = self.lock.lock().await;
            *writes += 1;
            self.tx.send("goodbye").await.unwrap();
            checkpoint_if_cancelled().await;
            *writes
        }
    }
    struct ClosesInDrop(Conn, Log);
    impl Drop for ClosesInDrop {
        fn drop(&mut self) {
            let writes = block_on(self.0.close());
            self.1.push(format!("closed after {writes} write"));
        }
    }
    let log = Log::new();
    let l = log.clone();
    let (tx, rx) = channel(1);
    let out = move_on_after(Duration::ZERO, async move {
        let _c = ClosesInDrop(Conn { lock: Mutex::new(0), tx }, l);
        checkpoint().await;
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(log.events(), ["closed after 1 write"]);
    assert_eq!(rx.try_recv().ok(), Some("goodbye"));
}

/// A guard dropped inside a nested future that is not isolated is adopted by the enclosing
/// (cancelled) scope, which closes it after its body, before it returns: nothing is lost.
pub async fn guard_dropped_in_nested_future_is_closed_by_the_enclosing_scope() {
    let kind = unique_kind("cancel::nested_guard");
    let log = Log::new();
    let l = log.clone();
    let scope = CancelScope::new();
    scope.cancel();
    let l2 = l.clone();
    let out = scope
        .run(async move {
            block_on(async move {
                let _g = Scoped::new(TestRes::open(kind, "n", &l2));
                ready_work().await
            });
            l.push("block_on returned");
        })
        .await;
    assert_eq!(out, Some(()));
    assert_eq!(log.events(), ["open n", "block_on returned", "closing n", "closed n"]);
    assert_eq!(closes(&log), ["closed n"]);
    assert_eq!(tracker::kind(kind).closed_adopted, 1);
    assert_clean(kind).await;
}

/// A `FuturesUnordered` (a waker of its own per child) of operations that cannot complete,
/// inside a cancelled scope: the scope still returns, having caught the cancellation — the
/// children are woken, not taken for a nested executor.
pub async fn futures_unordered_of_pending_ops_in_cancelled_scope_returns() {
    let event = Event::new();
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async {
            let mut all: FuturesUnordered<_> = (0..4).map(|_| event.wait()).collect();
            while all.next().await.is_some() {}
            "not reached"
        })
        .await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    // The same with ready operations in the children: cancelled before any completes.
    let m = Mutex::new(0);
    let out = move_on_after(Duration::ZERO, async {
        let mut all: FuturesUnordered<_> = (0..4).map(|_| m.lock()).collect();
        let mut n = 0;
        while all.next().await.is_some() {
            n += 1;
        }
        n
    })
    .await;
    assert_eq!(out, None);
    assert!(m.try_lock().is_ok(), "no lock is left held");
}

/// A `join` of two receives (the task's waker passed through) under a cancelled scope is
/// cancelled as before: neither completes, and both items are still in their channels.
pub async fn join_of_two_recvs_under_cancelled_scope_loses_no_item() {
    let (tx1, rx1) = channel(1);
    let (tx2, rx2) = channel(1);
    tx1.send(1).await.unwrap();
    tx2.send(2).await.unwrap();
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope.run(async { zip(rx1.recv(), rx2.recv()).await }).await;
    assert!(out.is_none(), "{out:?}");
    assert!(scope.cancelled_caught());
    assert_eq!(rx1.try_recv().ok(), Some(1));
    assert_eq!(rx2.try_recv().ok(), Some(2));
}

/// A pool acquire of an idle object inside a nested executor under a cancelled scope completes,
/// and the object goes back to the pool whole.
pub async fn pool_acquire_in_block_on_in_cancelled_scope_completes() {
    use crate::cases::pool::manager::{assert_whole, close_and_check, open};
    use anyscope_core::pool::PoolConfig;
    let (pool, manager) = open(PoolConfig::builder().max_size(1)).await;
    let first = pool.acquire().await.unwrap().id;
    let scope = CancelScope::new();
    scope.cancel();
    let p = pool.clone();
    let out = scope.run(async move { block_on(async move { p.acquire().await.map(|c| c.id).ok() }) }).await;
    assert_eq!(out, Some(Some(first)), "the idle object, acquired despite the cancelled scope");
    assert!(!scope.cancelled_caught());
    assert_eq!(pool.acquire().await.unwrap().id, first, "and given back");
    assert_whole(&pool, &manager);
    close_and_check(pool, &manager).await;
}

/// A nested executor that reaches anyscope awaitables only through several children of a
/// `FuturesUnordered` of its own (their wakers alternate, so no one of them is delivered to
/// three times in a row): recognised by the backstop, it completes instead of spinning.
pub async fn futures_unordered_inside_block_on_in_cancelled_scope_completes() {
    let events: Vec<Event> = (0..3).map(|_| Event::new()).collect();
    for e in &events {
        e.set();
    }
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async {
            block_on(async {
                let mut all: FuturesUnordered<_> = events.iter().map(|e| e.wait()).collect();
                let mut n = 0;
                while all.next().await.is_some() {
                    n += 1;
                }
                n
            })
        })
        .await;
    assert_eq!(out, Some(3));
    assert!(!scope.cancelled_caught());
}

/// A `FuturesUnordered` of 200 children that never suspend (loops of ready locks) under an
/// elapsed deadline: the children are woken on delivery (so `FuturesUnordered` yields after two
/// of them), none is taken for a nested executor, and the scope returns.
pub async fn futures_unordered_of_many_busy_children_under_a_deadline_returns() {
    let m = Mutex::new(0u64);
    let out = move_on_after(Duration::ZERO, async {
        let mut all: FuturesUnordered<_> = (0..200)
            .map(|_| async {
                loop {
                    *m.lock().await += 1;
                }
            })
            .collect();
        all.next().await
    })
    .await;
    assert!(out.is_none());
    assert!(m.try_lock().is_ok(), "no lock is left held");
}
