//! The shared node of a cancel scope: what handles and other tasks see.
//!
//! A scope only gets a `Node` when something outside its own future needs to see it: a
//! [`CancelScope`](super::CancelScope) handle, a nested scope or a spawned task that links to
//! it, a task root that must be woken by its parent. Scopes that need none of this (a
//! `move_on_after` around a body that completes, a `shield`) keep their state in their frame
//! and never allocate.
//!
//! # Invariants
//!
//! 1. `state` holds the flags that are read lock-free: `CANCELLED` (and its cause), `SHIELD`,
//!    `LINKED`, `ROOT_LINK`, `FINISHED` and the frozen `END_*` bits. `CANCELLED` is only ever
//!    set, never cleared; it is stored with `Release` after the reason is written under the
//!    lock, and loaded with `Acquire`, so a reader that sees it also sees the reason.
//! 2. The parent link lives under the node's lock and can change: a scope's node is linked when
//!    something first needs to walk up through it (`frame::ensure_node`), re-linked when its
//!    future is polled under another enclosing frame ([`relink`](Node::relink), `frame::follow`),
//!    and a node hanging under a scope that ended is moved up ([`finish`](Node::finish)).
//!    `LINKED` says whether there is a parent (readers skip the lock when not); `ROOT_LINK`
//!    says the node is a task root (its parent lives in another task), and never changes.
//! 3. A node is registered in its parent's `children` only when the parent must be able to reach
//!    it on cancel: a task root (which lives in another task), or a node that has such a
//!    descendant. Registration happens before the registering task re-checks cancellation, so a
//!    cancel either sees the child in the walk or the child sees the cancel flag. A re-linked or
//!    moved node registers in its new parent before it re-checks the new parent's cancellation,
//!    and wakes what hangs below it if it is cancelled, for the same reason.
//! 4. Ending (`finish`) is one atomic update that sets `FINISHED` and freezes what the scope
//!    does to what hangs below it: `END_CANCELLED` if it was cancelled, `END_SHIELD` if it was
//!    shielded. Walks read the frozen bits of an ended node, so a handle that cancels or
//!    unshields a scope after its `run` returned affects nothing (Trio's semantics). An ended
//!    node that neither cancels nor shields is *transparent*: its children are moved under its
//!    nearest live ancestor at the end, and a node that registers later skips over it (and
//!    re-links past it). An ended node that does cancel or shield keeps its children and drops
//!    its own parent link: nothing above can matter to them any more. So no chain of ended
//!    nodes grows under what is alive: state is bounded by what is alive.
//! 5. A registration checks `FINISHED` of the candidate parent and raises `HAS_KIDS` in one
//!    atomic operation, under the candidate's lock; `finish` raises `FINISHED` in one atomic
//!    operation and takes the lock to move the children only if `HAS_KIDS` was set: either the
//!    registration skips the ended node, or `finish` sees (and moves) the new child.
//! 6. Lock order: a node's lock may be held while taking its *parent's* or an ancestor's lock
//!    (upward, during registration), never the other way round. The wake walk holds one lock at
//!    a time and drops it before waking, and no `Arc<Node>` is dropped while a lock is held (a
//!    node's `Drop` takes its parent's lock). Every walk is a loop, never recursion.

