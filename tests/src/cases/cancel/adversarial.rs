//! Adversarial probes of the nested-executor detector and of the thread's spare deadline timer:
//! legitimate combinators under a cancelled scope must still see the cancellation (no false
//! positive: the scope ends, no item is lost), nested executors two levels deep must still
//! complete (no false negative), and a re-armed spare timer must fire at each scope's own
//! deadline, whatever the previous scope left it at.

use std::pin::pin;
use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::stream::channel;
use anyscope_core::sync::Mutex;
use anyscope_core::{CancelScope, checkpoint, checkpoint_if_cancelled, move_on_after, sleep, spawn};
use futures_lite::future::block_on;
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use futures_util::stream::FuturesUnordered;

use crate::support::{Flag, Log, poll_once, wait_until};

const LONG: Duration = Duration::from_secs(3600);

/// Awaitables that complete at once when nothing is cancelled.
async fn ready_work() -> u32 {
    checkpoint_if_cancelled().await;
    let m = Mutex::new(1);
    *m.lock().await += 1;
    let v = *m.lock().await;
    v + 3
}

/// `futures_util::future::select` of a sleep and a checkpoint, in a loop, in a scope cancelled
/// from another task while the loop runs: the select passes the task's `Context` through, so it
/// is never taken for a nested executor; the cancellation is delivered and caught.
pub async fn select_in_a_loop_is_cancelled_from_another_task() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let looping = Flag::new();
    let l = looping.clone();
    let _canceller = spawn(async move {
        wait_until("the loop runs", || l.is_set()).await;
        handle.cancel();
    });
    let out = scope
        .run(async {
            loop {
                looping.set();
                let a = pin!(sleep(LONG));
                let b = pin!(checkpoint());
                match select(a, b).await {
                    Either::Left(_) => unreachable!("a one-hour sleep won the race"),
                    Either::Right(_) => {}
                }
            }
        })
        .await;
    let never: Option<()> = out;
    assert!(never.is_none());
    assert!(scope.cancelled_caught());
}

/// A `FuturesUnordered` of eight sleepers (each polled with a waker of its own) in a cancelled
/// scope: every sleeper sees the cancellation, the scope ends and catches it.
pub async fn futures_unordered_of_sleepers_in_cancelled_scope_ends() {
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async {
            let mut fu: FuturesUnordered<_> = (0..8).map(|_| sleep(LONG)).collect();
            while fu.next().await.is_some() {}
        })
        .await;
    assert!(out.is_none());
    assert!(scope.cancelled_caught());
}

/// A receive loop through a combinator with wakers of its own (a `FuturesUnordered` made anew
/// for each item), in a scope cancelled after the third item: the scope ends, and every item
/// sent is received exactly once, in order, by the body or after it — none is lost.
pub async fn receive_through_combinator_under_cancel_loses_no_item() {
    let (tx, rx) = channel(16);
    for i in 0..10u32 {
        tx.send(i).await.unwrap();
    }
    let scope = CancelScope::new();
    let mut got = Vec::new();
    let out = scope
        .run(async {
            loop {
                let mut fu = FuturesUnordered::new();
                fu.push(rx.recv());
                let v = fu.next().await.unwrap().unwrap();
                got.push(v);
                if got.len() == 3 {
                    scope.cancel();
                }
            }
        })
        .await;
    let never: Option<()> = out;
    assert!(never.is_none());
    assert!(scope.cancelled_caught());
    assert!(got.len() >= 3, "received {got:?}");
    while let Ok(v) = rx.try_recv() {
        got.push(v);
    }
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

/// `block_on` inside `block_on` inside a cancelled scope, each level also awaiting ready work of
/// its own (so the tags of the two nested executors alternate): both levels complete.
pub async fn block_on_two_levels_deep_in_cancelled_scope_completes() {
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async {
            block_on(async {
                let a = ready_work().await;
                let b = block_on(async { ready_work().await + ready_work().await });
                let c = ready_work().await;
                a + b + c
            })
        })
        .await;
    assert_eq!(out, Some(20));
    assert!(scope.cancel_called());
}

