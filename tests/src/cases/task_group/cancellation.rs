//! Cancellation: enclosing scopes, deadlines, the group's own scope, cleanups awaited.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::{AsyncClose, CancelScope, Scoped, checkpoint, move_on_after, shield, sleep, spawn};

use super::{CountOnDrop, LONG, logged};
use crate::support::{Flag, Log, SetOnDrop, wait_until};

/// Cancelling the scope around a group reaches the tasks of a group nested in a task; the
/// enclosing scope catches, and no error escapes.
pub async fn enclosing_cancel_reaches_nested_groups_without_error() {
    let running = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let scope = CancelScope::new();
    let handle = scope.clone();
    let r = running.clone();
    let _canceller = spawn(async move {
        wait_until("four tasks run", || r.load(Ordering::SeqCst) == 4).await;
        handle.cancel();
    });
    let (r, d) = (running.clone(), dropped.clone());
    let out = scope
        .run(task_group(|tg| async move {
            let (r2, d2) = (r.clone(), d.clone());
            tg.spawn(async move {
                task_group(|inner| async move {
                    for _ in 0..3 {
                        let (r, d) = (r2.clone(), d2.clone());
                        inner
                            .spawn(async move {
                                let _g = CountOnDrop(d);
                                r.fetch_add(1, Ordering::SeqCst);
                                sleep(LONG).await;
                                Ok(())
                            })
                            .unwrap();
                    }
                    Ok(())
                })
                .await
                .map_err(|e| e.into_first().unwrap())
            })
            .unwrap();
            let _g = CountOnDrop(d);
            r.fetch_add(1, Ordering::SeqCst);
            sleep(LONG).await;
            Ok::<(), String>(())
        }))
        .await;
    assert!(out.is_none(), "the enclosing scope catches");
    assert!(scope.cancelled_caught());
    assert_eq!(dropped.load(Ordering::SeqCst), 4);
}

/// A group cancelled by the scope around it still waits for its tasks' cleanup: a cleanup that
/// sleeps inside a shield has finished when the scope returns.
pub async fn enclosing_cancel_waits_for_child_cleanup() {
    let log = Log::new();
    let scope = CancelScope::new();
    let handle = scope.clone();
    let l = log.clone();
    let _canceller = spawn(async move {
        wait_until("the task is in its shield", || logged(&l, "cleanup started")).await;
        handle.cancel();
    });
    let l = log.clone();
    let out = scope
        .run(task_group(|tg| async move {
            let l2 = l.clone();
            tg.spawn(async move {
                shield(async {
                    l2.push("cleanup started");
                    sleep(Duration::from_millis(30)).await;
                    l2.push("cleanup finished");
                })
                .await;
                sleep(LONG).await;
                Ok::<(), String>(())
            })
            .unwrap();
            sleep(LONG).await;
            Ok(())
        }))
        .await;
    log.push("scope returned");
    assert!(out.is_none());
    assert_eq!(log.events(), ["cleanup started", "cleanup finished", "scope returned"]);
}

/// A group cancelled by a failure waits for the cleanup of its other tasks before it returns.
pub async fn group_failure_waits_for_child_cleanup() {
    let log = Log::new();
    let l = log.clone();
    let res: Result<(), _> = task_group(|tg| async move {
        let l2 = l.clone();
        tg.spawn(async move {
            shield(async {
                l2.push("cleanup started");
                sleep(Duration::from_millis(30)).await;
                l2.push("cleanup finished");
            })
            .await;
            sleep(LONG).await;
            Ok(())
        })
        .unwrap();
        wait_until("the task is in its shield", || logged(&l, "cleanup started")).await;
        Err("body failed")
    })
    .await;
    log.push("group returned");
    assert_eq!(res.unwrap_err().into_single().unwrap(), "body failed");
    assert_eq!(log.events(), ["cleanup started", "cleanup finished", "group returned"]);
}

