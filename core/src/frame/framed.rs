//! The one state machine behind every frame: cancel scopes, task roots and runtime roots.
//!
//! A poll of a [`Framed`] future:
//!
//! 1. on the first poll, resolves the deadline (one clock read, only for scopes with a
//!    deadline); a node the scope brought along is linked under the enclosing frame's later,
//!    when something needs to walk up through it (`frame::ensure_node`);
//! 2. if the scope was cancelled while the body was suspended (and no shield inside is active,
//!    and no enclosing scope of the same task will catch it), *delivers*: drops the body inside
//!    its own frame, so that guards dropped with it hand their cleanups to this frame;
//! 3. otherwise polls the body inside the frame, catching a panic;
//! 4. when the body is pending: stores the waker in the node (first, so that a handle's change
//!    to a flag read below wakes it if the read misses it), counts its shield, polls the deadline
//!    timer (created only now, so a body that completes on its first poll never touches a
//!    timer; re-armed from the thread's spare when it has one of this runtime, which is where
//!    the timer goes when the scope ends: `frame::spare_timer`), and delivers if the scope is
//!    now cancelled;
//! 5. polls the adopted cleanups, one after another in adoption order, shielded;
//! 6. completes once the body has ended and no cleanup is pending: with the body's value, the
//!    caught cancellation, or by resuming the body's panic.
//!
//! Dropped from outside, it first drops its body inside its own frame, then hands its pending
//! cleanups, order kept, to the innermost active frame — or, with none, to one detached task.
//!
//! # Stack cost of one scope level
//!
//! A scope adds 168 bytes to the future around its body (x86-64: a `move_on_after`,
//! `shield` or `CancelScope::run` of a 16-byte body is 184 bytes, 8 less than before the
//! cleanup queue was boxed; `FrameState`, the part that moves onto the thread's frame stack for
//! each poll, is 72 of them, the region ticket, the deadline machinery and the outcome slot the
//! rest; checked by
//! `cancel::tests::bounds::stack_cost_of_one_scope_level`), and one `poll` call of
//! `FramedIn` per level on the stack while the body is polled. Nothing else grows with the
//! nesting depth: the walks over enclosing scopes and over the scope tree are loops.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::{
    CLEANING, COMPLETED, DROP_CANCELLED, DROP_PANICKED, SKIP_REASON, STARTED, UNLINKED, UNREGISTERED,
};
use crate::cancel::CancelReason;
use crate::cancel::budget;
use crate::cancel::node::{CANCELLED, CAUGHT, DEADLINE_MOVED, ENTERED, SHIELD};
use crate::frame::{self, FrameState, RegionTicket};
use crate::runtime::{self, Handle};
use crate::tracker;
use deadline::{Deadline, DeadlineSlot, NoDeadline};

/// How a frame's body ended, when it did not panic.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    /// The body completed with a value.
    Done(T),
    /// The frame caught its own cancellation and dropped the body. The reason is a placeholder
    /// (`Explicit(None)`) when the frame was built with `SKIP_REASON`.
    Caught(CancelReason),
}

pin_project! {
    /// A body run inside a frame. See the module docs.
    pub(crate) struct FramedIn<F: Future, D: DeadlineSlot> {
        state: FrameState,
        // The count this frame raised in its enclosing frame while it is a counted region there
        // (a pending shield, or regions pending inside it: `region`, invariant 3). Touched off
        // the stack only, so kept out of the state that moves onto it.
        shield: RegionTicket,
        // The deadline machinery: `Deadline` for scopes, nothing for task roots.
        dl: D,
        outcome: Option<Result<Outcome<F::Output>, Box<dyn Any + Send>>>,
        #[pin]
        body: Option<F>,
    }

    impl<F: Future, D: DeadlineSlot> PinnedDrop for FramedIn<F, D> {
        #[inline]
        fn drop(this: Pin<&mut Self>) {
            if this.state.flags & COMPLETED != 0 {
                // The poll that returned `Ready` already lowered the ticket, handed the timer
                // over and finished the node, and no cleanup can be adopted after it: nothing
                // is left to do but the fields' own drops. (A body whose drop panicked during a
                // delivery also leaves no body and no outcome, but cleanups it adopted: that
                // frame is not `COMPLETED`.) Checked inline: the common end of a frame.
                return;
            }
            drop_unfinished(this);
        }
    }
}

