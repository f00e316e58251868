//! Calling back into async code from a blocking call (AnyIO's `from_thread`).
//!
//! Inside a function run by [`run_blocking`](crate::run_blocking), [`run`] runs a future on the
//! caller's runtime, as a task under the caller's cancel scope, and blocks the thread until it
//! ends; [`check_cancelled`] tells whether the caller's scope has been cancelled. Both fail with
//! [`FromThreadError::NoHost`] on any other thread.
//!
//! # Examples
//!
//! ```
//! # anyscope_tokio::run(async {
//! use anyscope_core::{from_thread, run_blocking, sleep};
//! use std::time::Duration;
//!
//! let v = run_blocking(|| {
//!     // On the blocking thread: wait for async work on the host runtime.
//!     from_thread::run(async {
//!         sleep(Duration::from_millis(1)).await;
//!         42
//!     })
//! })
//! .await;
//! assert_eq!(v.unwrap(), 42);
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::cancel::{CancelReason, Cancelled};
use crate::runtime::thread;

/// Why [`run`] or [`check_cancelled`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum FromThreadError {
    /// Not called from a function run by [`run_blocking`](crate::run_blocking).
    NoHost,
    /// The caller's cancel scope was cancelled.
    Cancelled(Cancelled),
}

impl FromThreadError {
    /// Whether the caller's scope was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, FromThreadError::Cancelled(_))
    }
}

impl fmt::Display for FromThreadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FromThreadError::NoHost => f.write_str(
                "anyscope::from_thread must be called from a function run by `run_blocking` (this thread runs none)",
            ),
            FromThreadError::Cancelled(_) => f.write_str("the scope of the blocking call's caller was cancelled"),
        }
    }
}

impl std::error::Error for FromThreadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FromThreadError::Cancelled(c) => Some(c),
            FromThreadError::NoHost => None,
        }
    }
}

fn cancelled(caller: &thread::Caller) -> Option<Cancelled> {
    let node = caller.node.as_ref()?;
    if let Some(reason) = node.effective_reason() {
        return Some(Cancelled::new(reason));
    }
    // A deadline that has passed but was not delivered yet (the caller is blocked in the call).
    let deadline = node.effective_deadline()?;
    (caller.rt.now() >= deadline).then(|| Cancelled::new(CancelReason::Deadline))
}

/// Whether the scope of the task that called [`run_blocking`](crate::run_blocking) has been
/// cancelled (AnyIO's `from_thread.check_cancelled`): a long blocking call polls it to stop
/// early.
///
/// # Errors
///
/// [`FromThreadError::Cancelled`] once the caller's scope is cancelled (or its deadline has
/// passed); [`FromThreadError::NoHost`] outside a blocking call.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let ok = anyscope_core::run_blocking(|| anyscope_core::from_thread::check_cancelled().is_ok()).await;
/// assert!(ok);
/// assert!(anyscope_core::from_thread::check_cancelled().is_err()); // not in a blocking call
/// # });
/// ```
pub fn check_cancelled() -> Result<(), FromThreadError> {
    let caller = thread::caller().ok_or(FromThreadError::NoHost)?;
    match cancelled(&caller) {
        Some(c) => Err(FromThreadError::Cancelled(c)),
        None => Ok(()),
    }
}

/// Runs `fut` on the runtime of the task that called [`run_blocking`](crate::run_blocking), as a
/// task under that caller's cancel scope, and blocks this thread until it ends (AnyIO's
/// `from_thread.run`).
///
/// # Errors
///
/// [`FromThreadError::Cancelled`] when the caller's scope is (or gets) cancelled: `fut` is then
/// cancelled at its next suspension point, its cleanups run, and this returns.
/// [`FromThreadError::NoHost`] outside a blocking call.
///
/// # Panics
///
/// A panic of `fut` is resumed here.
pub fn run<F>(fut: F) -> Result<F::Output, FromThreadError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let caller = thread::caller().ok_or(FromThreadError::NoHost)?;
    if let Some(c) = cancelled(&caller) {
        return Err(FromThreadError::Cancelled(c));
    }
    let handle = crate::task::spawn_under(&caller.rt, caller.node.clone(), fut);
    match block_on(handle) {
        Ok(v) => Ok(v),
        Err(e) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(_) => Err(FromThreadError::Cancelled(
                cancelled(&caller).unwrap_or_else(|| Cancelled::new(CancelReason::Explicit(None))),
            )),
        },
    }
}

/// Wakes a parked thread.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this (blocking) thread, parking between polls.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
