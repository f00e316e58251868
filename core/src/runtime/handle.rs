use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, RwLock, Weak};

use super::Runtime;

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

    /// A weak reference: it keeps the runtime's allocation, not the runtime, so no other
    /// runtime can be allocated at its address while it lives (`frame::spare_timer` compares
    /// runtimes by address).
    pub(crate) fn downgrade(&self) -> Weak<dyn Runtime> {
        Arc::downgrade(&self.0)
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

/// No runtime was found: the error of [`try_current`](crate::runtime::try_current), and the message of the panic of every
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

/// A runtime found without a frame: the blocking call running on this thread, else a
/// registered fallback. `None` if neither knows one. Never panics: used by drop paths.
///
/// The frames are asked first by [`lookup`](crate::frame::lookup), the ambient lookup, which
/// lives with them: this module imports nothing above it.
pub(crate) fn fallback_lookup() -> Option<Handle> {
    if let Some(rt) = super::thread::blocking_runtime() {
        return Some(rt);
    }
    // Copied so that no lock is held while the fallbacks run (they may look up again).
    let list = FALLBACKS.read().unwrap_or_else(|e| e.into_inner()).clone();
    list.iter().find_map(|(_, find)| find())
}
