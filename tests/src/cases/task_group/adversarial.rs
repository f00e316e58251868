//! Adversarial probes of group children with no runtime handle (`start_soon`) and of child
//! handles: a panic at the very first poll, handles awaited after the group ended, tens of
//! thousands of `start_soon` in a loop, and a task that respawns itself until a cancellation
//! stops it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyscope_core::group::{TaskGroup, task_group};
use anyscope_core::{CancelScope, checkpoint, sleep, spawn};

use super::{LONG, LogOnDrop, logged};
use crate::support::{Log, wait_until};

/// A `start_soon` task that panics in its first poll (before any suspension, so before it has a
/// scope node) cancels its sibling, and the panic is resumed in the owner after the sibling's
/// cleanup.
pub async fn start_soon_panic_at_first_poll_resumed_after_cleanup() {
    let log = Log::new();
    let l = log.clone();
    let owner = spawn(async move {
        let _ = task_group(|tg| async move {
            let l2 = l.clone();
            tg.start_soon(async move {
                let _cleanup = LogOnDrop(l2.clone(), "sibling cleaned up");
                l2.push("sibling running");
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
            wait_until("the sibling runs", || logged(&l, "sibling running")).await;
            tg.start_soon(async { panic!("first poll boom") }).unwrap();
            sleep(LONG).await;
            Ok::<(), String>(())
        })
        .await;
    });
    let err = owner.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(log.events(), ["sibling running", "sibling cleaned up"]);
}

/// Child handles outlive their group: awaited after the group ended, they report how each task
/// ended — completed, or cancelled through its handle before it was first polled.
pub async fn child_handles_awaited_after_group_ended() {
    let res: Result<_, _> = task_group(|tg| async move {
        let done = tg.spawn(async { Ok(()) }).unwrap();
        let cancelled = tg
            .spawn(async {
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
        cancelled.cancel();
        Ok::<_, String>((done, cancelled))
    })
    .await;
    let (done, cancelled) = res.unwrap();
    assert!(done.is_finished() && cancelled.is_finished());
    assert!(done.await.is_ok());
    assert!(cancelled.await.unwrap_err().is_cancelled());
}

/// Fifty thousand `start_soon` tasks that complete at once, started in a loop: all run, the
/// group waits for them and returns `Ok`.
pub async fn fifty_thousand_start_soon_in_a_loop_complete() {
    const N: usize = 50_000;
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let res = task_group(|tg| async move {
        for i in 0..N {
            let c = c.clone();
            tg.start_soon(async move {
                c.fetch_add(1, Ordering::Relaxed);
                Ok(())
            })
            .unwrap();
            if i % 1000 == 0 {
                checkpoint().await;
            }
        }
        Ok::<(), String>(())
    })
    .await;
    assert!(res.is_ok());
    assert_eq!(count.load(Ordering::Relaxed), N);
}

/// One link of a chain of tasks: checkpoints, then starts the next link and ends.
fn respawn(tg: TaskGroup<String>, count: Arc<AtomicUsize>) {
    let tg2 = tg.clone();
    tg.start_soon(async move {
        checkpoint().await;
        count.fetch_add(1, Ordering::Relaxed);
        let _ = tg2.start_soon(async { Ok(()) });
        respawn(tg2, count);
        Ok(())
    })
    .ok();
}

/// A `start_soon` task that respawns itself forever (with a checkpoint in each generation): the
/// cancel of the scope around the group stops the chain, the group ends and the scope catches.
pub async fn self_respawning_start_soon_task_stopped_by_enclosing_cancel() {
    let count = Arc::new(AtomicUsize::new(0));
    let scope = CancelScope::new();
    let handle = scope.clone();
    let c = count.clone();
    let out = scope
        .run(task_group(|tg: TaskGroup<String>| async move {
            respawn(tg.clone(), c.clone());
            wait_until("the chain ran 2000 generations", || c.load(Ordering::Relaxed) >= 2000).await;
            handle.cancel();
            sleep(LONG).await;
            Ok(())
        }))
        .await;
    assert!(out.is_none());
    assert!(scope.cancelled_caught());
    assert!(count.load(Ordering::Relaxed) >= 2000);
}

/// A `ChildHandle` of a task that has already ended, blocked on (`block_on`, no
/// `runtime::isolated`) inside a cancelled scope: the handle must not stay pending for that
/// scope to drop it (its poll is the one blocked); it returns how the task ended. Before the
/// fix in `group/child.rs` this hung (`cancelled_here` instead of `cancelled_for`).
pub async fn finished_child_handle_blocked_on_in_cancelled_scope_returns() {
    let res = task_group(|tg| async move {
        let h = tg.spawn(async { Ok(()) }).unwrap();
        wait_until("the task ended", || h.is_finished()).await;
        let scope = CancelScope::new();
        scope.cancel();
        let out = scope.run(async move { futures_lite::future::block_on(h) }).await;
        assert!(out.expect("the body has no checkpoint of its own").is_ok());
        Ok::<(), String>(())
    })
    .await;
    assert!(res.is_ok());
}