/// A task cancelling its own inner scope affects neither the group nor the other tasks.
pub async fn child_inner_scope_cancel_does_not_touch_group() {
    let log = Log::new();
    let l = log.clone();
    let res = task_group(|tg| async move {
        let l2 = l.clone();
        let inner = tg
            .spawn(async move {
                let scope = CancelScope::new();
                scope.cancel();
                let out = scope.run(sleep(LONG)).await;
                assert!(out.is_none());
                checkpoint().await; // still running: the group was not cancelled
                l2.push("inner done");
                Ok::<_, String>(())
            })
            .unwrap();
        let l3 = l.clone();
        let sibling = tg
            .spawn(async move {
                sleep(Duration::from_millis(10)).await;
                l3.push("sibling done");
                Ok(())
            })
            .unwrap();
        inner.await.unwrap();
        sibling.await.unwrap();
        assert!(!tg.is_cancelled());
        Ok(())
    })
    .await;
    assert!(res.is_ok());
    assert_eq!(log.events(), ["inner done", "sibling done"]);
}

/// A task spawned into a cancelled group runs until its first suspension and is cancelled
/// there (not an error).
pub async fn child_spawned_into_cancelled_group_runs_to_first_suspension() {
    let log = Log::new();
    let l = log.clone();
    let res: Result<(), _> = task_group(|tg| async move {
        tg.spawn(async { Err("first") }).unwrap();
        // The failure cancels the group; this task starts in a cancelled group.
        let tg2 = tg.clone();
        tg.spawn(async move {
            // Shielded, so that this task outlives the group's cancellation and spawns after it.
            shield(async move {
                while !tg2.is_cancelled() {
                    sleep(Duration::from_millis(1)).await;
                }
                let l2 = l.clone();
                tg2.spawn(async move {
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

/// `TaskGroup::cancel` cancels body and tasks; the group reports the cancellation, no errors.
pub async fn group_cancel_returns_cancelled_without_errors() {
    let dropped = Flag::new();
    let f = dropped.clone();
    let res: Result<(), _> = task_group(|tg| async move {
        tg.spawn(async move {
            let _g = SetOnDrop(f);
            sleep(LONG).await;
            Ok::<(), String>(())
        })
        .unwrap();
        tg.cancel_with("enough");
        sleep(LONG).await;
        Ok(())
    })
    .await;
    let err = res.unwrap_err();
    assert!(err.is_empty() && err.is_cancelled());
    assert_eq!(err.cancel_reason().unwrap().message(), Some("enough"));
    assert!(dropped.is_set());
}

/// An error a task returns while the scope around the group is cancelling it is not lost: the
/// group returns it (and the enclosing scope delivers its cancellation afterwards).
pub async fn error_during_enclosing_cancel_is_returned() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let in_shield = Flag::new();
    let f = in_shield.clone();
    let _canceller = spawn(async move {
        wait_until("the task is in its shield", || f.is_set()).await;
        handle.cancel();
    });
    let f = in_shield.clone();
    let seen = Log::new();
    let s = seen.clone();
    let watched = scope.clone();
    let out = scope
        .run(async move {
            let res: Result<(), _> = task_group(|tg| async move {
                tg.spawn(async move {
                    shield(async {
                        f.set();
                        // Inside the shield until the cancel has landed (no timing assumption).
                        wait_until("the scope is cancelled", || watched.cancel_called()).await;
                    })
                    .await;
                    Err("failed while cancelled")
                })
                .unwrap();
                sleep(LONG).await;
                Ok(())
            })
            .await;
            s.push(res.unwrap_err().into_single().unwrap());
            checkpoint().await;
            s.push("not reached");
        })
        .await;
    assert!(out.is_none());
    assert_eq!(seen.events(), ["failed while cancelled"]);
}

/// A deadline around a group cancels the body and every task; the group waits for them, and
/// the deadline's scope catches.
pub async fn deadline_around_group_cancels_body_and_tasks() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let out = move_on_after(
        Duration::from_millis(20),
        task_group(|tg| async move {
            for _ in 0..10 {
                let d = d.clone();
                tg.spawn(async move {
                    let _g = CountOnDrop(d);
                    sleep(LONG).await;
                    Ok::<(), String>(())
                })
                .unwrap();
            }
            let _g = CountOnDrop(d);
            sleep(LONG).await;
            Ok(())
        }),
    )
    .await;
    assert!(out.is_none());
    assert_eq!(dropped.load(Ordering::SeqCst), 11);
}

/// A group entered in a cancelled scope runs its body to its first suspension point, as a
/// cancel scope does; a task it spawned there is cancelled at its own first suspension.
pub async fn group_entered_in_cancelled_scope_runs_to_first_suspension() {
    let log = Log::new();
    let scope = CancelScope::new();
    scope.cancel();
    let l = log.clone();
    let out = scope
        .run(task_group(|tg| async move {
            let l2 = l.clone();
            tg.spawn(async move {
                l2.push("task before");
                checkpoint().await;
                l2.push("task after");
                Ok::<(), String>(())
            })
            .unwrap();
            l.push("body before");
            checkpoint().await;
            l.push("body after");
            Ok(())
        }))
        .await;
    assert!(out.is_none());
    let mut events = log.events();
    events.sort();
    assert_eq!(events, ["body before", "task before"]);
}

/// A resource whose close logs, counted under its own kind in the tracker.
struct Conn(Log);

impl AsyncClose for Conn {
    type Error = std::io::Error;

    async fn close(self) -> Result<(), std::io::Error> {
        sleep(Duration::from_millis(5)).await;
        self.0.push("resource closed");
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "conformance::task_group::Conn"
    }
}

/// A resource opened around a group that the enclosing scope cancels is closed only after
/// every task of the group has finished its cleanup; nothing is left open or lost.
pub async fn resource_around_group_closed_after_every_task() {
    let log = Log::new();
    let scope = CancelScope::new();
    let handle = scope.clone();
    let l = log.clone();
    let _canceller = spawn(async move {
        wait_until("both tasks are in their shields", || {
            l.events().iter().filter(|e| e.as_str() == "task in shield").count() == 2
        })
        .await;
        handle.cancel();
    });
    let l = log.clone();
    let out = scope
        .run(async move {
            let _conn = Scoped::new(Conn(l.clone()));
            task_group(|tg| async move {
                for _ in 0..2 {
                    let l = l.clone();
                    tg.spawn(async move {
                        shield(async {
                            l.push("task in shield");
                            sleep(Duration::from_millis(20)).await;
                            l.push("task cleanup finished");
                        })
                        .await;
                        sleep(LONG).await;
                        Ok::<(), String>(())
                    })
                    .unwrap();
                }
                sleep(LONG).await;
                Ok(())
            })
            .await
        })
        .await;
    assert!(out.is_none());
    let events = log.events();
    assert_eq!(events.last().map(String::as_str), Some("resource closed"));
    assert_eq!(events.iter().filter(|e| e.as_str() == "task cleanup finished").count(), 2);
    let stats = anyscope_core::tracker::kind("conformance::task_group::Conn");
    assert_eq!((stats.open(), stats.lost), (0, 0));
}

/// A scope cancelled while the group around it waits for its tasks, after the body returned:
/// the tasks are cut off, and the group's exit delivers the cancellation (Trio: the nursery
/// re-raises its children's `Cancelled`). `run` returns `None` and the scope reports the
/// cancellation caught; the body's value is not returned.
pub async fn cancel_after_body_returned_is_caught_at_group_exit() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let started = Flag::new();
    let s = started.clone();
    let _canceller = spawn(async move {
        wait_until("the task runs", || s.is_set()).await;
        handle.cancel();
    });
    let st = started.clone();
    let out = scope
        .run(task_group(move |tg| async move {
            tg.spawn(async move {
                st.set();
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
            Ok::<u32, String>(5)
        }))
        .await;
    assert_eq!(out.map(|r| r.ok()), None, "the enclosing scope catches");
    assert!(scope.cancel_called());
    assert!(scope.cancelled_caught());
}

/// The same with a task that ends on its own despite the cancellation (it runs in a shield
/// and returns): nothing was cut off, so the group returns the body's value, as a Trio nursery
/// whose children all returned exits normally; the scope was cancelled but caught nothing.
pub async fn cancel_that_cut_off_no_task_returns_the_body_value() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let started = Flag::new();
    let s = started.clone();
    let _canceller = spawn(async move {
        wait_until("the task runs", || s.is_set()).await;
        handle.cancel();
    });
    let st = started.clone();
    let out = scope
        .run(task_group(move |tg| async move {
            tg.spawn(async move {
                shield(async {
                    st.set();
                    sleep(Duration::from_millis(30)).await;
                })
                .await;
                Ok(())
            })
            .unwrap();
            Ok::<u32, String>(5)
        }))
        .await;
    assert_eq!(out.map(|r| r.ok()), Some(Some(5)));
    assert!(scope.cancel_called());
    assert!(!scope.cancelled_caught());
}