/// Timeouts in a loop re-arm the thread's spare timer: a long deadline whose body is ready, a
/// deadline scope dropped while its timer is pending (polled once, then dropped), and then a
/// short deadline — which must fire at its own (earlier) deadline each time.
pub async fn rearmed_spare_timer_fires_at_each_earlier_deadline() {
    for _ in 0..20 {
        assert_eq!(move_on_after(LONG, async { 7 }).await, Some(7));
        {
            let mut pending = pin!(move_on_after(LONG, sleep(LONG)));
            assert!(poll_once(pending.as_mut()).await.is_none());
        }
        assert_eq!(move_on_after(Duration::from_millis(5), sleep(LONG)).await, None);
        // Nested: the outer scope's timer is in use while the inner one takes the spare.
        let out = move_on_after(LONG, async {
            let inner = move_on_after(Duration::from_millis(5), sleep(LONG)).await;
            assert!(inner.is_none());
            move_on_after(LONG, async { 1 }).await
        })
        .await;
        assert_eq!(out, Some(Some(1)));
    }
}

/// `block_on` of a task group whose body reaches a checkpoint, inside a cancelled scope (no
/// `runtime::isolated`): the group must not stay pending for the enclosing scope to drop it —
/// that scope's poll is the one blocked. It returns (its body was cancelled: the group reports
/// the cancellation as its error). Before the fix in `group/run.rs` this hung (seen on
/// `tokio_current_thread`).
pub async fn block_on_task_group_in_cancelled_scope_returns() {
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async {
            block_on(task_group(|_tg| async move {
                checkpoint().await;
                Ok::<(), String>(())
            }))
        })
        .await;
    let res = out.expect("the body never reached a checkpoint of the cancelled scope");
    assert!(res.unwrap_err().is_cancelled());
    assert!(!scope.cancelled_caught());
}

/// A resource whose close blocks on anyscope awaitables (a nested executor inside a cleanup).
struct BlocksInClose(Log);

impl anyscope_core::AsyncClose for BlocksInClose {
    type Error = std::convert::Infallible;

    async fn close(self) -> Result<(), Self::Error> {
        let v = block_on(ready_work());
        self.0.push(format!("closed with {v}"));
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "cancel::blocks_in_close"
    }
}

/// A cleanup that blocks on ready work, adopted by a cancelled scope, runs to its end; and a
/// `Drop` that blocks on ready work in a spawned task cancelled from outside runs to its end:
/// neither nested executor hangs, the scope ends and catches.
pub async fn block_on_in_cleanup_and_in_drop_of_a_cancelled_task_completes() {
    struct BlocksInDrop(Log);
    impl Drop for BlocksInDrop {
        fn drop(&mut self) {
            let v = block_on(ready_work());
            self.0.push(format!("dropped with {v}"));
        }
    }
    let log = Log::new();
    let l = log.clone();
    let scope = CancelScope::new();
    let handle = scope.clone();
    let started = Flag::new();
    let s = started.clone();
    let out = scope
        .run(async move {
            let l2 = l.clone();
            let s2 = s.clone();
            let _task = spawn(async move {
                let _d = BlocksInDrop(l2);
                s2.set();
                sleep(LONG).await;
            });
            drop(anyscope_core::Scoped::new(BlocksInClose(l.clone())));
            wait_until("the task runs", || s.is_set()).await;
            handle.cancel();
            sleep(LONG).await;
        })
        .await;
    assert!(out.is_none());
    assert!(scope.cancelled_caught());
    wait_until("the task's drop ran", || log.events().iter().any(|e| e == "dropped with 5")).await;
    assert!(log.events().iter().any(|e| e == "closed with 5"), "{:?}", log.events());
}
