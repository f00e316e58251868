//! The context of a thread running a blocking call: the runtime and the cancel scope of the
//! task that offloaded it.
//!
//! [`run_blocking`](crate::run_blocking) sets it around the call, so that on the blocking
//! thread the runtime is still ambient (a guard dropped there hands its close to the runtime,
//! as on tokio, whose blocking threads know their runtime) and
//! [`from_thread`](crate::from_thread) can reach the caller's runtime and scope.

use std::cell::RefCell;
use std::sync::Arc;

use super::Handle;
use crate::cancel::node::Node;

/// What a blocking call's thread knows of its caller.
#[derive(Clone)]
pub(crate) struct Caller {
    pub(crate) rt: Handle,
    /// The caller's innermost cancel scope (`None`: a scope nothing can cancel).
    pub(crate) node: Option<Arc<Node>>,
}

thread_local! {
    static CALLER: RefCell<Option<Caller>> = const { RefCell::new(None) };
}

/// Restores the thread's previous context when dropped.
pub(crate) struct Entered(Option<Caller>);

impl Drop for Entered {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = CALLER.try_with(|c| *c.borrow_mut() = prev);
    }
}

/// Makes `caller` the context of this thread until the guard is dropped.
pub(crate) fn enter(caller: Caller) -> Entered {
    Entered(CALLER.with(|c| c.borrow_mut().replace(caller)))
}

/// The context of the blocking call running on this thread, if any. Never panics.
pub(crate) fn caller() -> Option<Caller> {
    CALLER.try_with(|c| c.try_borrow().ok().and_then(|c| c.clone())).ok().flatten()
}

/// The runtime of the blocking call running on this thread, if any. Never panics.
pub(crate) fn blocking_runtime() -> Option<Handle> {
    caller().map(|c| c.rt)
}
