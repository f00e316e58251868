//! `start_soon`: tasks with no handle, whose scope node is made only when they first suspend.
//! The same guarantees as `spawn`'s tasks: the group waits for them, their errors and panics
//! cancel it, and every cancellation reaches them, before and after their first suspension.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::{CancelScope, checkpoint, shield, sleep, spawn};

use super::{CountOnDrop, LONG, LogOnDrop, logged};
use crate::support::{Log, wait_until};

/// Tasks that complete at once and tasks that suspend are all awaited; one's error cancels the
/// others (which run their cleanups) and is what the group returns.
pub async fn start_soon_tasks_awaited_and_error_returned() {
    let done = Arc::new(AtomicUsize::new(0));
    let log = Log::new();
    let (d, l) = (done.clone(), log.clone());
    let res: Result<(), _> = task_group(|tg| async move {
        for i in 0..4u64 {
            let d = d.clone();
            tg.start_soon(async move {
                if i > 0 {
                    sleep(Duration::from_millis(i)).await;
                }
                d.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .unwrap();
        }
        let l2 = l.clone();
        tg.start_soon(async move {
            let _cleanup = LogOnDrop(l2, "sleeper cleaned up");
            sleep(LONG).await;
            Ok(())
        })
        .unwrap();
        let d = d.clone();
        tg.start_soon(async move {
            wait_until("the others are done", || d.load(Ordering::SeqCst) == 4).await;
            Err("soon failed")
        })
        .unwrap();
        Ok(())
    })
    .await;
    assert_eq!(res.unwrap_err().into_single().unwrap(), "soon failed");
    assert_eq!(done.load(Ordering::SeqCst), 4);
    assert_eq!(log.events(), ["sleeper cleaned up"]);
}

/// Cancelling the scope around a group reaches its `start_soon` tasks (suspended, and a task
/// they spawned), waits for their cleanups, and is caught by that scope.
pub async fn enclosing_cancel_reaches_start_soon_tasks() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicUsize::new(0));
    let scope = CancelScope::new();
    let handle = scope.clone();
    let r = running.clone();
    let _canceller = spawn(async move {
        wait_until("four tasks are running", || r.load(Ordering::SeqCst) == 4).await;
        handle.cancel();
    });
    let (dr, r) = (dropped.clone(), running.clone());
    let out = scope
        .run(task_group(|tg| async move {
            for _ in 0..2 {
                let (dr, r) = (dr.clone(), r.clone());
                tg.start_soon(async move {
                    let _c = CountOnDrop(dr.clone());
                    // A task of its own, hung under this one's scope.
                    let (dr2, r2) = (dr.clone(), r.clone());
                    let _inner = spawn(async move {
                        let _c = CountOnDrop(dr2);
                        r2.fetch_add(1, Ordering::SeqCst);
                        sleep(LONG).await;
                    });
                    r.fetch_add(1, Ordering::SeqCst);
                    sleep(LONG).await;
                    Ok::<(), String>(())
                })
                .unwrap();
            }
            sleep(LONG).await;
            Ok(())
        }))
        .await;
    assert!(out.is_none());
    assert!(scope.cancelled_caught());
    // The two tasks have finished; their inner tasks are cancelled too (waited for here: they
    // are plain tasks, which the group does not wait for).
    assert!(dropped.load(Ordering::SeqCst) >= 2);
    wait_until("every inner task is dropped", || dropped.load(Ordering::SeqCst) == 4).await;
}

/// A `start_soon` task started in a cancelled group runs to its first suspension and is
/// cancelled there (not an error); the group returns its other task's error.
pub async fn start_soon_into_cancelled_group_runs_to_first_suspension() {
    let log = Log::new();
    let l = log.clone();
    let res: Result<(), _> = task_group(|tg| async move {
        tg.start_soon(async { Err("first") }).unwrap();
        let tg2 = tg.clone();
        tg.start_soon(async move {
            shield(async move {
                while !tg2.is_cancelled() {
                    sleep(Duration::from_millis(1)).await;
                }
                let l2 = l.clone();
                tg2.start_soon(async move {
                    l2.push("before");
                    checkpoint().await;
                    l2.push("after");
                    Ok(())
                })
                .unwrap();
            })
            .await;
            Ok(())
        })
        .unwrap();
        Ok(())
    })
    .await;
    assert_eq!(res.unwrap_err().into_single().unwrap(), "first");
    assert_eq!(log.events(), ["before"]);
}

/// A `start_soon` task's panic cancels its sibling and is resumed in the group's owner once the
/// sibling's cleanup has run.
pub async fn start_soon_panic_resumed_after_sibling_cleanup() {
    let log = Log::new();
    let l = log.clone();
    let owner = spawn(async move {
        let l0 = l.clone();
        let _ = task_group(|tg| async move {
            let l2 = l.clone();
            tg.start_soon(async move {
                let _cleanup = LogOnDrop(l2.clone(), "sibling cleaned up");
                l2.push("sibling running");
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
            let l3 = l.clone();
            tg.start_soon(async move {
                wait_until("the sibling runs", || logged(&l3, "sibling running")).await;
                panic!("soon boom");
            })
            .unwrap();
            Ok::<(), String>(())
        })
        .await;
        l0.push("owner not reached");
    });
    let err = owner.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(log.events(), ["sibling running", "sibling cleaned up"]);
}
