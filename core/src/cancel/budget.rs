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
//!
//! # Nested executors
//!
//! A future polled *synchronously inside* a task's poll (`futures::executor::block_on`, tokio's
//! `block_in_place` + `Handle::block_on`, a `Drop` that blocks on a future) sees the task's
//! frames on the thread's stack. Delivering a cancellation there the usual way (`Pending`, no
//! wake-up: the scope that catches drops the awaitable in this very poll) would park the nested
//! executor forever, since that scope's poll is the one blocked. Likewise a yield on an
//! exhausted budget that defers its wake-up to the end of the task's poll. The rules below
//! (4 to 7) live on the slow paths only — delivery, exhaustion — so a checkpoint that is not
//! cancelled and has budget left costs nothing more. The fast path pays one fold and store per
//! frame poll (callgrind: `scope_ready` 790 → 801 instructions): the frame's *entry tag*, a
//! 32-bit fold of the poll's waker (`Waker::data`) and of the address of its `Context`
//! ([`context_tag`]), kept in the frame's padding; and the task root's budget (copied in and
//! restored once per task poll) carries the detector's four fields. Below, "the poll's tag" is [`context_tag`] of the awaitable's
//! `Context`: the task's own for every `async` body, `select!` and `join!` (they pass the
//! `Context` through), another for a combinator that polls with a waker of its own
//! (`FuturesUnordered`) or an executor that builds a `Context` of its own (even around the same
//! waker, as tokio's `Handle::block_on` inside the runtime's `block_on` does).
//!
//! 4. *Foreign.* An awaitable that sees a cancellation compares the poll's tag with the entry
//!    tags of the frames from the innermost one down to the frame whose cancellation it sees.
//!    All equal: delivered exactly as before. One differs: delivered with `Pending` *and* a
//!    wake-up of the poll's waker, so a nested executor polls again instead of parking, and a
//!    combinator merely sees a spurious wake-up. A frame whose enclosing frames are cancelled
//!    decides the same way whether to leave the delivery to them (`framed.rs`,
//!    `should_deliver`). A yield on an exhausted budget is foreign when the poll's tag is not
//!    the innermost task root's entry tag: it wakes that waker at once.
//! 5. *Detection.* Foreign deliveries and yields are counted per task poll, by tag, as long as
//!    they go to the same tag in a row. The [`NESTED_AFTER`]th (3) in a row marks that tag as a
//!    nested executor's for the rest of the task's poll: something polls with it again and
//!    again within one poll of the task. `FuturesUnordered` polls a child that woke itself at
//!    most twice per `poll_next` (futures-util 0.3, `yielded >= 2`), and a `select!` or `join!`
//!    passes the task's `Context` through, so neither is taken for one in the usual shapes.
//!    As a backstop, the [`BUDGET`]th (128) foreign delivery or yield of one task poll, whatever
//!    the tags, spares *every* foreign poll the cancellations below its boundary (rule 6) for
//!    the rest of the task's poll, and every [`BUDGET`]th one refills the budget once (it does
//!    not spare them the budget for good: a busy child of a combinator still yields): a nested
//!    executor that drives several children of a combinator of its own (whose tags alternate)
//!    would otherwise be woken again and again, never parked but never done either.
//! 6. *Boundary.* For a tag marked nested, the frames below the lowest frame entered with it
//!    (all of them if there is none: a `block_on` of a bare awaitable, or a `Drop` blocking on
//!    one) are not seen: no cancellation, no yield of the task's budget. Frames entered inside
//!    the nested executor keep their semantics: their own cancellations and deadlines are
//!    delivered, the lowest of them catching as a task root would.
//! 7. *Reset.* The counter and the mark belong to the poll of the task root and are restored
//!    with the budget (invariant 1): a task root polled inside a nested executor (`isolated`)
//!    starts afresh.
//!
//! Known limits. A combinator that polls one child again and again within one poll with a
//! waker or `Context` of its own, [`NESTED_AFTER`] times or more, is taken for a nested
//! executor: the
//! awaitable it polls then completes one operation after the cancellation (nothing is lost: the
//! operation's result reaches the body), and the next checkpoint polled by the task's own poll
//! delivers. A combinator that polls more than [`BUDGET`] children with wakers of their own
//! under a cancelled scope in one poll, without stopping when they wake themselves, trips the
//! backstop of rule 5 (`FuturesUnordered` stops after two self-woken children, so it does
//! not): its children past the 128th go on past the cancellation with their ready operations
//! until they suspend or the budget runs out, with the same consequence (nothing is lost, the
//! task's next own checkpoint delivers). A nested executor that polls anyscope awaitables only
//! through several children of a combinator of its own is recognised by that backstop only,
//! after up to [`BUDGET`] wake-ups; its boundary (rule 6) is then the lowest frame entered by
//! the child's poll.
//! Queries that have no `Context` (`is_cancelled`, `current_effective_deadline`, a group's checks)
//! still see the task's frames. [`runtime::isolated`](crate::runtime::isolated) remains the
//! explicit way, with no heuristic: the future gets a task root of its own.

