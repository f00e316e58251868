use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::node::{CANCELLED, CAUGHT, DEADLINE_MOVED, ENTERED, Node, SHIELD};
use super::{CancelReason, Cancelled};
use crate::frame::{FrameState, Framed, Outcome, SKIP_REASON};
use crate::sync_shim::Ordering;

/// A cancel scope: runs a body that can be cancelled, by a call or a deadline, and catches that
/// cancellation.
///
/// This is Trio's `CancelScope` (AnyIO's `CancelScope`), delivered the Rust way: the scope is a
/// combinator over its body, so misnesting is impossible, and cancellation is delivered by
/// *dropping* the body at its next suspension point. [`run`](CancelScope::run) returns `None`
/// when the scope caught its own cancellation.
///
/// `CancelScope` is also its own handle: clone it (`Clone + Send + Sync`) to cancel it, read or
/// move its deadline, or toggle its shield from another task.
///
/// # Semantics
///
/// - A scope is *effectively cancelled* when it, or an enclosing scope up to the nearest shield,
///   is cancelled. Scopes nest across tasks: a task spawned by anyscope hangs under the scope that
///   spawned it.
/// - Delivery: at the body's next suspension point outside an active shield, the body is dropped
///   (its async cleanups run, shielded, before the scope completes). Every anyscope awaitable is
///   a checkpoint: inside an effectively cancelled scope it does not complete.
/// - The *outermost* effectively cancelled scope catches; inner scopes are dropped with the body.
/// - [`cancel_called`](CancelScope::cancel_called) says the scope was cancelled (by a call or its
///   deadline); [`cancelled_caught`](CancelScope::cancelled_caught) says the scope itself caught
///   that cancellation and dropped its body. A body that completes without reaching a checkpoint
///   after the cancel leaves `cancel_called` true and `cancelled_caught` false; a scope cancelled
///   only through an enclosing scope has neither.
/// - A body that never suspends is still cancelled if it awaits anyscope awaitables that are
///   ready at once (an uncontended lock, a non-empty channel): each spends from the task's
///   cooperative budget of 128 ready operations per poll, and when it runs out the task yields
///   and a passed deadline or a cancel from another task is delivered. A loop that awaits
///   nothing of anyscope's cannot be dropped anywhere: long CPU-bound loops should call
///   [`checkpoint`](crate::checkpoint).
///
/// # Moving a scope's future
///
/// A scope's future may be polled under one enclosing scope and finished under another (a
/// combinator polled it once, then it was awaited elsewhere, or handed to another task). What
/// it defers follows the poll: while it is pending it defers the delivery of the scope whose
/// poll last polled it, and releases the first one then. Its place in the scope tree follows
/// too: each time it is polled under another enclosing scope than before, it moves there, and
/// the tasks it spawned are cancelled with the scopes that enclose it now — not with the old
/// ones. Moved under a scope that is already cancelled, its tasks are cancelled at once.
/// A scope cannot move below itself: polled inside a scope it encloses (in a task it spawned,
/// directly or not), the poll panics.
///
/// # Tasks that outlive the scope
///
/// A task spawned inside a scope may outlive it. Once the scope has ended (its `run` returned
/// or was dropped), what it does to such a task is fixed: if it was cancelled, the task stays
/// cancelled; if it was shielded, the task stays shielded from the scopes around it;
/// otherwise the task hangs under the scopes that enclosed it and is cancelled with them. A
/// call through the handle after the end ([`cancel`](CancelScope::cancel),
/// [`set_shield`](CancelScope::set_shield)) affects nothing, as in Trio. An ended scope keeps
/// no chain of ended scopes alive: a task that spawns its successor from a scope of its own
/// and ends, again and again, holds state bounded by what is alive.
///
/// # When not to use it
///
/// For a plain timeout use [`move_on_after`](crate::move_on_after) or
/// [`fail_after`](crate::fail_after): they allocate nothing unless the body suspends. Use a
/// `CancelScope` when something else must cancel the body, or read its flags afterwards.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{sleep, CancelScope};
/// use std::time::Duration;
///
/// let scope = CancelScope::new();
/// let handle = scope.clone();
/// anyscope_core::spawn(async move {
///     sleep(Duration::from_millis(10)).await;
///     handle.cancel_with("no longer needed");
/// });
/// let out = scope.run(sleep(Duration::from_secs(3600))).await;
/// assert_eq!(out, None);
/// assert!(scope.cancelled_caught());
/// assert_eq!(scope.cancel_reason().unwrap().message(), Some("no longer needed"));
/// # });
/// ```
#[derive(Clone)]
pub struct CancelScope {
    node: Arc<Node>,
}

impl CancelScope {
    /// A scope with no deadline and no shield.
    pub fn new() -> Self {
        CancelScope { node: Arc::new(Node::new(0, None, None)) }
    }

