//! The guards of a locked [`Mutex`].

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::Mutex;

/// The lock of a [`Mutex`], held; unlocks (hands the lock to the oldest waiter) when dropped.
///
/// # Examples
///
/// ```
/// let m = anyscope_core::sync::Mutex::new(1);
/// let mut g = m.try_lock().unwrap();
/// *g += 1;
/// drop(g);
/// assert_eq!(m.into_inner(), 2);
/// ```
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    // `Some` until the guard is dropped.
    value: Option<T>,
}

impl<'a, T> MutexGuard<'a, T> {
    pub(super) fn new(mutex: &'a Mutex<T>, value: T) -> Self {
        MutexGuard { value: Some(value), mutex }
    }

    /// The mutex this guard locks.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = anyscope_core::sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(std::ptr::eq(g.mutex(), &m));
    /// ```
    pub fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_ref().expect("the value is in the guard until it drops")
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("the value is in the guard until it drops")
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.mutex.unlock(value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The lock of an `Arc<Mutex<T>>`, held by a `'static` guard; unlocks when dropped.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(anyscope_core::sync::Mutex::new(1));
/// let mut g = m.try_lock_owned().unwrap();
/// *g = 3;
/// drop(g);
/// assert_eq!(*m.try_lock().unwrap(), 3);
/// ```
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T> {
    mutex: Arc<Mutex<T>>,
    value: Option<T>,
}

impl<T> OwnedMutexGuard<T> {
    pub(super) fn new(mutex: Arc<Mutex<T>>, value: T) -> Self {
        OwnedMutexGuard { value: Some(value), mutex }
    }

    /// The mutex this guard locks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(anyscope_core::sync::Mutex::new(()));
    /// let g = m.try_lock_owned().unwrap();
    /// assert!(Arc::ptr_eq(g.mutex(), &m));
    /// ```
    pub fn mutex(&self) -> &Arc<Mutex<T>> {
        &self.mutex
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_ref().expect("the value is in the guard until it drops")
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("the value is in the guard until it drops")
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.mutex.unlock(value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
