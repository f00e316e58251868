//! The ambient runtime: the innermost frame's, else one found without a frame
//! ([`runtime::fallback_lookup`]); and [`with_runtime`], the root frame of a run.
//!
//! These are public as `anyscope_core::runtime::{current, try_current, with_runtime}`: the
//! `runtime` module re-exports them, and itself imports nothing from the frame layer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::frame::{self, FrameState, Outcome, RootFramed, TASK_ROOT};
use crate::runtime::{self, Handle, NoRuntime};

/// The ambient runtime, or `None`. Never panics: used by drop paths.
pub(crate) fn lookup() -> Option<Handle> {
    frame::runtime().or_else(runtime::fallback_lookup)
}

/// The ambient runtime.
///
/// # Errors
///
/// [`NoRuntime`] when called outside `run`, a task anyscope spawned, a future wrapped by
/// [`with_runtime`], and any runtime a registered fallback recognises.
///
/// # Examples
///
/// ```
/// assert!(anyscope_core::runtime::try_current().is_err());
/// ```
pub fn try_current() -> Result<Handle, NoRuntime> {
    lookup().ok_or(NoRuntime)
}

/// The ambient runtime.
///
/// # Panics
///
/// Panics with the message of [`NoRuntime`] when there is none.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let now = anyscope_core::runtime::current().now();
/// # let _ = now;
/// # });
/// ```
pub fn current() -> Handle {
    match lookup() {
        Some(rt) => rt,
        None => panic!("{}", NoRuntime),
    }
}

/// Runs `fut` with `rt` as its ambient runtime: the root frame of a tree of scopes.
///
/// Adapters build their `run` and `bind` on this. Cleanups adopted by the root run before it
/// completes.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let rt = anyscope_core::runtime::current();
/// let v = anyscope_core::runtime::with_runtime(rt, async { 1 + 1 }).await;
/// assert_eq!(v, 2);
/// # });
/// ```
pub fn with_runtime<F: Future>(rt: Handle, fut: F) -> WithRuntime<F> {
    let state = FrameState { flags: TASK_ROOT, runtime: Some(rt), ..FrameState::default() };
    WithRuntime { inner: RootFramed::new(state, None, fut) }
}

pin_project! {
    /// The future of [`with_runtime`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops `fut` inside the root frame; cleanups adopted there are handed to a
    /// detached task on the runtime.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithRuntime<F: Future> {
        #[pin]
        inner: RootFramed<F>,
    }
}

impl<F: Future> Future for WithRuntime<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.project().inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Outcome::Done(v)) => Poll::Ready(v),
            // A root has no parent and no handle: nothing can cancel it.
            Poll::Ready(Outcome::Caught(_)) => {
                unreachable!("anyscope: a runtime root was cancelled")
            }
        }
    }
}

impl<F: Future> fmt::Debug for WithRuntime<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithRuntime").finish_non_exhaustive()
    }
}

/// Runs `fut` in a frame of its own, hidden from the frames around it: what a nested executor
/// must poll when it runs anyscope code inside an anyscope task.
///
/// anyscope finds "where it is" — whether it is cancelled, which frame adopts a dropped guard's
/// close — on a per-thread stack of frames. A future polled *synchronously inside another
/// future's poll* (`futures::executor::block_on`, tokio's `block_in_place` with
/// `Handle::block_on`, a `Drop` that blocks on a future) sees the enclosing task's frames. If
/// an enclosing scope is cancelled, anyscope recognises the nested executor after a few
/// deliveries to it and hides the enclosing frames from it (crate docs, "# Nested
/// executors"); `isolated` does so explicitly, from the first poll and with no heuristic: it
/// gives the nested future a root frame of its own, as a new task has. Enclosing scopes
/// neither cancel it nor see its cleanups, which it runs itself before it completes. It keeps
/// the ambient runtime.
///
/// Enclosing cancellations and deadlines do not reach the isolated future: bound it with its
/// own deadline ([`move_on_after`](crate::move_on_after) inside) if it may take long. It does
/// not make blocking on a runtime thread a good idea: on a current-thread runtime, an isolated
/// future that waits for a timer or another task blocks forever, because the runtime cannot run
/// while its thread is blocked.
///
/// # Cancel safety
///
/// As [`with_runtime`]: dropping it drops `fut` inside its own frame, and the cleanups adopted
/// there are handed to the enclosing frame (or a detached task).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{CancelScope, checkpoint_if_cancelled, runtime::isolated};
///
/// let scope = CancelScope::new();
/// scope.cancel();
/// let out = scope
///     .run(async {
///         // A nested executor inside a cancelled scope, in a root frame of its own.
///         futures_lite::future::block_on(isolated(async {
///             checkpoint_if_cancelled().await;
///             5
///         }))
///     })
///     .await;
/// assert_eq!(out, Some(5));
/// # });
/// ```
pub fn isolated<F: Future>(fut: F) -> Isolated<F> {
    let state = FrameState { flags: TASK_ROOT, runtime: lookup(), ..FrameState::default() };
    Isolated { inner: RootFramed::new(state, None, fut) }
}

pin_project! {
    /// The future of [`isolated`].
    ///
    /// # Cancel safety
    ///
    /// See [`isolated`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Isolated<F: Future> {
        #[pin]
        inner: RootFramed<F>,
    }
}

impl<F: Future> Future for Isolated<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.project().inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Outcome::Done(v)) => Poll::Ready(v),
            // A root with no parent and no handle: nothing can cancel it.
            Poll::Ready(Outcome::Caught(_)) => unreachable!("anyscope: an isolated root was cancelled"),
        }
    }
}

impl<F: Future> fmt::Debug for Isolated<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Isolated").finish_non_exhaustive()
    }
}
