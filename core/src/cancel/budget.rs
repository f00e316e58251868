//! The cooperative budget: how a deadline reaches a body that never suspends.
//!
//! A body such as `loop { *m.lock().await += 1 }` on an uncontended lock never returns
//! `Pending`, so its scope is never polled with the body suspended and its deadline timer never
//! fires. As tokio does (`task/coop`), every task anyscope runs gets a budget of [`BUDGET`]
//! ready operations per poll of the task; every anyscope awaitable spends one unit from it
//! through [`poll_proceed`], even when it is ready at once.
//!
//! # Invariants
//!
//! 1. The budget is a per-poll value on the thread, owned by the task root being polled: the
//!    root sets it to [`BUDGET`] when its poll starts and restores the previous value when the
//!    poll ends, unwinding included ([`enter_task`]'s guard). Nothing else writes it but
//!    [`poll_proceed`], which only spends. Outside a task root's poll it is *unconstrained*
//!    (`None`): code polled by a foreign executor, a detached cleanup, a test, never yields
//!    because of it.
//! 2. When the budget is spent, [`poll_proceed`] marks the poll *exhausted*, wakes the task
//!    through the runtime's `yield_now` and returns `Pending` (taking nothing: the operation is
//!    retried in the next poll of the task, when the budget is full again). Every later
//!    [`poll_proceed`] of the same poll does the same.
//! 3. A frame whose body returned `Pending` in an exhausted poll reads the clock and compares it
//!    with its deadline (`Deadline::poll`), in addition to polling its timer: a passed deadline
//!    is delivered in that very poll, whatever the runtime's timer driver did meanwhile. A
//!    cancel from another task needs no clock: [`poll_proceed`] reads the cancel flags first, on
//!    every call.
//!
//! So a body that never suspends is cut off after at most [`BUDGET`] ready operations past its
//! deadline (plus the work between two of them), and it yields to the runtime every [`BUDGET`]
//! operations, letting other tasks (and the canceller) run on a current-thread runtime.
//!
//! The unit is spent before the operation is tried: an operation that then turns out to be
//! pending spent a unit for nothing, which only makes the next yield a little earlier.

use std::cell::Cell;
use std::task::{Context, Poll};

use crate::frame;

/// Ready operations a task may perform per poll before it yields (tokio's figure).
pub(crate) const BUDGET: u8 = 128;

#[derive(Clone, Copy)]
struct Budget {
    /// Units left in this poll; `None` outside a task root's poll (unconstrained).
    left: Option<u8>,
    /// The budget ran out during this poll (invariant 3).
    exhausted: bool,
}

const UNCONSTRAINED: Budget = Budget { left: None, exhausted: false };

thread_local! {
    static CURRENT: Cell<Budget> = const { Cell::new(UNCONSTRAINED) };
}

/// Fills the budget for the poll of a task root; the guard restores the previous budget
/// (invariant 1).
#[inline]
pub(crate) fn enter_task() -> TaskBudget {
    let prev = CURRENT
        .try_with(|b| b.replace(Budget { left: Some(BUDGET), exhausted: false }))
        .unwrap_or(UNCONSTRAINED);
    TaskBudget { prev }
}

/// Restores the budget of whatever was polled around a task root. See [`enter_task`].
pub(crate) struct TaskBudget {
    prev: Budget,
}

impl Drop for TaskBudget {
    #[inline]
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|b| b.set(self.prev));
    }
}

/// Whether the budget ran out during the current poll of the task (invariant 3).
pub(crate) fn exhausted() -> bool {
    CURRENT.try_with(|b| b.get().exhausted).unwrap_or(false)
}

/// The checkpoint every anyscope awaitable passes before it tries its operation.
///
/// `Pending` (the caller returns `Pending` at once and changes nothing) when:
/// - the innermost scope is effectively cancelled: no wake-up, the scope that catches drops the
///   caller in this very poll;
/// - the task's budget is spent (invariant 2): the task is woken to be polled again.
///
/// `Ready` otherwise, having spent one unit.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    if frame::cancelled_here() {
        return Poll::Pending;
    }
    let proceed = CURRENT
        .try_with(|b| {
            let mut budget = b.get();
            match budget.left {
                None => true,
                Some(0) => {
                    budget.exhausted = true;
                    b.set(budget);
                    false
                }
                Some(n) => {
                    budget.left = Some(n - 1);
                    b.set(budget);
                    true
                }
            }
        })
        .unwrap_or(true);
    if proceed {
        Poll::Ready(())
    } else {
        frame::yield_now(cx);
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Counter;

    #[test]
    fn unconstrained_outside_a_task_root() {
        let (counter, waker) = Counter::new();
        let mut cx = Context::from_waker(&waker);
        for _ in 0..(BUDGET as usize * 4) {
            assert!(poll_proceed(&mut cx).is_ready());
        }
        assert!(!exhausted());
        assert_eq!(counter.get(), 0);
    }

    #[test]
    fn a_task_poll_yields_after_the_budget_and_the_guard_restores() {
        let (counter, waker) = Counter::new();
        let mut cx = Context::from_waker(&waker);
        {
            let _task = enter_task();
            for _ in 0..BUDGET {
                assert!(poll_proceed(&mut cx).is_ready());
            }
            assert!(!exhausted());
            assert!(poll_proceed(&mut cx).is_pending());
            assert!(exhausted());
            assert!(poll_proceed(&mut cx).is_pending(), "stays spent for the rest of the poll");
            assert!(counter.get() >= 1, "the task is woken to be polled again");
            {
                let _nested = enter_task();
                assert!(poll_proceed(&mut cx).is_ready(), "a nested task root has its own budget");
            }
            assert!(exhausted(), "the outer poll's budget is restored");
        }
        assert!(!exhausted());
        assert!(poll_proceed(&mut cx).is_ready());
    }
}
