//! Which run this thread belongs to: the executor thread of a run, and its blocking threads.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use crate::executor::Shared;

thread_local! {
    /// The run this thread drives (or a blocking call of it runs on).
    static CURRENT: RefCell<Option<Weak<Shared>>> = const { RefCell::new(None) };
}

/// The run this thread belongs to.
pub(crate) fn current() -> Option<Arc<Shared>> {
    CURRENT.try_with(|c| c.borrow().as_ref().and_then(Weak::upgrade)).ok().flatten()
}

/// Marks this thread as belonging to `shared`'s run until the guard is dropped.
pub(crate) fn enter(shared: Weak<Shared>) -> impl Drop {
    struct Restore(Option<Weak<Shared>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
        }
    }
    Restore(CURRENT.with(|c| c.borrow_mut().replace(shared)))
}
