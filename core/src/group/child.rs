//! A task of a group: its task root, how its end is routed, and its handle.
//!
//! Each task is one runtime task whose root frame has its own scope node, linked under the
//! group's node. That node is the only per-task record: the group's cancellation reaches the
//! task through the tree, and the task's [`ChildHandle`] cancels it alone through the same node.
//! The task's end (value, error, cancellation, panic) is recorded *after* its frame has run its
//! adopted cleanups, then the group's count drops: a group that sees zero tasks knows that every
//! task's cleanups have finished.
//!
//! The task has no runtime handle ([`Runtime::spawn_detached`](crate::runtime::Runtime::spawn_detached)):
//! it writes how it ended into spare bits of its node's state, and a waiting [`ChildHandle`]
//! leaves its waker with the group ([`Joiners`]). A task dropped unfinished (runtime shutdown)
//! records itself cancelled from its `Drop`.
//!
//! # Invariants
//!
//! - `DONE` and the end bits are set once, in one `fetch_or`, before the group's count drops.
//! - A handle that waits stores its waker with the group *then* sets `WAITING`; the task sets
//!   `DONE` and reads `WAITING` in the same read-modify-write. Both are read-modify-writes of
//!   one atomic, so either the task sees `WAITING` (and wakes the handle) or the handle sees
//!   `DONE`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use super::error::{ChildEnd, ChildError, GroupClosed};
use super::shared::Shared;
use crate::cancel::CancelReason;
use crate::cancel::node::{ENTERED, Node};
use crate::frame::{self, FrameState, Outcome, RootFramed, SKIP_REASON, TASK_ROOT, UNREGISTERED};
use crate::runtime::{Handle, TaskOutput};
use crate::sync_shim::Ordering;

// How a task of a group ended, in spare bits of its node's `state` (bits 24–28; the cancel
// module's flags are the low byte, and only ever set or cleared bit by bit). Set only by the
// task (`report`) and its waiting handle.
/// The task has ended; the bits below say how (none of them: it returned `Ok`).
const DONE: u32 = 1 << 24;
const FAILED: u32 = 1 << 25;
const PANICKED: u32 = 1 << 26;
const CANCELLED: u32 = 1 << 27;
/// A handle waits: its waker is with the group's [`Joiners`].
const WAITING: u32 = 1 << 28;

/// Where the wakers of handles waiting for their task are kept: with the group, not per task
/// (few tasks are ever awaited through their handle). Not generic, so that [`ChildHandle`] is
/// not.
pub(crate) trait Joiners: Send + Sync + 'static {
    /// Keeps `waker` for the end of the task of `node` (replacing an earlier one of that task).
    fn wait_for(&self, node: &Arc<Node>, waker: &Waker);
    /// Takes back the waker kept for the task of `node`, if any.
    fn forget(&self, node: &Arc<Node>);
}

/// Records the end of the task of `node` (the first record wins), and wakes its handle if it
/// waits.
fn report<E>(node: &Arc<Node>, group: &Shared<E>, end: u32) {
    let prev = node.state.fetch_or(DONE | end, Ordering::AcqRel);
    if prev & (DONE | WAITING) == WAITING {
        group.wake_joiner(node);
    }
}

/// How a task ended.
pub(crate) enum End<T, E> {
    Ok(T),
    Err(E),
    Cancelled,
    Panicked(Box<dyn Any + Send>),
}

/// Where a task's end goes: to the group, or (for a task started with `start` that has not
/// reported ready) to the caller of `start`.
pub(crate) trait Route<T, E>: Abandon {
    /// Takes `end` if it belongs elsewhere than the group; gives it back otherwise.
    fn claim(&self, end: End<T, E>) -> Option<End<T, E>>;
}

/// The part of a [`Route`] a task dropped unfinished (the runtime shut down) uses.
pub(crate) trait Abandon: Send + 'static {
    /// The task was dropped before it finished.
    fn abandoned(&self);
}

/// The route of a spawned task: everything goes to the group.
pub(crate) struct ToGroup;

