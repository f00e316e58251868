//! The smol adapter of anyscope: tasks on `async-executor`, timers on `async-io`, blocking calls
//! on `blocking`'s thread pool.
//!
//! - [`run`] runs a future on anyscope's global executor, driven by the calling thread and by
//!   one worker thread per core, so tasks run in parallel;
//! - [`bind`] runs a future inside `smol::block_on` (or any executor): anyscope then spawns onto
//!   *its own* global executor, which runs beside smol's (`smol::spawn`'s) on worker threads of
//!   its own — not onto smol's;
//! - [`bind_to`] spawns onto *your* `Executor` instead: you drive it (`ex.run(..)`).
//!
//! Outside anyscope's frames (a raw task, a `Drop`), core code finds a runtime on the threads
//! that drive anyscope's global executor (its workers, the thread inside [`run`]) and nowhere
//! else: what it finds never depends on what ran earlier in the process. smol has no ambient
//! executor to find (`smol::spawn` is a global function, not a context), so there is no
//! `install`: wrap with [`bind`] or [`bind_to`].
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
mod net;
#[cfg(unix)]
mod signal;
mod task;
mod timer;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Instant;

use anyscope_core::net::raw::{RawDatagram, RawListener, RawStream};
use anyscope_core::runtime::{
    self, BoxFuture, Handle, RawTask, Runtime, Task, TaskOutput, Timer, WithRuntime,
};
use async_executor::Executor;
use futures_lite::FutureExt;

/// anyscope's [`Runtime`] on an `async-executor` executor.
///
/// The adapter holds the executor *weakly*: tasks (and the frames inside them) never keep your
/// executor alive. When you drop it, its pending tasks are dropped, and their pending cleanups
/// are recorded as lost in the [`tracker`](anyscope_core::tracker) instead of leaking silently.
#[derive(Clone, Debug)]
pub struct Smol {
    ex: Weak<Executor<'static>>,
}

impl Smol {
    /// The adapter for anyscope's global executor, started on first use with one worker thread
    /// per core.
    pub fn global() -> Self {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| runtime::register_fallback("smol", find_current));
        Smol { ex: Arc::downgrade(&executor::global()) }
    }

    /// The adapter for your executor. You drive it (`ex.run(..)` on threads of your own).
    pub fn new(ex: Arc<Executor<'static>>) -> Self {
        Smol { ex: Arc::downgrade(&ex) }
    }

    /// The executor behind the adapter, unless it has been dropped.
    pub fn executor(&self) -> Option<Arc<Executor<'static>>> {
        self.ex.upgrade()
    }
}

impl Runtime for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }

    fn spawn(&self, task: BoxFuture<TaskOutput>) -> Box<dyn RawTask> {
        match self.ex.upgrade() {
            Some(ex) => Box::new(task::SmolTask::new(ex.spawn(AssertUnwindSafe(task).catch_unwind()))),
            // The executor is gone: the task is dropped now, as it would have been with it.
            None => Box::new(task::SmolTask::dropped(task)),
        }
    }

    fn spawn_detached(&self, task: BoxFuture<TaskOutput>) {
        match self.ex.upgrade() {
            // Panics are still caught: they must not unwind through the executor's threads.
            Some(ex) => ex.spawn(AssertUnwindSafe(task).catch_unwind()).detach(),
            None => drop(task),
        }
    }

    fn spawn_task(&self, task: Task) {
        match self.ex.upgrade() {
            // `Task` catches its own panics and is sized: spawned as it is, no box.
            Some(ex) => ex.spawn(task).detach(),
            // The executor is gone: dropping the task cancels it, as the executor would have.
            None => drop(task),
        }
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

    fn connect_tcp(&self, addr: std::net::SocketAddr) -> BoxFuture<std::io::Result<Box<dyn RawStream>>> {
        net::connect_tcp(addr)
    }

    fn bind_tcp(&self, addr: std::net::SocketAddr) -> std::io::Result<Box<dyn RawListener>> {
        net::bind_tcp(addr)
    }

    fn bind_udp(&self, addr: std::net::SocketAddr) -> std::io::Result<Box<dyn RawDatagram>> {
        net::bind_udp(addr)
    }

    #[cfg(unix)]
    fn connect_unix(&self, path: std::path::PathBuf) -> BoxFuture<std::io::Result<Box<dyn RawStream>>> {
        net::connect_unix(path)
    }

    #[cfg(unix)]
    fn bind_unix(&self, path: &std::path::Path) -> std::io::Result<Box<dyn RawListener>> {
        net::bind_unix(path)
    }

    #[cfg(unix)]
    fn signal(
        &self,
        sig: anyscope_core::signal::Signal,
    ) -> std::io::Result<Box<dyn anyscope_core::signal::RawSignal>> {
        signal::signal(sig)
    }
}

/// On the threads that drive anyscope's global executor, code outside any anyscope frame (a
/// `Drop`, a raw task) still finds the runtime.
fn find_current() -> Option<Handle> {
    executor::on_global_thread().then(Smol::global).map(Handle::new)
}

/// Runs `fut` with anyscope's global executor as the ambient runtime, inside whatever drives
/// it (`smol::block_on`, `futures_lite::future::block_on`, another executor).
///
/// `fut` itself is polled by whatever drives it; what anyscope spawns from it runs on
/// anyscope's own global executor (started on first use, one worker thread per core), beside
/// smol's global executor and not on it. To spawn onto an executor you run, use [`bind_to`].
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
/// use std::sync::{Arc, Weak};
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
/// then waits for the cleanups detached under this run (never another run's, even though every
/// run shares the global executor), and returns its output.
///
/// Cleanups detached by code outside any anyscope frame (a raw task on the global executor
/// dropping a guard) belong to no run: they run on the global executor, which outlives every
/// run, and [`wait_detached`](anyscope_core::tracker::wait_detached) waits for them.
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
    let handle = Handle::new(Smol::global());
    let ex = executor::global();
    let _driving = executor::mark_driving();
    async_io::block_on(ex.run(async move {
        let out = runtime::with_runtime(handle.clone(), fut).await;
        anyscope_core::tracker::wait_detached_for(&handle).await;
        out
    }))
}
