//! The record a task group shares with its handles and its tasks.
//!
//! # Invariants
//!
//! - `live` counts the tasks that have been admitted and have not finished, in its low bits,
//!   and holds [`CLOSED`] in its top bit once the group has finished (or was dropped). A spawn
//!   adds one *then* checks `CLOSED` (and takes its one back if it was set), so the group closes
//!   only with a compare-exchange from exactly `0` to `CLOSED`: a spawn racing with the close
//!   either was counted first (the exchange fails and the group waits for it) or sees `CLOSED`.
//!   Increments and decrements are `AcqRel` so that what a task recorded before it finished is
//!   visible to the group that sees the count drop.
//! - The one waker (the group future's while it is alive, then the waiter that a dropped group
//!   left behind) is stored under the lock *before* the count is checked again, and the task that
//!   brings the count to zero takes it under the lock *after* its decrement: either the waiter sees
//!   zero or the last task sees the waker. No other wake-up is needed: the group waits for all its
//!   tasks with one waker, never one handle per task.
//! - The fast path of a task that succeeds is one decrement; errors and panics take the lock.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use super::child::Joiners;
use super::error::GroupClosed;
use crate::cancel::node::Node;
use crate::cancel::{CancelReason, CancelScope};
use crate::runtime::Handle;
use crate::sync_shim::{AtomicUsize, Ordering};

/// The group has finished or was dropped: nothing more may be spawned.
const CLOSED: usize = 1 << (usize::BITS - 1);
const COUNT: usize = !CLOSED;

pub(crate) struct Shared<E> {
    /// The group's scope: every task hangs under its node.
    pub(crate) scope: CancelScope,
    rt: OnceLock<Handle>,
    live: AtomicUsize,
    /// A task ended cancelled while the group's scope was cancelled: the group's waiting was
    /// cut short by a cancellation, and its exit is a delivery point for it (Trio: a child's
    /// `Cancelled` propagates out of the nursery to the scope that owns it).
    children_cancelled: std::sync::atomic::AtomicBool,
    inner: Mutex<Inner<E>>,
}

struct Inner<E> {
    errors: Vec<E>,
    panic: Option<Box<dyn Any + Send>>,
    waker: Option<Waker>,
    /// The group future was dropped: failures are recorded in the tracker as they arrive.
    orphaned: bool,
    /// The handles waiting for their task to end, by the task's node (see `child::Joiners`).
    joiners: Vec<(Arc<Node>, Waker)>,
}

impl<E> Drop for Shared<E> {
    fn drop(&mut self) {
        // The group is gone, its tasks too: its scope ends (`cancel/node.rs`, invariant 4).
        self.scope.node().release();
    }
}

