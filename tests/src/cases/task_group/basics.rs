//! Waiting, errors and handles: what a group returns and when.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::group::{GroupClosed, StartError, TaskGroup, TaskStatus, task_group};
use anyscope_core::{checkpoint, shield, sleep, spawn};

use super::{LONG, LogOnDrop, logged};
use crate::support::{Flag, Log, SetOnDrop, wait_until};

/// The group returns only when every task has finished; the body's value comes back.
pub async fn all_children_awaited() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let res = task_group(|tg| async move {
        for i in 0..5u64 {
            let d = d.clone();
            tg.spawn(async move {
                sleep(Duration::from_millis(i * 3)).await;
                d.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(())
            })
            .unwrap();
        }
        Ok("body")
    })
    .await;
    assert_eq!(res.unwrap(), "body");
    assert_eq!(done.load(Ordering::SeqCst), 5);
}

/// A task's error cancels the body and the other tasks, and is what the group returns.
pub async fn child_error_cancels_body_and_siblings() {
    let log = Log::new();
    let l = log.clone();
    let res: Result<(), _> = task_group(|tg| async move {
        let l2 = l.clone();
        tg.spawn(async move {
            let _g = LogOnDrop(l2, "sibling dropped");
            sleep(LONG).await;
            Ok(())
        })
        .unwrap();
        tg.spawn(async {
            sleep(Duration::from_millis(5)).await;
            Err("child failed")
        })
        .unwrap();
        let _g = LogOnDrop(l.clone(), "body dropped");
        sleep(LONG).await;
        l.push("body finished");
        Ok(())
    })
    .await;
    let err = res.unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err.into_single().unwrap(), "child failed");
    assert!(logged(&log, "sibling dropped"));
    assert!(logged(&log, "body dropped"));
    assert!(!logged(&log, "body finished"));
}

/// Two tasks that fail at about the same time give two errors (the second fails inside a
/// shield, after the first already cancelled the group).
pub async fn two_failing_children_give_two_errors() {
    let res: Result<(), _> = task_group(|tg| async move {
        for name in ["a", "b"] {
            tg.spawn(async move {
                shield(sleep(Duration::from_millis(20))).await;
                Err(name)
            })
            .unwrap();
        }
        Ok(())
    })
    .await;
    let err = res.unwrap_err();
    assert_eq!(err.len(), 2);
    let mut errors: Vec<&str> = err.into_iter().collect();
    errors.sort();
    assert_eq!(errors, ["a", "b"]);
}

/// The body's error cancels every task and is returned.
pub async fn body_error_cancels_children() {
    let dropped = Flag::new();
    let f = dropped.clone();
    let res: Result<(), _> = task_group(|tg| async move {
        tg.spawn(async move {
            let _g = SetOnDrop(f);
            sleep(LONG).await;
            Ok(())
        })
        .unwrap();
        checkpoint().await;
        Err("body failed")
    })
    .await;
    assert_eq!(res.unwrap_err().into_single().unwrap(), "body failed");
    assert!(dropped.is_set());
}

/// A task's panic cancels the others and is resumed in the owner once they finished their
/// cleanup.
pub async fn child_panic_resumed_after_siblings_cleaned_up() {
    let log = Log::new();
    let l = log.clone();
    let owner = spawn(async move {
        let l0 = l.clone();
        let res = task_group(|tg| async move {
            let l2 = l.clone();
            tg.spawn(async move {
                shield(async {
                    l2.push("sibling in shield");
                    sleep(Duration::from_millis(30)).await;
                    l2.push("sibling cleanup finished");
                })
                .await;
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
            let l3 = l.clone();
            tg.spawn(async move {
                wait_until("the sibling is in its shield", || logged(&l3, "sibling in shield")).await;
                panic!("boom");
            })
            .unwrap();
            sleep(LONG).await;
            Ok::<(), String>(())
        })
        .await;
        l0.push("owner not reached");
        res.is_ok()
    });
    let err = owner.await.unwrap_err();
    log.push("owner panicked");
    assert!(err.is_panic());
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(log.events(), ["sibling in shield", "sibling cleanup finished", "owner panicked"]);
}

/// Spawning into a group that has finished is `GroupClosed`; `start` is `StartError::Closed`.
pub async fn spawn_after_group_ended_is_closed() {
    let tg: TaskGroup<String> = task_group(|tg| async move { Ok(tg) }).await.unwrap();
    assert!(tg.is_closed());
    let err = tg.spawn(async { Ok(()) }).unwrap_err();
    assert_eq!(err, GroupClosed);
    assert!(err.to_string().contains("finished"));
    let err = tg
        .start(|s: TaskStatus<()>| async move {
            s.started(());
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Closed));
}

/// Cancelling one task through its handle leaves the others (and the group) running.
pub async fn handle_cancel_leaves_others_running() {
    let done = Flag::new();
    let d = done.clone();
    let res = task_group(|tg| async move {
        let victim = tg
            .spawn(async {
                sleep(LONG).await;
                Ok::<_, String>(())
            })
            .unwrap();
        let other = tg
            .spawn(async move {
                sleep(Duration::from_millis(10)).await;
                d.set();
                Ok(())
            })
            .unwrap();
        victim.cancel();
        assert!(victim.await.unwrap_err().is_cancelled());
        assert!(!tg.is_cancelled());
        other.await.unwrap();
        Ok(())
    })
    .await;
    assert!(res.is_ok());
    assert!(done.is_set());
}

/// Awaiting a failed task's handle says it failed; the group still returns the error.
pub async fn awaiting_handle_does_not_consume_error() {
    let res: Result<(), _> = task_group(|tg| async move {
        let h = tg.spawn(async { Err("lost?") }).unwrap();
        let e = h.await.unwrap_err();
        assert!(e.is_failed());
        Ok(())
    })
    .await;
    assert_eq!(res.unwrap_err().into_single().unwrap(), "lost?");
}

/// Tasks may spawn siblings; the group waits for them all.
pub async fn children_spawn_siblings() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let res = task_group(|tg| async move {
        fn fan_out(tg: TaskGroup<String>, n: Arc<AtomicUsize>, depth: u32) {
            let tg2 = tg.clone();
            tg.spawn(async move {
                sleep(Duration::from_millis(1)).await;
                n.fetch_add(1, Ordering::SeqCst);
                if depth > 0 {
                    fan_out(tg2.clone(), n.clone(), depth - 1);
                    fan_out(tg2, n, depth - 1);
                }
                Ok(())
            })
            .unwrap();
        }
        fan_out(tg, n2, 4);
        Ok(())
    })
    .await;
    assert!(res.is_ok());
    assert_eq!(n.load(Ordering::SeqCst), 31);
}

/// Tasks run concurrently: each waits until the other has started.
pub async fn children_run_concurrently() {
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let res = task_group(|tg| async move {
        for _ in 0..2 {
            let s = s.clone();
            tg.spawn(async move {
                s.fetch_add(1, Ordering::SeqCst);
                wait_until("both tasks started", || s.load(Ordering::SeqCst) == 2).await;
                Ok::<(), String>(())
            })
            .unwrap();
        }
        Ok(())
    })
    .await;
    assert!(res.is_ok());
    assert_eq!(started.load(Ordering::SeqCst), 2);
}
