//! A fair async mutex: FIFO, handed to the oldest waiter at unlock, with owned guards.

mod guard;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use guard::{MutexGuard, OwnedMutexGuard};

use super::error::TryLockError;
use super::semaphore::raw::{AcquireOp, RawSemaphore};

/// An async mutex (AnyIO's `Lock` with the data it protects), fair and cancel-safe.
///
/// - FIFO with handoff: at unlock the lock passes directly to the oldest waiter; a task that
///   arrives meanwhile (or calls [`try_lock`](Mutex::try_lock)) does not barge past it.
/// - A waiter cancelled in the queue never gets the lock, and a lock handed to a waiter that is
///   cancelled before it ran goes on to the next one (AnyIO#398's lost lock cannot happen).
/// - No poisoning: a panic while the guard is held unlocks it.
///
/// When not to use it: to protect data for a short, synchronous critical section, a
/// `std::sync::Mutex` is cheaper; use this one when the guard is held across an `.await`.
///
/// Without `unsafe`, the value moves into the guard while it is locked and back when the guard
/// is dropped; wrap a large value in a `Box` to make that move cheap.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::sync::Mutex;
/// use std::sync::Arc;
/// let m = Arc::new(Mutex::new(0));
/// let m2 = Arc::clone(&m);
/// anyscope_core::spawn(async move { *m2.lock().await += 1 }).await.unwrap();
/// assert_eq!(*m.lock().await, 1);
/// # });
/// ```
pub struct Mutex<T> {
    /// The value is kept under the semaphore's lock (`None` while a guard holds it): a handoff
    /// moves it under the lock the handoff takes anyway.
    raw: RawSemaphore<Option<T>>,
}

/// A snapshot of a [`Mutex`]'s state.
///
/// # Examples
///
/// ```
/// let m = anyscope_core::sync::Mutex::new(());
/// let _g = m.try_lock().unwrap();
/// assert!(m.statistics().locked);
/// assert_eq!(m.statistics().tasks_waiting, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MutexStatistics {
    /// Whether the mutex is held (or handed to a waiter that has not run yet).
    pub locked: bool,
    /// Tasks waiting for the lock.
    pub tasks_waiting: usize,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = anyscope_core::sync::Mutex::new(5);
    /// assert_eq!(m.into_inner(), 5);
    /// ```
    pub const fn new(value: T) -> Self {
        Mutex { raw: RawSemaphore::with_value(1, Some(1), Some(value)) }
    }

    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// A checkpoint: inside a cancelled scope it does not complete and does not take the lock.
    /// Dropping the future leaves the queue; if the lock had already been handed to it, it goes
    /// to the next waiter (or becomes free). Other waiters keep their place.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let m = anyscope_core::sync::Mutex::new(vec![1]);
    /// m.lock().await.push(2);
    /// assert_eq!(*m.lock().await, [1, 2]);
    /// # });
    /// ```
    pub fn lock(&self) -> Lock<'_, T> {
        Lock { mutex: self, op: AcquireOp::new(1) }
    }

    /// Waits for the lock, held by an owned guard (`'static`, movable into a task).
    ///
    /// # Cancel safety
    ///
    /// As [`lock`](Mutex::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use std::sync::Arc;
    /// let m = Arc::new(anyscope_core::sync::Mutex::new(1));
    /// let mut g = m.lock_owned().await;
    /// anyscope_core::spawn(async move { *g += 1 }).await.unwrap();
    /// assert_eq!(*m.lock().await, 2);
    /// # });
    /// ```
    pub fn lock_owned(self: &Arc<Self>) -> LockOwned<T> {
        LockOwned { mutex: Arc::clone(self), op: AcquireOp::new(1) }
    }

    /// Takes the lock if it is free and nobody is waiting for it.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if it is held or has waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = anyscope_core::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.raw.try_acquire(1).map_err(|_| TryLockError { _priv: () })?;
        Ok(MutexGuard::new(self, self.take_value(None)))
    }

    /// Takes the lock with an owned guard if it is free and nobody is waiting for it.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if it is held or has waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(anyscope_core::sync::Mutex::new(1));
    /// assert_eq!(*m.try_lock_owned().unwrap(), 1);
    /// ```
    pub fn try_lock_owned(self: &Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        self.raw.try_acquire(1).map_err(|_| TryLockError { _priv: () })?;
        Ok(OwnedMutexGuard::new(Arc::clone(self), self.take_value(None)))
    }

    /// Whether the mutex is held.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!anyscope_core::sync::Mutex::new(()).is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.raw.stats().available == 0
    }

    /// A snapshot of the state.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = anyscope_core::sync::Mutex::new(());
    /// assert!(!m.statistics().locked);
    /// ```
    pub fn statistics(&self) -> MutexStatistics {
        let s = self.raw.stats();
        MutexStatistics { locked: s.available == 0, tasks_waiting: s.waiting }
    }

    /// The value, through a unique borrow (no locking needed).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = anyscope_core::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.raw.kept_mut().as_mut().expect("no guard can exist while the mutex is borrowed uniquely")
    }

    /// The value, consuming the mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::Mutex::new("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.raw.into_kept().expect("no guard can exist while the mutex is owned")
    }

    /// Moves the value out for a new guard (the lock is held): from `slot` when the lock was
    /// granted under the semaphore's lock, else under it.
    fn take_value(&self, slot: Option<&mut Option<T>>) -> T {
        let value = match slot {
            Some(slot) => slot.take(),
            None => self.raw.with_kept(Option::take),
        };
        value.expect("the value is in the mutex while it is unlocked")
    }

    /// Puts the value back and unlocks (hands the lock to the oldest waiter), under one lock.
    fn unlock(&self, value: T) {
        self.raw.release_with(1, |slot| *slot = Some(value));
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex").field("statistics", &self.statistics()).finish_non_exhaustive()
    }
}

