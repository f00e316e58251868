use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::task_cell::Join;

/// Why a task did not produce its output.
///
/// A task either was cancelled (aborted through its handle, or cancelled by a scope it runs
/// under) or panicked. The two are told apart with [`is_cancelled`](JoinError::is_cancelled) and
/// [`is_panic`](JoinError::is_panic); a panic's payload is returned by
/// [`into_panic`](JoinError::into_panic) so the owner can resume it.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panicked(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// A join error for a cancelled task. For adapters.
    pub fn cancelled() -> Self {
        JoinError { repr: Repr::Cancelled }
    }

    /// A join error for a task that panicked with `payload`. For adapters.
    pub fn panicked(payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError { repr: Repr::Panicked(payload) }
    }

    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panicked(_))
    }

    /// The panic's payload, to pass to [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the task did not panic; see [`try_into_panic`](JoinError::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().expect("JoinError::into_panic called on a cancelled task's error")
    }

    /// The panic's payload, or the error itself if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panicked(p) => Ok(p),
            Repr::Cancelled => Err(self),
        }
    }
}

/// The message of a panic payload, when it is a string.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panicked(p) => write!(f, "JoinError::Panicked({:?})", panic_message(&**p)),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panicked(p) => write!(f, "task panicked: {}", panic_message(&**p)),
        }
    }
}

impl std::error::Error for JoinError {}

/// An owned handle to a task spawned by anyscope: await it for the task's result.
///
/// Dropping the handle **detaches** the task: it keeps running to completion, and its cleanups
/// still run; [`detach`](JoinHandle::detach) says so explicitly. [`abort`](JoinHandle::abort)
/// (`&self`, as tokio's) cancels it.
///
/// # Cancel safety
///
/// Awaiting a `JoinHandle` is a checkpoint (in an effectively cancelled scope it does not
/// complete, even for a task that has finished; a ready await spends from the cooperative
/// budget) and is cancel-safe: dropping the `.await` loses nothing, the task keeps running
/// (detached, unless the handle itself is kept and awaited again, which then gives the output).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let handle = anyscope_core::spawn(async { 6 * 7 });
/// assert_eq!(handle.await.unwrap(), 42);
/// # });
/// ```
#[must_use = "dropping a JoinHandle detaches the task; use `let _ =` to make that explicit"]
pub struct JoinHandle<T> {
    /// The task's cell (`task_cell.rs`): the runtime polls the same allocation.
    cell: Arc<dyn Join<T>>,
}

impl<T: Send + 'static> JoinHandle<T> {
    pub(crate) fn new(cell: Arc<dyn Join<T>>) -> Self {
        JoinHandle { cell }
    }

    /// Cancels the task. Awaiting the handle then gives [`JoinError::is_cancelled`] unless the
    /// task had already finished. Idempotent. Takes `&self`, as tokio's `JoinHandle::abort`.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let handle = anyscope_core::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort(&self) {
        self.cell.abort();
    }

    /// Detaches the task: it keeps running to completion, its cleanups still run, and nobody
    /// receives its output. The same as dropping the handle, said explicitly.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let (tx, rx) = anyscope_core::channel::<u8>(1);
    /// anyscope_core::spawn(async move { tx.send(1).await.unwrap() }).detach();
    /// assert_eq!(rx.recv().await.unwrap(), 1);
    /// # });
    /// ```
    pub fn detach(self) {
        drop(self);
    }

    /// Whether the task has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let handle = anyscope_core::spawn(async {});
    /// while !handle.is_finished() {
    ///     anyscope_core::checkpoint().await;
    /// }
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }
}

impl<T: Send + 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(crate::frame::poll_proceed(cx)); // a checkpoint
        self.cell.poll_join(cx)
    }
}

impl<T: 'static> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("finished", &self.cell.is_finished()).finish()
    }
}