/// The drop of a frame whose poll did not complete it: dropped from outside. See the module
/// docs.
#[inline(never)]
fn drop_unfinished<F: Future, D: DeadlineSlot>(this: Pin<&mut FramedIn<F, D>>) {
    let mut this = this.project();
    let mut panic = None;
    if this.body.is_some() {
        // Dropped from outside: a cancellation, unless a panic is unwinding.
        let cause = match frame::drop_cause() {
            Some(crate::resource::DropCause::Panicked) => DROP_PANICKED,
            _ => DROP_CANCELLED,
        };
        // A `Drop` of the body that panics must not cost the cleanups adopted during the
        // drop, nor leave a count behind: finish the drop, then resume the panic.
        let (state, body) = (&mut *this.state, this.body.as_mut());
        panic = catch_unwind(AssertUnwindSafe(|| drop_body(state, body, cause))).err();
    }
    this.shield.lower();
    if let Some(d) = this.dl.get() {
        d.spare_timer(this.state);
    }
    if let Some(node) = &this.state.node {
        node.finish();
    }
    if !this.state.cleanups.is_empty() {
        let rt = this.state.runtime.take();
        hand_off(std::mem::take(&mut this.state.cleanups).into_queue(), rt);
    }
    if let Some(panic) = panic {
        // The body's own panic, not ours: the code that dropped the scope sees it, as it
        // would have without the scope.
        resume_unwind(panic);
    }
}

/// A body run inside the frame of a scope, which may have a deadline.
pub(crate) type Framed<F> = FramedIn<F, Deadline>;

/// A body run inside the frame of a task root (a spawned task, a task of a group, a runtime
/// root): such a frame never has a deadline of its own and carries no deadline machinery, which
/// is 64 bytes less in every task's boxed future.
pub(crate) type RootFramed<F> = FramedIn<F, NoDeadline>;

impl<F: Future, D: DeadlineSlot> FramedIn<F, D> {
    pub(crate) fn new(state: FrameState, after: Option<Duration>, body: F) -> Self {
        FramedIn {
            state,
            shield: RegionTicket::default(),
            dl: D::with_after(after),
            outcome: None,
            body: Some(body),
        }
    }

    /// The scope's deadline, as resolved on the first poll.
    pub(crate) fn deadline(self: Pin<&mut Self>) -> Option<Instant> {
        self.project().state.deadline()
    }
}

impl<F: Future> RootFramed<F> {
    /// The task root's node, taken out of a frame that has completed (its drop no longer needs
    /// it; a frame that has not keeps it and gives a second reference): a group child's task
    /// reads its node here rather than keeping a reference of its own.
    pub(crate) fn take_node(self: Pin<&mut Self>) -> Option<std::sync::Arc<crate::cancel::node::Node>> {
        let this = self.project();
        if this.state.flags & COMPLETED == 0 {
            return this.state.node.clone();
        }
        this.state.node.take()
    }
}

