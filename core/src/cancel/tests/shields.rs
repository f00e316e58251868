//! Shield counting: delivery deferred while a shield is active, and the count balanced when
//! the shielded body completes, panics or is dropped.

use std::future::Future;
use std::task::Poll;

use super::*;
use crate::cancel::{CancelScope, cancel_shielded_checkpoint, checkpoint, shield};
use crate::testing::{CatchUnwind, Counter, Gate, Log, MockRuntime, poll_with};

#[test]
fn shield_defers_delivery_until_it_completes_then_next_suspension_delivers() {
    let rt = MockRuntime::new();
    let outer = CancelScope::new();
    let gate = Gate::new();
    let log = Log::new();
    let (l, g) = (log.clone(), gate.clone());
    let mut fut = rooted(
        &rt,
        outer.run(async move {
            shield(g.wait()).await;
            l.push("after shield");
            checkpoint().await;
            l.push("unreachable");
        }),
    );
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    outer.cancel();
    assert_eq!(wakes.get(), 1);
    assert!(poll_with(fut.as_mut(), &waker).is_pending(), "the shield holds the delivery");
    assert_eq!((gate.polls(), gate.dropped()), (2, 0));
    gate.open();
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None), "delivered at the checkpoint");
    assert_eq!(log.events(), ["after shield"]);
}

#[test]
fn shield_count_stays_balanced_when_the_shielded_body_panics() {
    let rt = MockRuntime::new();
    let outer = CancelScope::new();
    let gate = Gate::new();
    let log = Log::new();
    let (l, g) = (log.clone(), gate.clone());
    let mut fut = rooted(
        &rt,
        outer.run(async move {
            let r = CatchUnwind(Box::pin(shield(async move {
                g.wait().await;
                panic!("boom in a shield");
            })))
            .await;
            l.push(format!("shield panicked: {}", r.is_err()));
            checkpoint().await;
            l.push("unreachable");
        }),
    );
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    outer.cancel();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    gate.open();
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(log.events(), ["shield panicked: true"]);
}

#[test]
fn shield_count_stays_balanced_when_the_shield_is_dropped_from_outside() {
    let rt = MockRuntime::new();
    let outer = CancelScope::new();
    outer.cancel();
    let gate = Gate::new();
    let log = Log::new();
    let (l, g) = (log.clone(), gate.clone());
    let mut fut = rooted(
        &rt,
        outer.run(async move {
            // A select-like combinator: polls the shield once, then gives up on it.
            let mut s = Box::pin(shield(g.wait()));
            let mut c = Box::pin(cancel_shielded_checkpoint());
            std::future::poll_fn(|cx| {
                assert!(s.as_mut().poll(cx).is_pending());
                assert!(c.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            drop(s);
            drop(c);
            l.push("gave up on the shield");
            checkpoint().await;
            l.push("unreachable");
        }),
    );
    let (_, waker) = Counter::new();
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(log.events(), ["gave up on the shield"]);
    assert_eq!(gate.dropped(), 1);
}

#[test]
fn shield_turned_off_from_another_thread_delivers_the_pending_outer_cancel() {
    let rt = MockRuntime::new();
    let outer = CancelScope::new();
    let inner = CancelScope::shielded();
    let gate = Gate::new();
    let (i, g) = (inner.clone(), gate.clone());
    let mut fut = rooted(&rt, outer.run(async move { i.run(g.wait()).await }));
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    outer.cancel();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    let before = wakes.get();
    let handle = inner.clone();
    std::thread::spawn(move || handle.set_shield(false)).join().unwrap();
    assert!(wakes.get() > before, "turning the shield off wakes the scope");
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert!(outer.cancelled_caught());
    assert!(!inner.cancel_called() && !inner.cancelled_caught());
}