    /// A scope cancelled at `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{current_time, sleep, CancelScope};
    /// use std::time::Duration;
    /// let scope = CancelScope::with_deadline(current_time() + Duration::from_millis(5));
    /// assert_eq!(scope.run(sleep(Duration::from_secs(60))).await, None);
    /// assert!(scope.cancel_reason().unwrap().is_deadline());
    /// # });
    /// ```
    pub fn with_deadline(deadline: Instant) -> Self {
        CancelScope { node: Arc::new(Node::new(DEADLINE_MOVED, Some(deadline), None)) }
    }

    /// A shielded scope: cancellation of enclosing scopes does not reach its body. It can still
    /// be cancelled itself and given a deadline; the cleanups its body leaves behind still run
    /// to their end unless [`set_cleanup_grace`](CancelScope::set_cleanup_grace) bounds them.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{move_on_after, sleep, CancelScope};
    /// use std::time::Duration;
    /// let out = move_on_after(Duration::from_millis(1), async {
    ///     // Finishes although the outer deadline passes while it sleeps.
    ///     CancelScope::shielded().run(sleep(Duration::from_millis(20))).await
    /// })
    /// .await;
    /// assert_eq!(out, Some(Some(())));
    /// # });
    /// ```
    pub fn shielded() -> Self {
        CancelScope { node: Arc::new(Node::new(SHIELD, None, None)) }
    }

    /// Runs `body` in this scope. Resolves to `Some(value)`, or `None` if the scope caught its
    /// own cancellation.
    ///
    /// # Panics
    ///
    /// A scope runs once: the second call panics. If `body` panics, the scope first drops it and
    /// runs the cleanups it adopted, then resumes the panic. A poll of the future inside a
    /// scope this one encloses panics (see "Moving a scope's future").
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the body inside the scope's frame; the cleanups the body left
    /// are handed to the enclosing frame (or a detached task), order kept. Nothing is lost.
    pub fn run<F: Future>(&self, body: F) -> Run<F> {
        Run { inner: self.framed(body, SKIP_REASON) }
    }

    /// Like [`run`](CancelScope::run), with the reason of a caught cancellation.
    ///
    /// # Panics
    ///
    /// As [`run`](CancelScope::run).
    ///
    /// # Cancel safety
    ///
    /// As [`run`](CancelScope::run).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{checkpoint, CancelScope};
    /// let scope = CancelScope::new();
    /// scope.cancel();
    /// assert!(scope.try_run(checkpoint()).await.is_err());
    /// # });
    /// ```
    pub fn try_run<F: Future>(&self, body: F) -> TryRun<F> {
        TryRun { inner: self.framed(body, 0) }
    }

    /// A scope whose node stays live after its `run` returned, until
    /// `self.node().release()`: a task group's, whose tasks still hang under it while the
    /// group waits for them after its body ended.
    pub(crate) fn held() -> Self {
        CancelScope { node: Arc::new(Node::new(super::node::HELD, None, None)) }
    }

