//! Frames: how anyscope knows where it is.
//!
//! Every anyscope combinator that owns a body — a cancel scope, the root of a task anyscope
//! spawned, the root future of `run` — is a *frame*. While a frame polls its body, its state is
//! the innermost entry of a per-thread stack; library awaitables ask that stack whether they are
//! cancelled, guards dropped during the poll hand their async cleanup to the innermost frame, and
//! core functions find the ambient runtime there.
//!
//! The state is *moved* onto the stack for the duration of the poll and moved back after, by a
//! guard that also runs during unwinding. Entering a frame therefore costs two moves of a small
//! struct and no allocation, no reference count and no lock. Nodes of the scope tree
//! ([`Node`]) are created lazily, only when something outside the frame's own future needs to
//! see the scope.
//!
//! # Layers
//!
//! Imports point down only: `runtime` (the contract, [`Handle`], the fallback lookup) imports
//! neither the tracker nor the frames; `tracker` (counters, tokens, [`Via`]) imports `runtime`
//! only; the frame layer sits on top. So the ambient lookup ([`lookup`]: the frames', else
//! `runtime::fallback_lookup`), `with_runtime`, and the detached cleanup task live here, and the
//! frames *tell* the tracker what they are doing (`tracker::dropping_for_cancel` around a
//! cancelled drop) instead of the tracker reading the frames. The public `runtime` module
//! re-exports `current`, `try_current` and `with_runtime` from here.

mod ambient;
mod cancelled;
mod detached;
mod framed;
mod region;
pub(crate) mod spare_timer;
mod state;

/// The checkpoint of every anyscope awaitable: cancellation and the cooperative budget.
pub(crate) use crate::cancel::budget::poll_proceed;
/// Whether an awaitable polled with a given `Context` must stop (nested executors included).
pub(crate) use crate::cancel::budget::{cancelled_for, context_tag};
pub(crate) use crate::tracker::Via;
pub(crate) use ambient::lookup;
pub use ambient::{Isolated, WithRuntime, current, isolated, try_current, with_runtime};
pub(crate) use cancelled::{cancelled_above, cancelled_here, seen_through_foreign, task_root_tag};
pub(crate) use detached::spawn_detached_cleanups;
pub(crate) use framed::{Framed, Outcome, RootFramed, drain, hand_off};
pub(crate) use region::{RegionCount, RegionTicket};
pub(crate) use state::{
    CLEANING, COMPLETED, Cleanup, DETACHED, DROP_CANCELLED, DROP_PANICKED, FrameState, GRACE, PLAIN_TASK,
    SKIP_REASON, STARTED, TASK_ROOT, UNLINKED, UNREGISTERED,
};

use std::cell::{BorrowError, BorrowMutError, Cell, Ref, RefCell, RefMut};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::cancel::CancelReason;
use crate::cancel::node::Node;
use crate::runtime::Handle;

/// This thread's frames: `slots` holds the active ones, innermost last. Entering a frame pushes its
/// state (moved field by field into the slot, a default state left in the frame's place);
/// leaving pops it back into the frame (nothing dropped, no placeholder written). The vector
/// keeps its capacity, so a poll allocates only when the nesting is deeper than ever before on
/// this thread.
struct Stack {
    slots: Vec<FrameState>,
    /// A deadline timer kept for the next deadline scope (`spare_timer`).
    spare: Option<spare_timer::SpareTimer>,
}

impl Stack {
    fn active(&mut self) -> &mut [FrameState] {
        &mut self.slots
    }

    /// The active frames, read-only.
    #[inline]
    fn active_ref(&self) -> &[FrameState] {
        &self.slots
    }
}

