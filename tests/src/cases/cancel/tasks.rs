//! Across tasks: cancels from other tasks, foreign futures, spawned tasks under a scope.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyscope_core::{CancelScope, JoinHandle, checkpoint, shield, sleep, spawn};

use crate::support::{Flag, Log, SetOnDrop, wait_until};

/// A cancel from another task wakes a body blocked on `std::future::pending()`, which knows
/// nothing of anyscope; the foreign future is dropped with the body.
pub async fn cancel_from_another_task_wakes_std_pending() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let canceller = spawn(async move {
        sleep(Duration::from_millis(10)).await;
        handle.cancel();
    });
    let out = scope.run(std::future::pending::<()>()).await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    canceller.await.unwrap();
}

/// The receiving half of a oneshot channel built on std only, whose sender never sends: a
/// foreign future that registers its waker and stays pending.
struct StdOneshot {
    shared: Arc<Mutex<(Option<u32>, Option<Waker>)>>,
    polls: Arc<AtomicUsize>,
    _dropped: SetOnDrop,
}

impl Future for StdOneshot {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        let mut shared = self.shared.lock().unwrap();
        match shared.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                shared.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A cancel from another task wakes a body blocked on a runtime-independent foreign future
/// (a std-only oneshot that never completes), and drops it.
pub async fn cancel_from_another_task_wakes_raw_foreign_future() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let sender: Arc<Mutex<(Option<u32>, Option<Waker>)>> = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let dropped = Flag::new();
    let rx =
        StdOneshot { shared: sender.clone(), polls: polls.clone(), _dropped: SetOnDrop(dropped.clone()) };
    let p = polls.clone();
    let canceller = spawn(async move {
        wait_until("the receiver is polled", || p.load(Ordering::SeqCst) > 0).await;
        handle.cancel_with("stop waiting");
    });
    let out = scope.try_run(rx).await;
    assert_eq!(out.unwrap_err().reason().message(), Some("stop waiting"));
    assert!(dropped.is_set());
    // The sender is still alive: nothing but the cancel ended the wait.
    assert!(sender.lock().unwrap().0.is_none());
    canceller.await.unwrap();
}

/// Cancelling a scope from 16 tasks at once is harmless: the scope catches once, with the reason
/// of one of them.
pub async fn cancelling_from_sixteen_tasks_is_harmless() {
    let scope = CancelScope::new();
    let started = Arc::new(AtomicUsize::new(0));
    let handles: Vec<JoinHandle<()>> = (0..16)
        .map(|i| {
            let (h, s) = (scope.clone(), started.clone());
            spawn(async move {
                s.fetch_add(1, Ordering::SeqCst);
                wait_until("all cancellers started", || s.load(Ordering::SeqCst) == 16).await;
                h.cancel_with(format!("task {i}"));
                h.cancel();
            })
        })
        .collect();
    let err = scope.try_run(std::future::pending::<()>()).await.unwrap_err();
    assert!(err.reason().message().unwrap().starts_with("task "));
    for h in handles {
        h.await.unwrap();
    }
    assert!(scope.cancelled_caught());
    assert_eq!(scope.cancel_reason().unwrap(), err.reason().clone());
}

/// A task spawned inside a scope is cancelled when the scope is; the scope, waiting on the
/// handle inside a shield, sees `JoinError::is_cancelled`.
pub async fn spawned_task_is_cancelled_with_its_scope() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let dropped = Flag::new();
    let d = dropped.clone();
    let out = scope
        .run(async move {
            let task = spawn(async move {
                let _guard = SetOnDrop(d);
                std::future::pending::<()>().await;
            });
            handle.cancel();
            shield(task).await
        })
        .await;
    // No checkpoint after the shield: the body completes with the join result.
    let joined = out.expect("the body completed");
    assert!(joined.unwrap_err().is_cancelled());
    assert!(dropped.is_set());
}

/// A task spawned inside a scope is cancelled when another task cancels the scope while the
/// scope waits on the task's handle; the handle, awaited afterwards, says cancelled.
pub async fn spawned_task_cancelled_while_scope_awaits_handle() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let s = slot.clone();
    let out = scope
        .run(async move {
            *s.lock().unwrap() = Some(spawn(std::future::pending::<()>()));
            let _canceller = spawn(async move {
                sleep(Duration::from_millis(5)).await;
                handle.cancel();
            });
            std::future::poll_fn(|cx| Pin::new(s.lock().unwrap().as_mut().unwrap()).poll(cx)).await
        })
        .await;
    assert!(out.is_none());
    assert!(scope.cancelled_caught());
    let task = slot.lock().unwrap().take().unwrap();
    assert!(task.await.unwrap_err().is_cancelled());
}