    /// The scope's node in the scope tree (task groups spawn their children under it).
    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
    }

    fn framed<F: Future>(&self, body: F, flags: u32) -> Framed<F> {
        let prev = self.node.state.fetch_or(ENTERED, Ordering::AcqRel);
        assert!(prev & ENTERED == 0, "anyscope: a CancelScope can run only one body");
        let state = FrameState { node: Some(Arc::clone(&self.node)), flags, ..FrameState::default() };
        Framed::new(state, None, body)
    }

    /// Cancels the scope. Idempotent; after the scope finished, it is recorded
    /// ([`cancel_called`](CancelScope::cancel_called)) and affects nothing, not even tasks the
    /// scope spawned that still run (see "Tasks that outlive the scope").
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = anyscope_core::CancelScope::new();
    /// scope.cancel();
    /// scope.cancel();
    /// assert!(scope.cancel_called());
    /// ```
    pub fn cancel(&self) {
        self.node.cancel(CancelReason::Explicit(None));
    }

    /// Cancels the scope with a message that the caught [`CancelReason`] carries. If the scope
    /// was already cancelled, the first reason stays.
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = anyscope_core::CancelScope::new();
    /// scope.cancel_with("user pressed stop");
    /// assert_eq!(scope.cancel_reason().unwrap().message(), Some("user pressed stop"));
    /// ```
    pub fn cancel_with(&self, reason: impl Into<Arc<str>>) {
        self.node.cancel(CancelReason::Explicit(Some(reason.into())));
    }

    /// Whether the scope was cancelled, by a call or by its deadline.
    ///
    /// True even when the body finished before it could be delivered. Not set by the
    /// cancellation of an enclosing scope.
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = anyscope_core::CancelScope::new();
    /// assert!(!scope.cancel_called());
    /// ```
    pub fn cancel_called(&self) -> bool {
        self.node.flags() & CANCELLED != 0
    }

    /// Whether the scope caught its own cancellation: the body was dropped and `run` returned
    /// `None`.
    ///
    /// Once the body has ended, the cleanups it left behind run before `run` returns, and they
    /// count as an active region of the enclosing scopes: an enclosing scope cancelled while
    /// they run waits for them, this scope's `run` returns (with `None` if this scope caught
    /// its own cancellation), and the enclosing scope catches *its* cancellation at the next
    /// checkpoint after that. Each scope reports only what it caught itself.
    ///
    /// A [`task_group`](crate::task_group) is such a checkpoint when it ends: if the
    /// cancellation cut one of its tasks off, the scope catches it there, even when the group's
    /// body had already returned (as Trio's nursery re-raises its children's `Cancelled`).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let scope = anyscope_core::CancelScope::new();
    /// scope.cancel();
    /// // No checkpoint in the body: it completes, the cancellation is never delivered.
    /// assert_eq!(scope.run(async { 1 }).await, Some(1));
    /// assert!(scope.cancel_called() && !scope.cancelled_caught());
    /// # });
    /// ```
    pub fn cancelled_caught(&self) -> bool {
        self.node.flags() & CAUGHT != 0
    }

    /// Why the scope was cancelled, if it was.
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = anyscope_core::CancelScope::new();
    /// assert_eq!(scope.cancel_reason(), None);
    /// ```
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        self.node.reason()
    }

    /// The scope's deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = anyscope_core::CancelScope::new();
    /// assert_eq!(scope.deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline()
    }

    /// Moves the deadline, earlier or later, or removes it with `None`. Takes effect at once,
    /// from any task: a running scope re-arms its timer.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{current_time, sleep, CancelScope};
    /// use std::time::Duration;
    /// let scope = CancelScope::with_deadline(current_time() + Duration::from_secs(3600));
    /// scope.set_deadline(Some(current_time() + Duration::from_millis(1)));
    /// assert_eq!(scope.run(sleep(Duration::from_secs(60))).await, None);
    /// # });
    /// ```
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.node.set_deadline(deadline);
    }

    /// The grace period of the scope's cleanups: see
    /// [`set_cleanup_grace`](CancelScope::set_cleanup_grace).
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = anyscope_core::CancelScope::new();
    /// assert_eq!(scope.cleanup_grace(), None);
    /// ```
    pub fn cleanup_grace(&self) -> Option<Duration> {
        self.node.cleanup_grace()
    }

    /// Bounds the cleanups the body leaves behind: once the body has ended (completed or
    /// cancelled), the cleanups it left run for at most `grace`, then what is still running —
    /// and what is queued behind it and has not started — is abandoned: dropped at once (a
    /// queued cleanup never starts), counted as *abandoned* by the
    /// [tracker](crate::tracker), releasing what it holds synchronously. `None` (the default)
    /// lets them run to their end, whatever cancelled the scope: that is the promise of
    /// structured async drop, for shielded scopes as for any other.
    ///
    /// Set it before the body ends; a change after that is not seen.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::CancelScope;
    /// use std::time::Duration;
    /// let bounded = CancelScope::shielded();
    /// bounded.set_cleanup_grace(Some(Duration::from_secs(5)));
    /// assert_eq!(bounded.run(async { 1 }).await, Some(1));
    /// # });
    /// ```
    pub fn set_cleanup_grace(&self, grace: Option<Duration>) {
        self.node.set_cleanup_grace(grace);
    }

    /// Whether the scope is shielded.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::CancelScope::shielded().shield());
    /// ```
    pub fn shield(&self) -> bool {
        self.node.flags() & SHIELD != 0
    }

    /// Turns the shield on or off. Turned on while the body runs, it blocks an outer cancellation
    /// not yet delivered; turned off, a pending outer cancellation is delivered at the body's next
    /// suspension point. From another task, the change takes effect when the scope is next polled.
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = anyscope_core::CancelScope::new();
    /// scope.set_shield(true);
    /// assert!(scope.shield());
    /// ```
    pub fn set_shield(&self, shield: bool) {
        self.node.set_shield(shield);
    }
}

impl Default for CancelScope {
    fn default() -> Self {
        CancelScope::new()
    }
}

impl fmt::Debug for CancelScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelScope")
            .field("cancel_called", &self.cancel_called())
            .field("cancelled_caught", &self.cancelled_caught())
            .field("shield", &self.shield())
            .field("deadline", &self.deadline())
            .finish()
    }
}

pin_project! {
    /// The future of [`CancelScope::run`].
    ///
    /// # Cancel safety
    ///
    /// See [`CancelScope::run`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Run<F: Future> {
        #[pin]
        inner: Framed<F>,
    }
}

impl<F: Future> Future for Run<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(|o| match o {
            Outcome::Done(v) => Some(v),
            Outcome::Caught(_) => None,
        })
    }
}

pin_project! {
    /// The future of [`CancelScope::try_run`].
    ///
    /// # Cancel safety
    ///
    /// See [`CancelScope::run`].
    #[must_use = "futures do nothing unless polled"]
    pub struct TryRun<F: Future> {
        #[pin]
        inner: Framed<F>,
    }
}

impl<F: Future> Future for TryRun<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(|o| match o {
            Outcome::Done(v) => Ok(v),
            Outcome::Caught(reason) => Err(Cancelled::new(reason)),
        })
    }
}

impl<F: Future> fmt::Debug for Run<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run").finish_non_exhaustive()
    }
}

impl<F: Future> fmt::Debug for TryRun<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryRun").finish_non_exhaustive()
    }
}