impl<T, E> Route<T, E> for ToGroup {
    fn claim(&self, end: End<T, E>) -> Option<End<T, E>> {
        Some(end)
    }
}

impl Abandon for ToGroup {
    fn abandoned(&self) {}
}

/// Spawns `make()` as a task of the group, with its own scope node under the group's.
///
/// `make` is called only once the task has been admitted.
pub(crate) fn spawn_child<E, T, F, R>(
    shared: &Arc<Shared<E>>,
    make: impl FnOnce() -> F,
    route: R,
) -> Result<Arc<Node>, GroupClosed>
where
    E: fmt::Debug + Send + 'static,
    T: Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
    R: Route<T, E>,
{
    shared.try_enter()?;
    // Until the task exists (and leaves on its own), a panic in `make` must give the place back.
    let admitted = Admitted(shared);
    let fut = make();
    let mut ambient = None;
    let rt = runtime_of(shared, &mut ambient);
    let parent = Arc::clone(shared.scope.node());
    let node = Arc::new(Node::new(ENTERED, None, None));
    // Linked under the group's node now (the frame reaches it through its own node's parent
    // link: no second reference, `remote_parent`, is needed), and registered among the group's
    // children only when the task first suspends (`UNREGISTERED`): until then the task is
    // running or about to, and it checks the group's cancellation right after registering. A
    // task that completes in its first poll never takes the group's lock.
    node.link_unregistered(parent);
    let state = FrameState {
        // `End::Cancelled` carries no reason: delivery need not compute it.
        flags: TASK_ROOT | SKIP_REASON | UNREGISTERED,
        node: Some(Arc::clone(&node)),
        runtime: Some(rt.clone()),
        ..FrameState::default()
    };
    launch::<_, _, _, _, WithHandle>(admitted, rt, state, fut, route);
    Ok(node)
}

/// Spawns `fut` as a task of the group with no handle ([`TaskGroup::start_soon`]).
///
/// Nothing outside the task needs its node until it suspends: the frame makes one then (or when
/// the task spawns one of its own), linked and registered under the group's, as it does for a
/// plain task; until then the task reaches the group's cancellation through `remote_parent`.
/// A task that completes in its first poll costs the runtime's cell and its boxed future only.
///
/// [`TaskGroup::start_soon`]: super::TaskGroup::start_soon
pub(crate) fn spawn_soon<E, F>(shared: &Arc<Shared<E>>, fut: F) -> Result<(), GroupClosed>
where
    E: fmt::Debug + Send + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
{
    shared.try_enter()?;
    let admitted = Admitted(shared);
    let mut ambient = None;
    let rt = runtime_of(shared, &mut ambient);
    let state = FrameState {
        flags: TASK_ROOT | SKIP_REASON,
        remote_parent: Some(Arc::clone(shared.scope.node())),
        runtime: Some(rt.clone()),
        ..FrameState::default()
    };
    launch::<_, _, _, _, NoHandle>(admitted, rt, state, fut, ToGroup);
    Ok(())
}

/// Hands a task of the group, its frame state `state` made, to the runtime: from here on the
/// task leaves the group itself (`admitted` no longer gives its place back). `HANDLE`: the task
/// has a [`ChildHandle`] when `H` is [`WithHandle`], and `state` its node, where its end is
/// recorded.
fn launch<E, T, F, R, H: Handled>(admitted: Admitted<'_, E>, rt: &Handle, state: FrameState, fut: F, route: R)
where
    E: fmt::Debug + Send + 'static,
    T: Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
    R: Route<T, E>,
{
    debug_assert_eq!(state.node.is_some(), H::HANDLE);
    let task = ChildTask::<F, E, R, H> {
        inner: Some(RootFramed::new(state, None, fut)),
        group: Arc::clone(admitted.0),
        route,
        handled: PhantomData,
    };
    std::mem::forget(admitted);
    rt.spawn_detached(Box::pin(task));
}

/// The runtime a group's tasks are spawned on: borrowed from the group once its future has
/// been polled (one reference count less per task), else the ambient one, kept in `ambient`.
fn runtime_of<'a, E>(shared: &'a Shared<E>, ambient: &'a mut Option<Handle>) -> &'a Handle {
    match shared.group_runtime() {
        Some(rt) => rt,
        None => ambient.insert(crate::runtime::current()),
    }
}

/// Gives back an admission if the task could not be built.
struct Admitted<'a, E>(&'a Arc<Shared<E>>);

