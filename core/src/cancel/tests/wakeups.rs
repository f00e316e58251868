//! Wake-ups: each change through a handle wakes the pending scope exactly once, including
//! when it races with the scope's own poll; nothing is woken after the scope finished.

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use super::*;
use crate::cancel::{CancelReason, CancelScope};
use crate::testing::{Counter, Gate, MockRuntime, poll_with};

#[test]
fn cancel_from_another_thread_wakes_the_scope_exactly_once() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    let gate = Gate::new();
    let mut fut = rooted(&rt, scope.run(gate.wait()));
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());

    let handle = scope.clone();
    std::thread::spawn(move || {
        handle.cancel();
        handle.cancel_with("again");
        handle.cancel();
    })
    .join()
    .unwrap();
    assert_eq!(wakes.get(), 1);
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(wakes.get(), 1);
    assert_eq!(scope.cancel_reason(), Some(CancelReason::Explicit(None)));
}

#[test]
fn cancel_racing_with_a_poll_never_loses_the_wake_up() {
    for _ in 0..200 {
        let rt = MockRuntime::new();
        let scope = CancelScope::new();
        let gate = Gate::new();
        let mut fut = rooted(&rt, scope.run(gate.wait()));
        let (wakes, waker) = Counter::new();
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let (handle, b) = (scope.clone(), barrier.clone());
        let canceller = std::thread::spawn(move || {
            b.wait();
            handle.cancel();
        });
        barrier.wait();
        let first = poll_with(fut.as_mut(), &waker);
        canceller.join().unwrap();
        if first.is_pending() {
            assert_eq!(wakes.get(), 1, "a pending scope must be woken by the cancel");
            assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
        } else {
            assert_eq!(first, Poll::Ready(None));
        }
    }
}

#[test]
fn handle_calls_after_the_scope_finished_wake_nothing() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    let gate = Gate::new();
    let mut fut = rooted(&rt, scope.run(gate.wait()));
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    gate.open();
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(Some(())));
    assert_eq!(wakes.get(), 1);
    scope.set_shield(true);
    scope.set_shield(false);
    scope.set_deadline(Some(rt.handle().now()));
    scope.cancel();
    assert_eq!(wakes.get(), 1, "a finished scope keeps no waker");
    assert!(scope.cancel_called() && !scope.cancelled_caught());
}

/// Runs `race` on another thread at the same time as the first poll of `fut`, then checks that
/// a pending future was woken and delivers on its next poll.
fn race_first_poll<T: PartialEq + std::fmt::Debug>(
    mut fut: Boxed<T>,
    race: impl FnOnce() + Send + 'static,
    expected: T,
) {
    let (wakes, waker) = Counter::new();
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let b = barrier.clone();
    let other = std::thread::spawn(move || {
        b.wait();
        race();
    });
    barrier.wait();
    let first = poll_with(fut.as_mut(), &waker);
    other.join().unwrap();
    if first.is_pending() {
        assert!(wakes.get() >= 1, "a pending scope must be woken by the change");
        assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(expected));
    } else {
        assert_eq!(first, Poll::Ready(expected));
    }
}

#[test]
fn shield_turned_off_racing_with_the_first_poll_never_loses_the_wake_up() {
    for _ in 0..500 {
        let rt = MockRuntime::new();
        let outer = CancelScope::new();
        outer.cancel();
        let inner = CancelScope::shielded();
        let i = inner.clone();
        let fut = rooted(&rt, outer.run(async move { i.run(Gate::new().wait()).await }));
        race_first_poll(fut, move || inner.set_shield(false), None);
    }
}

#[test]
fn deadline_moved_racing_with_the_first_poll_never_loses_the_wake_up() {
    for _ in 0..500 {
        let rt = MockRuntime::new();
        let now = rt.handle().now();
        let scope = CancelScope::with_deadline(now + Duration::from_secs(3600));
        let fut = rooted(&rt, scope.run(Gate::new().wait()));
        let handle = scope.clone();
        race_first_poll(fut, move || handle.set_deadline(Some(now)), None);
    }
}

#[test]
fn shield_turned_off_while_the_scope_arms_its_timer_wakes_it() {
    let rt = MockRuntime::new();
    let outer = CancelScope::new();
    outer.cancel();
    let inner = CancelScope::shielded();
    inner.set_deadline(Some(rt.handle().now() + Duration::from_secs(3600)));
    let i = inner.clone();
    let mut fut = rooted(&rt, outer.run(async move { i.run(Gate::new().wait()).await }));
    // The inner scope arms its timer after its body first returned `Pending`: turn the shield
    // off right then, as another thread could.
    let handle = inner.clone();
    rt.on_next_timer(move || handle.set_shield(false));
    let (wakes, waker) = Counter::new();
    if poll_with(fut.as_mut(), &waker).is_pending() {
        assert_eq!(wakes.get(), 1, "the change must wake the pending scope");
        assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    }
    assert!(outer.cancelled_caught());
}

#[test]
fn deadline_moved_while_the_scope_arms_its_timer_wakes_it() {
    let rt = MockRuntime::new();
    let now = rt.handle().now();
    let scope = CancelScope::with_deadline(now + Duration::from_secs(3600));
    let mut fut = rooted(&rt, scope.run(Gate::new().wait()));
    let handle = scope.clone();
    rt.on_next_timer(move || handle.set_deadline(Some(now)));
    let (wakes, waker) = Counter::new();
    if poll_with(fut.as_mut(), &waker).is_pending() {
        assert_eq!(wakes.get(), 1, "the change must wake the pending scope");
        assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    }
    assert!(scope.cancelled_caught());
}
