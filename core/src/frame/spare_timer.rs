//! One spare deadline timer per thread: timeouts in a loop re-arm a timer instead of boxing a
//! new one each time.
//!
//! A deadline scope that ends (or is dropped) with a timer leaves it here; the next deadline
//! scope on this thread that needs a timer *of the same runtime* takes it and resets it to its
//! own deadline (`Timer::reset`) instead of asking the runtime for a new boxed one. A timer is
//! never used with a runtime other than the one that made it: the slot remembers that runtime
//! by a `Weak` reference, which keeps the runtime's allocation (not the runtime) alive, so no
//! other runtime can be allocated at its address and be taken for it.
//!
//! The spare stays armed at its last deadline until it is reused or replaced (the thread keeps
//! at most one): when that deadline passes, it may wake the task that last polled it. That is a
//! spurious wake-up, which every future must tolerate, and it happens at most once per spare.

use std::pin::Pin;
use std::sync::Weak;

use super::FRAMES;
use crate::runtime::{Handle, Runtime, Timer};

/// The thread's spare timer and the runtime that made it.
pub(super) struct SpareTimer {
    /// Keeps the runtime's allocation, so that no other runtime can be allocated at `id`.
    _rt: Weak<dyn Runtime>,
    /// The runtime's address ([`id`]), compared instead of the `Weak`'s: one load.
    id: usize,
    timer: Option<Pin<Box<dyn Timer>>>,
}

/// The address of `rt`'s runtime: the same for every handle of one runtime, and no other
/// runtime's while a `Weak` of it lives.
#[inline]
fn id(rt: &Handle) -> usize {
    std::ptr::from_ref::<dyn Runtime>(&**rt).cast::<()>() as usize
}

/// Takes the thread's spare timer if `rt` made it. The caller resets it before polling it.
pub(crate) fn take(rt: &Handle) -> Option<Pin<Box<dyn Timer>>> {
    FRAMES
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            match &mut s.spare {
                Some(spare) if spare.id == id(rt) => spare.timer.take(),
                _ => None,
            }
        })
        .ok()
        .flatten()
}

/// Leaves `timer`, made by `rt`, as the thread's spare.
pub(crate) fn keep(rt: &Handle, timer: Pin<Box<dyn Timer>>) {
    // The common case (a loop of timeouts): the slot is `rt`'s and empty, its timer taken by the
    // scope that now gives it back.
    let refused = FRAMES.try_with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else { return Some(timer) };
        match &mut s.spare {
            Some(spare) if spare.timer.is_none() && spare.id == id(rt) => {
                spare.timer = Some(timer);
                None
            }
            _ => Some(timer),
        }
    });
    // When the thread is being torn down, `timer` was dropped with the closure.
    if let Ok(Some(timer)) = refused {
        replace(rt, timer);
    }
}

/// [`keep`]'s slow path: `timer` replaces the spare, or the slot. What it replaces is dropped
/// after the stack's borrow ends: a timer's drop runs runtime code.
#[cold]
fn replace(rt: &Handle, timer: Pin<Box<dyn Timer>>) {
    let mut timer = Some(timer);
    let mut old_timer = None;
    let mut old_slot = None;
    let _ = FRAMES.try_with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else { return };
        match &mut s.spare {
            // The same runtime: the `Weak` stays (no reference count touched).
            Some(spare) if spare.id == id(rt) => {
                old_timer = std::mem::replace(&mut spare.timer, timer.take())
            }
            other => {
                old_slot = other.replace(SpareTimer { _rt: rt.downgrade(), id: id(rt), timer: timer.take() })
            }
        }
    });
    drop((old_timer, old_slot, timer));
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;
    use std::time::Duration;

    use crate::cancel::move_on_after;
    use crate::runtime::{Handle, with_runtime};
    use crate::testing::{Counter, Gate, MockRuntime, poll_with};

    /// `fut` as the root future of a task on `rt` (the same handle each time: a handle made
    /// anew is another runtime's as far as the spare is concerned).
    fn rooted<F: Future + 'static>(rt: &Handle, fut: F) -> Pin<Box<dyn Future<Output = F::Output>>> {
        Box::pin(with_runtime(rt.clone(), fut))
    }

    /// A scope whose body suspends once (timer armed for `after`) and then finishes.
    fn finishes_first(rt: &Handle, after: Duration) {
        let (_, waker) = Counter::new();
        let gate = Gate::new();
        let mut fut = rooted(rt, move_on_after(after, gate.wait()));
        assert!(poll_with(fut.as_mut(), &waker).is_pending());
        gate.open();
        assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(Some(())));
    }

    #[test]
    fn timeouts_in_a_loop_rearm_one_timer() {
        let rt = MockRuntime::new();
        let h = rt.handle();
        for _ in 0..3 {
            finishes_first(&h, Duration::from_secs(10));
        }
        assert_eq!((rt.timers_created(), rt.timer_resets()), (1, 2), "one timer, re-armed twice");
    }

    #[test]
    fn a_reused_timer_fires_at_an_earlier_and_at_a_later_deadline() {
        let rt = MockRuntime::new();
        let h = rt.handle();
        finishes_first(&h, Duration::from_secs(10));
        for (deadline, before) in [
            (Duration::from_secs(1), Duration::from_millis(999)),
            (Duration::from_secs(5), Duration::from_secs(4)),
        ] {
            let (wakes, waker) = Counter::new();
            let gate = Gate::new();
            let mut fut = rooted(&h, move_on_after(deadline, gate.wait()));
            assert!(poll_with(fut.as_mut(), &waker).is_pending());
            rt.advance(before);
            assert_eq!(wakes.get(), 0, "not before its own deadline");
            assert!(poll_with(fut.as_mut(), &waker).is_pending());
            rt.advance(deadline - before);
            assert_eq!(wakes.get(), 1);
            assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
            assert_eq!(gate.dropped(), 1);
        }
        assert_eq!(rt.timers_created(), 1);
    }

    #[test]
    fn a_spare_timer_never_serves_another_runtime() {
        let (a, b) = (MockRuntime::new(), MockRuntime::new());
        let (ha, hb) = (a.handle(), b.handle());
        finishes_first(&ha, Duration::from_secs(10));
        finishes_first(&hb, Duration::from_secs(10));
        assert_eq!((a.timers_created(), b.timers_created()), (1, 1));
        // `b`'s timer replaced `a`'s as the spare: `a` makes a new one.
        finishes_first(&ha, Duration::from_secs(10));
        assert_eq!((a.timers_created(), b.timers_created()), (2, 1));
        finishes_first(&ha, Duration::from_secs(10));
        assert_eq!(a.timers_created(), 2, "and then reuses it");
        // The spare's runtime is gone: a new runtime never takes it, whatever its address.
        drop((ha, a));
        let c = MockRuntime::new();
        finishes_first(&c.handle(), Duration::from_secs(10));
        assert_eq!(c.timers_created(), 1);
    }
}