impl<F: Future, D: DeadlineSlot> Future for FramedIn<F, D> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // A task root fills the cooperative budget for this poll of its task (`budget`,
        // invariant 1).
        let _budget = this.state.is_task_root().then(budget::enter_task);
        // Which poll entered the frame: where a nested executor's frames begin (`budget`,
        // "# Nested executors").
        this.state.entry = frame::context_tag(cx);
        let first = this.state.flags & STARTED == 0;
        if first {
            this.state.flags |= STARTED;
            let after = this.dl.get().and_then(|d| d.after.take());
            let target = start(this.state, after);
            if let Some(d) = this.dl.get() {
                d.target = target;
            }
        }
        if this.body.is_some() {
            let state = &mut *this.state;
            if !first && should_deliver(state, cx) {
                deliver(state, this.body.as_mut(), this.outcome);
            } else {
                // A scope whose future moved follows it in the scope tree (`frame::follow`).
                frame::follow(state);
                let mut slot = this.body.as_mut();
                // One stay on the stack covers the poll and, when the body is done, its drop
                // (guards dropped with it still see this frame).
                let res = frame::enter(state, || {
                    let res = catch_unwind(AssertUnwindSafe(|| match slot.as_mut().as_pin_mut() {
                        Some(body) => body.poll(cx),
                        None => Poll::Pending,
                    }));
                    if let Ok(Poll::Ready(_)) = res {
                        slot.set(None);
                    }
                    res
                });
                match res {
                    Ok(Poll::Ready(value)) => {
                        if state.cleanups.is_empty() {
                            // The common end, with no cleanup to run: complete now, as the
                            // end of this function would (the body is gone, no ticket is left).
                            this.shield.lower();
                            complete(state, this.dl);
                            return Poll::Ready(Outcome::Done(value));
                        }
                        *this.outcome = Some(Ok(Outcome::Done(value)));
                    }
                    Err(panic) => {
                        *this.outcome = Some(Err(panic));
                        drop_body(state, this.body.as_mut(), DROP_PANICKED);
                    }
                    Ok(Poll::Pending) => {
                        if state.runtime.is_none() {
                            // Kept, so that a drop from a thread with no frame or runtime hands
                            // the pending cleanups to this runtime, as for every kind of scope.
                            state.runtime = frame::runtime();
                        }
                        // Store the waker before reading the shield, deadline and cancel flags:
                        // a handle changes a flag, then wakes through the stored waker (both
                        // under the node's lock), so a change we miss here still wakes us.
                        register(state, cx);
                        // A pending shield, or a frame with regions pending inside it, counts
                        // in the enclosing frame of this poll (moving its count there if it was
                        // polled under another before): `region`, invariants 2 to 4.
                        let busy =
                            state.regions.as_ref().is_some_and(|r| r.is_active() && r.defer(cx.waker()));
                        if !state.is_task_root() && (busy || state.scope_flags() & SHIELD != 0) {
                            this.shield.raise();
                        } else {
                            this.shield.lower();
                        }
                        if let Some(d) = this.dl.get() {
                            if !own_cancelled(state) && d.poll(state, cx) {
                                state.cancel(CancelReason::Deadline);
                            }
                        }
                        if should_deliver(state, cx) {
                            deliver(state, this.body.as_mut(), this.outcome);
                        }
                    }
                }
            }
            if this.body.is_none() {
                this.shield.lower();
            }
        }
        if !this.state.cleanups.is_empty() {
            let state = &mut *this.state;
            // Cleanups run to their end, whatever cancelled the scope, unless the scope's owner
            // bounded them explicitly with a grace period (counted from the body's end): what
            // an expired grace period cuts off is abandoned.
            if this.body.is_none() && this.dl.get().is_some_and(|d| d.poll_grace(state, cx)) {
                abandon(state);
            } else if drain(state, cx).is_pending() {
                if this.body.is_none() && !state.is_task_root() {
                    // A scope running its cleanups after its body ended is a counted region of
                    // the enclosing frame: an enclosing cancellation waits for the cleanups, and
                    // this scope returns (`region`, invariant 3).
                    this.shield.raise();
                }
                return Poll::Pending;
            }
            this.shield.lower();
        }
        if this.body.is_some() {
            return Poll::Pending;
        }
        complete(this.state, this.dl);
        match this.outcome.take() {
            Some(Ok(outcome)) => Poll::Ready(outcome),
            Some(Err(panic)) => resume_unwind(panic),
            None => panic!("anyscope: a frame was polled after it completed"),
        }
    }
}

/// The end of a frame whose body has ended and whose cleanups are done: the timer goes to the
/// thread's spare, the node is finished, and the drop has nothing left to do (`COMPLETED`).
#[inline(always)]
fn complete<D: DeadlineSlot>(state: &mut FrameState, dl: &mut D) {
    if let Some(d) = dl.get() {
        d.spare_timer(state);
    }
    if let Some(node) = &state.node {
        node.finish();
    }
    state.flags |= COMPLETED;
}

/// First poll: mark the node to be linked when needed, resolve the deadline (`after`, relative
/// to now, for `move_on_after`), and return the deadline the timer should fire at.
///
/// Inline for the frames with no deadline (a `CancelScope` whose handle set none, a shield, a
/// task root); the rest is [`start_with_deadline`].
#[inline(always)]
fn start(state: &mut FrameState, after: Option<Duration>) -> Option<Instant> {
    if let Some(d) = after {
        return start_after(state, d);
    }
    match &state.node {
        Some(node) if node.flags() & (ENTERED | DEADLINE_MOVED) == ENTERED => {
            // Entered when it was built, and no deadline set through a handle (see
            // `start_with_deadline`).
            if !state.is_task_root() {
                state.flags |= UNLINKED;
            }
            None
        }
        None if state.deadline.is_none() => None,
        _ => start_with_deadline(state),
    }
}