use std::sync::{Arc, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use super::reason::CancelReason;
use crate::sync_shim::{AtomicU32, Mutex, MutexGuard, Ordering};

mod moves;

/// The scope has been cancelled (explicitly or by its deadline).
pub(crate) const CANCELLED: u32 = 1;
/// The cancellation was caused by the deadline (set together with `CANCELLED`, first cause wins).
pub(crate) const BY_DEADLINE: u32 = 1 << 1;
/// The scope is shielded from outer cancellation.
pub(crate) const SHIELD: u32 = 1 << 2;
/// The scope caught its own cancellation.
pub(crate) const CAUGHT: u32 = 1 << 3;
/// The deadline was moved through a handle; the running future re-arms its timer.
pub(crate) const DEADLINE_MOVED: u32 = 1 << 4;
/// The scope has started running.
pub(crate) const ENTERED: u32 = 1 << 5;
/// The scope has finished (invariant 4).
pub(crate) const FINISHED: u32 = 1 << 6;
/// A waker has been stored (set under the lock by the future that runs the scope, the only
/// caller of both `set_waker` and `finish`): `finish` takes the lock only then. Cleared, also
/// under the lock, when the cancel walk takes a task root's waker to wake it.
const HAS_WAKER: u32 = 1 << 7;
/// The node has a parent (invariant 2).
pub(crate) const LINKED: u32 = 1 << 8;
/// The node is a task root: its parent lives in another task.
const ROOT_LINK: u32 = 1 << 9;
/// A child registered here at some point (invariant 5).
const HAS_KIDS: u32 = 1 << 10;
/// Where the frozen effect of an ended node is kept: `CANCELLED` and `SHIELD`, shifted.
const END_SHIFT: u32 = 11;
/// The node outlives its scope's frame (a task group's: its tasks still run once the group's
/// body has ended): the frame's `finish` only forgets its waker, and the owner ends the node
/// with [`release`](Node::release).
pub(crate) const HELD: u32 = 1 << 14;
/// The effect bits: what a node does to what hangs below it.
const EFFECT: u32 = CANCELLED | SHIELD;

/// What a node with `flags` does to what hangs below it (`CANCELLED`, `SHIELD` or neither):
/// its live flags, or the ones frozen when it ended.
#[inline]
fn effect(flags: u32) -> u32 {
    if flags & FINISHED == 0 { flags & EFFECT } else { (flags >> END_SHIFT) & EFFECT }
}
// Bits 24–28 of `state` belong to `group::child` (how a task of a group ended): set only there,
// never touched here (every write here is a `fetch_or`/`fetch_and` of its own bits, or — in
// `finish` — a `fetch_update` that keeps every bit it does not set).

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) state: AtomicU32,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    parent: Option<Arc<Node>>,
    waker: Option<Waker>,
    deadline: Option<Instant>,
    reason: Option<CancelReason>,
    /// How long the scope's cleanups may run once its body has ended (`None`: to their end).
    grace: Option<Duration>,
    /// The registered children, allocated with the first one: most nodes (a task root, a scope
    /// around a body that spawns nothing) never have any, and stay small.
    kids: Option<Box<Kids>>,
    /// Index in the parent's `children`, once registered (`NO_SLOT` until then).
    slot: usize,
}

#[derive(Debug, Default)]
struct Kids {
    children: Vec<Weak<Node>>,
    free: Vec<usize>,
}

impl Kids {
    fn insert(&mut self, child: Weak<Node>) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.children[i] = child;
                i
            }
            None => {
                self.children.push(child);
                self.children.len() - 1
            }
        }
    }

    /// Frees `slot` if it still holds `child` (any child for `None`: a node being dropped,
    /// which may have been moved out of its `Arc`, frees the slot its lock says it holds).
    fn remove(&mut self, slot: usize, child: Option<*const Node>) {
        if let Some(entry) = self.children.get_mut(slot) {
            if child.is_none_or(|c| std::ptr::eq(entry.as_ptr(), c)) {
                *entry = Weak::new();
                self.free.push(slot);
            }
        }
    }
}

/// `Inner::slot` of a node not registered in its parent.
const NO_SLOT: usize = usize::MAX;

