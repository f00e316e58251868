use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::cancel::CancelReason;
use crate::cancel::node::{BY_DEADLINE, CANCELLED, ENTERED, Node, SHIELD};
use crate::runtime::{BoxFuture, Handle};
use crate::tracker;

use super::RegionCount;

/// The frame is the root of a task: shield counts stop here and its parent, if any, lives in
/// another task (`remote_parent`).
pub(crate) const TASK_ROOT: u32 = 1 << 16;
/// The frame is polling its adopted cleanups: a shield for everything polled inside.
pub(crate) const CLEANING: u32 = 1 << 17;
/// The frame is a detached cleanup task: what it closes counts as closed detached.
pub(crate) const DETACHED: u32 = 1 << 18;
/// The frame is dropping its body because of a cancellation.
pub(crate) const DROP_CANCELLED: u32 = 1 << 19;
/// The frame is dropping its body because the body panicked.
pub(crate) const DROP_PANICKED: u32 = 1 << 20;
/// The frame has been polled once (its node linked, its deadline resolved).
pub(crate) const STARTED: u32 = 1 << 21;
/// The frame's body has ended and the grace period of its cleanups is armed (`Deadline::target`
/// is then its end).
pub(crate) const GRACE: u32 = 1 << 22;
/// The root of a task started by [`spawn`](crate::spawn): nothing but its parent can cancel it
/// (it has no handle and no deadline), so a task it spawns hangs under that parent directly. A
/// task that spawns its successor and ends (a reconnect loop) then leaves no chain of nodes.
pub(crate) const PLAIN_TASK: u32 = 1 << 26;
/// The frame's poll returned `Ready` (or resumed its body's panic): its node is finished, its
/// ticket lowered, its timer handed over and no cleanup is left, so its drop has nothing to do.
pub(crate) const COMPLETED: u32 = 1 << 27;
/// The frame's owner ignores why a caught cancellation happened (everything but
/// [`CancelScope::try_run`](crate::CancelScope::try_run)): delivery skips computing the reason,
/// which for a task root means a walk up the tree, a lock on the ancestor's node and an
/// allocation.
pub(crate) const SKIP_REASON: u32 = 1 << 23;
/// The frame has a node that is not linked under its enclosing frame's node yet. Linking waits
/// until something needs to walk up through the node (`frame::ensure_node`, called when a task
/// is spawned under the scope, a nested scope gets a node, ...): a scope around a body that
/// spawns nothing never touches its parent, and costs its parent no reference count.
pub(crate) const UNLINKED: u32 = 1 << 24;
/// A task root whose node is linked under its parent but not registered in the parent's
/// children yet (`Node::link_unregistered`): the frame registers it when the task first
/// suspends, before it checks its parent's cancellation.
pub(crate) const UNREGISTERED: u32 = 1 << 25;
/// The flags that a node holds once the frame has one.
const SCOPE_BITS: u32 = CANCELLED | BY_DEADLINE | SHIELD;

/// The state of one frame. Lives in the frame's future between polls and on the thread's frame
/// stack during them.
///
/// While `node` is `None`, the scope flags (`CANCELLED`, `BY_DEADLINE`, `SHIELD`) and the
/// deadline live here; once a node exists they live in the node, which handles and other tasks
/// can see.
#[derive(Default)]
pub(crate) struct FrameState {
    pub(crate) node: Option<Arc<Node>>,
    /// For a task root: the node of the scope that spawned the task.
    pub(crate) remote_parent: Option<Arc<Node>>,
    pub(crate) flags: u32,
    /// Counted regions active inside this frame (same task): delivery waits for them. Created
    /// by the first region counted here (`region`, invariant 2).
    pub(crate) regions: Option<Arc<RegionCount>>,
    pub(crate) deadline: Option<Instant>,
    /// Adopted cleanups, in the order they were handed over.
    pub(crate) cleanups: Cleanups,
    pub(crate) runtime: Option<Handle>,
    /// The tag of the poll that last entered the frame (`budget::context_tag`: its waker and
    /// `Context`; 0 before the first poll): where a nested executor's frames begin (`budget`,
    /// "# Nested executors"). Fits in the padding after `flags`: the struct does not grow.
    pub(crate) entry: u32,
}

impl FrameState {
    /// Moves the state out, leaving a default one (what `mem::take` does), field by field: the
    /// frame's entry moves it this way straight into its stack slot.
    #[inline(always)]
    pub(crate) fn take_fields(&mut self) -> FrameState {
        FrameState {
            node: self.node.take(),
            remote_parent: self.remote_parent.take(),
            flags: std::mem::take(&mut self.flags),
            regions: self.regions.take(),
            deadline: self.deadline.take(),
            cleanups: std::mem::take(&mut self.cleanups),
            runtime: self.runtime.take(),
            entry: std::mem::take(&mut self.entry),
        }
    }

    pub(crate) fn scope_flags(&self) -> u32 {
        match &self.node {
            Some(node) => node.flags(),
            None => self.flags & SCOPE_BITS,
        }
    }

    pub(crate) fn is_task_root(&self) -> bool {
        self.flags & TASK_ROOT != 0
    }

    /// A shield for what is polled inside: a shielded scope, or a frame polling its cleanups.
    pub(crate) fn is_shield(&self) -> bool {
        self.flags & CLEANING != 0 || self.scope_flags() & SHIELD != 0
    }

