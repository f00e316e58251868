//! AnyIO/Trio probes of how a group's errors travel: a panic before `started` goes to the
//! caller of `start`; a `start` called from outside the group gets `StartError::Cancelled`
//! when the group is cancelled; errors that arrive while the group winds down are all
//! returned, in arrival order; an error a group dropped from outside can no longer return is
//! counted in the tracker.

use std::sync::Arc;
use std::time::Duration;

use anyscope_core::group::{StartError, TaskStatus, task_group};
use anyscope_core::stream::channel;
use anyscope_core::sync::Event;
use anyscope_core::{CancelScope, shield, sleep, spawn, tracker};
use futures_util::future::{Either, select};

use super::{LONG, LogOnDrop, logged};
use crate::support::{Log, wait_until};

/// A task that panics before it reports ready: `start` resumes the panic in its caller (the
/// group's body), the group cancels its other task, runs its cleanup, and the owner sees the
/// panic.
pub async fn panic_before_started_is_resumed_in_the_caller() {
    let log = Log::new();
    let l = log.clone();
    let owner = spawn(async move {
        let _ = task_group(|tg| async move {
            let l2 = l.clone();
            tg.start_soon(async move {
                let _c = LogOnDrop(l2.clone(), "sibling cleaned up");
                l2.push("sibling running");
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
            wait_until("the sibling runs", || logged(&l, "sibling running")).await;
            let r = tg
                .start(|_s: TaskStatus<()>| async move {
                    sleep(Duration::from_millis(1)).await;
                    panic!("boom before ready");
                    #[allow(unreachable_code)]
                    Ok(())
                })
                .await;
            l.push(format!("start returned {r:?}"));
            Ok::<(), String>(())
        })
        .await;
    });
    let err = owner.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(log.events(), ["sibling running", "sibling cleaned up"]);
}

/// `start` called from outside the group (another task holding its handle): when the group is
/// cancelled before the task reports ready, `start` returns `StartError::Cancelled`.
pub async fn start_from_outside_gets_cancelled_when_the_group_is_cancelled() {
    let (tx, rx) = channel(1);
    let owner = spawn(async move {
        task_group(|tg| async move {
            tx.send(tg).await.unwrap();
            sleep(LONG).await;
            Ok::<(), String>(())
        })
        .await
    });
    let tg = rx.recv().await.unwrap();
    let log = Log::new();
    let l = log.clone();
    let tg2 = tg.clone();
    let canceller = spawn(async move {
        wait_until("the task is starting", || logged(&l, "starting")).await;
        tg2.cancel();
    });
    let l = log.clone();
    let r = tg
        .start(|s: TaskStatus<u8>| async move {
            l.push("starting");
            sleep(LONG).await;
            s.started(1);
            Ok(())
        })
        .await;
    assert!(matches!(r, Err(StartError::Cancelled)), "{r:?}");
    canceller.await.unwrap();
    let err = owner.await.unwrap().unwrap_err();
    assert!(err.is_cancelled() && err.is_empty(), "{err:?}");
}

/// A task fails; a sibling, shielded when the group cancels it, then fails too; the body,
/// reaching no checkpoint after the first failure, fails as well: all three errors are
/// returned, the one that cancelled the group first.
pub async fn errors_arriving_while_the_group_winds_down_are_all_returned_in_order() {
    let err = task_group(|tg| async move {
        let tg2 = tg.clone();
        tg.spawn(async move {
            shield(wait_until("the group is cancelled", move || tg2.is_cancelled())).await;
            Err("late sibling".to_string())
        })
        .unwrap();
        let first = tg
            .spawn(async {
                sleep(Duration::from_millis(1)).await;
                Err("first".to_string())
            })
            .unwrap();
        let _ = CancelScope::shielded().run(first).await;
        Err::<(), _>("body".to_string())
    })
    .await
    .unwrap_err();
    let mut errors: Vec<&str> = err.iter().map(String::as_str).collect();
    assert_eq!(errors.first(), Some(&"first"), "{errors:?}");
    errors[1..].sort_unstable();
    assert_eq!(errors, ["first", "body", "late sibling"]);
    assert!(!err.is_cancelled());
}

/// A group dropped from outside while a task, shielded, goes on and then fails: nobody can
/// receive that error any more, so it is counted in the tracker (`errors_unreceived` of
/// `anyscope::TaskGroup`), not lost silently; the enclosing scope waits for the task.
pub async fn error_of_a_group_dropped_from_outside_is_counted() {
    let before = tracker::kind("anyscope::TaskGroup").errors_unreceived;
    let log = Log::new();
    let l = log.clone();
    let go = Arc::new(Event::new());
    let out = CancelScope::new()
        .run(async move {
            let (l2, g) = (l.clone(), go.clone());
            let group = Box::pin(task_group(move |tg| async move {
                tg.start_soon(async move {
                    l2.push("running");
                    // Fails only once the group has been dropped (no timing assumption).
                    shield(g.wait()).await;
                    l2.push("failing");
                    Err("nobody hears this".to_string())
                })
                .unwrap();
                sleep(LONG).await;
                Ok::<(), String>(())
            }));
            let l3 = l.clone();
            match select(group, Box::pin(wait_until("the task runs", move || logged(&l3, "running")))).await {
                Either::Left(_) => panic!("the group ended on its own"),
                Either::Right((_, group)) => drop(group),
            }
            go.set();
        })
        .await;
    assert_eq!(out, Some(()));
    assert!(logged(&log, "failing"), "the enclosing scope waited for the task");
    let after = tracker::kind("anyscope::TaskGroup").errors_unreceived;
    assert!(after > before, "the unreceived error was counted ({before} -> {after})");
}

/// A `start` dropped by a combinator (a `select` that picks a timer) while its task has not
/// reported ready: the task is cancelled and its cleanup runs before the group's body scope
/// completes; the group itself goes on and returns the body's value (no error, not cancelled).
pub async fn start_dropped_by_select_cancels_only_its_task() {
    let log = Log::new();
    let l = log.clone();
    let res = task_group(|tg| async move {
        let l2 = l.clone();
        let start = Box::pin(tg.start(move |s: TaskStatus<u8>| async move {
            let _c = LogOnDrop(l2.clone(), "starting task cleaned up");
            l2.push("starting");
            sleep(LONG).await;
            s.started(1);
            Ok(())
        }));
        let l3 = l.clone();
        let waited = Box::pin(wait_until("the task is starting", move || logged(&l3, "starting")));
        match select(start, waited).await {
            Either::Left((r, _)) => panic!("start returned {r:?}"),
            Either::Right(((), start)) => drop(start),
        }
        l.push("start dropped");
        sleep(Duration::from_millis(5)).await;
        l.push("body goes on");
        Ok::<_, String>("body value")
    })
    .await;
    assert_eq!(res.unwrap(), "body value");
    let events = log.events();
    assert!(logged(&log, "starting task cleaned up"), "{events:?}");
    assert!(logged(&log, "body goes on"), "{events:?}");
}

/// AnyIO's `test_start_cancelled`: `start` in a group already cancelled runs the task to its
/// first suspension point, where it is cancelled; the task never finishes, nothing is reported
/// ready, and the group returns its cancellation (no error).
pub async fn start_in_a_cancelled_group_runs_the_task_to_its_first_checkpoint() {
    let log = Log::new();
    let l = log.clone();
    let res = task_group(|tg| async move {
        tg.cancel();
        let l2 = l.clone();
        let r = tg
            .start(move |s: TaskStatus<()>| async move {
                l2.push("started");
                sleep(Duration::from_secs(2)).await;
                l2.push("finished");
                s.started(());
                Ok(())
            })
            .await;
        l.push(format!("start returned {r:?}"));
        Ok::<(), String>(())
    })
    .await;
    assert_eq!(log.events(), ["started"]);
    let err = res.unwrap_err();
    assert!(err.is_cancelled() && err.is_empty(), "{err:?}");
}

/// AnyIO's `test_start_cancel_after_error` (#517): inside an inner group, the body waits in
/// the outer group's `start`; a task of the inner group fails, which cancels the inner body:
/// the starting task is cancelled before it reports ready, and the error travels out as the
/// inner group's error inside the outer group's.
pub async fn inner_group_failure_cancels_a_start_into_the_outer_group() {
    let log = Log::new();
    let l = log.clone();
    let res = task_group(|outer| async move {
        task_group(|inner_tg| async move {
            inner_tg
                .start_soon(async {
                    sleep(Duration::from_millis(5)).await;
                    Err("inner task failed".to_string())
                })
                .unwrap();
            let l2 = l.clone();
            let r = outer
                .start(move |s: TaskStatus<()>| async move {
                    sleep(Duration::from_secs(3600)).await;
                    l2.push("sleep completed");
                    s.started(());
                    Ok(())
                })
                .await;
            l.push(format!("start returned {r:?}"));
            Ok::<(), String>(())
        })
        .await
    })
    .await;
    let outer_err = res.unwrap_err();
    assert_eq!(outer_err.len(), 1, "{outer_err:?}");
    let inner_err = outer_err.into_single().unwrap();
    assert_eq!(inner_err.into_single().unwrap(), "inner task failed");
    assert!(log.events().is_empty(), "{:?}", log.events());
}

/// AnyIO's `test_start_native_host_cancelled`: the task running a group whose body waits in
/// `start` is aborted from outside: the starting task is cancelled (it started, it never
/// finishes) and its cleanup still runs.
pub async fn aborted_host_cancels_the_task_it_was_starting() {
    let log = Log::new();
    let l = log.clone();
    let host = spawn(async move {
        let _ = task_group(|tg| async move {
            let l2 = l.clone();
            let _ = tg
                .start(move |s: TaskStatus<()>| async move {
                    let _c = LogOnDrop(l2.clone(), "starting task cleaned up");
                    l2.push("started");
                    sleep(LONG).await;
                    l2.push("finished");
                    s.started(());
                    Ok(())
                })
                .await;
            Ok::<(), String>(())
        })
        .await;
    });
    wait_until("the task started", || logged(&log, "started")).await;
    host.abort();
    assert!(host.await.unwrap_err().is_cancelled());
    wait_until("the starting task is cleaned up", || logged(&log, "starting task cleaned up")).await;
    assert!(!logged(&log, "finished"));
}