/// The thread's [`Stack`], and a summary of its active frames for the checkpoint's fast path.
///
/// `quiet` is `true` only when the walk of `cancelled_here` found the active frames not
/// cancelled *and* nothing it read can change without a change of the stack: every frame it
/// looked at has no node (a node's flags are written by other threads) and the task root it
/// stopped at, if any, has no remote parent. Only `cancelled_here` sets it. The stack changes
/// only through a mutable borrow — a frame entered or left, a frame's state changed through
/// [`with_stack`] — and every mutable borrow goes through [`Frames::borrow_mut`] or
/// [`Frames::try_borrow_mut`], which clear it first (read-only helpers use
/// [`with_stack_ref`], which keeps it). So while it is `true` the active frames are not
/// cancelled and the checkpoint need not walk them: under a plain task root (the root of `run`,
/// a task spawned outside any scope) and scopes that nothing outside their own future has seen
/// (no node), a checkpoint costs one thread-local read. A frame with a node, or a task whose
/// parent scope lives in another task, is walked at every checkpoint, as before.
struct Frames {
    /// Borrowed only through the methods below: a mutable borrow that did not clear `quiet`
    /// could hide a cancellation from every later checkpoint.
    stack: RefCell<Stack>,
    quiet: Cell<bool>,
}

impl Frames {
    /// A mutable borrow of the stack; clears the summary.
    #[inline]
    fn borrow_mut(&self) -> RefMut<'_, Stack> {
        self.quiet.set(false);
        self.stack.borrow_mut()
    }

    /// As [`Frames::borrow_mut`], `Err` while the stack is borrowed.
    #[inline]
    fn try_borrow_mut(&self) -> Result<RefMut<'_, Stack>, BorrowMutError> {
        self.quiet.set(false);
        self.stack.try_borrow_mut()
    }

    /// A shared borrow of the stack: the summary stays.
    #[inline]
    fn try_borrow(&self) -> Result<Ref<'_, Stack>, BorrowError> {
        self.stack.try_borrow()
    }
}

thread_local! {
    static FRAMES: Frames = const {
        Frames {
            stack: RefCell::new(Stack { slots: Vec::new(), spare: None }),
            quiet: Cell::new(false),
        }
    };
}

/// Runs `f` with `state` as the innermost frame of this thread.
///
/// `f` may poll or drop user code: no borrow of the stack is held while it runs. While `f` runs,
/// `state` holds a default state that owns nothing.
///
/// During thread teardown, when the stack is gone, `f` runs without a frame (only drops happen
/// then, and they degrade as documented: a cleanup finds no frame and is detached or lost).
#[inline]
pub(crate) fn enter<R>(state: &mut FrameState, f: impl FnOnce() -> R) -> R {
    let mut f = Some(f);
    // One access to the thread-local for both the entry and the exit.
    let entered = FRAMES.try_with(|stack| {
        {
            let mut s = stack.borrow_mut();
            if s.slots.len() < s.slots.capacity() {
                // With the room known, the state is moved field by field straight into the
                // slot (no copy through a temporary, which a push that may grow needs).
                s.slots.push(state.take_fields());
            } else {
                push_growing(&mut s.slots, state);
            }
        }
        let mut guard = Entered { state: &mut *state, stack };
        let Some(f) = f.take() else { unreachable!("anyscope: a frame entered twice") };
        let r = f();
        // The guard's drop is for unwinding; the normal path leaves inline.
        guard.leave();
        std::mem::forget(guard);
        r
    });
    match (entered, f) {
        (Ok(r), _) => r,
        // The thread's frames are gone (its teardown): `f` runs without a frame.
        (Err(_), Some(f)) => f(),
        (Err(_), None) => unreachable!("anyscope: a frame's body was taken and not run"),
    }
}

/// `enter`'s push when the stack is full: the first time a thread nests this deep.
#[cold]
#[inline(never)]
fn push_growing(slots: &mut Vec<FrameState>, state: &mut FrameState) {
    slots.push(std::mem::take(state));
}

struct Entered<'a> {
    state: &'a mut FrameState,
    /// Its `borrow_mut` clears the checkpoint's summary: the stack changes.
    stack: &'a Frames,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        // Runs on unwinding, so the stack never keeps a frame whose poll has ended.
        self.leave();
    }
}