fn same(a: Option<&Arc<Node>>, b: Option<&Arc<Node>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl Node {
    pub(crate) fn new(flags: u32, deadline: Option<Instant>, reason: Option<CancelReason>) -> Self {
        Node {
            state: AtomicU32::new(flags),
            inner: Mutex::new(Inner { deadline, reason, slot: NO_SLOT, ..Inner::default() }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a waker panicked while we held it; the data is consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[inline]
    pub(crate) fn flags(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    /// How many child slots the node holds, live or free (tests: state stays bounded).
    #[cfg(test)]
    pub(crate) fn child_slots(&self) -> usize {
        self.lock().kids.as_ref().map_or(0, |k| k.children.len())
    }

    /// The parent, if the node has one (a clone: the link may change).
    pub(crate) fn parent(&self) -> Option<Arc<Node>> {
        if self.flags() & LINKED == 0 {
            return None;
        }
        self.lock().parent.clone()
    }

    /// The parent, when it lives in another task (this node is a task root).
    pub(crate) fn task_parent(&self) -> Option<Arc<Node>> {
        if self.flags() & (ROOT_LINK | LINKED) != ROOT_LINK | LINKED {
            return None;
        }
        self.lock().parent.clone()
    }

    pub(crate) fn is_task_root(&self) -> bool {
        self.flags() & ROOT_LINK != 0
    }

    /// Whether the node's parent is `parent` (by identity).
    pub(crate) fn parent_is(&self, parent: Option<&Arc<Node>>) -> bool {
        same(self.lock().parent.as_ref(), parent)
    }

    /// Whether this scope is cancelled, or an ancestor is with no shield in between. Inline
    /// up to the first link: most checks end at a node with no parent.
    #[inline]
    pub(crate) fn effectively_cancelled(&self) -> bool {
        let flags = self.flags();
        match effect(flags) {
            0 => {}
            e => return e & CANCELLED != 0,
        }
        flags & LINKED != 0 && self.ancestors_cancelled()
    }

    /// For a task root's node: whether the scope that spawned the task is effectively
    /// cancelled. Inline up to the link, read only when there is one.
    #[inline]
    pub(crate) fn task_parent_cancelled(&self) -> bool {
        self.flags() & (ROOT_LINK | LINKED) == ROOT_LINK | LINKED && self.ancestors_cancelled()
    }

    /// Whether an ancestor is effectively cancelled: the walk up from the parent.
    #[inline(never)]
    fn ancestors_cancelled(&self) -> bool {
        // The parent and grandparent are read under this node's lock (and the parent's, taken
        // upward), with no reference count: most walks end there.
        let mut next = {
            let me = self.lock();
            let Some(parent) = me.parent.as_ref() else { return false };
            let flags = parent.flags();
            match effect(flags) {
                0 => {}
                e => return e & CANCELLED != 0,
            }
            if flags & LINKED == 0 {
                return false;
            }
            let up = parent.lock();
            let Some(grand) = up.parent.as_ref() else { return false };
            let flags = grand.flags();
            match effect(flags) {
                0 => {}
                e => return e & CANCELLED != 0,
            }
            if flags & LINKED == 0 {
                return false;
            }
            grand.lock().parent.clone()
        };
        while let Some(node) = next {
            let flags = node.flags();
            match effect(flags) {
                0 => {}
                e => return e & CANCELLED != 0,
            }
            if flags & LINKED == 0 {
                return false;
            }
            next = node.lock().parent.clone();
        }
        false
    }

    /// The reason of the nearest cancelled scope at or above this one (up to a shield).
    pub(crate) fn effective_reason(&self) -> Option<CancelReason> {
        let mut inherited = false;
        let mut owned: Option<Arc<Node>> = None;
        loop {
            let node: &Node = owned.as_deref().unwrap_or(self);
            let e = effect(node.flags());
            if e & CANCELLED != 0 {
                let r = node.lock().reason.clone().unwrap_or(CancelReason::Explicit(None));
                return Some(if inherited { CancelReason::Parent(Box::new(r)) } else { r });
            }
            if e & SHIELD != 0 {
                return None;
            }
            inherited = true;
            owned = Some(node.parent()?);
        }
    }

    /// The earliest deadline at or above this node, up to and including the nearest shield. An
    /// ended scope's deadline no longer applies.
    pub(crate) fn effective_deadline(&self) -> Option<Instant> {
        let mut best: Option<Instant> = None;
        let mut owned: Option<Arc<Node>> = None;
        loop {
            let node: &Node = owned.as_deref().unwrap_or(self);
            let flags = node.flags();
            let (deadline, parent) = {
                let inner = node.lock();
                let d = if flags & FINISHED == 0 { inner.deadline } else { None };
                (d, inner.parent.clone())
            };
            if let Some(d) = deadline {
                best = Some(best.map_or(d, |b| b.min(d)));
            }
            if effect(flags) & SHIELD != 0 {
                return best;
            }
            match parent {
                Some(p) => owned = Some(p),
                None => return best,
            }
        }
    }

    pub(crate) fn reason(&self) -> Option<CancelReason> {
        self.lock().reason.clone()
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.lock().deadline
    }

    /// Cancels the scope. The first cancellation's reason is kept; later calls do nothing.
    pub(crate) fn cancel(&self, reason: CancelReason) {
        self.cancel_and_wake(reason, true);
    }

    /// Cancels the scope from its own frame's poll (its deadline passed): the task running the
    /// scope is being polled and delivers right after, so only the tasks below are woken.
    pub(crate) fn cancel_from_own_poll(&self, reason: CancelReason) {
        self.cancel_and_wake(reason, false);
    }

    fn cancel_and_wake(&self, reason: CancelReason, wake_self: bool) {
        let by_deadline = matches!(reason, CancelReason::Deadline);
        let waker = {
            let mut inner = self.lock();
            if self.flags() & CANCELLED != 0 {
                return;
            }
            inner.reason = Some(reason);
            let bits = if by_deadline { CANCELLED | BY_DEADLINE } else { CANCELLED };
            let prev = self.state.fetch_or(bits, Ordering::Release);
            if prev & FINISHED != 0 {
                // After the end: recorded for `cancel_called`, affects nothing (invariant 4).
                return;
            }
            if wake_self { inner.waker.clone() } else { None }
        };
        if let Some(w) = waker {
            w.wake();
        }
        self.wake_descendant_tasks();
    }

    /// Sets or clears the shield. Clearing it wakes the scope and the tasks below it, so that a
    /// pending outer cancellation is delivered.
    pub(crate) fn set_shield(&self, on: bool) {
        if on {
            self.state.fetch_or(SHIELD, Ordering::AcqRel);
        } else if self.state.fetch_and(!SHIELD, Ordering::AcqRel) & SHIELD != 0 {
            self.wake();
            self.wake_descendant_tasks();
        }
    }

    pub(crate) fn cleanup_grace(&self) -> Option<Duration> {
        self.lock().grace
    }

    pub(crate) fn set_cleanup_grace(&self, grace: Option<Duration>) {
        self.lock().grace = grace;
    }

    pub(crate) fn set_deadline(&self, deadline: Option<Instant>) {
        let waker = {
            let mut inner = self.lock();
            inner.deadline = deadline;
            self.state.fetch_or(DEADLINE_MOVED, Ordering::Release);
            inner.waker.clone()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Stores the waker of the future that runs this scope (or task root).
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut inner = self.lock();
        if self.flags() & FINISHED != 0 {
            return;
        }
        match &inner.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => {
                inner.waker = Some(waker.clone());
                self.state.fetch_or(HAS_WAKER, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn wake(&self) {
        let waker = self.lock().waker.clone();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every task root below this node that is not behind a shield. Each task is woken
    /// once: same-task nodes on the way are walked through, not woken. The walk keeps its own
    /// stack of nodes to visit: no recursion, however deep the tree.
    fn wake_descendant_tasks(&self) {
        let mut todo = self.live_children();
        while let Some(node) = todo.pop() {
            node.wake_one(&mut todo);
        }
    }

    /// The children registered in this node, upgraded (under this node's lock only).
    fn live_children(&self) -> Vec<Arc<Node>> {
        let inner = self.lock();
        match &inner.kids {
            Some(kids) => kids.children.iter().filter_map(Weak::upgrade).collect(),
            None => Vec::new(),
        }
    }

    /// Unless shielded: wakes this node's task if the node is a task root, and pushes its
    /// children onto `todo`. Takes this node's lock once, for both the waker and the children,
    /// and wakes only after releasing it.
    fn wake_one(&self, todo: &mut Vec<Arc<Node>>) {
        if effect(self.flags()) & SHIELD != 0 {
            return;
        }
        let waker = {
            let mut inner = self.lock();
            // A task root's waker is taken, not cloned (no reference count on the task, and its
            // `finish` then takes no lock): the woken task stores its waker again whenever its
            // body stays pending (`register` runs at every pending poll).
            let waker = if self.is_task_root() { inner.waker.take() } else { None };
            if waker.is_some() {
                self.state.fetch_and(!HAS_WAKER, Ordering::Relaxed);
            }
            if let Some(kids) = &inner.kids {
                todo.extend(kids.children.iter().filter_map(Weak::upgrade));
            }
            waker
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Leaves the parent's children (if registered there) and gives the parent link back.
    fn detach(&mut self) -> Option<Arc<Node>> {
        let inner = match self.inner.get_mut() {
            Ok(inner) => inner,
            Err(e) => e.into_inner(),
        };
        let parent = inner.parent.take()?;
        if inner.slot != NO_SLOT {
            if let Some(kids) = parent.lock().kids.as_mut() {
                kids.remove(inner.slot, None);
            }
        }
        Some(parent)
    }
}

impl Drop for Node {
    #[inline]
    fn drop(&mut self) {
        // Most nodes end with no parent (a scope that was never linked, one whose end let go
        // of its parent): nothing to detach, checked inline.
        let linked = match self.inner.get_mut() {
            Ok(inner) => inner.parent.is_some(),
            Err(e) => e.into_inner().parent.is_some(),
        };
        if linked {
            self.drop_linked();
        }
    }
}

impl Node {
    /// The drop of a node that still has a parent. Dropping the last reference to a long chain
    /// of ancestors must not recurse: each ancestor this drop owns alone is detached and
    /// dropped here, in a loop.
    #[cold]
    #[inline(never)]
    fn drop_linked(&mut self) {
        let mut next = self.detach();
        while let Some(parent) = next {
            next = match Arc::try_unwrap(parent) {
                Ok(mut node) => node.detach(),
                Err(_) => None,
            };
        }
    }
}
