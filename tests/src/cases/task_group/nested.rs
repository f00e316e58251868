//! CPython's `test_taskgroups.py` (asyncio.TaskGroup) probes: a nested group's error travels
//! out through its parent's body and cancels the parent's other tasks; a body error and a
//! child error that end the group together are both returned.

use anyscope_core::group::{GroupError, task_group};
use anyscope_core::sleep;

use super::{LONG, LogOnDrop, logged};
use crate::support::{Log, wait_until};

/// An inner group's child fails: the inner group cancels its sibling and returns the error; the
/// outer body returns it, which cancels the outer group's other task; the outer group returns
/// exactly that one error, after both cleanups.
pub async fn nested_group_error_cancels_the_outer_siblings() {
    let log = Log::new();
    let l = log.clone();
    let res = task_group(|outer| async move {
        let l1 = l.clone();
        outer
            .start_soon(async move {
                let _c = LogOnDrop(l1.clone(), "outer sibling cleaned up");
                l1.push("outer sibling running");
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
        wait_until("the outer sibling runs", || logged(&l, "outer sibling running")).await;
        let inner = task_group(|tg| {
            let l = l.clone();
            async move {
                let l2 = l.clone();
                tg.start_soon(async move {
                    let _c = LogOnDrop(l2.clone(), "inner sibling cleaned up");
                    l2.push("inner sibling running");
                    sleep(LONG).await;
                    Ok(())
                })
                .unwrap();
                wait_until("the inner sibling runs", || logged(&l, "inner sibling running")).await;
                tg.start_soon(async { Err("inner boom".to_string()) }).unwrap();
                sleep(LONG).await;
                l.push("inner body not cancelled");
                Ok::<(), String>(())
            }
        })
        .await;
        let errors = inner.unwrap_err();
        assert!(errors.is_cancelled(), "the failure cancelled the inner body");
        assert_eq!(errors.len(), 1, "the body's cancellation is not an error");
        l.push("inner group returned");
        assert!(logged(&l, "inner sibling cleaned up"), "the inner group waited for its sibling");
        Err::<(), _>(format!("outer: {}", errors.into_single().unwrap()))
    })
    .await;
    let err: GroupError<String> = res.unwrap_err();
    assert_eq!(err.into_errors(), ["outer: inner boom"]);
    assert!(!logged(&log, "inner body not cancelled"));
    assert_eq!(
        log.events(),
        [
            "outer sibling running",
            "inner sibling running",
            "inner sibling cleaned up",
            "inner group returned",
            "outer sibling cleaned up",
        ]
    );
}

/// The body fails while a child it just spawned fails too (the child ends without suspending,
/// so cancelling the group cannot cut it off): both errors are returned, none lost, no
/// cancellation reported as an error.
pub async fn body_error_and_child_error_are_both_returned() {
    let res = task_group(|tg| async move {
        tg.start_soon(async { Err("child".to_string()) }).unwrap();
        Err::<(), _>("body".to_string())
    })
    .await;
    let err = res.unwrap_err();
    assert!(!err.is_cancelled());
    let mut errors = err.into_errors();
    errors.sort(); // the child may end before or after the body on a multi-thread runtime
    assert_eq!(errors, ["body", "child"]);
}
