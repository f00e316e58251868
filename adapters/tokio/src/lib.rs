//! The tokio adapter of anyscope: binds spawning, timers and blocking offload to tokio.
//!
//! Three ways in:
//!
//! - [`run`] builds a multi-thread runtime and runs a future on it (and
//!   [`run_current_thread`], a current-thread one);
//! - [`bind`] runs a future on the tokio runtime you already have (`#[tokio::main]`, a
//!   `Runtime` you built): anyscope does not need to own it;
//! - [`install`] (once, at the start of `main`) makes *plain* tokio contexts work too:
//!   `#[tokio::main]`, `#[tokio::test]`, a task spawned with `tokio::spawn`, a `Drop` on a
//!   tokio thread — core code finds the tokio runtime it runs on without `bind`.
//!
//! What finds a runtime does not depend on what ran earlier in the process: code outside
//! anyscope's frames finds tokio on the threads of a runtime [`run`] built (and on the
//! thread blocked in [`run_on`]), and everywhere on tokio once [`install`] was called —
//! never because some earlier test happened to call `run` or `bind`. Without either, core
//! code on a plain tokio runtime gets
//! [`NoRuntime`](anyscope_core::runtime::NoRuntime) (`current()` panics with it).
//!
//! tokio's paused test clock is honoured: anyscope reads time through `tokio::time`.
//!
//! # Examples
//!
//! ```
//! let v = anyscope_tokio::run(async {
//!     anyscope_core::sleep(std::time::Duration::from_millis(1)).await;
//!     anyscope_core::spawn(async { 21 * 2 }).await.unwrap()
//! });
//! assert_eq!(v, 42);
//! ```
#![forbid(unsafe_code)]

mod net;
#[cfg(unix)]
mod signal;
mod task;
mod timer;

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use anyscope_core::net::raw::{RawDatagram, RawListener, RawStream};
use anyscope_core::runtime::{
    self, BoxFuture, Handle, RawTask, Runtime, Task, TaskOutput, Timer, WithRuntime,
};

/// anyscope's [`Runtime`] on a tokio runtime.
#[derive(Clone, Debug)]
pub struct Tokio {
    handle: tokio::runtime::Handle,
}

impl Tokio {
    /// The adapter for the tokio runtime of `handle`.
    pub fn from_handle(handle: tokio::runtime::Handle) -> Self {
        register();
        Tokio { handle }
    }

    /// The adapter for the tokio runtime this code runs on.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as `tokio::runtime::Handle::current` does).
    pub fn current() -> Self {
        Tokio::from_handle(tokio::runtime::Handle::current())
    }

    /// The tokio handle behind the adapter.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Runtime for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }

    fn spawn(&self, task: BoxFuture<TaskOutput>) -> Box<dyn RawTask> {
        Box::new(task::TokioTask::new(self.handle.spawn(task)))
    }

    fn spawn_detached(&self, task: BoxFuture<TaskOutput>) {
        // Dropping tokio's handle detaches the task; no `RawTask` is boxed.
        drop(self.handle.spawn(task));
    }

    fn spawn_task(&self, task: Task) {
        // `Task` is sized: tokio's cell holds it as it is, no box.
        drop(self.handle.spawn(task));
    }

    fn spawn_blocking(&self, f: Box<dyn FnOnce() -> TaskOutput + Send + 'static>) -> Box<dyn RawTask> {
        Box::new(task::TokioTask::new(self.handle.spawn_blocking(f)))
    }

    fn now(&self) -> Instant {
        // No `enter()`: anyscope reads the clock from inside the runtime's context (a poll on a
        // worker or blocking thread), where tokio's clock — paused in tests — is found; entering
        // again would cost as much as the read itself.
        tokio::time::Instant::now().into_std()
    }

    fn timer(&self, deadline: Instant) -> std::pin::Pin<Box<dyn Timer>> {
        let _in_context = self.handle.enter();
        Box::pin(timer::TokioTimer::new(deadline))
    }

    fn connect_tcp(&self, addr: std::net::SocketAddr) -> BoxFuture<std::io::Result<Box<dyn RawStream>>> {
        net::connect_tcp(&self.handle, addr)
    }

    fn bind_tcp(&self, addr: std::net::SocketAddr) -> std::io::Result<Box<dyn RawListener>> {
        net::bind_tcp(&self.handle, addr)
    }

