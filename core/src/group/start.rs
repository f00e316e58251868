//! [`TaskGroup::start`](super::TaskGroup::start): start a task and wait until it reports ready.
//!
//! The task gets a [`TaskStatus`]; [`TaskStatus::started`] consumes it, so reporting twice is
//! impossible. Until the report, the task's end belongs to the caller of `start` (through the
//! task's route, [`StartRoute`]); after it, to the group.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::child::{Abandon, End, Route, spawn_child};
use super::error::StartError;
use super::shared::{Shared, adopt_or_detach, report_error, report_panic};
use crate::cancel::CancelReason;
use crate::cancel::node::Node;
use crate::frame::{self, RegionTicket};

/// What a task started with [`TaskGroup::start`](super::TaskGroup::start) uses to report that
/// it is ready, with a value for the caller of `start` (a bound address, a handle…).
///
/// [`started`](TaskStatus::started) consumes the status: a task reports ready at most once.
/// Dropping the status without reporting is allowed; the caller of `start` then gets
/// [`StartError::NotStarted`] when the task finishes.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{group::{task_group, TaskStatus}, sleep};
/// use std::time::Duration;
///
/// let res = task_group(|tg| async move {
///     let port = tg
///         .start(|status: TaskStatus<u16>| async move {
///             status.started(8080); // "listening"
///             sleep(Duration::from_millis(1)).await; // serve…
///             Ok(())
///         })
///         .await
///         .unwrap();
///     assert_eq!(port, 8080);
///     Ok::<(), String>(())
/// })
/// .await;
/// assert!(res.is_ok());
/// # });
/// ```
pub struct TaskStatus<V> {
    sink: Arc<dyn ReadySink<V>>,
}

impl<V> TaskStatus<V> {
    /// Reports that the task is ready: the caller's `start` returns `value` (even if the
    /// caller's scope was cancelled meanwhile, see [`Start`](super::Start)), and from now on the
    /// task's error or panic goes to its group. If the `start` future was dropped from outside,
    /// `value` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::{task_group, TaskStatus};
    ///
    /// let _ = task_group(|tg| async move {
    ///     let v = tg.start(|s: TaskStatus<&str>| async move { s.started("up"); Ok(()) }).await;
    ///     assert_eq!(v.unwrap(), "up");
    ///     Ok::<(), ()>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn started(self, value: V) {
        self.sink.ready(value);
    }
}

impl<V> fmt::Debug for TaskStatus<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskStatus").finish_non_exhaustive()
    }
}

trait ReadySink<V>: Send + Sync {
    fn ready(&self, value: V);
}

enum State<V, E> {
    Waiting,
    Ready(V),
    Failed(E),
    Panicked(Box<dyn Any + Send>),
    NotStarted,
    Cancelled,
    /// Ready was reported and the value taken (or dropped), or the outcome was returned.
    Taken,
}

struct SlotInner<V, E> {
    state: State<V, E>,
    waker: Option<Waker>,
    /// The `Start` future was dropped while waiting.
    abandoned: bool,
}

/// What the task and the caller of `start` share until the task is ready.
struct Slot<V, E> {
    inner: Mutex<SlotInner<V, E>>,
}

impl<V, E> Slot<V, E> {
    fn lock(&self) -> MutexGuard<'_, SlotInner<V, E>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn poll_settled(&self, cx: &Context<'_>) -> Poll<()> {
        let mut inner = self.lock();
        if matches!(inner.state, State::Waiting) {
            inner.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(())
    }
}

fn settle<V, E>(mut inner: MutexGuard<'_, SlotInner<V, E>>, state: State<V, E>) {
    inner.state = state;
    let waker = inner.waker.take();
    drop(inner);
    if let Some(w) = waker {
        w.wake();
    }
}

impl<V: Send, E: Send> ReadySink<V> for Slot<V, E> {
    fn ready(&self, value: V) {
        let inner = self.lock();
        if !matches!(inner.state, State::Waiting) {
            return;
        }
        if inner.abandoned {
            settle(inner, State::Taken);
            drop(value); // outside the lock: its drop may do anything
        } else {
            settle(inner, State::Ready(value));
        }
    }
}

/// The route of a started task: its end goes to the caller until it reported ready.
struct StartRoute<V, E>(Arc<Slot<V, E>>);