impl Entered<'_> {
    #[inline(always)]
    fn leave(&mut self) {
        let mut s = self.stack.borrow_mut();
        // Frames leave in the reverse order they entered (each guard lives inside the poll of
        // the frame above it): the top slot is this frame's. The state in the frame's place is
        // the default `enter` left there: it owns nothing and needs no drop.
        if let Some(top) = s.slots.pop() {
            std::mem::forget(std::mem::replace(self.state, top));
        }
    }
}

/// Runs `f` on this thread's active frames. Returns `None` when the stack cannot be reached (the
/// thread is being torn down) or is borrowed (never the case outside this module's helpers).
/// `f` must not run user code.
fn with_stack<R>(f: impl FnOnce(&mut [FrameState]) -> R) -> Option<R> {
    FRAMES.try_with(|s| s.try_borrow_mut().ok().map(|mut s| f(s.active()))).ok().flatten()
}

/// As [`with_stack`], for `f` that only reads: it keeps the summary of [`Frames`] (a change
/// goes through [`with_stack`], which clears it). `None` when the stack cannot be reached or is borrowed for
/// a change.
fn with_stack_ref<R>(f: impl FnOnce(&[FrameState]) -> R) -> Option<R> {
    FRAMES.try_with(|s| s.try_borrow().ok().map(|s| f(s.active_ref()))).ok().flatten()
}

/// The reason the innermost frame is cancelled, if it is.
pub(crate) fn cancel_reason_here() -> Option<CancelReason> {
    with_stack_ref(|s| {
        for frame in s.iter().rev() {
            if frame.flags & CLEANING != 0 {
                return None;
            }
            if frame.own_cancelled() {
                return frame.reason();
            }
            if frame.is_shield() || frame.is_task_root() {
                return None;
            }
        }
        None
    })
    .flatten()
}

/// The ambient runtime: the nearest frame that carries one.
pub(crate) fn runtime() -> Option<Handle> {
    // A shared borrow: a read, as `cancelled_here`.
    FRAMES
        .try_with(|s| s.try_borrow().ok().and_then(|s| s.slots.iter().rev().find_map(|f| f.runtime.clone())))
        .ok()
        .flatten()
}

/// The ambient runtime's clock, read without cloning the runtime's handle when a frame carries
/// one.
///
/// # Panics
///
/// If no runtime is available, as [`crate::runtime::current`].
pub(crate) fn now() -> Instant {
    let read = FRAMES.try_with(|s| {
        s.try_borrow()
            .ok()
            .and_then(|s| s.slots.iter().rev().find_map(|f| f.runtime.as_ref()).map(|rt| rt.now()))
    });
    match read.ok().flatten() {
        Some(now) => now,
        None => crate::runtime::current().now(),
    }
}

/// The node of the innermost frame, created (with its ancestors' nodes) if needed. `None` when
/// no frame is active.
pub(crate) fn current_node() -> Option<Arc<Node>> {
    with_stack(|s| {
        let top = s.len().checked_sub(1)?;
        Some(ensure_node(s, top))
    })
    .flatten()
}

/// The node a task spawned here hangs under: the innermost frame's node (created if needed), or
/// `None` when the innermost frame is a runtime root with no node yet. Such a root has no
/// parent, no deadline and no handle, so nothing can ever cancel it: a task under it behaves
/// the same with no parent, and spawning from it then touches no shared reference count.
pub(crate) fn spawn_parent() -> Option<Arc<Node>> {
    with_stack(|s| {
        let top = s.len().checked_sub(1)?;
        let f = &s[top];
        let uncancellable_root = f.is_task_root()
            && f.node.is_none()
            && f.remote_parent.is_none()
            && f.deadline.is_none()
            && f.flags & (crate::cancel::node::CANCELLED | crate::cancel::node::SHIELD) == 0;
        if uncancellable_root {
            return None;
        }
        if f.flags & PLAIN_TASK != 0 && f.flags & CLEANING == 0 {
            // Cancelled only through its parent: hang the new task there, and keep no node of
            // this task alive for it (no chain through tasks that respawn themselves).
            return f.parent_link().map(std::borrow::Cow::into_owned);
        }
        Some(node_above(s, top))
    })
    .flatten()
}

