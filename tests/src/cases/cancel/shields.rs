//! Shields: blocking outer cancels and deadlines, toggling, where the deferred delivery lands,
//! and the shielded checkpoint.

use std::time::Duration;

use anyscope_core::{
    CancelScope, cancel_shielded_checkpoint, checkpoint, current_effective_deadline, current_time,
    is_cancelled, move_on_after, shield, sleep, sleep_until, spawn,
};

use crate::support::{Log, wait_until};

/// A shield blocks an outer cancel: the shielded body runs to its end, delivery waits.
pub async fn shield_blocks_outer_cancel() {
    let outer = CancelScope::new();
    let handle = outer.clone();
    let log = Log::new();
    let l = log.clone();
    let out = outer
        .run(async move {
            shield(async {
                handle.cancel();
                sleep(Duration::from_millis(20)).await;
                checkpoint().await;
                l.push("shielded body finished");
            })
            .await;
            l.push("after shield");
            checkpoint().await;
            l.push("unreachable");
        })
        .await;
    assert_eq!(out, None);
    assert!(outer.cancelled_caught());
    assert_eq!(log.events(), ["shielded body finished", "after shield"]);
}

/// A shield blocks an outer deadline that passes while it runs.
pub async fn shield_blocks_outer_deadline() {
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_millis(20), async move {
        let deadline = current_effective_deadline().expect("inside a deadline");
        shield(async {
            // Sleeps past the outer deadline.
            sleep_until(deadline + Duration::from_millis(50)).await;
            l.push("shielded sleep finished");
        })
        .await;
        sleep(Duration::from_secs(10)).await;
        l.push("unreachable");
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(log.events(), ["shielded sleep finished"]);
}

/// The pending delivery happens at the first unshielded suspension after the shield ends: code
/// between the shield and that point runs.
pub async fn delivery_at_first_unshielded_suspension_after_shield() {
    let outer = CancelScope::new();
    outer.cancel();
    let log = Log::new();
    let l = log.clone();
    let out = outer
        .run(async move {
            l.push("before shield");
            shield(async {
                sleep(Duration::from_millis(5)).await;
                l.push("inside shield");
            })
            .await;
            l.push("between shield and checkpoint");
            sleep(Duration::from_secs(10)).await;
            l.push("after the unshielded suspension");
        })
        .await;
    assert_eq!(out, None);
    assert_eq!(log.events(), ["before shield", "inside shield", "between shield and checkpoint"]);
}

/// A shielded scope blocks outer cancellation but can still be cancelled itself; it catches its
/// own cancellation, and the outer one is delivered after it.
pub async fn shielded_scope_can_cancel_itself() {
    let outer = CancelScope::new();
    let inner = CancelScope::shielded();
    let (outer2, inner2) = (outer.clone(), inner.clone());
    let log = Log::new();
    let l = log.clone();
    let out = outer
        .run(async move {
            outer2.cancel();
            let r = inner2
                .run(async {
                    sleep(Duration::from_millis(5)).await; // the shield holds the outer cancel
                    l.push("slept while shielded");
                    inner2.cancel();
                    checkpoint().await;
                    l.push("unreachable");
                })
                .await;
            l.push(format!("inner returned {r:?}"));
            checkpoint().await;
            l.push("unreachable too");
        })
        .await;
    assert_eq!(out, None);
    assert!(inner.cancelled_caught());
    assert!(outer.cancelled_caught());
    assert_eq!(log.events(), ["slept while shielded", "inner returned None"]);
}

/// A shielded scope with a deadline of its own (a bounded cleanup): it ignores the outer cancel
/// but its own deadline still ends it.
pub async fn shielded_scope_with_own_deadline() {
    let outer = CancelScope::new();
    let handle = outer.clone();
    let bounded = CancelScope::shielded();
    let b = bounded.clone();
    let out = outer
        .run(async move {
            handle.cancel();
            b.set_deadline(Some(current_time() + Duration::from_millis(20)));
            let r = b.run(sleep(Duration::from_secs(10))).await;
            assert_eq!(r, None);
            "after bounded cleanup"
        })
        .await;
    // No checkpoint after the shielded scope: the body completes.
    assert_eq!(out, Some("after bounded cleanup"));
    assert!(bounded.cancelled_caught());
    assert!(bounded.cancel_reason().unwrap().is_deadline());
    assert!(outer.cancel_called() && !outer.cancelled_caught());
}

/// A shield turned on from inside the body blocks an outer cancel that arrives afterwards (from
/// another task); delivery happens after the shielded scope ends.
pub async fn shield_toggled_on_blocks_pending_outer_cancel() {
    let outer = CancelScope::new();
    let inner = CancelScope::new();
    let (outer2, inner2) = (outer.clone(), inner.clone());
    let log = Log::new();
    let l = log.clone();
    let out = outer
        .run(async move {
            inner2
                .run(async {
                    inner2.set_shield(true);
                    let canceller = outer2.clone();
                    let _canceller = spawn(async move { canceller.cancel() });
                    wait_until("the outer scope is cancelled", || outer2.cancel_called()).await;
                    sleep(Duration::from_millis(5)).await;
                    l.push("shielded work after the outer cancel");
                })
                .await;
            l.push("after inner");
            checkpoint().await;
            l.push("unreachable");
        })
        .await;
    assert_eq!(out, None);
    assert!(outer.cancelled_caught());
    assert!(!inner.cancel_called() && !inner.cancelled_caught());
    assert_eq!(log.events(), ["shielded work after the outer cancel", "after inner"]);
}

/// A shield turned on inside a scope whose enclosing scope was cancelled a moment before (the
/// cancellation not delivered yet: no suspension in between) blocks that cancellation.
pub async fn shield_toggled_on_after_outer_cancel_blocks_it() {
    let outer = CancelScope::new();
    let inner = CancelScope::new();
    let (outer2, inner2) = (outer.clone(), inner.clone());
    let log = Log::new();
    let l = log.clone();
    let out = outer
        .run(async move {
            inner2
                .run(async {
                    outer2.cancel();
                    l.push(format!("cancelled, is_cancelled={}", is_cancelled()));
                    inner2.set_shield(true);
                    l.push(format!("shielded, is_cancelled={}", is_cancelled()));
                    sleep(Duration::from_millis(5)).await;
                    checkpoint().await;
                    l.push("shielded work done");
                })
                .await;
            checkpoint().await;
            l.push("unreachable");
        })
        .await;
    assert_eq!(out, None);
    assert!(outer.cancelled_caught());
    assert_eq!(
        log.events(),
        ["cancelled, is_cancelled=true", "shielded, is_cancelled=false", "shielded work done"]
    );
}

/// A shield turned off while an outer cancel is pending: delivery follows at the next
/// suspension inside the (now unshielded) scope, and the outer scope catches.
pub async fn shield_toggled_off_delivers_pending_outer_cancel() {
    let outer = CancelScope::new();
    let inner = CancelScope::shielded();
    let (outer2, inner2) = (outer.clone(), inner.clone());
    let log = Log::new();
    let l = log.clone();
    let out = outer
        .run(async move {
            outer2.cancel();
            inner2
                .run(async {
                    sleep(Duration::from_millis(5)).await;
                    l.push("slept while shielded");
                    inner2.set_shield(false);
                    l.push("shield off");
                    sleep(Duration::from_secs(10)).await;
                    l.push("unreachable");
                })
                .await;
            l.push("unreachable too");
        })
        .await;
    assert_eq!(out, None);
    assert!(outer.cancelled_caught());
    assert!(!inner.cancel_called() && !inner.cancelled_caught());
    assert_eq!(log.events(), ["slept while shielded", "shield off"]);
}

/// `is_cancelled()` is true inside a cancelled scope and false inside a shield within it.
pub async fn is_cancelled_true_inside_false_in_shield() {
    assert!(!is_cancelled());
    let scope = CancelScope::new();
    scope.cancel();
    let out =
        scope.run(async { (is_cancelled(), shield(async { is_cancelled() }).await, is_cancelled()) }).await;
    assert_eq!(out, Some((true, false, true)));
}

/// `cancel_shielded_checkpoint()` yields but is never a delivery point: the body goes on to the
/// next real checkpoint.
pub async fn cancel_shielded_checkpoint_is_not_a_delivery_point() {
    let scope = CancelScope::new();
    scope.cancel();
    let log = Log::new();
    let l = log.clone();
    let out = scope
        .run(async move {
            l.push("before");
            cancel_shielded_checkpoint().await;
            l.push("after the shielded checkpoint");
            checkpoint().await;
            l.push("unreachable");
        })
        .await;
    assert_eq!(out, None);
    assert_eq!(log.events(), ["before", "after the shielded checkpoint"]);
}
