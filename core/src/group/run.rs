//! [`task_group`]: the group's own future, which runs the body and waits for every task.
//!
//! One poll of [`RunGroup`]:
//!
//! 1. if an enclosing scope is cancelled, cancels the group's scope (which reaches every task
//!    through the scope tree) and shields it, so that the group's frame delivers the
//!    cancellation to the body itself instead of leaving it to the enclosing scope;
//! 2. polls the body in the group's frame (a [`CancelScope`](crate::CancelScope) whose node is
//!    the tasks' parent), catching its panic;
//! 3. while tasks run, counts as an active shielded region in the enclosing frames (so that an
//!    enclosing cancelled scope waits for the group instead of dropping it), and leaves its waker
//!    for the last task to wake;
//! 4. once the body has ended and no task runs, closes the group and completes: with the first
//!    panic resumed, else the errors, else the body's value. A group cancelled from outside
//!    with nothing to report — its body cancelled, or its body returned but a task was cut off
//!    by that cancellation — completes as a checkpoint does: it stays pending, and the
//!    enclosing scope drops it in the same poll (and reports the cancellation caught).

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::TaskGroup;
use super::error::GroupError;
use super::shared::{Shared, WaitTasks, adopt_or_detach, report_error};
use crate::cancel::{CancelReason, TryRun};
use crate::frame::{self, RegionTicket};
use crate::runtime;

/// Runs `body` with a new task group, and waits for the body and every task of the group.
///
/// The body receives a [`TaskGroup`] handle (cheap to clone, `Send + Sync`) to spawn tasks
/// with; tasks are `'static + Send` futures spawned on the ambient runtime (in parallel on a
/// multi-thread runtime) that return `Result<T, E>`. The group is AnyIO's task group, Trio's
/// nursery:
///
/// - every task runs under the group's cancel scope, itself under the scope around the group:
///   cancelling any enclosing scope cancels every task, including tasks of nested groups;
/// - the first error (or panic) of the body or of a task cancels the group: the body and every
///   other task are cancelled, and cancellations caused by the group are never errors;
/// - the group completes when the body and every task have finished, their cleanups included:
///   with `Ok(value)` of the body, or with every error in a [`GroupError`] (in arrival order),
///   or by resuming the first panic once everything else has finished;
/// - an enclosing scope cancelled while tasks run waits for them (the group is never dropped
///   mid-wait by it); an error a task returns meanwhile is still returned;
/// - with no error, a group whose tasks were cut off by an enclosing cancellation delivers that
///   cancellation when it ends, even if its body had returned: the enclosing scope catches it
///   (`CancelScope::run` returns `None`, `cancelled_caught` is true), as Trio's nursery
///   re-raises its children's `Cancelled`. If every task ended on its own (none was cut off),
///   the body's value is returned;
/// - the body runs in the group's frame, as the body of a cancel scope does: a group entered in
///   a cancelled scope runs its body to its first suspension point, and is cancelled there.
///
/// # When not to use it
///
/// For a task that may outlive its spawner, use [`spawn`](crate::spawn). For one future
/// awaited alongside another in the same task, `join`/`select` cost no task at all.
///
/// # Panics
///
/// On its first poll, if no runtime is available. A panic of the body or of a task is resumed
/// after everything else has finished (further panics are counted in the
/// [`tracker`](crate::tracker)).
///
/// # Cancel safety
///
/// Dropped before it completed (from outside, not by a scope it waits for), it cancels its
/// tasks and leaves their completion tracked: a cleanup that waits for them is handed to the
/// enclosing frame, which then completes only after they have finished (or, with no frame, to a
/// tracked detached task that `run` waits for). Tasks are never aborted: they run to their
/// cancellation point and run their cleanups. Errors the group can no longer return are
/// counted in the [`tracker`](crate::tracker).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{group::task_group, sleep};
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let done = Arc::new(AtomicU32::new(0));
/// let d = done.clone();
/// let res: Result<&str, std::io::Error> = task_group(|tg| async move {
///     for i in 0..3 {
///         let d = d.clone();
///         tg.spawn(async move {
///             sleep(Duration::from_millis(i)).await;
///             d.fetch_add(1, Ordering::Relaxed);
///             Ok(())
///         })
///         .expect("the group is open while its body runs");
///     }
///     Ok("body done")
/// })
/// .await
/// .map_err(|e| e.into_first().unwrap());
/// assert_eq!(res.unwrap(), "body done");
/// assert_eq!(done.load(Ordering::Relaxed), 3); // every task was awaited
/// # });
/// ```
pub fn task_group<F, Fut, T, E>(body: F) -> RunGroup<F, Fut, E>
where
    F: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Debug + Send + 'static,
{
    let shared = Shared::new();
    let tg = TaskGroup { shared: Arc::clone(&shared) };
    let body = shared.scope.try_run(Body { init: Some((body, tg)), fut: None });
    RunGroup {
        shared,
        body: Some(body),
        value: None,
        caught: None,
        started: false,
        outer_seen: false,
        counted: RegionTicket::default(),
        finished: false,
        completed: false,
    }
}