/// The node that what runs directly above the frame at `i` hangs under: a scope nested in it, or
/// a task spawned while it is the innermost frame.
///
/// That is the frame's own node — unless the frame is polling its adopted cleanups
/// (`CLEANING`). Cleanups are shielded from everything, the frame's own cancellation included
/// (it is usually why they run; see `cancelled_in`), so what a cleanup starts hangs under a
/// fresh shielded node, itself under the frame's node: a task spawned by a cleanup is not
/// cancelled by the cancellation the cleanup runs after and sees no enclosing deadline, exactly
/// as the cleanup itself, while a walk up to the task root (a borrower's identity) still
/// reaches it.
fn node_above(stack: &mut [FrameState], i: usize) -> Arc<Node> {
    let node = ensure_node(stack, i);
    wrap_cleaning(&stack[i], node)
}

/// What runs above a frame hangs under its node, or — while the frame polls its cleanups — under
/// a fresh shielded node below it (see [`node_above`]).
fn wrap_cleaning(frame: &FrameState, node: Arc<Node>) -> Arc<Node> {
    use crate::cancel::node::{ENTERED, SHIELD};
    if frame.flags & CLEANING == 0 {
        return node;
    }
    let shield = Arc::new(Node::new(SHIELD | ENTERED, None, None));
    shield.link(node, false);
    shield
}

/// Gives the frame at `i` a node linked to its parent's (created or linked too), and returns
/// it.
///
/// Every way another task or a nested scope reaches a frame's node goes through here, so this
/// is where a node that the frame's scope brought along (a [`CancelScope`](crate::CancelScope)
/// handle's, flagged `UNLINKED`) is linked under the enclosing frame's: before anything below it
/// can walk up through it.
///
/// A loop, not recursion: it finds the lowest frame whose node the frames above it need, then
/// links upward from there, so a deep nesting of scopes costs no stack here.
fn ensure_node(stack: &mut [FrameState], i: usize) -> Arc<Node> {
    let mut low = i;
    while low > 0 && needs_node_below(&stack[low]) {
        low -= 1;
    }
    let mut below: Option<Arc<Node>> = None;
    let mut k = low;
    loop {
        let node = ensure_one(&mut stack[k], below.take());
        if k == i {
            return node;
        }
        below = Some(wrap_cleaning(&stack[k], node));
        k += 1;
    }
}

/// Whether linking the frame needs the node of the frame below it: a node not linked yet, or no
/// node at all for a frame that is not a task root (a task root links to its remote parent).
fn needs_node_below(frame: &FrameState) -> bool {
    match &frame.node {
        Some(_) => frame.flags & UNLINKED != 0,
        None => !frame.is_task_root(),
    }
}

/// Gives one frame a linked node; `below` is what the frame below offers to hang under (`None`
/// for the lowest frame of the stack).
fn ensure_one(frame: &mut FrameState, below: Option<Arc<Node>>) -> Arc<Node> {
    if let Some(node) = &frame.node {
        let node = Arc::clone(node);
        if frame.flags & UNLINKED != 0 {
            frame.flags &= !UNLINKED;
            if below.is_some() {
                // Linked now under the frame polling it (moved there if it was linked elsewhere
                // before its first poll).
                node.relink(below);
            }
        }
        return node;
    }
    // The task's own node carries the link to its parent from now on (it can move when the
    // parent ends: `cancel/node.rs`, invariant 4); the frame keeps no second reference.
    let (parent, crosses_task) =
        if frame.is_task_root() { (frame.remote_parent.take(), true) } else { (below, false) };
    let node = Arc::new(frame.to_node());
    if let Some(parent) = parent {
        node.link(parent, crosses_task);
    }
    frame.node = Some(Arc::clone(&node));
    node
}

