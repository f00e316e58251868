//! AnyIO's cancel-scope cases (`test_taskgroups.py`), ported: a shield toggled while the scope
//! runs, a deadline inside a shield when the scope outside it is cancelled, cancellations left
//! pending by a shield and delivered at the next checkpoint, a deadline moved later, and a
//! timeout around a group whose tasks it cut off.

use std::time::Duration;

use anyscope_core::group::{TaskStatus, task_group};
use anyscope_core::{CancelScope, Elapsed, checkpoint, current_time, fail_after, sleep};

/// `test_shielding_mutate`: a task shields its scope after it started, reports ready, and the
/// group is cancelled: the shielded part completes; once the shield is lowered, the next
/// checkpoint is cancelled.
pub async fn shield_raised_and_lowered_while_the_scope_runs() {
    let res = task_group(|tg| async move {
        tg.start(|status: TaskStatus<CancelScope>| async move {
            let scope = CancelScope::new();
            let handle = scope.clone();
            let mut status = Some(status);
            let out = scope
                .run(async {
                    sleep(Duration::from_millis(5)).await;
                    handle.set_shield(true);
                    status.take().unwrap().started(handle.clone());
                    sleep(Duration::from_millis(20)).await; // the group is cancelled meanwhile
                    handle.set_shield(false);
                    sleep(Duration::from_secs(3600)).await;
                    "not reached"
                })
                .await;
            assert_eq!(out, None);
            Ok(())
        })
        .await
        .unwrap();
        tg.cancel();
        sleep(Duration::from_secs(3600)).await;
        Ok::<(), String>(())
    })
    .await;
    assert!(res.unwrap_err().is_cancelled());
}

/// `test_nested_shield`: a scope cancelled from another task while a shield inside it runs a
/// `fail_after`: the shield keeps the cancel out, the deadline fires inside it, and the body
/// returns the timeout as its error; the cancelled scope around never catches anything.
pub async fn deadline_inside_a_shield_under_a_cancelled_scope_is_a_timeout() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let out = task_group(|tg| async move {
        tg.start_soon(async move {
            sleep(Duration::from_millis(5)).await;
            handle.cancel();
            Ok(())
        })
        .unwrap();
        let r = scope
            .run(
                CancelScope::shielded()
                    .run(fail_after(Duration::from_millis(50), sleep(Duration::from_secs(3600)))),
            )
            .await;
        match r {
            Some(Some(Err(e))) => Err::<(), _>(e),
            other => panic!("{other:?}"),
        }
    })
    .await;
    let err: Elapsed = out.unwrap_err().into_single().unwrap();
    assert!(!err.to_string().is_empty());
}

/// `test_triple_nested_shield_checkpoint_in_outer` / `_in_middle`: two scopes cancelled from
/// inside a shield nested in them; the shield ends with no checkpoint after, so the
/// cancellation is delivered at the next checkpoint of the outer body (or of the middle one).
pub async fn cancellations_left_by_a_shield_are_delivered_at_the_next_checkpoint() {
    let (scope1, scope2) = (CancelScope::new(), CancelScope::new());
    let mut got_past = false;
    let out = scope1
        .run(async {
            let _ = scope2
                .run(async {
                    CancelScope::shielded()
                        .run(async {
                            scope1.cancel();
                            scope2.cancel();
                        })
                        .await;
                })
                .await;
            checkpoint().await;
            got_past = true;
        })
        .await;
    assert_eq!(out, None);
    assert!(!got_past);

    let scope1 = CancelScope::new();
    let mut got_past = false;
    let out = scope1
        .run(async {
            CancelScope::new()
                .run(async {
                    CancelScope::shielded().run(async { scope1.cancel() }).await;
                    checkpoint().await;
                    got_past = true;
                })
                .await;
        })
        .await;
    assert_eq!(out, None);
    assert!(!got_past);
    assert!(scope1.cancelled_caught());
}

/// `test_deadline_moved`: a deadline moved later from inside the body before it passes is the
/// one that counts.
pub async fn deadline_moved_later_from_the_body() {
    let scope = CancelScope::with_deadline(current_time() + Duration::from_millis(20));
    let out = scope
        .run(async {
            scope.set_deadline(Some(current_time() + Duration::from_secs(60)));
            sleep(Duration::from_millis(40)).await;
            "slept past the first deadline"
        })
        .await;
    assert_eq!(out, Some("slept past the first deadline"));
    assert!(!scope.cancel_called());
}

/// `test_timeout_error_with_multiple_cancellations`: a `fail_after` around a group whose body
/// and task it cuts off reports the timeout.
pub async fn timeout_around_a_group_it_cut_off_is_elapsed() {
    let out = fail_after(
        Duration::from_millis(20),
        task_group(|tg| async move {
            tg.start_soon(async {
                sleep(Duration::from_secs(2)).await;
                Ok(())
            })
            .unwrap();
            sleep(Duration::from_secs(2)).await;
            Ok::<(), String>(())
        }),
    )
    .await;
    assert!(out.is_err(), "{out:?}");
}

/// AnyIO's `test_cancel_shielded_scope`: a shielded scope that cancels itself is cancelled at
/// its next checkpoint, and `run` returns `None`; the shield only keeps *outer* cancellations
/// out.
pub async fn shielded_scope_cancelling_itself_is_cancelled_at_its_checkpoint() {
    let scope = CancelScope::shielded();
    let mut reached = false;
    let out = scope
        .run(async {
            scope.cancel();
            anyscope_core::checkpoint().await;
            reached = true;
        })
        .await;
    assert_eq!(out, None);
    assert!(!reached && scope.cancelled_caught());
}

/// `test_nested_move_on_after`: the outer, shorter deadline is caught by the outer scope; the
/// inner scope, dropped with the body, was neither cancelled nor caught anything, and the
/// effective deadline inside both is the outer one.
pub async fn nested_deadlines_only_the_expired_scope_is_cancelled() {
    let outer = CancelScope::with_deadline(current_time() + Duration::from_millis(20));
    let inner = CancelScope::with_deadline(current_time() + Duration::from_secs(60));
    let mut seen = Vec::new();
    let out = outer
        .run(async {
            seen.push(anyscope_core::current_effective_deadline());
            let _ = inner
                .run(async {
                    seen.push(anyscope_core::current_effective_deadline());
                    sleep(Duration::from_secs(3600)).await;
                })
                .await;
            seen.push(None);
        })
        .await;
    assert_eq!(out, None);
    assert_eq!(seen, [outer.deadline(), outer.deadline()]);
    assert!(outer.cancel_called() && outer.cancelled_caught());
    assert!(!inner.cancel_called() && !inner.cancelled_caught());
}