    fn bind_udp(&self, addr: std::net::SocketAddr) -> std::io::Result<Box<dyn RawDatagram>> {
        net::bind_udp(&self.handle, addr)
    }

    #[cfg(unix)]
    fn connect_unix(&self, path: std::path::PathBuf) -> BoxFuture<std::io::Result<Box<dyn RawStream>>> {
        net::connect_unix(&self.handle, path)
    }

    #[cfg(unix)]
    fn bind_unix(&self, path: &std::path::Path) -> std::io::Result<Box<dyn RawListener>> {
        net::bind_unix(&self.handle, path)
    }

    #[cfg(unix)]
    fn signal(
        &self,
        sig: anyscope_core::signal::Signal,
    ) -> std::io::Result<Box<dyn anyscope_core::signal::RawSignal>> {
        signal::signal(&self.handle, sig)
    }
}

/// On a thread of a runtime that [`run`] (or [`run_current_thread`], [`run_on`]) drives, the
/// run's own handle: what code outside any frame there (a raw `tokio::spawn` task dropping a
/// guard) then detaches is counted for that run, which waits for it.
type RunSlot = Arc<OnceLock<Handle>>;

thread_local! {
    static RUN: RefCell<Option<RunSlot>> = const { RefCell::new(None) };
}

/// [`install`] was called: every tokio context is an ambient runtime.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The fallback core consults outside anyscope's frames: on a thread a run drives, that run;
/// elsewhere on tokio, the tokio runtime only if [`install`] was called. What it answers never
/// depends on what ran earlier on other threads or runtimes.
fn find_current() -> Option<Handle> {
    let tokio = tokio::runtime::Handle::try_current().ok()?;
    // `try_with`: a `Drop` may run while thread-locals are being destroyed.
    let run = RUN.try_with(|r| r.borrow().as_ref().map(|slot| slot.get().cloned())).ok().flatten();
    match run {
        Some(Some(handle)) => Some(handle),
        // A thread of a run whose handle is being set up: the run's runtime all the same.
        Some(None) => Some(Handle::new(Tokio { handle: tokio })),
        None if INSTALLED.load(Ordering::Acquire) => Some(Handle::new(Tokio { handle: tokio })),
        None => None,
    }
}

/// Makes every tokio runtime of this process an ambient runtime for anyscope: under
/// `#[tokio::main]`, `#[tokio::test]`, in a task spawned with `tokio::spawn`, or in a `Drop`
/// on a tokio thread, core code (`sleep`, `spawn`, cancel scopes, task groups, a guard's
/// close) finds the runtime it runs on, without [`bind`].
///
/// It is an application's choice, process-wide: call it at the start of `main` (or of each
/// test); calling it again does nothing. Libraries should not call it. Without it, only
/// [`run`], [`bind`] and what they spawn carry a runtime — whatever ran earlier.
///
/// # Examples
///
/// ```
/// #[tokio::main(flavor = "current_thread")]
/// async fn app() {
///     anyscope_tokio::install();
///     // A plain tokio task, no `bind`: core code finds the runtime.
///     let v = tokio::spawn(async { anyscope_core::spawn(async { 7 }).await.unwrap() }).await.unwrap();
///     assert_eq!(v, 7);
/// }
/// app();
/// ```
pub fn install() {
    register();
    INSTALLED.store(true, Ordering::Release);
}

/// Sets the run's slot as this thread's for as long as it lives, then restores the previous one.
struct OnThisThread(Option<RunSlot>);

impl OnThisThread {
    fn set(slot: &RunSlot) -> Self {
        OnThisThread(RUN.with(|r| r.replace(Some(Arc::clone(slot)))))
    }
}

impl Drop for OnThisThread {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = RUN.try_with(|r| *r.borrow_mut() = previous);
    }
}

/// Registers [`find_current`] with core (idempotent; what it answers is decided per call).
fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| runtime::register_fallback("tokio", find_current));
}

