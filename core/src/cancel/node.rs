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
//! - `state` holds the flags that are read lock-free: `CANCELLED` (and its cause), `SHIELD`.
//!   `CANCELLED` is only ever set, never cleared; it is stored with `Release` after the reason is
//!   written under the lock, and loaded with `Acquire`, so a reader that sees it also sees the
//!   reason.
//! - `parent` is set once and never changes: for a task root when the task is spawned, for a
//!   scope's node when something first needs to walk up through it (`frame::ensure_node`, the
//!   only way another task or a nested scope reaches a frame's node, links it before handing it
//!   out). A scope around a body that spawns nothing never links, and costs its parent nothing.
//! - A task root of a group registers among its parent's children at its first suspension
//!   (`link_unregistered`), before it checks its parent's cancellation.
//! - Lock order: a node's `inner` lock may be held while taking its *parent's* lock (upward,
//!   during registration), never the other way round. The wake walk holds one lock at a time and
//!   drops it before waking or recursing, and no `Arc<Node>` is dropped while a lock is held by
//!   the walk (a node's `Drop` takes its parent's lock).
//! - A node is registered in its parent's `children` only when the parent must be able to reach
//!   it on cancel: a task root (which lives in another task), or a node that has such a
//!   descendant. Registration happens before the registering task re-checks cancellation, so a
//!   cancel either sees the child in the walk or the child sees the cancel flag.

use std::sync::{Arc, OnceLock, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use super::reason::CancelReason;
use crate::sync_shim::{AtomicU32, Mutex, MutexGuard, Ordering};

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
/// The scope has finished.
pub(crate) const FINISHED: u32 = 1 << 6;
/// A waker has been stored (set under the lock by the future that runs the scope, the only
/// caller of both `set_waker` and `finish`): `finish` takes the lock only then. Cleared, also
/// under the lock, when the cancel walk takes a task root's waker to wake it.
const HAS_WAKER: u32 = 1 << 7;
// Bits 24–28 of `state` belong to `group::child` (how a task of a group ended): set only there,
// never touched here (every write here is a `fetch_or`/`fetch_and` of its own bits).

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) state: AtomicU32,
    parent: OnceLock<Parent>,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Parent {
    node: Arc<Node>,
    /// The parent lives in another task: this node is a task root.
    crosses_task: bool,
}