    /// For a task root: the node of the scope that spawned the task (through the task's own
    /// node once it has one: that link can move, see `cancel/node.rs`, so it is cloned).
    pub(crate) fn parent_link(&self) -> Option<Cow<'_, Arc<Node>>> {
        match &self.node {
            Some(node) => node.task_parent().map(Cow::Owned),
            None => self.remote_parent.as_ref().map(Cow::Borrowed),
        }
    }

    /// Whether this frame catches a cancellation: its own scope was cancelled, or — for a task
    /// root — the scope that spawned the task is effectively cancelled.
    pub(crate) fn own_cancelled(&self) -> bool {
        if self.scope_flags() & CANCELLED != 0 {
            return true;
        }
        self.is_task_root() && self.parent_cancelled()
    }

    /// For a task root: whether the scope that spawned the task is effectively cancelled
    /// (`parent_link().is_some_and(|p| p.effectively_cancelled())`, with no clone of the link).
    #[inline]
    pub(crate) fn parent_cancelled(&self) -> bool {
        match &self.node {
            Some(node) => node.task_parent_cancelled(),
            None => self.remote_parent.as_ref().is_some_and(|p| p.effectively_cancelled()),
        }
    }

    /// Why this frame is cancelled, if it is.
    pub(crate) fn reason(&self) -> Option<CancelReason> {
        let flags = self.scope_flags();
        if flags & CANCELLED != 0 {
            return match &self.node {
                Some(node) => node.reason(),
                None => Some(CancelReason::Deadline),
            };
        }
        if self.is_task_root() {
            let inherited = self.parent_link()?.effective_reason()?;
            return Some(CancelReason::Parent(Box::new(inherited)));
        }
        None
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        match &self.node {
            Some(node) => node.deadline(),
            None => self.deadline,
        }
    }

    /// Marks the scope cancelled. Called from the frame's own poll only (its deadline passed):
    /// the task is running, so the node does not wake it, only the tasks below.
    pub(crate) fn cancel(&mut self, reason: CancelReason) {
        match &self.node {
            Some(node) => node.cancel_from_own_poll(reason),
            None => {
                if self.flags & CANCELLED == 0 {
                    let by_deadline = if matches!(reason, CancelReason::Deadline) { BY_DEADLINE } else { 0 };
                    self.flags |= CANCELLED | by_deadline;
                }
            }
        }
    }

    /// A node holding this frame's scope state, for [`super::ensure_node`].
    pub(crate) fn to_node(&self) -> Node {
        let flags = self.flags & SCOPE_BITS;
        let reason = (flags & CANCELLED != 0).then_some(CancelReason::Deadline);
        Node::new(flags | ENTERED, self.deadline, reason)
    }
}

impl fmt::Debug for FrameState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameState")
            .field("flags", &self.flags)
            .field("regions_active", &self.regions.as_ref().is_some_and(|r| r.is_active()))
            .field("deadline", &self.deadline)
            .field("cleanups", &self.cleanups.len())
            .field("has_node", &self.node.is_some())
            .finish_non_exhaustive()
    }
}

/// A frame's adopted cleanups: taken from the front, appended at the back, so draining N of
/// them is linear. Boxed, and allocated with the first one: most frames never adopt any, and
/// every frame (a task's root included) carries this field, so it costs one word until then.
// The box is the point: one word in every frame instead of a `VecDeque`'s four.
#[allow(clippy::box_collection)]
#[derive(Default)]
pub(crate) struct Cleanups(Option<Box<VecDeque<Cleanup>>>);

impl Cleanups {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|q| q.is_empty())
    }

    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.len())
    }

    pub(crate) fn push_back(&mut self, cleanup: Cleanup) {
        self.0.get_or_insert_with(Box::default).push_back(cleanup);
    }

    pub(crate) fn push_front(&mut self, cleanup: Cleanup) {
        self.0.get_or_insert_with(Box::default).push_front(cleanup);
    }

    pub(crate) fn pop_front(&mut self) -> Option<Cleanup> {
        self.0.as_mut()?.pop_front()
    }

    /// The cleanups, in order, leaving none.
    pub(crate) fn into_queue(self) -> VecDeque<Cleanup> {
        self.0.map_or_else(VecDeque::new, |q| *q)
    }
}

impl From<Vec<Cleanup>> for Cleanups {
    fn from(queue: Vec<Cleanup>) -> Self {
        Cleanups(Some(Box::new(queue.into())))
    }
}

/// An async cleanup handed to a frame: a boxed future, and a name for reports. The resources
/// it closes count themselves in the tracker; dropped before it completed, it is reported.
pub(crate) struct Cleanup {
    fut: Option<BoxFuture<()>>,
    kind: &'static str,
}

impl Cleanup {
    pub(crate) fn new(kind: &'static str, fut: BoxFuture<()>) -> Self {
        Cleanup { fut: Some(fut), kind }
    }

    /// Polls the cleanup. A panic inside it is caught, reported to the tracker (once: see
    /// [`tracker::drop_panicked`]), and ends it.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(fut) = self.fut.as_mut() else { return Poll::Ready(()) };
        match tracker::poll_cleanup(|| catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)))) {
            (Ok(Poll::Pending), _) => return Poll::Pending,
            (Ok(Poll::Ready(())), _) => self.fut = None,
            (Err(payload), tokens) => {
                // Never polled again; what it still owns (a resource's token) counts as panicked.
                let rest = self.fut.take();
                tracker::drop_panicked(self.kind, &*payload, tokens, move || drop(rest));
            }
        }
        Poll::Ready(())
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.fut.is_some() {
            tracker::cleanup_lost(self.kind);
        }
    }
}

impl fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cleanup").field("kind", &self.kind).field("done", &self.fut.is_none()).finish()
    }
}