impl<V, E> Route<(), E> for StartRoute<V, E>
where
    V: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    fn claim(&self, end: End<(), E>) -> Option<End<(), E>> {
        let inner = self.0.lock();
        if !matches!(inner.state, State::Waiting) {
            return Some(end);
        }
        if inner.abandoned {
            settle(inner, State::Taken);
            match end {
                End::Err(e) => report_error(&e),
                End::Panicked(p) => report_panic(&*p),
                End::Ok(()) | End::Cancelled => {}
            }
            return None;
        }
        let state = match end {
            End::Ok(()) => State::NotStarted,
            End::Err(e) => State::Failed(e),
            End::Cancelled => State::Cancelled,
            End::Panicked(p) => State::Panicked(p),
        };
        settle(inner, state);
        None
    }
}

impl<V: Send + 'static, E: Send + 'static> Abandon for StartRoute<V, E> {
    fn abandoned(&self) {
        let inner = self.0.lock();
        if matches!(inner.state, State::Waiting) {
            settle(inner, State::Cancelled);
        }
    }
}

/// The future of [`TaskGroup::start`](super::TaskGroup::start).
///
/// # Cancel safety
///
/// Polled first inside a cancelled scope, it still starts the task, as AnyIO's and Trio's
/// `start` do (and as [`spawn`](super::TaskGroup::spawn) does): the task runs to its first
/// suspension point, where it is cancelled, and the rules below apply — the caller's scope
/// catches once the task has finished, unless the task reported ready first.
///
/// Once the task has been started, the value it reports is never lost to a cancellation of the
/// caller, as in AnyIO (`start` returns once `task_status.started()` was called, and Trio
/// delivers the cancellation at the next checkpoint). While the task has not reported ready,
/// `start` defers the delivery of a cancellation of the caller's scopes, as a shield does:
///
/// - when the caller's scope is cancelled, `start` cancels the task and keeps waiting until the
///   task reports ready or finishes;
/// - if the task reports ready — before or after it saw the cancellation, and even if the
///   caller's scope was cancelled before the caller was polled again — `start` returns
///   `Ok(value)`, and the cancellation is delivered at the caller's next checkpoint (a task
///   that reports ready after `start` cancelled it stays cancelled: it goes on in the group up
///   to its next checkpoint);
/// - if the task finishes without reporting ready, the caller's scope catches its cancellation
///   (the caller gets no outcome); an error or a panic of the task then has nobody to go to and
///   is recorded in the [`tracker`](crate::tracker) (`errors_unreceived` / `panics_unreceived`
///   of the kind `anyscope::TaskGroup`).
///
/// Dropped from outside (by a combinator, not by the scope it defers) while the task has not
/// reported ready, it cancels the task and hands a cleanup that waits for the task to the
/// enclosing frame, which completes only after the task has finished (or reported ready; the
/// value is then dropped).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::group::{task_group, Start, TaskStatus};
///
/// let _ = task_group(|tg| async move {
///     let start: Start<u8, (), _> = tg.start(|s: TaskStatus<u8>| async move { s.started(1); Ok(()) });
///     assert_eq!(start.await.unwrap(), 1);
///     Ok::<(), ()>(())
/// })
/// .await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Start<V, E, F>
where
    V: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    group: Arc<Shared<E>>,
    f: Option<F>,
    slot: Option<Arc<Slot<V, E>>>,
    node: Option<Arc<Node>>,
    /// Counted as an active shielded region in the enclosing frames while the task has not
    /// reported ready: they defer delivering a cancellation until `start` has returned the value
    /// or given up (see `poll`).
    counted: RegionTicket,
    /// The caller's scope was seen cancelled and the task was cancelled.
    caller_cancelled: bool,
}

// `f` is moved out before it is called, never pinned.
impl<V, E, F> Unpin for Start<V, E, F>
where
    V: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
}

impl<V, E, F> Start<V, E, F>
where
    V: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    pub(crate) fn new(group: Arc<Shared<E>>, f: F) -> Self {
        Start {
            group,
            f: Some(f),
            slot: None,
            node: None,
            counted: RegionTicket::default(),
            caller_cancelled: false,
        }
    }
}