impl<E> Drop for Admitted<'_, E> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

pin_project! {
    /// The root of a task of a group. With a handle (`H::HANDLE`), the task's node is its frame's
    /// (no second reference here: the box stays within malloc's small-block size); the end is
    /// recorded in it for the handle.
    struct ChildTask<F: Future, E, R: Abandon, H: Handled> {
        #[pin]
        inner: Option<RootFramed<F>>,
        group: Arc<Shared<E>>,
        route: R,
        handled: PhantomData<H>,
    }

    impl<F: Future, E, R: Abandon, H: Handled> PinnedDrop for ChildTask<F, E, R, H> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if let Some(inner) = this.inner.as_mut().as_pin_mut() {
                // Dropped unfinished (runtime shutdown): drop the body inside its frame first, so
                // that its cleanups are handed on before the group may see zero tasks; then the
                // handle learns that the task was cancelled.
                let node = if H::HANDLE { inner.take_node() } else { None };
                this.inner.set(None);
                this.route.abandoned();
                if let Some(node) = node.filter(|n| n.flags() & DONE == 0) {
                    report(&node, this.group, CANCELLED);
                }
                this.group.leave();
            }
        }
    }
}

/// Whether a task of a group has a [`ChildHandle`] (its node made by the spawner).
trait Handled: Send + 'static {
    const HANDLE: bool;
}

/// A task spawned with a handle ([`spawn_child`]).
struct WithHandle;

/// A task with no handle ([`spawn_soon`]).
struct NoHandle;

impl Handled for WithHandle {
    const HANDLE: bool = true;
}

impl Handled for NoHandle {
    const HANDLE: bool = false;
}

/// Records the end of a finished task in its node when dropped, also when our bookkeeping
/// unwinds after the body had ended (`bits` is then `PANICKED`: a bug, but the handle must not
/// wait forever).
struct Report<'a, E> {
    node: Option<Arc<Node>>,
    group: &'a Shared<E>,
    bits: u32,
}

impl<E> Drop for Report<'_, E> {
    fn drop(&mut self) {
        if let Some(node) = &self.node {
            report(node, self.group, self.bits);
        }
    }
}

impl<F, T, E, R, H: Handled> Future for ChildTask<F, E, R, H>
where
    F: Future<Output = Result<T, E>>,
    T: Send + 'static,
    E: fmt::Debug + Send + 'static,
    R: Route<T, E>,
{
    type Output = TaskOutput;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<TaskOutput> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            panic!("anyscope: a task of a group was polled after it completed");
        };
        let end = match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Outcome::Done(Ok(v)))) => End::Ok(v),
            Ok(Poll::Ready(Outcome::Done(Err(e)))) => End::Err(e),
            Ok(Poll::Ready(Outcome::Caught(_))) => {
                this.group.child_cancelled();
                End::Cancelled
            }
            Err(payload) => End::Panicked(payload),
        };
        // The node leaves the completed frame (whose drop no longer needs it) for the report.
        let node =
            if H::HANDLE { this.inner.as_mut().as_pin_mut().and_then(RootFramed::take_node) } else { None };
        let mut rep = Report { node, group: this.group, bits: PANICKED };
        // Finished: from here on `inner` is `None`, which the drop reads as "nothing to undo"
        // (no separate flag: 8 bytes less per task).
        this.inner.set(None);
        rep.bits = match this.route.claim(end) {
            None | Some(End::Cancelled) => CANCELLED,
            Some(End::Ok(v)) => {
                drop(v);
                0
            }
            Some(End::Err(e)) => {
                this.group.fail(e);
                FAILED
            }
            Some(End::Panicked(p)) => {
                this.group.panicked(p);
                PANICKED
            }
        };
        drop(rep);
        // Last: the group may complete as soon as the count drops.
        this.group.leave();
        // Zero-sized: boxing it does not allocate.
        Poll::Ready(Box::new(()))
    }
}