/// A scope's place in the scope tree follows its future (issue 13 §2): polled under another
/// enclosing frame than the one its node is linked under (a future polled once under one
/// scope and finished under another, or moved to another task), its node moves under the
/// enclosing frame's node, so that what it spawned is cancelled with the scopes that enclose
/// it now, not with the old ones. Called by the frame's poll before it enters the frame: the
/// innermost frame of the stack is then the enclosing one.
///
/// Costs nothing for a frame with no node or whose node is not linked yet; one lock of the
/// node to compare its parent otherwise.
#[inline]
pub(crate) fn follow(state: &FrameState) {
    if let Some(node) = &state.node {
        if state.flags & (UNLINKED | TASK_ROOT) == 0 {
            follow_slow(node);
        }
    }
}

#[cold]
#[inline(never)]
fn follow_slow(node: &Arc<Node>) {
    use crate::cancel::node::{LINKED, SHIELD};
    // `Some(None)`: polled outside any frame; `Some(Some(p))`: to move under `p`.
    let target = with_stack(|s| {
        let Some(top) = s.len().checked_sub(1) else { return Some(None) };
        let f = &s[top];
        if let Some(here) = &f.node {
            let stays = if f.flags & CLEANING == 0 {
                node.parent_is(Some(here))
            } else {
                // Under a cleanup: linked under a shield node below the frame's (`node_above`).
                node.parent().is_some_and(|w| w.flags() & SHIELD != 0 && w.parent_is(Some(here)))
            };
            if stays {
                return None;
            }
        }
        Some(Some(node_above(s, top)))
    })
    .flatten();
    match target {
        Some(Some(parent)) => node.relink(Some(parent)),
        Some(None) if node.flags() & LINKED != 0 => node.relink(None),
        _ => {}
    }
}

/// The earliest deadline that applies here, up to the nearest shield. Cleanups polled by a
/// frame (`CLEANING`) are bounded by no deadline of that frame or its enclosing ones.
pub(crate) fn effective_deadline() -> Option<Instant> {
    deadline_up_to_shield(true)
}

/// [`effective_deadline`], or (`across_root` false) only the deadlines of this task's own
/// frames, not the one that reaches the task root from the scope that spawned it.
fn deadline_up_to_shield(across_root: bool) -> Option<Instant> {
    with_stack_ref(|s| {
        let mut best: Option<Instant> = None;
        let mut min = |d: Option<Instant>| {
            if let Some(d) = d {
                best = Some(best.map_or(d, |b| b.min(d)));
            }
        };
        for frame in s.iter().rev() {
            if frame.flags & CLEANING != 0 {
                break;
            }
            min(frame.deadline());
            if frame.is_shield() {
                break;
            }
            if frame.is_task_root() {
                if across_root {
                    min(frame.parent_link().and_then(|p| p.effective_deadline()));
                }
                break;
            }
        }
        best
    })
    .flatten()
}

/// For a frame whose own deadline fired, polled off the stack: whether an enclosing scope's
/// deadline, up to the nearest shield, has passed as well (read `now` only then). That scope
/// is then cancelled too and, being outer, catches, as in Trio, where a deadline cancels its
/// scope when it passes, whichever timer is seen first. Only when every enclosing frame up to
/// there was entered by this poll: each checks its own deadline once the body returns
/// `Pending` in this poll (a nested executor's polls keep the rules of `budget`).
#[cold]
pub(crate) fn enclosing_deadline_passed(cx: &std::task::Context<'_>, now: impl FnOnce() -> Instant) -> bool {
    !seen_through_foreign(context_tag(cx)) && effective_deadline().is_some_and(|d| now() >= d)
}