/// A task spawned under nested scopes (a handle's scope, a `move_on_after`, a task group) during
/// their first poll hangs under all of them: it sees their deadlines, and cancelling the
/// outermost from another task cancels the task and the group's child; the outermost catches.
pub async fn task_under_nested_scopes_is_cancelled_by_the_outermost() {
    use anyscope_core::group::{TaskGroup, task_group};
    use anyscope_core::{current_effective_deadline, current_time};
    let deadline = current_time() + Duration::from_secs(1800);
    let seen: Arc<Mutex<Vec<Option<std::time::Instant>>>> = Arc::default();
    let (seen_task, seen_child) = (seen.clone(), seen.clone());
    let outer = CancelScope::new();
    let handle = outer.clone();
    let (task_dropped, child_dropped) = (Flag::new(), Flag::new());
    let (t, c) = (task_dropped.clone(), child_dropped.clone());
    let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let s = slot.clone();
    let out = outer
        .run(async move {
            CancelScope::with_deadline(deadline)
                .run(anyscope_core::move_on_after(Duration::from_secs(3600), async move {
                    *s.lock().unwrap() = Some(spawn(async move {
                        let _guard = SetOnDrop(t);
                        seen_task.lock().unwrap().push(current_effective_deadline());
                        std::future::pending::<()>().await;
                    }));
                    let _canceller = spawn(async move {
                        sleep(Duration::from_millis(5)).await;
                        handle.cancel();
                    });
                    task_group(|tg: TaskGroup<()>| async move {
                        tg.spawn(async move {
                            let _guard = SetOnDrop(c);
                            seen_child.lock().unwrap().push(current_effective_deadline());
                            std::future::pending::<()>().await;
                            Ok(())
                        })
                        .expect("the group is open");
                        Ok::<(), ()>(())
                    })
                    .await
                    .expect("cancelled from outside, the group reports no error");
                    // The group returns once its tasks are done; the cancellation is delivered
                    // at the caller's next checkpoint.
                    checkpoint().await;
                }))
                .await
        })
        .await;
    assert!(out.is_none(), "the outermost scope caught");
    assert!(outer.cancelled_caught());
    assert!(child_dropped.is_set(), "the group's child was cancelled");
    let task = slot.lock().unwrap().take().unwrap();
    // Bounded: were the task not reached by the cancellation, this fails instead of hanging.
    let joined = anyscope_core::move_on_after(Duration::from_secs(10), task).await;
    assert!(joined.expect("the outer cancel reached the task").unwrap_err().is_cancelled());
    assert!(task_dropped.is_set());
    assert_eq!(*seen.lock().unwrap(), [Some(deadline); 2], "both see the middle scope's deadline");
}

/// The reason given to `cancel_with` reaches the caught value and the scope's handle.
pub async fn cancel_with_reason_reaches_caught_value() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let _canceller = spawn(async move {
        sleep(Duration::from_millis(5)).await;
        handle.cancel_with("user pressed stop");
    });
    let err = scope.try_run(sleep(Duration::from_secs(10))).await.unwrap_err();
    assert_eq!(err.reason().message(), Some("user pressed stop"));
    assert!(!err.reason().is_deadline());
    assert_eq!(scope.cancel_reason().unwrap().message(), Some("user pressed stop"));
}

/// Shield counts stop at the task boundary: a shield inside a child task defers delivery in
/// that task only. The parent's scope delivers at once; the child finishes its shielded step,
/// then is cancelled at its next checkpoint.
pub async fn shield_in_child_task_does_not_defer_the_parent() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let log = Log::new();
    let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let (l, s) = (log.clone(), slot.clone());
    let out = scope
        .run(async move {
            let (h, l2) = (handle.clone(), l.clone());
            let child = spawn(async move {
                shield(async {
                    wait_until("the scope is cancelled", || h.cancel_called()).await;
                    sleep(Duration::from_millis(20)).await;
                    l2.push("child finished its shielded step");
                })
                .await;
                checkpoint().await;
                l2.push("unreachable");
            });
            *s.lock().unwrap() = Some(child);
            handle.cancel();
            sleep(Duration::from_secs(10)).await;
            l.push("unreachable in the parent");
        })
        .await;
    assert_eq!(out, None);
    assert!(log.events().is_empty(), "the parent did not wait for the child's shield: {:?}", log.events());
    let child = slot.lock().unwrap().take().unwrap();
    assert!(child.await.unwrap_err().is_cancelled());
    assert_eq!(log.events(), ["child finished its shielded step"]);
}

/// A task spawned inside a shield hangs under the shield: the cancellation of a scope outside
/// the shield does not reach it.
pub async fn task_spawned_inside_shield_is_not_cancelled_by_outer() {
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async {
            let joined = shield(async {
                spawn(async {
                    sleep(Duration::from_millis(5)).await;
                    checkpoint().await;
                    7
                })
                .await
            })
            .await;
            joined.unwrap()
        })
        .await;
    assert_eq!(out, Some(7));
    assert!(scope.cancel_called() && !scope.cancelled_caught());
}