/// A handle to one task of a group: cancel that task alone, or await how it ended.
///
/// Dropping the handle changes nothing: the task stays in its group, which waits for it and
/// reports its error. Awaiting the handle does not take the error away from the group either:
/// the handle only says that the task failed.
///
/// # Cancel safety
///
/// Awaiting a handle is a checkpoint and is cancel-safe: dropping the `.await` loses nothing,
/// the task keeps running in its group.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{group::task_group, sleep};
/// use std::time::Duration;
///
/// let res = task_group(|tg| async move {
///     let slow = tg.spawn(async { sleep(Duration::from_secs(3600)).await; Ok(()) }).unwrap();
///     let fast = tg.spawn(async { Ok(()) }).unwrap();
///     slow.cancel(); // only this task
///     assert!(slow.await.unwrap_err().is_cancelled());
///     assert!(fast.await.is_ok());
///     Ok::<(), std::io::Error>(())
/// })
/// .await;
/// assert!(res.is_ok());
/// # });
/// ```
pub struct ChildHandle {
    node: Arc<Node>,
    joiners: Arc<dyn Joiners>,
    done: bool,
    /// A waker of ours is with the group's joiners.
    waiting: bool,
}

impl ChildHandle {
    pub(crate) fn new(node: Arc<Node>, joiners: Arc<dyn Joiners>) -> Self {
        ChildHandle { node, joiners, done: false, waiting: false }
    }

    /// Cancels this task only: it is cancelled at its next suspension point outside a shield,
    /// runs its cleanups, and ends as cancelled. Its group and siblings are not affected, and
    /// the cancellation is not an error. Idempotent; harmless after the task finished.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let _ = task_group(|tg| async move {
    ///     let h = tg.spawn(std::future::pending()).unwrap();
    ///     h.cancel();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    ///     Ok::<(), &str>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn cancel(&self) {
        self.node.cancel(CancelReason::Explicit(None));
    }

    /// Whether the task has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let _ = task_group(|tg| async move {
    ///     let h = tg.spawn(async { Ok(()) }).unwrap();
    ///     anyscope_core::sleep(std::time::Duration::from_millis(20)).await;
    ///     assert!(h.is_finished());
    ///     Ok::<(), &str>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.node.flags() & DONE != 0
    }
}

impl Future for ChildHandle {
    type Output = Result<(), ChildError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if frame::cancelled_for(cx) {
            return Poll::Pending;
        }
        assert!(!self.done, "anyscope: a ChildHandle was polled after it completed");
        let mut flags = self.node.flags();
        if flags & DONE == 0 {
            // Waker first, then `WAITING`: the task that ends meanwhile sees one or the other.
            self.joiners.wait_for(&self.node, cx.waker());
            self.waiting = true;
            flags = self.node.state.fetch_or(WAITING, Ordering::AcqRel);
            if flags & DONE == 0 {
                return Poll::Pending;
            }
        }
        self.done = true;
        if std::mem::take(&mut self.waiting) {
            self.joiners.forget(&self.node);
        }
        Poll::Ready(if flags & FAILED != 0 {
            Err(ChildError::new(ChildEnd::Failed))
        } else if flags & PANICKED != 0 {
            Err(ChildError::new(ChildEnd::Panicked))
        } else if flags & CANCELLED != 0 {
            Err(ChildError::new(ChildEnd::Cancelled))
        } else {
            Ok(())
        })
    }
}

impl Drop for ChildHandle {
    fn drop(&mut self) {
        if self.waiting {
            // Our waker would otherwise stay with the group until the task ends.
            self.joiners.forget(&self.node);
        }
    }
}

impl fmt::Debug for ChildHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildHandle").field("finished", &self.is_finished()).finish_non_exhaustive()
    }
}