/// The future of [`Mutex::lock`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let m = anyscope_core::sync::Mutex::new(1);
/// let lock: anyscope_core::sync::Lock<'_, i32> = m.lock();
/// assert_eq!(*lock.await, 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Lock<'a, T> {
    mutex: &'a Mutex<T>,
    op: AcquireOp,
}

impl<'a, T> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = this.mutex;
        match this.op.poll_with(&mutex.raw, cx, |slot| mutex.take_value(slot)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(value)) => Poll::Ready(MutexGuard::new(mutex, value)),
            Poll::Ready(Err(_)) => unreachable!("a mutex's semaphore is never closed"),
        }
    }
}

impl<T> Drop for Lock<'_, T> {
    // Inlined: a completed lock (every one that returned its guard) leaves nothing to undo.
    #[inline]
    fn drop(&mut self) {
        self.op.cancel(&self.mutex.raw);
    }
}

impl<T> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("op", &self.op).finish_non_exhaustive()
    }
}

/// The future of [`Mutex::lock_owned`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use std::sync::Arc;
/// let m = Arc::new(anyscope_core::sync::Mutex::new(1));
/// let lock: anyscope_core::sync::LockOwned<i32> = m.lock_owned();
/// assert_eq!(*lock.await, 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct LockOwned<T> {
    mutex: Arc<Mutex<T>>,
    op: AcquireOp,
}

impl<T> Future for LockOwned<T> {
    type Output = OwnedMutexGuard<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = &this.mutex;
        match this.op.poll_with(&mutex.raw, cx, |slot| mutex.take_value(slot)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(value)) => Poll::Ready(OwnedMutexGuard::new(Arc::clone(mutex), value)),
            Poll::Ready(Err(_)) => unreachable!("a mutex's semaphore is never closed"),
        }
    }
}

impl<T> Drop for LockOwned<T> {
    // Inlined: a completed lock (every one that returned its guard) leaves nothing to undo.
    #[inline]
    fn drop(&mut self) {
        self.op.cancel(&self.mutex.raw);
    }
}

impl<T> fmt::Debug for LockOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockOwned").field("op", &self.op).finish_non_exhaustive()
    }
}