use std::cell::Cell;
use std::task::{Context, Poll};

use crate::frame;

/// Ready operations a task may perform per poll before it yields (tokio's figure).
pub(crate) const BUDGET: u8 = 128;

/// Foreign deliveries or yields to one poll tag in a row, within one poll of the task, that
/// mark it as a nested executor's (invariant 5).
pub(crate) const NESTED_AFTER: u8 = 3;

#[derive(Clone, Copy)]
struct Budget {
    /// Units left in this poll; `None` outside a task root's poll (unconstrained).
    left: Option<u8>,
    /// The budget ran out during this poll (invariant 3).
    exhausted: bool,
    /// Foreign deliveries in a row to the poll tagged `last` (invariant 5).
    count: u8,
    /// The tag of the last foreign poll delivered to; 0 for none.
    last: u32,
    /// The tag marked as a nested executor's; 0 for none, [`ANY`] for every foreign poll
    /// (invariant 6).
    nested: u32,
    /// Foreign deliveries and yields in this poll, whatever their tag, modulo [`BUDGET`]
    /// (invariant 5).
    total: u8,
}

/// `Budget::nested` for "every foreign poll" (the backstop of invariant 5): tags are odd, so no
/// tag is `ANY`.
const ANY: u32 = 2;

const UNCONSTRAINED: Budget = Budget { left: None, exhausted: false, count: 0, last: 0, nested: 0, total: 0 };

thread_local! {
    static CURRENT: Cell<Budget> = const { Cell::new(UNCONSTRAINED) };
}

