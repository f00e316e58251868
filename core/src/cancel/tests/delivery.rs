//! Where and when delivery happens: the poll after the cancel, the first checkpoint, the
//! outermost scope, timers armed only when needed and re-armed when moved.

use std::task::Poll;
use std::time::Duration;

use super::*;
use crate::cancel::{
    CancelReason, CancelScope, cancel_shielded_checkpoint, checkpoint, fail_after, move_on_after,
};
use crate::testing::{Counter, Gate, Log, MockRuntime, poll_with};

#[test]
fn delivery_on_the_poll_right_after_cancel_and_not_before() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    let gate = Gate::new();
    let mut fut = rooted(&rt, scope.run(gate.wait()));
    let (wakes, waker) = Counter::new();

    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!(gate.polls(), 2, "not cancelled: the body is polled each time");
    assert_eq!(wakes.get(), 0);

    scope.cancel();
    assert_eq!(gate.dropped(), 0, "cancel() alone does not drop the body");
    assert!(!scope.cancelled_caught());

    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(gate.polls(), 2, "delivered at the last suspension: the body is not polled again");
    assert_eq!(gate.dropped(), 1);
    assert!(scope.cancelled_caught());
}

#[test]
fn cancelled_before_first_poll_delivers_at_first_checkpoint_without_a_wake() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    scope.cancel();
    let log = Log::new();
    let l = log.clone();
    let mut fut = rooted(
        &rt,
        scope.run(async move {
            l.push("before");
            checkpoint().await;
            l.push("after");
        }),
    );
    let (wakes, waker) = Counter::new();
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(log.events(), ["before"]);
    assert_eq!(wakes.get(), 0, "the checkpoint neither yields nor wakes when cancelled");
}

#[test]
fn outermost_cancelled_scope_catches_at_the_shared_suspension() {
    let rt = MockRuntime::new();
    let outer = CancelScope::new();
    let inner = CancelScope::new();
    let gate = Gate::new();
    let (i, g) = (inner.clone(), gate.clone());
    let mut fut = rooted(&rt, outer.run(async move { i.run(g.wait()).await }));
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    inner.cancel();
    outer.cancel();
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert!(outer.cancelled_caught());
    assert!(inner.cancel_called() && !inner.cancelled_caught());
    assert_eq!(gate.dropped(), 1);
}

#[test]
fn cancel_shielded_checkpoint_yields_once_and_does_not_deliver() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    scope.cancel();
    let log = Log::new();
    let l = log.clone();
    let mut fut = rooted(
        &rt,
        scope.run(async move {
            l.push("before");
            cancel_shielded_checkpoint().await;
            l.push("after");
            checkpoint().await;
            l.push("unreachable");
        }),
    );
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!(wakes.get(), 1, "it yields: woken at once");
    assert_eq!(log.events(), ["before"]);
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(log.events(), ["before", "after"]);
}

#[test]
fn deadline_arms_no_timer_when_the_body_completes_on_the_first_poll() {
    let rt = MockRuntime::new();
    let (_, waker) = Counter::new();
    let mut a = rooted(&rt, move_on_after(Duration::from_secs(1), async { 5 }));
    assert_eq!(poll_with(a.as_mut(), &waker), Poll::Ready(Some(5)));
    let mut b = rooted(&rt, fail_after(Duration::from_secs(1), async { 6 }));
    assert_eq!(poll_with(b.as_mut(), &waker), Poll::Ready(Ok(6)));
    let scope = CancelScope::with_deadline(rt.handle().now() + Duration::from_secs(1));
    let mut c = rooted(&rt, scope.run(async { 7 }));
    assert_eq!(poll_with(c.as_mut(), &waker), Poll::Ready(Some(7)));
    let mut d = rooted(&rt, CancelScope::new().run(Gate::new().wait()));
    assert!(poll_with(d.as_mut(), &waker).is_pending());
    assert_eq!(rt.timers_created(), 0, "no timer for a ready body or a scope without deadline");

    // A body that suspends arms exactly one timer, which delivers when the clock passes it.
    let (wakes, waker) = Counter::new();
    let gate = Gate::new();
    let mut e = rooted(&rt, move_on_after(Duration::from_secs(1), gate.wait()));
    assert!(poll_with(e.as_mut(), &waker).is_pending());
    assert!(poll_with(e.as_mut(), &waker).is_pending());
    assert_eq!(rt.timers_created(), 1);
    rt.advance(Duration::from_millis(999));
    assert_eq!(wakes.get(), 0);
    rt.advance(Duration::from_millis(1));
    assert_eq!(wakes.get(), 1);
    assert_eq!(poll_with(e.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(gate.dropped(), 1);
}

#[test]
fn set_deadline_rearms_the_timer_earlier_and_later() {
    let rt = MockRuntime::new();
    let now = rt.handle().now();
    let scope = CancelScope::with_deadline(now + Duration::from_secs(10));
    let gate = Gate::new();
    let mut fut = rooted(&rt, scope.run(gate.wait()));
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!(rt.timers_created(), 1);

    // Earlier: the handle wakes the scope, which resets its timer.
    scope.set_deadline(Some(now + Duration::from_secs(1)));
    assert_eq!(wakes.get(), 1);
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!((rt.timers_created(), rt.timer_resets()), (1, 1));

    // Later again, before it fires: passing the old deadline wakes nothing.
    scope.set_deadline(Some(now + Duration::from_secs(5)));
    assert_eq!(wakes.get(), 2);
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!((rt.timers_created(), rt.timer_resets()), (1, 2));
    rt.advance(Duration::from_secs(2));
    assert_eq!(wakes.get(), 2);
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert!(!scope.cancel_called());

    rt.advance(Duration::from_secs(3));
    assert_eq!(wakes.get(), 3);
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(scope.cancel_reason(), Some(CancelReason::Deadline));
}

#[test]
fn own_deadline_expiry_wakes_the_task_once() {
    let rt = MockRuntime::new();
    let scope = CancelScope::with_deadline(rt.handle().now() + Duration::from_secs(1));
    let mut fut = rooted(&rt, scope.run(Gate::new().wait()));
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    rt.advance(Duration::from_secs(1));
    assert_eq!(wakes.get(), 1, "the timer wakes the task");
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(wakes.get(), 1, "noticing its own deadline, the scope does not wake itself again");
}
