use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::JoinError;

/// A boxed, sendable future, the currency of the object-safe [`Runtime`] trait.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The type-erased output of a spawned task.
///
/// anyscope boxes a task's output as `Box<dyn Any + Send>` so that the runtime trait stays
/// object-safe. A zero-sized output (the common `()`) is boxed without allocating.
pub type TaskOutput = Box<dyn Any + Send>;

/// What anyscope needs from an async runtime.
///
/// One object-safe trait, implemented by each adapter (`anyscope-tokio`, `anyscope-smol`).
/// Nothing else in anyscope-core touches a runtime. Implementations must be cheap to call: the
/// methods sit on the hot paths of spawning, sleeping and timeouts.
///
/// # Contract
///
/// - [`spawn`](Runtime::spawn) starts `task` on the runtime's worker threads and returns a
///   [`RawTask`]. Dropping the `RawTask` **detaches** the task: it keeps running.
///   [`RawTask::abort`] cancels it (the future is dropped at its next suspension, or before its
///   first poll), and [`RawTask::poll_join`] then reports [`JoinError::is_cancelled`] once the future
///   has been dropped. A task whose future panicked reports [`JoinError::is_panic`] with the
///   payload; the panic must not tear down the runtime.
/// - [`spawn_blocking`](Runtime::spawn_blocking) runs `f` on a thread where blocking is allowed,
///   never on an async worker thread. Its handle has the same shape; `abort` only prevents a call
///   that has not started yet.
/// - [`now`](Runtime::now) is the runtime's clock (tokio's paused test clock must be honoured) and
///   [`timer`](Runtime::timer) returns a timer on that clock.
/// - [`yield_now`](Runtime::yield_now) arranges for the current task to be polled again soon,
///   after other ready tasks have had a turn.
///
/// # Examples
///
/// Adapters implement this trait; users reach it through [`current`](super::current):
///
/// ```
/// use anyscope_core::runtime;
///
/// // Outside any runtime there is none, and the error says how to get one.
/// let err = runtime::try_current().unwrap_err();
/// assert!(err.to_string().contains("anyscope::run"));
/// ```
pub trait Runtime: Send + Sync + fmt::Debug + 'static {
    /// A short name for messages and test output, such as `"tokio"` or `"smol"`.
    fn name(&self) -> &'static str;

    /// Spawns `task` onto the runtime. See the trait docs for the handle's contract.
    fn spawn(&self, task: BoxFuture<TaskOutput>) -> Box<dyn RawTask>;

    /// Runs `f` on a thread where blocking is allowed.
    fn spawn_blocking(&self, f: Box<dyn FnOnce() -> TaskOutput + Send + 'static>) -> Box<dyn RawTask>;

    /// The runtime's current time.
    fn now(&self) -> Instant;

    /// A timer that fires at `deadline` on the runtime's clock.
    fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>>;

    /// Arranges for the task polled with `cx` to be polled again after other ready tasks.
    ///
    /// The caller returns `Poll::Pending` right after. The default wakes the task at once, which
    /// both tokio and async-executor treat as "reschedule at the back of the queue".
    fn yield_now(&self, cx: &mut Context<'_>) {
        cx.waker().wake_by_ref();
    }
}

/// A spawned task, as seen by anyscope. Dropping it detaches the task.
pub trait RawTask: Send + fmt::Debug + 'static {
    /// Polls for the task's completion.
    ///
    /// Returns the task's output, [`JoinError::is_cancelled`] if it was aborted (after its future was
    /// dropped), or [`JoinError::is_panic`] with the panic's payload. Called again after it
    /// returned `Ready`, it may panic.
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<TaskOutput, JoinError>>;

    /// Requests cancellation of the task. Idempotent; a finished task is unaffected.
    fn abort(&mut self);

    /// Whether the task has finished (completed, panicked or been cancelled).
    fn is_finished(&self) -> bool;
}

/// A timer on the runtime's clock, which can be moved.
pub trait Timer: Send + fmt::Debug {
    /// Resolves once the deadline has passed. May be polled again after it resolved; it then
    /// resolves again until reset to a later deadline.
    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;

    /// Moves the deadline, earlier or later.
    fn reset(self: Pin<&mut Self>, deadline: Instant);
}