/// Runs `fut` with the current tokio runtime as anyscope's ambient runtime.
///
/// Use it inside `#[tokio::main]` or on a runtime you built (`rt.block_on(bind(fut))`): the
/// runtime is looked up on the first poll. Only `fut` and what anyscope spawns from it carry
/// the runtime; for raw `tokio::spawn` tasks as well, call [`install`] instead. Await
/// [`wait_detached`](anyscope_core::tracker::wait_detached) (every run's) before shutting the
/// runtime down if cleanups may have been detached.
///
/// # Panics
///
/// On its first poll, outside a tokio runtime.
///
/// # Cancel safety
///
/// Dropping it drops `fut` inside the root frame; its pending cleanups go to a detached task.
///
/// # Examples
///
/// ```
/// #[tokio::main(flavor = "current_thread")]
/// async fn app() {
///     let v = anyscope_tokio::bind(async { anyscope_core::spawn(async { 1 }).await.unwrap() }).await;
///     assert_eq!(v, 1);
/// }
/// app();
/// ```
pub fn bind<F: Future>(fut: F) -> Bind<F> {
    Bind { fut: Some(fut), inner: None }
}

pin_project_lite::pin_project! {
    /// The future of [`bind`].
    ///
    /// # Cancel safety
    ///
    /// See [`bind`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Bind<F: Future> {
        // Not pinned yet: moved into `inner` on the first poll.
        fut: Option<F>,
        #[pin]
        inner: Option<WithRuntime<F>>,
    }
}

impl<F: Future> Future for Bind<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let mut this = self.project();
        if let Some(fut) = this.fut.take() {
            let rt = Handle::new(Tokio::current());
            this.inner.set(Some(runtime::with_runtime(rt, fut)));
        }
        match this.inner.as_pin_mut() {
            Some(inner) => inner.poll(cx),
            None => panic!("anyscope-tokio: `bind` polled after it completed"),
        }
    }
}

impl<F: Future> std::fmt::Debug for Bind<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bind").field("started", &self.inner.is_some()).finish()
    }
}

/// Runs `fut` to completion on a new multi-thread tokio runtime, then waits for the cleanups
/// detached under this run (never another run's), and returns its output.
///
/// Cleanups detached by code outside any anyscope frame on this runtime's threads (a raw
/// `tokio::spawn` task dropping a guard) count for this run too.
///
/// # Panics
///
/// If the runtime cannot be built; a panic of `fut` is resumed.
///
/// # Examples
///
/// ```
/// assert_eq!(anyscope_tokio::run(async { 5 }), 5);
/// ```
pub fn run<F: Future>(fut: F) -> F::Output {
    let slot = RunSlot::default();
    let on_start = Arc::clone(&slot);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || std::mem::forget(OnThisThread::set(&on_start)))
        .build()
        .expect("anyscope-tokio: failed to build a tokio runtime");
    run_in_slot(&rt, &slot, fut)
}

/// Like [`run`], on a current-thread runtime.
///
/// # Panics
///
/// If the runtime cannot be built; a panic of `fut` is resumed.
///
/// # Examples
///
/// ```
/// assert_eq!(anyscope_tokio::run_current_thread(async { 5 }), 5);
/// ```
pub fn run_current_thread<F: Future>(fut: F) -> F::Output {
    let slot = RunSlot::default();
    let on_start = Arc::clone(&slot);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(move || std::mem::forget(OnThisThread::set(&on_start)))
        .build()
        .expect("anyscope-tokio: failed to build a tokio runtime");
    run_in_slot(&rt, &slot, fut)
}

/// Runs `fut` on the runtime `rt` (`block_on`), then waits for the cleanups detached under this
/// run (never another run's).
///
/// Of the code outside any anyscope frame, only what runs on the calling thread counts for this
/// run: `rt`'s worker threads were started by you (use [`run`] to have them count too); raw
/// tasks there find a runtime only after [`install`].
///
/// # Panics
///
/// A panic of `fut` is resumed.
///
/// # Examples
///
/// ```
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// assert_eq!(anyscope_tokio::run_on(&rt, async { 5 }), 5);
/// ```
pub fn run_on<F: Future>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output {
    run_in_slot(rt, &RunSlot::default(), fut)
}

/// Runs `fut` as the run whose handle goes into `slot`, then waits for its detached cleanups.
fn run_in_slot<F: Future>(rt: &tokio::runtime::Runtime, slot: &RunSlot, fut: F) -> F::Output {
    let handle = slot.get_or_init(|| Handle::new(Tokio::from_handle(rt.handle().clone()))).clone();
    let _calling_thread = OnThisThread::set(slot);
    rt.block_on(async move {
        let out = runtime::with_runtime(handle.clone(), fut).await;
        anyscope_core::tracker::wait_detached_for(&handle).await;
        out
    })
}
