//! `TaskGroup::start`: ready values, and where errors before and after ready go.

use std::time::Duration;

use anyscope_core::group::{StartError, TaskStatus, task_group};
use anyscope_core::{CancelScope, checkpoint, shield, sleep};

use super::{LONG, LogOnDrop, logged};
use crate::support::{Flag, Log, wait_until};

/// `start` returns the value the task reported, and the task then goes on in the group.
pub async fn start_returns_value() {
    let log = Log::new();
    let l = log.clone();
    // The task goes on only once the caller has seen the value: ordering, not timing.
    let seen = std::sync::Arc::new(anyscope_core::Event::new());
    let res = task_group(|tg| async move {
        let (l2, seen2) = (l.clone(), seen.clone());
        let port = tg
            .start(|status: TaskStatus<u16>| async move {
                sleep(Duration::from_millis(2)).await;
                status.started(8080);
                seen2.wait().await;
                l2.push("served");
                Ok::<(), String>(())
            })
            .await
            .unwrap();
        l.push("started");
        seen.set();
        Ok(port)
    })
    .await;
    assert_eq!(res.unwrap(), 8080);
    assert_eq!(log.events(), ["started", "served"]);
}

/// An error before ready goes to the caller of `start`; the group is not cancelled and ends
/// cleanly.
pub async fn start_error_before_ready_goes_to_caller() {
    let done = Flag::new();
    let d = done.clone();
    let res = task_group(|tg| async move {
        let sibling = tg
            .spawn(async move {
                sleep(Duration::from_millis(10)).await;
                d.set();
                Ok(())
            })
            .unwrap();
        let err = tg.start(|_status: TaskStatus<u16>| async { Err("bind failed") }).await.unwrap_err();
        assert!(matches!(err, StartError::Failed("bind failed")));
        assert!(!tg.is_cancelled());
        sibling.await.unwrap();
        Ok(())
    })
    .await;
    assert!(res.is_ok());
    assert!(done.is_set());
}

/// After ready, a task's error belongs to the group.
pub async fn start_error_after_ready_goes_to_group() {
    let res: Result<(), _> = task_group(|tg| async move {
        tg.start(|status: TaskStatus<()>| async move {
            status.started(());
            sleep(Duration::from_millis(2)).await;
            Err("failed later")
        })
        .await
        .unwrap();
        sleep(LONG).await; // cancelled by the failure
        Ok(())
    })
    .await;
    assert_eq!(res.unwrap_err().into_single().unwrap(), "failed later");
}

/// A task that finishes without reporting ready is an error for the caller of `start`.
pub async fn start_child_finishing_without_ready() {
    let res = task_group(|tg| async move {
        let err = tg
            .start(|_status: TaskStatus<u16>| async {
                checkpoint().await;
                Ok::<(), String>(())
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StartError::NotStarted));
        Ok(())
    })
    .await;
    assert!(res.is_ok());
}

/// The caller of `start` cancelled while waiting for ready: the task is cancelled, and the
/// caller's scope returns only after the task has finished its cleanup.
pub async fn cancelled_start_cancels_and_awaits_child() {
    let log = Log::new();
    let l = log.clone();
    let res: Result<(), _> = task_group(|tg| async move {
        let scope = CancelScope::new();
        let handle = scope.clone();
        let l2 = l.clone();
        tg.spawn(async move {
            wait_until("the task is in its shield", || logged(&l2, "cleanup started")).await;
            handle.cancel();
            Ok(())
        })
        .unwrap();
        let l3 = l.clone();
        let out = scope
            .run(tg.start(|_status: TaskStatus<u16>| async move {
                let _g = LogOnDrop(l3.clone(), "task dropped");
                shield(async {
                    l3.push("cleanup started");
                    sleep(Duration::from_millis(30)).await;
                    l3.push("cleanup finished");
                })
                .await;
                sleep(LONG).await;
                Ok::<(), String>(())
            }))
            .await;
        assert!(out.is_none());
        l.push("caller's scope returned");
        Ok(())
    })
    .await;
    assert!(res.is_ok());
    assert_eq!(
        log.events(),
        ["cleanup started", "cleanup finished", "task dropped", "caller's scope returned"]
    );
}

/// The task reports ready and, in the same poll, cancels the caller's scope: `start` still
/// returns the value, and the cancellation is delivered at the caller's next checkpoint.
pub async fn start_value_returned_when_caller_cancelled_after_ready() {
    let res = task_group(|tg| async move {
        let scope = CancelScope::new();
        let caller = scope.clone();
        let mut got = None;
        let out = scope
            .run(async {
                let v = tg
                    .start(move |status: TaskStatus<u32>| async move {
                        status.started(7);
                        caller.cancel(); // before the caller can be polled again
                        Ok::<(), String>(())
                    })
                    .await;
                got = Some(v);
                // The cancellation is delivered at this next checkpoint. A sleep, not a ready
                // checkpoint: on a multi-thread runtime the caller can run here before the task
                // has called `cancel()`.
                sleep(Duration::from_secs(3600)).await;
                unreachable!("the caller's scope was cancelled");
            })
            .await;
        assert!(out.is_none());
        assert!(scope.cancelled_caught());
        assert!(matches!(got, Some(Ok(7))), "the ready value was lost: {got:?}");
        Ok(())
    })
    .await;
    assert!(res.is_ok());
}

/// The caller's scope is cancelled first and the task reports ready right after, in the same
/// poll: the task is past its last checkpoint, so it does report, and `start` returns the value.
pub async fn start_value_returned_when_ready_follows_caller_cancel() {
    let res = task_group(|tg| async move {
        let scope = CancelScope::new();
        let caller = scope.clone();
        let mut got = None;
        let out = scope
            .run(async {
                let v = tg
                    .start(move |status: TaskStatus<u32>| async move {
                        caller.cancel();
                        status.started(8);
                        Ok::<(), String>(())
                    })
                    .await;
                got = Some(v);
                checkpoint().await;
                unreachable!("the caller's scope was cancelled");
            })
            .await;
        assert!(out.is_none());
        assert!(matches!(got, Some(Ok(8))), "the ready value was lost: {got:?}");
        Ok(())
    })
    .await;
    assert!(res.is_ok());
}

/// A deadline around `start` whose task never reports ready: the task is cancelled, the scope
/// catches, and the caller goes on (no hang while `start` defers the deadline's delivery).
pub async fn deadline_around_start_cancels_unready_task() {
    let log = Log::new();
    let l = log.clone();
    let res = task_group(|tg| async move {
        let l2 = l.clone();
        let out = anyscope_core::move_on_after(
            Duration::from_millis(5),
            tg.start(move |_status: TaskStatus<u32>| async move {
                let _g = LogOnDrop(l2, "task dropped");
                sleep(LONG).await;
                Ok::<(), String>(())
            }),
        )
        .await;
        assert!(out.is_none());
        l.push("caller goes on");
        Ok(())
    })
    .await;
    assert!(res.is_ok());
    assert_eq!(log.events(), ["task dropped", "caller goes on"]);
}