#[derive(Debug, Default)]
struct Inner {
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

/// `Inner::slot` of a node not registered in its parent.
const NO_SLOT: usize = usize::MAX;

impl Node {
    pub(crate) fn new(flags: u32, deadline: Option<Instant>, reason: Option<CancelReason>) -> Self {
        Node {
            state: AtomicU32::new(flags),
            parent: OnceLock::new(),
            inner: Mutex::new(Inner { deadline, reason, slot: NO_SLOT, ..Inner::default() }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a waker panicked while we held it; the data is consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn flags(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    /// Links the node under `parent`. A task root (`crosses_task`) registers itself so that the
    /// parent's cancellation reaches it. Returns `false` if the node was already linked.
    pub(crate) fn link(self: &Arc<Self>, parent: Arc<Node>, crosses_task: bool) -> bool {
        if self.parent.set(Parent { node: parent, crosses_task }).is_err() {
            return false;
        }
        if crosses_task {
            self.register_in_parent();
        }
        true
    }

    /// Links a task root's node under `parent` (the scope of the spawner) without registering
    /// it in the parent's children yet: [`register_in_parent`](Self::register_in_parent) does,
    /// when the task first suspends. A task that completes in its first poll never takes the
    /// parent's lock. Until registered, the parent's cancellation does not wake the task, which
    /// is fine: the task is running or about to run, and checks its parent right after it
    /// registers. Does nothing if the node was already linked.
    pub(crate) fn link_unregistered(&self, parent: Arc<Node>) {
        let _ = self.parent.set(Parent { node: parent, crosses_task: true });
    }

    pub(crate) fn parent(&self) -> Option<&Arc<Node>> {
        self.parent.get().map(|p| &p.node)
    }

    /// The parent, when it lives in another task (this node is a task root): one read of the
    /// link where `parent()` + `is_task_root()` take two.
    pub(crate) fn task_parent(&self) -> Option<&Arc<Node>> {
        self.parent.get().filter(|p| p.crosses_task).map(|p| &p.node)
    }

    pub(crate) fn is_task_root(&self) -> bool {
        self.parent.get().is_some_and(|p| p.crosses_task)
    }

    /// Registers `self` in its parent's children, and the parent in its own parent, upward until
    /// an already registered node. Takes locks child-then-parent only.
    pub(crate) fn register_in_parent(self: &Arc<Self>) {
        // A loop, not recursion: a chain of unregistered ancestors may be long.
        let mut node = Arc::clone(self);
        loop {
            let mut me = node.lock();
            if me.slot != NO_SLOT {
                return;
            }
            let Some(parent) = node.parent() else { return };
            let parent = Arc::clone(parent);
            let mut p = parent.lock();
            let weak = Arc::downgrade(&node);
            let kids = p.kids.get_or_insert_with(Box::default);
            let slot = match kids.free.pop() {
                Some(i) => {
                    kids.children[i] = weak;
                    i
                }
                None => {
                    kids.children.push(weak);
                    kids.children.len() - 1
                }
            };
            me.slot = slot;
            let parent_registered = p.slot != NO_SLOT || parent.parent().is_none();
            drop(p);
            drop(me);
            if parent_registered {
                return;
            }
            node = parent;
        }
    }

    /// Whether this scope is cancelled, or an ancestor is with no shield in between.
    pub(crate) fn effectively_cancelled(&self) -> bool {
        let mut node = self;
        loop {
            let flags = node.flags();
            if flags & CANCELLED != 0 {
                return true;
            }
            if flags & SHIELD != 0 {
                return false;
            }
            match node.parent() {
                Some(p) => node = p,
                None => return false,
            }
        }
    }

    /// The reason of the nearest cancelled scope at or above this one (up to a shield).
    pub(crate) fn effective_reason(&self) -> Option<CancelReason> {
        let mut node = self;
        let mut inherited = false;
        loop {
            let flags = node.flags();
            if flags & CANCELLED != 0 {
                let r = node.lock().reason.clone().unwrap_or(CancelReason::Explicit(None));
                return Some(if inherited { CancelReason::Parent(Box::new(r)) } else { r });
            }
            if flags & SHIELD != 0 {
                return None;
            }
            inherited = true;
            node = node.parent()?;
        }
    }

    /// The earliest deadline at or above this node, up to and including the nearest shield.
    pub(crate) fn effective_deadline(&self) -> Option<Instant> {
        let mut node = self;
        let mut best: Option<Instant> = None;
        loop {
            if let Some(d) = node.lock().deadline {
                best = Some(best.map_or(d, |b| b.min(d)));
            }
            if node.flags() & SHIELD != 0 {
                return best;
            }
            match node.parent() {
                Some(p) => node = p,
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
            self.state.fetch_or(bits, Ordering::Release);
            if wake_self { inner.waker.clone() } else { None }
        };
        if let Some(w) = waker {
            w.wake();
        }
        self.wake_descendant_tasks();
    }

    /// Marks the scope finished and forgets the waker of the future that ran it, so that calls
    /// through a handle that outlives the scope wake nothing (and keep no task alive).
    pub(crate) fn finish(&self) {
        // `set_waker` and `finish` are called by the future that runs the scope only, never at
        // the same time. A scope that already finished, or that holds no waker (its body
        // completed on its first poll, or the cancel walk took it), has nothing to forget and
        // nothing to write: `FINISHED` is only read by `set_waker`, which the finished future
        // never calls again.
        let flags = self.flags();
        if flags & (FINISHED | HAS_WAKER) != HAS_WAKER {
            return;
        }
        let waker = {
            let mut inner = self.lock();
            self.state.fetch_or(FINISHED, Ordering::Release);
            inner.waker.take()
        };
        drop(waker);
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
        if self.flags() & SHIELD != 0 {
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
        let slot = self.inner.get_mut().map(|i| i.slot).unwrap_or_else(|e| e.into_inner().slot);
        let parent = self.parent.take()?;
        if slot != NO_SLOT {
            let mut p = parent.node.lock();
            if let Some(kids) = p.kids.as_mut() {
                if let Some(entry) = kids.children.get_mut(slot) {
                    *entry = Weak::new();
                    kids.free.push(slot);
                }
            }
        }
        Some(parent.node)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Dropping the last reference to a long chain of ancestors must not recurse: each
        // ancestor this drop owns alone is detached and dropped here, in a loop.
        let mut next = self.detach();
        while let Some(parent) = next {
            next = match Arc::try_unwrap(parent) {
                Ok(mut node) => node.detach(),
                Err(_) => None,
            };
        }
    }
}