/// [`start`] of a deadline relative to the first poll (`move_on_after`).
#[inline(never)]
fn start_after(state: &mut FrameState, d: Duration) -> Option<Instant> {
    // A deadline too far to represent is no deadline. A zero delay is a deadline that has
    // passed already, as `move_on_at(now)` is: the scope is cancelled from its first
    // checkpoint on (Trio's `move_on_after(0)`), not only once the timer fires.
    // The clock is read without keeping the runtime's handle: a body that completes at once (the
    // common timeout) pays no reference count, whose two atomic operations cost more time than
    // the second walk of the stack a body that suspends pays when it arms its timer (measured:
    // `timeout_ready` 54 → 46 ns, `timeout_pending_once` unchanged, +46 instructions).
    state.deadline = clock_of(state).checked_add(d);
    if d.is_zero() {
        state.cancel(CancelReason::Deadline);
    }
    state.deadline
}

/// [`start`] of a frame that may have an absolute deadline, or whose node is not entered yet.
#[inline(never)]
fn start_with_deadline(state: &mut FrameState) -> Option<Instant> {
    let target = match &state.node {
        Some(node) => {
            if !state.is_task_root() {
                // Linked under the enclosing frame's node when something needs it
                // (`ensure_node`).
                state.flags |= UNLINKED;
            }
            // One read instead of read-modify-writes and a lock in the common case: the scope
            // was entered when it was built, and it has a deadline only if one was set through
            // its handle (`with_deadline`, `set_deadline`), which raises `DEADLINE_MOVED`. The
            // other nodes that exist before the first poll (a group child's) have none.
            let flags = node.flags();
            if flags & ENTERED == 0 {
                node.state.fetch_or(ENTERED, crate::sync_shim::Ordering::AcqRel);
            }
            if flags & DEADLINE_MOVED != 0 {
                node.state.fetch_and(!DEADLINE_MOVED, crate::sync_shim::Ordering::AcqRel);
                node.deadline()
            } else {
                None
            }
        }
        None => state.deadline,
    };
    if let Some(deadline) = target {
        if read_clock(state) >= deadline {
            state.cancel(CancelReason::Deadline);
        }
    }
    target
}

/// The runtime's clock, through the frame's own handle. A frame that has none yet keeps the
/// ambient runtime's (a clone of the handle), for the paths where the frame keeps it anyway
/// (its timer, its cleanups).
///
/// # Panics
///
/// If no runtime is available, as [`crate::runtime::current`].
fn read_clock(state: &mut FrameState) -> Instant {
    state.runtime.get_or_insert_with(runtime::current).now()
}

/// The runtime's clock, through the frame's own handle when it has one (the ambient runtime's
/// otherwise), for a frame that is only read.
fn clock_of(state: &FrameState) -> Instant {
    match &state.runtime {
        Some(rt) => rt.now(),
        None => frame::now(),
    }
}

/// `state.own_cancelled()`, with the flag of a frame that has no node and no parent (a deadline
/// scope nothing has asked a node of) read inline.
#[inline(always)]
fn own_cancelled(state: &FrameState) -> bool {
    if state.node.is_none() && state.remote_parent.is_none() {
        return state.flags & CANCELLED != 0;
    }
    state.own_cancelled()
}

/// Whether the frame, off the stack, must deliver its cancellation now.
///
/// A counted region pending inside the frame defers the delivery; the frame then leaves its
/// waker with the count, which wakes it when the last region ends, wherever that happens
/// (`region`, invariant 3).
#[inline]
fn should_deliver(state: &FrameState, cx: &Context<'_>) -> bool {
    // With no node and no parent, only the frame's own flag can say cancelled: read inline.
    if !own_cancelled(state) {
        return false;
    }
    if let Some(regions) = &state.regions {
        if regions.is_active() && regions.defer(cx.waker()) {
            return false;
        }
    }
    // The outermost cancelled scope of the task catches; a shield catches for itself.
    // The frame is off the stack here: `cancelled_for` asks about the enclosing frames, and
    // leaves the catch to them only if they can: not from inside a nested executor that polls
    // this frame with a waker of its own (`budget`, "# Nested executors").
    // An enclosing deadline that has passed as well cancels that scope too, which catches.
    let outer_expired = || frame::enclosing_deadline_passed(cx, || clock_of(state));
    state.is_task_root() || state.is_shield() || !(frame::cancelled_for(cx) || outer_expired())
}