/// Fills the budget for the poll of a task root; the guard restores the previous budget
/// (invariants 1 and 7).
#[inline]
pub(crate) fn enter_task() -> TaskBudget {
    let fresh = Budget { left: Some(BUDGET), ..UNCONSTRAINED };
    let prev = CURRENT.try_with(|b| b.replace(fresh)).unwrap_or(UNCONSTRAINED);
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

/// The identity of a poll's context, folded to 32 bits (never 0, which means "unknown"): what a
/// frame records of the poll it was entered by, and what the rules of "# Nested executors"
/// compare.
///
/// It mixes the waker's data pointer (a `FuturesUnordered` gives each child a waker of its own)
/// with the address of the `Context` (tokio's `Handle::block_on` inside the runtime's own
/// `block_on` wakes the same thread parker as the task it blocks, but builds a `Context` of its
/// own). `select!`, `join!` and every `async` body pass the task's `Context` through unchanged,
/// so they share the task's tag. Two different contexts may share a tag (a 2^-32 chance, or
/// two wakers that differ only by their vtable polled through one `Context`): they are then
/// taken for one, which at worst gives the behaviour anyscope had without the rules.
pub(crate) fn context_tag(cx: &Context<'_>) -> u32 {
    let data = cx.waker().data() as usize as u64;
    let context = cx as *const Context<'_> as usize as u64;
    let x = data ^ context.rotate_left(32);
    ((x ^ (x >> 32)) as u32) | 1
}

/// Whether an awaitable polled with `cx` must not complete because its scope, or an enclosing
/// one, is cancelled: it then returns `Pending` (the scope that catches drops it).
///
/// Polled by the poll that entered the frames it sees the cancellation through, this is
/// `frame::cancelled_here()` and nothing more. Otherwise (slow path) the rules of
/// "# Nested executors" apply: a foreign poll's waker is woken, and a poll marked as a nested
/// executor's sees only the frames entered inside it.
pub(crate) fn cancelled_for(cx: &Context<'_>) -> bool {
    frame::cancelled_here() && seen_cancelled(cx)
}

#[cold]
fn seen_cancelled(cx: &Context<'_>) -> bool {
    let tag = context_tag(cx);
    if !frame::seen_through_foreign(tag) {
        // Invariant 4: the same poll all the way down to the cancelled frame.
        return true;
    }
    if note_foreign(tag) != Verdict::Woken && !frame::cancelled_above(tag) {
        // Invariant 6: a nested executor's, and nothing entered inside it is cancelled.
        return false;
    }
    cx.waker().wake_by_ref();
    true
}

/// What the detector makes of a foreign delivery or yield (invariant 5).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    /// Counted: the poll is woken.
    Woken,
    /// The poll's tag is marked as a nested executor's.
    Nested,
    /// The backstop marked every foreign poll; `tripped`: this is a [`BUDGET`]th foreign
    /// delivery or yield of the task's poll.
    Backstop { tripped: bool },
}

/// Counts a foreign delivery or yield to the poll tagged `tag` (invariant 5).
fn note_foreign(tag: u32) -> Verdict {
    CURRENT
        .try_with(|b| {
            let mut budget = b.get();
            if budget.nested == tag {
                return Verdict::Nested;
            }
            if budget.last == tag {
                budget.count = budget.count.saturating_add(1);
            } else {
                budget.last = tag;
                budget.count = 1;
            }
            budget.total += 1;
            let tripped = budget.total >= BUDGET;
            if tripped {
                budget.total = 0;
            }
            let verdict = if budget.count >= NESTED_AFTER {
                budget.nested = tag;
                Verdict::Nested
            } else if tripped || budget.nested == ANY {
                budget.nested = ANY;
                Verdict::Backstop { tripped }
            } else {
                Verdict::Woken
            };
            b.set(budget);
            verdict
        })
        .unwrap_or(Verdict::Woken)
}

/// The checkpoint every anyscope awaitable passes before it tries its operation.
///
/// `Pending` (the caller returns `Pending` at once and changes nothing) when:
/// - the innermost scope is effectively cancelled: no wake-up, the scope that catches drops the
///   caller in this very poll (unless the poll comes through a foreign `Context`: see
///   "# Nested executors");
/// - the task's budget is spent (invariant 2): the task is woken to be polled again.
///
/// `Ready` otherwise, having spent one unit.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    if cancelled_for(cx) {
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
    if proceed { Poll::Ready(()) } else { spent(cx) }
}

