//! The synchronization types the concurrency state machines use, swapped for loom's under
//! `cfg(loom)` so that the models (`src/loom_tests.rs`, `tests/loom.rs`, run by `ci/loom.sh`)
//! explore every interleaving.
//!
//! Without `cfg(loom)` everything here is a plain re-export of `std`: the normal build is
//! unchanged and pays nothing.
//!
//! Under `cfg(loom)`:
//!
//! - `AtomicU32` is loom's. `AtomicUsize` is a wrapper around loom's, created on first use,
//!   so that its `new` stays `const` (`tracker.rs` keeps counters in statics). A static one
//!   must not be touched inside a model: loom objects live for one execution.
//! - `Mutex` is a wrapper around `loom::sync::Mutex` that keeps the subset of
//!   `std::sync::Mutex`'s API the crate uses, including a `const fn new` (loom's `new` is not
//!   `const`, and `RawSemaphore::new` is): the loom mutex is created on first use, from the
//!   value `new` stored. It never poisons (`lock` always returns `Ok`), as loom's.
//! - `OnceLock`, `Arc` and `Weak` stay `std`'s (loom has no `OnceLock` and no `Weak`). They are
//!   not modelled, which is sound here: loom runs its threads as coroutines on one OS thread, so
//!   a `std` type behaves sequentially consistently and can never block while another model
//!   thread holds it as long as no loom operation happens inside it (the only code run under
//!   them is a `OnceLock` initializer that does no loom operation). The same holds for the
//!   `std::sync::Mutex` that holds the value of the async `Mutex` (`sync/mutex.rs`): it is only
//!   locked for a move in or out, with no loom operation inside.
//!
//! That last point also means a `std` thread-local (the frame stack of `frame.rs`) is shared
//! by all model threads: the models never enter a frame, so the stack stays empty and
//! `frame::cancelled_here()` is always `false` in them.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom_atomic::AtomicUsize;

#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// loom's `UnsafeCell` (which checks that no two threads touch it at once) in models; here the
/// same API over `std`'s, at no cost: `with_mut` hands its closure the raw pointer.
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom_mutex::{Mutex, MutexGuard};

#[cfg(loom)]
mod loom_mutex {
    use std::fmt;
    use std::sync::{LockResult, OnceLock, PoisonError};

    pub(crate) use loom::sync::MutexGuard;

    /// `std::sync::Mutex`'s API over a `loom::sync::Mutex` created on first use.
    pub(crate) struct Mutex<T> {
        /// The value given to `new`, until the loom mutex is created.
        init: std::sync::Mutex<Option<T>>,
        model: OnceLock<loom::sync::Mutex<T>>,
    }

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Mutex { init: std::sync::Mutex::new(Some(value)), model: OnceLock::new() }
        }

        fn model(&self) -> &loom::sync::Mutex<T> {
            self.model.get_or_init(|| {
                let value = self.init.lock().unwrap_or_else(PoisonError::into_inner).take();
                loom::sync::Mutex::new(value.expect("the value stays in `init` until the model exists"))
            })
        }

        pub(crate) fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
            self.model().lock()
        }

        pub(crate) fn get_mut(&mut self) -> LockResult<&mut T> {
            if let Some(model) = self.model.get_mut() {
                return model.get_mut();
            }
            let value = self.init.get_mut().unwrap_or_else(PoisonError::into_inner);
            Ok(value.as_mut().expect("the value stays in `init` until the model exists"))
        }

        #[allow(dead_code)] // `std::sync::Mutex` API kept whole; not every caller uses it.
        pub(crate) fn into_inner(self) -> LockResult<T> {
            match self.model.into_inner() {
                Some(model) => model.into_inner(),
                None => {
                    let value = self.init.into_inner().unwrap_or_else(PoisonError::into_inner);
                    Ok(value.expect("the value stays in `init` until the model exists"))
                }
            }
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Mutex::new(T::default())
        }
    }

    impl<T> fmt::Debug for Mutex<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Mutex").finish_non_exhaustive()
        }
    }
}

#[cfg(loom)]
mod loom_atomic {
    use std::fmt;
    use std::sync::OnceLock;

    use loom::sync::atomic::Ordering;

    /// `std`'s `AtomicUsize` API (the part the crate uses) over a loom atomic created on first
    /// use, so that `new` stays `const` (the tracker's counters are statics). A static one must
    /// not be touched by a model: loom objects live for one execution, a static for the process.
    pub(crate) struct AtomicUsize {
        init: usize,
        model: OnceLock<loom::sync::atomic::AtomicUsize>,
    }

    impl AtomicUsize {
        pub(crate) const fn new(value: usize) -> Self {
            AtomicUsize { init: value, model: OnceLock::new() }
        }

        fn model(&self) -> &loom::sync::atomic::AtomicUsize {
            self.model.get_or_init(|| loom::sync::atomic::AtomicUsize::new(self.init))
        }

        pub(crate) fn load(&self, order: Ordering) -> usize {
            self.model().load(order)
        }

        pub(crate) fn fetch_add(&self, value: usize, order: Ordering) -> usize {
            self.model().fetch_add(value, order)
        }

        pub(crate) fn fetch_sub(&self, value: usize, order: Ordering) -> usize {
            self.model().fetch_sub(value, order)
        }

        pub(crate) fn fetch_or(&self, value: usize, order: Ordering) -> usize {
            self.model().fetch_or(value, order)
        }

        pub(crate) fn fetch_and(&self, value: usize, order: Ordering) -> usize {
            self.model().fetch_and(value, order)
        }

        pub(crate) fn compare_exchange(
            &self,
            current: usize,
            new: usize,
            success: Ordering,
            failure: Ordering,
        ) -> Result<usize, usize> {
            self.model().compare_exchange(current, new, success, failure)
        }
    }

    impl fmt::Debug for AtomicUsize {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("AtomicUsize").finish_non_exhaustive()
        }
    }
}
