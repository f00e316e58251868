//! Offloading blocking calls to a thread (AnyIO's `to_thread.run_sync`).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::frame;
use crate::runtime::{self, RawTask};

/// Runs the blocking function `f` on a thread where blocking is allowed, and awaits its result.
///
/// A checkpoint: inside a cancelled scope, `f` is not started. Once started, a thread cannot be
/// interrupted: if the caller is cancelled, the call runs to its end on its thread and its result
/// is discarded (AnyIO's `abandon_on_cancel=True`). Wrap the call in
/// [`shield`](crate::shield) to wait for it instead.
///
/// # Panics
///
/// If no runtime is available. A panic in `f` is resumed in the caller.
///
/// # Cancel safety
///
/// Dropping the future before `f` started means `f` never runs. Dropping it after means `f`
/// completes on its own and its result is dropped there.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let sum = anyscope_core::run_blocking(|| (1..=10u64).sum::<u64>()).await;
/// assert_eq!(sum, 55);
/// # });
/// ```
pub fn run_blocking<F, T>(f: F) -> RunBlocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let job: Box<dyn FnOnce() -> runtime::TaskOutput + Send> = Box::new(move || Box::new(f()));
    RunBlocking { job: Some(job), task: None, _t: PhantomData }
}

/// [`run_blocking`] whose caller, when cancelled, does not wait for the call (name resolution).
pub(crate) fn run_blocking_abandoning<F, T>(f: F) -> RunBlocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    run_blocking(f)
}

/// The future of [`run_blocking`].
///
/// # Cancel safety
///
/// See [`run_blocking`].
#[must_use = "futures do nothing unless polled"]
pub struct RunBlocking<T> {
    job: Option<Box<dyn FnOnce() -> runtime::TaskOutput + Send>>,
    task: Option<Box<dyn RawTask>>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Send + 'static> Future for RunBlocking<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if frame::cancelled_here() {
            return Poll::Pending;
        }
        if let Some(job) = self.job.take() {
            self.task = Some(runtime::current().spawn_blocking(job));
        }
        let Some(task) = self.task.as_mut() else { panic!("anyscope: RunBlocking polled after completion") };
        let out = std::task::ready!(task.poll_join(cx));
        self.task = None;
        match out {
            Ok(any) => match any.downcast::<T>() {
                Ok(v) => Poll::Ready(*v),
                Err(_) => panic!("anyscope: a runtime adapter returned a blocking result of the wrong type"),
            },
            Err(e) => match e.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(e) => panic!("anyscope: the blocking call was cancelled by the runtime: {e}"),
            },
        }
    }
}

impl<T> fmt::Debug for RunBlocking<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunBlocking").field("started", &self.task.is_some()).finish()
    }
}