/// The budget is spent (invariant 2), with the rules of "# Nested executors" for a poll that
/// is not the task's: woken at once, and not held to the task's budget once marked nested.
#[cold]
fn spent(cx: &mut Context<'_>) -> Poll<()> {
    let tag = context_tag(cx);
    let root = frame::task_root_tag();
    if root == 0 || root == tag {
        frame::yield_now(cx);
        return Poll::Pending;
    }
    match note_foreign(tag) {
        Verdict::Nested => return Poll::Ready(()),
        Verdict::Backstop { tripped: true } => {
            // Not spared for good (a busy child of a combinator must still yield): one more
            // budget's worth of operations per [`BUDGET`] foreign yields, so a nested executor
            // behind the backstop still progresses.
            let _ = CURRENT.try_with(|b| {
                let mut budget = b.get();
                budget.left = Some(BUDGET);
                b.set(budget);
            });
            return Poll::Ready(());
        }
        Verdict::Woken | Verdict::Backstop { tripped: false } => {}
    }
    cx.waker().wake_by_ref();
    Poll::Pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::node::CANCELLED;
    use crate::frame::{FrameState, TASK_ROOT};
    use crate::testing::Counter;

    /// A task root entered by `cx`, cancelled (`cancelled`) or not.
    fn root_of(cx: &Context<'_>, cancelled: bool) -> FrameState {
        let flags = TASK_ROOT | if cancelled { CANCELLED } else { 0 };
        FrameState { flags, entry: context_tag(cx), ..FrameState::default() }
    }

    #[test]
    fn a_foreign_poll_is_woken_and_taken_for_a_nested_executor_on_the_third_delivery() {
        let (task_counter, task_waker) = Counter::new();
        let mut task_cx = Context::from_waker(&task_waker);
        let mut root = root_of(&task_cx, true);
        let _task = enter_task();
        frame::enter(&mut root, || {
            assert!(poll_proceed(&mut task_cx).is_pending(), "the task's own poll: delivered");
            assert_eq!(task_counter.get(), 0, "as before: no wake-up");
            let (nested_counter, nested_waker) = Counter::new();
            let mut nested_cx = Context::from_waker(&nested_waker);
            for i in 1..NESTED_AFTER {
                assert!(poll_proceed(&mut nested_cx).is_pending());
                assert_eq!(nested_counter.get(), usize::from(i), "a foreign poll is woken");
            }
            assert!(poll_proceed(&mut nested_cx).is_ready(), "taken for a nested executor");
            assert!(poll_proceed(&mut nested_cx).is_ready(), "for the rest of the task's poll");
            assert!(poll_proceed(&mut task_cx).is_pending(), "the task's own poll still stops");
            assert_eq!(task_counter.get(), 0);
        });
    }

    #[test]
    fn the_same_waker_under_another_context_is_foreign() {
        // tokio's `Handle::block_on` inside the runtime's `block_on`: one thread parker.
        let (counter, waker) = Counter::new();
        let mut task_cx = Context::from_waker(&waker);
        let mut root = root_of(&task_cx, true);
        let _task = enter_task();
        frame::enter(&mut root, || {
            assert!(poll_proceed(&mut task_cx).is_pending());
            assert_eq!(counter.get(), 0);
            let mut nested_cx = Context::from_waker(&waker);
            assert!(poll_proceed(&mut nested_cx).is_pending());
            assert_eq!(counter.get(), 1, "woken: a nested executor polls again");
        });
    }

    #[test]
    fn frames_entered_inside_a_nested_executor_keep_their_cancellation() {
        let (_, task_waker) = Counter::new();
        let task_cx = Context::from_waker(&task_waker);
        let mut root = root_of(&task_cx, true);
        let _task = enter_task();
        frame::enter(&mut root, || {
            let (_, nested_waker) = Counter::new();
            let mut nested_cx = Context::from_waker(&nested_waker);
            while poll_proceed(&mut nested_cx).is_pending() {}
            // A scope entered by the nested executor's poll: its own cancellation is seen, the
            // task's is not.
            let mut inner = FrameState { entry: context_tag(&nested_cx), ..FrameState::default() };
            frame::enter(&mut inner, || assert!(poll_proceed(&mut nested_cx).is_ready()));
            inner.flags |= CANCELLED;
            frame::enter(&mut inner, || {
                assert!(poll_proceed(&mut nested_cx).is_pending());
                assert!(cancelled_for(&nested_cx));
            });
        });
    }

    #[test]
    fn alternating_foreign_polls_are_woken_and_only_the_backstop_takes_them_for_nested() {
        // A `FuturesUnordered` of children under a cancelled scope: a waker per child.
        let (_, task_waker) = Counter::new();
        let mut task_cx = Context::from_waker(&task_waker);
        let mut root = root_of(&task_cx, true);
        let _task = enter_task();
        frame::enter(&mut root, || {
            let (a_counter, a_waker) = Counter::new();
            let (b_counter, b_waker) = Counter::new();
            let mut a = Context::from_waker(&a_waker);
            let mut b = Context::from_waker(&b_waker);
            let half = usize::from(BUDGET) / 2;
            for _ in 0..half - 1 {
                assert!(poll_proceed(&mut a).is_pending());
                assert!(poll_proceed(&mut b).is_pending());
            }
            assert!(poll_proceed(&mut a).is_pending());
            assert_eq!((a_counter.get(), b_counter.get()), (half, half - 1), "each one woken");
            // The BUDGET-th foreign delivery of the task's poll: every foreign poll is spared.
            assert!(poll_proceed(&mut b).is_ready());
            assert!(poll_proceed(&mut a).is_ready());
            assert!(poll_proceed(&mut task_cx).is_pending(), "the task's own poll still stops");
        });
    }

    #[test]
    fn under_the_backstop_a_foreign_poll_gets_one_refill_then_yields_again() {
        let (_, task_waker) = Counter::new();
        let mut task_cx = Context::from_waker(&task_waker);
        let mut root = root_of(&task_cx, false);
        let _task = enter_task();
        frame::enter(&mut root, || {
            for _ in 0..BUDGET {
                assert!(poll_proceed(&mut task_cx).is_ready());
            }
            assert!(poll_proceed(&mut task_cx).is_pending());
            let (a_counter, a_waker) = Counter::new();
            let (_, b_waker) = Counter::new();
            let mut a = Context::from_waker(&a_waker);
            let mut b = Context::from_waker(&b_waker);
            for i in 1..BUDGET {
                let cx = if i % 2 == 1 { &mut a } else { &mut b };
                assert!(poll_proceed(cx).is_pending(), "foreign yield {i}");
            }
            // The BUDGET-th foreign yield (an even one: `b`) trips the backstop: one refill.
            assert!(poll_proceed(&mut b).is_ready());
            for _ in 0..BUDGET {
                assert!(poll_proceed(&mut a).is_ready());
            }
            let woken = a_counter.get();
            assert!(poll_proceed(&mut a).is_pending(), "a busy foreign poll still yields");
            assert_eq!(a_counter.get(), woken + 1);
        });
    }

    #[test]
    fn the_detection_belongs_to_one_poll_of_the_task() {
        let (_, task_waker) = Counter::new();
        let task_cx = Context::from_waker(&task_waker);
        let mut root = root_of(&task_cx, true);
        let (_, nested_waker) = Counter::new();
        let mut nested_cx = Context::from_waker(&nested_waker);
        {
            let _task = enter_task();
            frame::enter(&mut root, || while poll_proceed(&mut nested_cx).is_pending() {});
        }
        let _task = enter_task();
        frame::enter(&mut root, || {
            assert!(poll_proceed(&mut nested_cx).is_pending(), "the next poll starts afresh");
        });
    }

    #[test]
    fn a_spent_budget_wakes_a_foreign_poll_at_once_and_spares_a_nested_one() {
        let (task_counter, task_waker) = Counter::new();
        let mut task_cx = Context::from_waker(&task_waker);
        let mut root = root_of(&task_cx, false);
        let _task = enter_task();
        frame::enter(&mut root, || {
            for _ in 0..BUDGET {
                assert!(poll_proceed(&mut task_cx).is_ready());
            }
            assert!(poll_proceed(&mut task_cx).is_pending());
            assert_eq!(task_counter.get(), 1, "the task yields");
            let (nested_counter, nested_waker) = Counter::new();
            let mut nested_cx = Context::from_waker(&nested_waker);
            for i in 1..NESTED_AFTER {
                assert!(poll_proceed(&mut nested_cx).is_pending());
                assert_eq!(nested_counter.get(), usize::from(i));
            }
            assert!(poll_proceed(&mut nested_cx).is_ready(), "not held to the task's budget");
            assert!(poll_proceed(&mut task_cx).is_pending(), "the task still is");
        });
    }

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