/// For a sleep whose timer fired, due at `t`: whether an enclosing frame of this task, up to
/// the nearest shield, has a deadline at or before `t`. That deadline has passed too, and its
/// frame, which checks its timer once the body returns `Pending` in this poll, cancels and
/// catches: the sleep must not complete first (Trio: a deadline cancels its scope when it
/// passes, whichever timer is seen first; DESIGN: no anyscope awaitable completes in an
/// effectively cancelled scope). Not across the task root (another task's deadline reaches
/// this one as a cancellation of its node) nor through a nested executor's poll (it would not
/// poll the frame), where the sleep completes as before.
#[cold]
pub(crate) fn own_deadline_passed_by(cx: &std::task::Context<'_>, t: Instant) -> bool {
    !seen_through_foreign(context_tag(cx)) && deadline_up_to_shield(false).is_some_and(|d| d <= t)
}

/// The region count of the innermost frame, created if it has none yet; `None` outside any
/// frame. See `region`, invariant 2.
fn innermost_region_count() -> Option<Arc<RegionCount>> {
    with_stack(|s| s.last_mut().map(|f| Arc::clone(f.regions.get_or_insert_with(Default::default)))).flatten()
}

/// Hands `cleanup` to the innermost frame. Gives it back when there is none.
pub(crate) fn adopt(cleanup: Cleanup) -> Result<(), Cleanup> {
    let mut cleanup = Some(cleanup);
    with_stack(|s| {
        if let Some(top) = s.last_mut() {
            top.cleanups.push_back(cleanup.take().expect("taken once"));
        }
    });
    match cleanup {
        None => Ok(()),
        Some(c) => Err(c),
    }
}

/// Takes the next cleanup of the innermost frame, to poll it with no borrow held.
pub(crate) fn next_cleanup() -> Option<Cleanup> {
    with_stack(|s| s.last_mut().and_then(|f| f.cleanups.pop_front())).flatten()
}

/// Puts back a cleanup taken by [`next_cleanup`] that is still pending, at the head.
pub(crate) fn return_cleanup(cleanup: Cleanup) -> Result<(), Cleanup> {
    let mut cleanup = Some(cleanup);
    with_stack(|s| {
        if let Some(top) = s.last_mut() {
            top.cleanups.push_front(cleanup.take().expect("taken once"));
        }
    });
    match cleanup {
        None => Ok(()),
        Some(c) => Err(c),
    }
}

/// Asks the ambient runtime to poll the current task again soon (the default when there is
/// none: wake at once).
pub(crate) fn yield_now(cx: &mut std::task::Context<'_>) {
    let done = with_stack_ref(|s| match s.iter().rev().find_map(|f| f.runtime.as_ref()) {
        Some(rt) => {
            rt.yield_now(cx);
            true
        }
        None => false,
    });
    if done != Some(true) {
        match lookup() {
            Some(rt) => rt.yield_now(cx),
            None => cx.waker().wake_by_ref(),
        }
    }
}

/// Why the innermost frame is dropping what is being dropped now, if it is dropping a body.
pub(crate) fn drop_cause() -> Option<crate::resource::DropCause> {
    use crate::resource::DropCause;
    let flags = with_stack_ref(|s| s.last().map(|f| f.flags)).flatten().unwrap_or(0);
    if flags & DROP_PANICKED != 0 || std::thread::panicking() {
        Some(DropCause::Panicked)
    } else if flags & DROP_CANCELLED != 0 {
        Some(DropCause::Cancelled)
    } else {
        None
    }
}

/// How a cleanup polled now is being run: by a detached task, or by the frame that adopted it.
pub(crate) fn via() -> Via {
    let flags = with_stack_ref(|s| s.last().map(|f| f.flags)).flatten().unwrap_or(0);
    if flags & DETACHED != 0 { Via::Detached } else { Via::Adopted }
}

/// Hands `cleanup` to the innermost frame, or to a detached task on the ambient runtime, or —
/// with neither — records it as lost. Never panics, never blocks.
pub(crate) fn dispose(cleanup: Cleanup) {
    if let Err(cleanup) = adopt(cleanup) {
        hand_off(VecDeque::from([cleanup]), None);
    }
}