impl<E> Shared<E> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Shared {
            scope: CancelScope::held(),
            rt: OnceLock::new(),
            live: AtomicUsize::new(0),
            children_cancelled: std::sync::atomic::AtomicBool::new(false),
            inner: Mutex::new(Inner {
                errors: Vec::new(),
                panic: None,
                waker: None,
                orphaned: false,
                joiners: Vec::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner<E>> {
        // Poisoning would only mean a panic while we held the lock (a waker's clone); the data
        // stays consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_runtime(&self, rt: Handle) {
        let _ = self.rt.set(rt);
    }

    /// The group's runtime, once its future has been polled; tasks are spawned on it (else on
    /// the ambient runtime).
    pub(crate) fn group_runtime(&self) -> Option<&Handle> {
        self.rt.get()
    }

    /// Admits one task, unless the group is closed.
    pub(crate) fn try_enter(&self) -> Result<(), GroupClosed> {
        let prev = self.live.fetch_add(1, Ordering::AcqRel);
        if prev & CLOSED != 0 {
            self.leave();
            return Err(GroupClosed);
        }
        Ok(())
    }

    /// A task admitted by [`try_enter`](Self::try_enter) has finished.
    pub(crate) fn leave(&self) {
        let prev = self.live.fetch_sub(1, Ordering::AcqRel);
        if prev & COUNT == 1 {
            let waker = self.lock().waker.take();
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// A task ended cancelled: noted if the group's scope is effectively cancelled (by itself or
    /// an enclosing scope; a task cancelled alone, through its own handle, ends the way a task
    /// that returned does).
    pub(crate) fn child_cancelled(&self) {
        if self.scope.node().effectively_cancelled() {
            self.children_cancelled.store(true, Ordering::Release);
        }
    }

    /// Whether a task ended cancelled by the group's scope (see `child_cancelled`).
    pub(crate) fn children_cancelled(&self) -> bool {
        self.children_cancelled.load(Ordering::Acquire)
    }

    /// Tasks running now.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire) & COUNT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.live.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Closes the group if no task runs. Fails when a spawn got in first.
    pub(crate) fn try_close(&self) -> bool {
        self.live.compare_exchange(0, CLOSED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Closes the group whatever runs (it was dropped).
    pub(crate) fn close(&self) {
        self.live.fetch_or(CLOSED, Ordering::AcqRel);
    }

    /// Ready once no task runs; otherwise `cx` is woken when the last one finishes.
    pub(crate) fn poll_children(&self, cx: &Context<'_>) -> Poll<()> {
        if self.live() == 0 {
            return Poll::Ready(());
        }
        {
            let mut inner = self.lock();
            match &inner.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => inner.waker = Some(cx.waker().clone()),
            }
        }
        if self.live() == 0 { Poll::Ready(()) } else { Poll::Pending }
    }

    /// Cancels the group's scope (and so every task), with `why` as the message.
    pub(crate) fn cancel(&self, why: &str) {
        if !self.scope.cancel_called() {
            self.scope.node().cancel(CancelReason::Explicit(Some(why.into())));
        }
    }
}

impl<E: Send + 'static> Joiners for Shared<E> {
    fn wait_for(&self, node: &Arc<Node>, waker: &Waker) {
        let mut inner = self.lock();
        match inner.joiners.iter_mut().find(|(n, _)| Arc::ptr_eq(n, node)) {
            Some((_, w)) if w.will_wake(waker) => {}
            Some((_, w)) => *w = waker.clone(),
            None => inner.joiners.push((Arc::clone(node), waker.clone())),
        }
    }

    fn forget(&self, node: &Arc<Node>) {
        let taken = {
            let mut inner = self.lock();
            let i = inner.joiners.iter().position(|(n, _)| Arc::ptr_eq(n, node));
            i.map(|i| inner.joiners.swap_remove(i))
        };
        // Dropped outside the lock: a waker's drop runs foreign code.
        drop(taken);
    }
}

impl<E> Shared<E> {
    /// Handles whose waker is kept now.
    #[cfg(test)]
    pub(crate) fn joiners_waiting(&self) -> usize {
        self.lock().joiners.len()
    }

    /// Wakes (and forgets) the handle waiting for the task of `node`, if any.
    pub(crate) fn wake_joiner(&self, node: &Arc<Node>) {
        let taken = {
            let mut inner = self.lock();
            let i = inner.joiners.iter().position(|(n, _)| Arc::ptr_eq(n, node));
            i.map(|i| inner.joiners.swap_remove(i))
        };
        if let Some((_, waker)) = taken {
            waker.wake();
        }
    }
}

impl<E: fmt::Debug> Shared<E> {
    /// Records a failure of the body or a task, and cancels the group.
    pub(crate) fn fail(&self, error: E) {
        {
            let mut inner = self.lock();
            if inner.orphaned {
                drop(inner);
                report_error(&error);
            } else {
                inner.errors.push(error);
            }
        }
        self.cancel("a task in the group failed");
    }

    /// Records a panic of the body or a task (the first is resumed by the group, the others
    /// reported), and cancels the group.
    pub(crate) fn panicked(&self, payload: Box<dyn Any + Send>) {
        {
            let mut inner = self.lock();
            if inner.orphaned || inner.panic.is_some() {
                drop(inner);
                // The group already resumes a panic, or is gone.
                report_panic(&*payload);
            } else {
                inner.panic = Some(payload);
            }
        }
        self.cancel("a task in the group panicked");
    }

    /// What the group returns: its errors and its panic.
    pub(crate) fn take_outcome(&self) -> (Vec<E>, Option<Box<dyn Any + Send>>) {
        let mut inner = self.lock();
        (std::mem::take(&mut inner.errors), inner.panic.take())
    }

    /// The group future is gone: records what it can no longer return, and every failure that
    /// arrives later, in the tracker.
    pub(crate) fn orphan(&self) {
        let (errors, panic) = {
            let mut inner = self.lock();
            inner.orphaned = true;
            inner.waker = None;
            (std::mem::take(&mut inner.errors), inner.panic.take())
        };
        for e in &errors {
            report_error(e);
        }
        if let Some(p) = panic {
            report_panic(&*p);
        }
    }
}

/// The tracker kind under which a task group's unreceived errors and panics are counted.
pub(crate) const GROUP_KIND: &str = "anyscope::TaskGroup";

/// Records an error of a task group that nobody can receive any more (see
/// [`tracker`](crate::tracker)). Never panics, never prints.
pub(crate) fn report_error<E: fmt::Debug>(error: &E) {
    crate::tracker::unreceived_error(GROUP_KIND, &DebugAsDisplay(error));
}

/// Records a panic of a task group that nobody can resume any more. Never panics, never prints.
pub(crate) fn report_panic(payload: &(dyn Any + Send)) {
    crate::tracker::unreceived_panic(GROUP_KIND, payload);
}

/// A group's error type is only `Debug`: shown that way in diagnostics.
struct DebugAsDisplay<'a, E>(&'a E);

impl<E: fmt::Debug> fmt::Display for DebugAsDisplay<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl<E> fmt::Debug for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live = self.live.load(Ordering::Acquire);
        f.debug_struct("TaskGroup")
            .field("tasks", &(live & COUNT))
            .field("closed", &(live & CLOSED != 0))
            .field("cancel_called", &self.scope.cancel_called())
            .finish()
    }
}

/// Waits for the tasks of a group whose future was dropped: the cleanup that a dropped group
/// hands to the enclosing frame, so that the frame completes only after them.
pub(crate) struct WaitTasks<E> {
    pub(crate) shared: Arc<Shared<E>>,
}

impl<E> std::future::Future for WaitTasks<E> {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.shared.poll_children(cx)
    }
}

/// Hands `fut` to the innermost frame as a cleanup, or to a tracked detached task, or records
/// it as lost when there is no runtime. Never panics.
pub(crate) fn adopt_or_detach(fut: crate::runtime::BoxFuture<()>) {
    crate::frame::dispose(crate::frame::Cleanup::new("anyscope::TaskGroup", fut));
}
