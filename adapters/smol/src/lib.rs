//! The smol adapter of anyscope: tasks on `async-executor`, timers on `async-io`, blocking calls
//! on `blocking`'s thread pool.
//!
//! - [`run`] runs a future on anyscope's global executor, driven by the calling thread and by
//!   one worker thread per core, so tasks run in parallel;
//! - [`bind`] runs a future inside `smol::block_on` (or any executor): anyscope then spawns onto
//!   its global executor;
//! - [`bind_to`] spawns onto *your* `Executor` instead: you drive it (`ex.run(..)`).
//!
//! # Examples
//!
//! ```
//! let v = anyscope_smol::run(async {
//!     anyscope_core::sleep(std::time::Duration::from_millis(1)).await;
//!     anyscope_core::spawn(async { 21 * 2 }).await.unwrap()
//! });
//! assert_eq!(v, 42);
//! ```
#![forbid(unsafe_code)]

mod executor;
mod task;
mod timer;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use anyscope_core::runtime::{self, BoxFuture, Handle, RawTask, Runtime, TaskOutput, Timer, WithRuntime};
use async_executor::Executor;
use futures_lite::FutureExt;

/// anyscope's [`Runtime`] on an `async-executor` executor.
#[derive(Clone, Debug)]
pub struct Smol {
    ex: Arc<Executor<'static>>,
}

impl Smol {
    /// The adapter for anyscope's global executor, started on first use with one worker thread
    /// per core.
    pub fn global() -> Self {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| runtime::register_fallback("smol", find_current));
        Smol { ex: executor::global() }
    }

    /// The adapter for your executor. You drive it (`ex.run(..)` on threads of your own).
    pub fn new(ex: Arc<Executor<'static>>) -> Self {
        Smol { ex }
    }

    /// The executor behind the adapter.
    pub fn executor(&self) -> &Arc<Executor<'static>> {
        &self.ex
    }
}

impl Runtime for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }

    fn spawn(&self, task: BoxFuture<TaskOutput>) -> Box<dyn RawTask> {
        Box::new(task::SmolTask::new(self.ex.spawn(AssertUnwindSafe(task).catch_unwind())))
    }

    fn spawn_blocking(&self, f: Box<dyn FnOnce() -> TaskOutput + Send + 'static>) -> Box<dyn RawTask> {
        let job = blocking::unblock(move || std::panic::catch_unwind(AssertUnwindSafe(f)));
        Box::new(task::SmolTask::new(job))
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>> {
        Box::pin(timer::SmolTimer::new(deadline))
    }
}

/// On the threads that drive anyscope's global executor, code outside any anyscope frame (a
/// `Drop`, a raw task) still finds the runtime.
fn find_current() -> Option<Handle> {
    executor::on_global_thread().then(|| Handle::new(Smol { ex: executor::global() }))
}

/// Runs `fut` with anyscope's global executor as the ambient runtime, inside whatever drives
/// it (`smol::block_on`, `futures_lite::future::block_on`, another executor).
///
/// # Cancel safety
///
/// Dropping it drops `fut` inside the root frame; its pending cleanups go to a detached task.
///
/// # Examples
///
/// ```
/// let v = futures_lite::future::block_on(anyscope_smol::bind(async {
///     anyscope_core::spawn(async { 1 }).await.unwrap()
/// }));
/// assert_eq!(v, 1);
/// ```
pub fn bind<F: Future>(fut: F) -> WithRuntime<F> {
    runtime::with_runtime(Handle::new(Smol::global()), fut)
}

/// Runs `fut` with `ex` as the ambient runtime: anyscope spawns onto your executor.
///
/// # Cancel safety
///
/// As [`bind`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let ex = Arc::new(async_executor::Executor::new());
/// let v = futures_lite::future::block_on(ex.run(anyscope_smol::bind_to(ex.clone(), async {
///     anyscope_core::spawn(async { 2 }).await.unwrap()
/// })));
/// assert_eq!(v, 2);
/// ```
pub fn bind_to<F: Future>(ex: Arc<Executor<'static>>, fut: F) -> WithRuntime<F> {
    runtime::with_runtime(Handle::new(Smol::new(ex)), fut)
}

/// Runs `fut` to completion on anyscope's global executor (the calling thread helps drive it),
/// then waits for detached cleanups, and returns its output.
///
/// # Panics
///
/// A panic of `fut` is resumed.
///
/// # Examples
///
/// ```
/// assert_eq!(anyscope_smol::run(async { 5 }), 5);
/// ```
pub fn run<F: Future>(fut: F) -> F::Output {
    let rt = Smol::global();
    let ex = Arc::clone(&rt.ex);
    let _driving = executor::mark_driving();
    async_io::block_on(ex.run(async move {
        let out = runtime::with_runtime(Handle::new(rt), fut).await;
        anyscope_core::tracker::wait_detached().await;
        out
    }))
}