pin_project! {
    /// The group's body: calls the closure on its first poll, inside the group's frame (so
    /// that the group's scope is linked into the tree before any task is spawned).
    pub(crate) struct Body<F, Fut, E> {
        init: Option<(F, TaskGroup<E>)>,
        #[pin]
        fut: Option<Fut>,
    }
}

impl<F, Fut, E> Future for Body<F, Fut, E>
where
    F: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future,
{
    type Output = Fut::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        let mut this = self.project();
        if let Some((f, tg)) = this.init.take() {
            // Link the group's scope node into the tree now: its tasks hang under that node
            // (taken from the group, not from a frame), and must reach the enclosing scopes.
            let _ = crate::frame::current_node();
            this.fut.set(Some(f(tg)));
        }
        match this.fut.as_pin_mut() {
            Some(fut) => fut.poll(cx),
            None => panic!("anyscope: a task group body was polled after it completed"),
        }
    }
}

impl<F, Fut, E> fmt::Debug for Body<F, Fut, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body").finish_non_exhaustive()
    }
}

pin_project! {
    /// The future of [`task_group`].
    ///
    /// # Cancel safety
    ///
    /// See [`task_group`].
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let group = task_group(|_tg| async { Ok::<_, ()>(5) });
    /// println!("{group:?}");
    /// assert_eq!(group.await.unwrap(), 5);
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct RunGroup<F, Fut, E>
    where
        F: FnOnce(TaskGroup<E>) -> Fut,
        Fut: Future,
        E: fmt::Debug,
        E: Send,
        E: 'static,
    {
        shared: Arc<Shared<E>>,
        #[pin]
        body: Option<TryRun<Body<F, Fut, E>>>,
        // The body's output, once it returned `Ok`.
        value: Option<Fut::Output>,
        // Why the body was cancelled, if the group's scope caught that.
        caught: Option<CancelReason>,
        started: bool,
        // An enclosing scope's cancellation was seen and passed on to the group's scope.
        outer_seen: bool,
        // Counted as an active region in the enclosing frames while tasks run: raised in the
        // frames of the poll that waits, lowered wherever the group ends.
        counted: RegionTicket,
        // Every task has finished and the group is closed.
        finished: bool,
        // `Ready` was returned (or a panic resumed).
        completed: bool,
    }

    impl<F, Fut, E> PinnedDrop for RunGroup<F, Fut, E>
    where
        F: FnOnce(TaskGroup<E>) -> Fut,
        Fut: Future,
        E: fmt::Debug,
        E: Send,
        E: 'static,
    {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if *this.completed {
                return;
            }
            let shared = Arc::clone(this.shared);
            if !*this.finished {
                shared.cancel("the task group was dropped");
                shared.close();
            }
            // Drops the body inside the group's frame; its cleanups go to the enclosing frame.
            this.body.set(None);
            this.counted.lower();
            shared.orphan();
            if shared.live() > 0 {
                adopt_or_detach(Box::pin(WaitTasks { shared }));
            }
        }
    }
}

