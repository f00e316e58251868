//! The guards of held semaphore permits.

use std::fmt;
use std::sync::Arc;

use super::Semaphore;

/// Permits held from a [`Semaphore`]; given back when dropped.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let sem = anyscope_core::sync::Semaphore::new(1);
/// {
///     let _permit = sem.acquire().await.unwrap();
///     assert_eq!(sem.available_permits(), 0);
/// }
/// assert_eq!(sem.available_permits(), 1);
/// # });
/// ```
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl<'a> SemaphorePermit<'a> {
    pub(crate) fn new(sem: &'a Semaphore, n: usize) -> Self {
        SemaphorePermit { sem, n }
    }

    /// How many permits this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::new(1);
    /// assert_eq!(sem.try_acquire().unwrap().permits(), 1);
    /// ```
    pub fn permits(&self) -> usize {
        self.n
    }

    /// Drops the guard without giving the permits back: they leave the semaphore for good.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::with_max(1, 1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// sem.add_permits(1).unwrap(); // room again below the maximum
    /// ```
    pub fn forget(mut self) {
        self.sem.raw().forget_held(self.n);
        self.n = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.raw().release(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").field("permits", &self.n).finish()
    }
}

/// Permits held from an `Arc<Semaphore>`; given back when dropped.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(anyscope_core::sync::Semaphore::new(1));
/// let permit = sem.try_acquire_owned().unwrap();
/// assert_eq!(sem.available_permits(), 0);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    n: usize,
}

impl OwnedSemaphorePermit {
    pub(crate) fn new(sem: Arc<Semaphore>, n: usize) -> Self {
        OwnedSemaphorePermit { sem, n }
    }

    /// How many permits this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(anyscope_core::sync::Semaphore::new(1));
    /// assert_eq!(sem.try_acquire_owned().unwrap().permits(), 1);
    /// ```
    pub fn permits(&self) -> usize {
        self.n
    }

    /// The semaphore the permits come from.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(anyscope_core::sync::Semaphore::new(1));
    /// let p = sem.try_acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(p.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Drops the guard without giving the permits back: they leave the semaphore for good.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(anyscope_core::sync::Semaphore::new(1));
    /// sem.try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        self.sem.raw().forget_held(self.n);
        self.n = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.raw().release(self.n);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit").field("permits", &self.n).finish()
    }
}
