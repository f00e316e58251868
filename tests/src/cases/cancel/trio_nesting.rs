//! Trio/AnyIO semantics of nested timeouts: which scope catches when several expire, what
//! `current_effective_deadline` reads at each level (a shield cuts the outer deadlines off but
//! keeps its own), a shielded scope with a deadline of its own inside a cancelled scope, and a
//! body that completes after its deadline passed without reaching a checkpoint.

use std::time::{Duration, Instant};

use anyscope_core::{
    CancelScope, current_effective_deadline, current_time, fail_after, move_on_after, shield, sleep,
};

const LONG: Duration = Duration::from_secs(3600);

/// `fail_after` inside `move_on_after`: the inner, shorter deadline fails the inner scope
/// only (the outer body goes on); the outer, shorter one is caught by the outer scope, and the
/// inner `fail_after` reports no `Elapsed` (it is dropped with the body).
pub async fn nested_timeouts_the_expiring_scope_catches() {
    let out = move_on_after(LONG, async {
        let inner = fail_after(Duration::from_millis(5), sleep(LONG)).await;
        assert!(inner.is_err(), "the inner deadline fired");
        "outer body went on"
    })
    .await;
    assert_eq!(out, Some("outer body went on"));

    let mut inner_returned = false;
    let out = move_on_after(Duration::from_millis(5), async {
        let _ = fail_after(LONG, sleep(LONG)).await;
        inner_returned = true;
    })
    .await;
    assert_eq!(out, None);
    assert!(!inner_returned, "the inner scope was dropped with the body, not told Elapsed");

    // Both expire at the same instant: the outermost catches.
    let deadline = current_time() + Duration::from_millis(5);
    let out = anyscope_core::move_on_at(deadline, async {
        let _ = anyscope_core::fail_at(deadline, sleep(LONG)).await;
        "inner caught"
    })
    .await;
    assert_eq!(out, None, "the outer scope catches when both expire");
}

/// `current_effective_deadline` is the minimum up to the nearest shield: an inner longer
/// deadline does not raise it, a shield hides the outer ones, and a shield's own deadline
/// counts.
pub async fn effective_deadline_is_the_minimum_up_to_the_nearest_shield() {
    let outer = current_time() + Duration::from_secs(100);
    let scope = CancelScope::with_deadline(outer);
    let seen = scope
        .run(async {
            let here = current_effective_deadline();
            let inner_longer = anyscope_core::move_on_at(outer + Duration::from_secs(100), async {
                current_effective_deadline()
            })
            .await
            .unwrap();
            let inner_shorter = anyscope_core::move_on_at(outer - Duration::from_secs(50), async {
                current_effective_deadline()
            })
            .await
            .unwrap();
            let in_shield = shield(async { current_effective_deadline() }).await;
            let own = CancelScope::shielded();
            own.set_deadline(Some(outer + Duration::from_secs(7)));
            let in_own_shield = own.run(async { current_effective_deadline() }).await.unwrap();
            (here, inner_longer, inner_shorter, in_shield, in_own_shield)
        })
        .await
        .unwrap();
    assert_eq!(seen.0, Some(outer));
    assert_eq!(seen.1, Some(outer), "a longer inner deadline does not raise the effective one");
    assert_eq!(seen.2, Some(outer - Duration::from_secs(50)));
    assert_eq!(seen.3, None, "a shield hides the outer deadlines");
    assert_eq!(seen.4, Some(outer + Duration::from_secs(7)), "a shield's own deadline counts");
}

/// A shielded scope with a deadline of its own, inside a scope already cancelled: the outer
/// cancellation does not reach inside, the shield's own deadline does (bounded cleanup), and
/// the outer scope then delivers at its next checkpoint.
pub async fn shielded_scope_with_its_own_deadline_inside_a_cancelled_scope() {
    let outer = CancelScope::new();
    let mut steps = Vec::new();
    let out = outer
        .run(async {
            outer.cancel();
            let cleanup = CancelScope::shielded();
            cleanup.set_deadline(Some(current_time() + Duration::from_millis(300)));
            let r = cleanup
                .run(async {
                    sleep(Duration::from_millis(1)).await; // not cut off by the outer cancel
                    steps.push("shielded sleep done");
                    sleep(LONG).await; // cut off by the shield's own deadline
                })
                .await;
            steps.push(if r.is_none() { "shield caught its deadline" } else { "shield ran out" });
            assert!(cleanup.cancelled_caught());
            sleep(LONG).await;
            steps.push("never");
        })
        .await;
    assert_eq!(out, None);
    assert!(outer.cancelled_caught());
    assert_eq!(steps, ["shielded sleep done", "shield caught its deadline"]);
}

/// A body that completes after its deadline passed, without reaching a checkpoint since, is
/// not cut off: `move_on_after` returns its value and `fail_after` returns `Ok` (Trio: a scope
/// only catches a cancellation that was delivered). Likewise a body that cancels its own scope
/// and returns: `cancel_called` but not `cancelled_caught`.
pub async fn body_completing_past_its_deadline_without_a_checkpoint_keeps_its_value() {
    let spin = |d: Duration| {
        let until = Instant::now() + d;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    };
    let start = current_time();
    let out = move_on_after(Duration::from_millis(2), async {
        spin(Duration::from_millis(10));
        7
    })
    .await;
    let elapsed_on_the_runtime_clock = current_time() >= start + Duration::from_millis(2);
    assert_eq!(out, Some(7), "elapsed on the runtime clock: {elapsed_on_the_runtime_clock}");
    let out = fail_after(Duration::from_millis(2), async {
        spin(Duration::from_millis(10));
        8
    })
    .await;
    assert_eq!(out, Ok(8));
    let scope = CancelScope::new();
    let out = scope
        .run(async {
            scope.cancel();
            9
        })
        .await;
    assert_eq!(out, Some(9));
    assert!(scope.cancel_called() && !scope.cancelled_caught());
}