impl<F, Fut, T, E> Future for RunGroup<F, Fut, E>
where
    F: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Debug + Send + 'static,
{
    type Output = Result<T, GroupError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(!*this.completed, "anyscope: a task group was polled after it completed");
        let shared = &**this.shared;
        if !*this.started {
            *this.started = true;
            shared.set_runtime(runtime::current());
        }
        if !*this.outer_seen && frame::cancelled_here() {
            *this.outer_seen = true;
            let reason = frame::cancel_reason_here().unwrap_or(CancelReason::Explicit(None));
            shared.scope.node().cancel(CancelReason::Parent(Box::new(reason)));
            // The group's frame now catches for itself (the enclosing scope waits for us).
            shared.scope.set_shield(true);
        }
        if let Some(body) = this.body.as_mut().as_pin_mut() {
            match catch_unwind(AssertUnwindSafe(|| body.poll(cx))) {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(out)) => {
                    match out {
                        Ok(Ok(v)) => *this.value = Some(Ok(v)),
                        Ok(Err(e)) => shared.fail(e),
                        Err(cancelled) => *this.caught = Some(cancelled.reason().clone()),
                    }
                    this.body.set(None);
                }
                Err(panic) => {
                    this.body.set(None);
                    shared.panicked(panic);
                }
            }
        }
        if !*this.finished {
            loop {
                let waiting = shared.poll_children(cx).is_pending();
                if waiting || this.body.is_some() {
                    if waiting {
                        this.counted.raise();
                    } else {
                        this.counted.lower();
                    }
                    return Poll::Pending;
                }
                if shared.try_close() {
                    break;
                }
                // A task was spawned between the check and the close: wait for it too.
            }
            *this.finished = true;
            this.counted.lower();
        }
        let (errors, panic) = shared.take_outcome();
        if let Some(panic) = panic {
            *this.completed = true;
            for e in &errors {
                report_error(e);
            }
            resume_unwind(panic);
        }
        if !errors.is_empty() {
            *this.completed = true;
            return Poll::Ready(Err(GroupError::new(errors, this.caught.take())));
        }
        if this.value.is_some() {
            if shared.children_cancelled() && frame::cancelled_for(cx) {
                // The body returned, but the group ended because an enclosing cancellation cut
                // its tasks off: its exit delivers that cancellation, as a nursery's exit
                // re-raises its children's `Cancelled` in Trio. The enclosing scope drops us
                // now and reports the cancellation as caught.
                return Poll::Pending;
            }
            if let Some(Ok(v)) = this.value.take() {
                *this.completed = true;
                return Poll::Ready(Ok(v));
            }
        }
        // `cancelled_for`, not `cancelled_here`: polled by a nested executor (`block_on`) under a
        // cancelled scope, a bare `Pending` would park it for good (`budget`, "# Nested
        // executors"); there the poll is woken, and once the executor is recognised the group
        // returns its cancellation as an error instead.
        if frame::cancelled_for(cx) {
            // Cancelled from outside with nothing to report: the enclosing scope drops us now.
            return Poll::Pending;
        }
        *this.completed = true;
        let reason = this.caught.take().unwrap_or(CancelReason::Explicit(None));
        Poll::Ready(Err(GroupError::new(Vec::new(), Some(reason))))
    }
}

impl<F, Fut, E> fmt::Debug for RunGroup<F, Fut, E>
where
    F: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future,
    E: fmt::Debug + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunGroup")
            .field("group", &self.shared)
            .field("body_running", &self.body.is_some())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}