/// Where a frame keeps how its body ended until its cleanups are done: the outcome, or the
/// body's panic to resume.
type OutcomeSlot<T> = Option<Result<Outcome<T>, Box<dyn Any + Send>>>;

/// Drops the body inside the frame and records the caught cancellation.
fn deliver<F: Future>(
    state: &mut FrameState,
    body: Pin<&mut Option<F>>,
    outcome: &mut OutcomeSlot<F::Output>,
) {
    let reason = if state.flags & SKIP_REASON != 0 {
        CancelReason::Explicit(None)
    } else {
        state.reason().unwrap_or(CancelReason::Explicit(None))
    };
    crate::tracker::cancel_delivered(|| state.reason());
    drop_body(state, body, DROP_CANCELLED);
    if let Some(node) = &state.node {
        node.state.fetch_or(CAUGHT, crate::sync_shim::Ordering::AcqRel);
    }
    *outcome = Some(Ok(Outcome::Caught(reason)));
}

/// Drops the frame's pending cleanups, inside the frame, as a cancellation: the resources they
/// were closing count as abandoned in the tracker.
fn abandon(state: &mut FrameState) {
    let cleanups = std::mem::take(&mut state.cleanups);
    state.flags |= DROP_CANCELLED;
    frame::enter(state, || tracker::dropping_for_cancel(|| drop(cleanups)));
    state.flags &= !DROP_CANCELLED;
}

/// Drops the body inside the frame, with `cause` telling guards why (see `frame::drop_cause`).
fn drop_body<F>(state: &mut FrameState, mut body: Pin<&mut Option<F>>, cause: u32) {
    state.flags |= cause;
    if cause == DROP_CANCELLED {
        // Tokens dropped unfinished count as abandoned (the tracker does not read frames).
        frame::enter(state, || tracker::dropping_for_cancel(|| body.set(None)));
    } else {
        frame::enter(state, || body.set(None));
    }
    state.flags &= !cause;
}

/// Makes sure whoever cancels this frame can wake it: a task root with a parent gets a node
/// registered under it, and a node stores the waker.
#[inline]
fn register(state: &mut FrameState, cx: &Context<'_>) {
    if state.node.is_none() && state.remote_parent.is_none() {
        // Nothing can cancel this frame from outside (a task root with no parent, or a scope
        // nothing has asked a node of): there is nowhere to store a waker.
        return;
    }
    register_slow(state, cx);
}

fn register_slow(state: &mut FrameState, cx: &Context<'_>) {
    if state.node.is_none() && state.is_task_root() {
        if let Some(parent) = state.remote_parent.clone() {
            let node = std::sync::Arc::new(state.to_node());
            node.link(parent, true);
            state.node = Some(node);
        }
    }
    if let Some(node) = &state.node {
        if state.flags & UNREGISTERED != 0 {
            state.flags &= !UNREGISTERED;
            node.register_in_parent();
        }
        node.set_waker(cx.waker());
    }
}

/// Polls the frame's adopted cleanups in order, inside the frame, shielded. Cleanups adopted
/// while this runs are appended and polled in turn.
pub(crate) fn drain(state: &mut FrameState, cx: &mut Context<'_>) -> Poll<()> {
    let was_cleaning = state.flags & CLEANING != 0;
    state.flags |= CLEANING;
    let r = frame::enter(state, || {
        loop {
            let Some(mut cleanup) = frame::next_cleanup() else {
                return Poll::Ready(());
            };
            if cleanup.poll(cx).is_pending() {
                // Our frame is on the stack: putting it back cannot fail. If it ever did, the
                // cleanup's drop records it as lost rather than hiding it.
                let _ = frame::return_cleanup(cleanup);
                return Poll::Pending;
            }
        }
    });
    if !was_cleaning {
        state.flags &= !CLEANING;
    }
    r
}

/// Hands pending cleanups to the innermost active frame, or to one detached task, or records
/// them as lost.
pub(crate) fn hand_off(mut queue: VecDeque<super::Cleanup>, rt: Option<Handle>) {
    while let Some(c) = queue.pop_front() {
        if let Err(c) = frame::adopt(c) {
            queue.push_front(c);
            break;
        }
    }
    if queue.is_empty() {
        return;
    }
    match rt.or_else(frame::lookup) {
        Some(rt) => frame::spawn_detached_cleanups(&rt, queue.into()),
        None => drop(queue), // each unfinished cleanup records itself as lost
    }
}

mod deadline;
#[cfg(test)]
mod tests;
