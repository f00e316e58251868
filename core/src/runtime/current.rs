use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::Runtime;
use crate::frame::{self, FrameState, Outcome, RootFramed, TASK_ROOT};

/// A shared handle to a [`Runtime`]: what frames carry and core functions use.
///
/// Cloning is a reference-count increment.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let rt = anyscope_core::runtime::current();
/// println!("running on {}", rt.name());
/// # });
/// ```
#[derive(Clone)]
pub struct Handle(Arc<dyn Runtime>);

impl Handle {
    /// Wraps an adapter's runtime.
    pub fn new(rt: impl Runtime) -> Self {
        Handle(Arc::new(rt))
    }

    /// Wraps an already shared runtime.
    pub fn from_arc(rt: Arc<dyn Runtime>) -> Self {
        Handle(rt)
    }
}

impl Deref for Handle {
    type Target = dyn Runtime;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Handle").field(&self.0).finish()
    }
}

/// No runtime was found: the error of [`try_current`], and the message of the panic of every
/// core function that needs a runtime and finds none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRuntime;

impl fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "anyscope: no runtime is available here. Run your future with `anyscope::run(fut)` \
             (or `anyscope_tokio::run` / `anyscope_smol::run`), or wrap it with \
             `anyscope_tokio::bind(fut)` / `anyscope_smol::bind(fut)` when you already run tokio \
             or smol yourself; tasks spawned by anyscope inherit the runtime.",
        )
    }
}

impl std::error::Error for NoRuntime {}

type Fallback = fn() -> Option<Handle>;

/// The registered fallbacks. Read on every lookup outside a frame (drop paths included), by
/// many threads at once: a read lock, held only to copy the short list — never `try_lock`,
/// which made a lookup fail (a resource recorded lost) whenever another thread was looking
/// up at the same moment.
static FALLBACKS: RwLock<Vec<(&'static str, Fallback)>> = RwLock::new(Vec::new());

/// Registers a way to find a runtime from the runtime's own context, consulted when no frame
/// carries one (code running in a task spawned directly on tokio, say).
///
/// Adapters call this once, under their name; registering a name again replaces its function.
///
/// # Examples
///
/// ```
/// fn none() -> Option<anyscope_core::runtime::Handle> { None }
/// anyscope_core::runtime::register_fallback("never-finds-one", none);
/// assert!(anyscope_core::runtime::try_current().is_err());
/// ```
pub fn register_fallback(name: &'static str, find: fn() -> Option<Handle>) {
    let mut list = FALLBACKS.write().unwrap_or_else(|e| e.into_inner());
    match list.iter_mut().find(|(n, _)| *n == name) {
        Some(entry) => entry.1 = find,
        None => list.push((name, find)),
    }
}

/// The ambient runtime, or `None`. Never panics: used by drop paths.
pub(crate) fn lookup() -> Option<Handle> {
    if let Some(rt) = frame::runtime().or_else(super::thread::blocking_runtime) {
        return Some(rt);
    }
    // Copied so that no lock is held while the fallbacks run (they may look up again).
    let list = FALLBACKS.read().unwrap_or_else(|e| e.into_inner()).clone();
    list.iter().find_map(|(_, find)| find())
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