impl<V, E, F, Fut> Future for Start<V, E, F>
where
    V: Send + 'static,
    E: fmt::Debug + Send + 'static,
    F: FnOnce(TaskStatus<V>) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
{
    type Output = Result<V, StartError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.slot.is_none() {
            // Not a checkpoint before the task exists: as in AnyIO and Trio (and as `spawn`
            // does), a `start` in a cancelled scope starts the task, which runs to its first
            // suspension point; the caller's cancellation is then handled below, as when it
            // comes while the task starts.
            let f = this.f.take().expect("anyscope: a `start` future was polled after it completed");
            let slot = Arc::new(Slot {
                inner: Mutex::new(SlotInner { state: State::Waiting, waker: None, abandoned: false }),
            });
            let status = TaskStatus { sink: Arc::clone(&slot) as Arc<dyn ReadySink<V>> };
            match spawn_child(&this.group, || f(status), StartRoute(Arc::clone(&slot))) {
                Err(_) => {
                    this.slot = Some(Arc::new(Slot {
                        inner: Mutex::new(SlotInner { state: State::Taken, waker: None, abandoned: false }),
                    }));
                    return Poll::Ready(Err(StartError::Closed));
                }
                Ok(node) => {
                    this.node = Some(node);
                    this.slot = Some(slot);
                }
            }
        }
        let slot = Arc::clone(this.slot.as_ref().expect("set above"));
        let mut inner = slot.lock();
        match std::mem::replace(&mut inner.state, State::Taken) {
            State::Waiting => {
                inner.state = State::Waiting;
                // Woken when the task reports ready or ends, even once cancelled: we wait for it.
                inner.waker = Some(cx.waker().clone());
                drop(inner);
                if !this.caller_cancelled {
                    if frame::cancelled_for(cx) {
                        this.caller_cancelled = true;
                        if let Some(node) = &this.node {
                            node.cancel(CancelReason::Explicit(Some(CALLER_CANCELLED.into())));
                        }
                    } else if frame::effective_deadline().is_some_and(|d| d <= frame::now()) {
                        // An enclosing deadline has passed and its frame notices only after this
                        // poll; the region we count keeps it from delivering, so nothing else
                        // would poll us again: ask for one more poll, which sees it.
                        cx.waker().wake_by_ref();
                    }
                }
                this.count(true);
                Poll::Pending
            }
            State::Ready(v) => {
                drop(inner);
                this.count(false);
                Poll::Ready(Ok(v))
            }
            other => {
                if this.caller_cancelled || frame::cancelled_for(cx) {
                    // The caller is being cancelled and gets no outcome: its scope catches at
                    // once (we no longer defer it), and dropping us records an error or panic
                    // nobody can receive.
                    inner.state = other;
                    drop(inner);
                    this.count(false);
                    return Poll::Pending;
                }
                drop(inner);
                this.count(false);
                match other {
                    State::Failed(e) => Poll::Ready(Err(StartError::Failed(e))),
                    State::NotStarted => Poll::Ready(Err(StartError::NotStarted)),
                    State::Cancelled => Poll::Ready(Err(StartError::Cancelled)),
                    State::Panicked(p) => resume_unwind(p),
                    State::Waiting | State::Ready(_) | State::Taken => {
                        panic!("anyscope: a `start` future was polled after it completed")
                    }
                }
            }
        }
    }
}

const CALLER_CANCELLED: &str = "the caller of `start` was cancelled";

impl<V, E, F> Start<V, E, F>
where
    V: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    /// Enters (raising the ticket on the innermost frame of this poll, wherever an earlier poll
    /// raised it) or leaves the counted region; see `frame::region`.
    fn count(&mut self, on: bool) {
        if on { self.counted.raise() } else { self.counted.lower() }
    }
}

impl<V, E, F> Drop for Start<V, E, F>
where
    V: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    fn drop(&mut self) {
        self.count(false);
        let Some(slot) = self.slot.take() else { return };
        let mut inner = slot.lock();
        match std::mem::replace(&mut inner.state, State::Taken) {
            State::Waiting => {
                inner.state = State::Waiting;
                inner.abandoned = true;
                inner.waker = None;
                drop(inner);
                if let Some(node) = &self.node {
                    node.cancel(CancelReason::Explicit(Some(CALLER_CANCELLED.into())));
                }
                let wait = WaitStart { slot };
                adopt_or_detach(Box::pin(wait));
            }
            State::Failed(e) => {
                drop(inner);
                report_error(&e);
            }
            State::Panicked(p) => {
                drop(inner);
                report_panic(&*p);
            }
            other => {
                drop(inner);
                drop(other); // a ready value nobody took: dropped outside the lock
            }
        }
    }
}

impl<V, E, F> fmt::Debug for Start<V, E, F>
where
    V: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Start").field("spawned", &self.slot.is_some()).finish_non_exhaustive()
    }
}

/// The cleanup a dropped `Start` leaves: waits until its task reported ready or finished.
struct WaitStart<V, E> {
    slot: Arc<Slot<V, E>>,
}

impl<V, E> Future for WaitStart<V, E> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.slot.poll_settled(cx)
    }
}
