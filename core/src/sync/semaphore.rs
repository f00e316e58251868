//! A fair counting semaphore with close, added and forgotten permits and an optional maximum.

mod permit;
pub(crate) mod raw;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use permit::{OwnedSemaphorePermit, SemaphorePermit};
use raw::{AcquireOp, RawSemaphore};

use super::error::{AcquireError, MaxPermitsExceeded, TryAcquireError};

/// A counting semaphore: at most N holders at a time, served strictly first come, first served.
///
/// Compared with AnyIO's `Semaphore`: the permit is a guard ([`SemaphorePermit`]) that gives
/// the permit back when dropped; `add_permits` is AnyIO's `release`, and with a maximum
/// ([`Semaphore::with_max`]) adding beyond it is an error, as AnyIO's `max_value`. Compared with
/// `async_lock::Semaphore`: fair (a released permit goes to the oldest waiter, never to a
/// newcomer), closable, multi-permit, and free permits can be forgotten — what deadpool needs.
///
/// When not to use it: to bound how many borrowers hold a resource *with* a check that each
/// releases only what it holds, use a [`CapacityLimiter`](super::CapacityLimiter); for mutual
/// exclusion over data, a [`Mutex`](super::Mutex).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::sync::Semaphore;
/// let sem = Semaphore::new(2);
/// let a = sem.acquire().await.unwrap();
/// let _b = sem.acquire().await.unwrap();
/// assert!(sem.try_acquire().is_err());
/// drop(a);
/// assert!(sem.try_acquire().is_ok());
/// # });
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

/// A snapshot of a [`Semaphore`]'s state.
///
/// # Examples
///
/// ```
/// let sem = anyscope_core::sync::Semaphore::new(3);
/// let stats = sem.statistics();
/// assert_eq!((stats.available_permits, stats.tasks_waiting, stats.closed), (3, 0, false));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SemaphoreStatistics {
    /// Permits free right now.
    pub available_permits: usize,
    /// Tasks waiting in the queue (not counting those already handed a permit).
    pub tasks_waiting: usize,
    /// Whether [`Semaphore::close`] was called.
    pub closed: bool,
    /// The maximum number of permits, if any.
    pub max_permits: Option<usize>,
}

impl Semaphore {
    /// The most permits a semaphore can hold in total, free and held: `usize::MAX >> 2` (the
    /// two low bits of the atomic word that counts free permits are flags).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::sync::Semaphore;
    /// let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    /// assert!(sem.add_permits(1).is_err());
    /// ```
    pub const MAX_PERMITS: usize = raw::MAX_PERMITS;

    /// A semaphore with `permits` permits and no maximum.
    ///
    /// # Panics
    ///
    /// If `permits > Semaphore::MAX_PERMITS`.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::new(1);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub const fn new(permits: usize) -> Self {
        Semaphore { raw: RawSemaphore::new(permits, None) }
    }

    /// A semaphore with `permits` permits that never holds more than `max` permits in total
    /// (free and held): [`add_permits`](Semaphore::add_permits) beyond it is an error. A `max`
    /// above [`Semaphore::MAX_PERMITS`] acts as `MAX_PERMITS`.
    ///
    /// # Panics
    ///
    /// If `permits > max` or `permits > Semaphore::MAX_PERMITS`.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::sync::Semaphore;
    /// let sem = Semaphore::with_max(0, 2);
    /// sem.add_permits(2).unwrap();
    /// assert!(sem.add_permits(1).is_err());
    /// ```
    pub fn with_max(permits: usize, max: usize) -> Self {
        assert!(permits <= max, "a semaphore cannot start with more permits than its maximum");
        Semaphore { raw: RawSemaphore::new(permits, Some(max)) }
    }

    /// Waits for one permit.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is or gets closed before the permit is given.
    ///
    /// # Cancel safety
    ///
    /// A checkpoint: inside a cancelled scope it does not complete and takes nothing. Dropping
    /// the future leaves the queue; a permit that was already handed to it goes to the next
    /// waiter, so a cancelled acquire never takes or loses a permit, and the others keep their
    /// place.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let sem = anyscope_core::sync::Semaphore::new(1);
    /// let permit = sem.acquire().await.unwrap();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(permit);
    /// assert_eq!(sem.available_permits(), 1);
    /// # });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits at once. The request keeps its place in the queue: waiters behind
    /// it wait too, even if fewer permits would serve them (strict FIFO, no starvation).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Semaphore::acquire), and [`AcquireError::TooMany`] at the first poll if
    /// `n` is more than the semaphore can ever hold (its maximum, see
    /// [`with_max`](Semaphore::with_max)): such a request would otherwise wait forever.
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::sync::{AcquireError, Semaphore};
    /// let sem = Semaphore::with_max(1, 1);
    /// let err = sem.acquire_many(5).await.unwrap_err();
    /// assert_eq!(err, AcquireError::TooMany { requested: 5, max: 1 });
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Semaphore::acquire): all `n` or nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let sem = anyscope_core::sync::Semaphore::new(3);
    /// let permit = sem.acquire_many(2).await.unwrap();
    /// assert_eq!(permit.permits(), 2);
    /// assert_eq!(sem.available_permits(), 1);
    /// # });
    /// ```
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        Acquire { sem: self, op: AcquireOp::new(n) }
    }

    /// Waits for one permit, held by an owned guard (`'static`, movable into a task).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::sync::Semaphore;
    /// use std::sync::Arc;
    /// let sem = Arc::new(Semaphore::new(1));
    /// let permit = sem.acquire_owned().await.unwrap();
    /// anyscope_core::spawn(async move { drop(permit) }).await.unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// # });
    /// ```
    pub fn acquire_owned(self: &Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// Waits for `n` permits, held by an owned guard.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_many`](Semaphore::acquire_many).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use std::sync::Arc;
    /// let sem = Arc::new(anyscope_core::sync::Semaphore::new(2));
    /// let permit = sem.acquire_many_owned(2).await.unwrap();
    /// assert_eq!(permit.permits(), 2);
    /// # });
    /// ```
    pub fn acquire_many_owned(self: &Arc<Self>, n: usize) -> AcquireOwned {
        AcquireOwned { sem: Arc::clone(self), op: AcquireOp::new(n) }
    }

    /// Takes one permit if one is free and nobody is waiting.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Closed`] if closed, [`TryAcquireError::NoPermits`] if it would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().unwrap_err().is_no_permits());
    /// drop(p);
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::new(2);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.raw.try_acquire(n)?;
        Ok(SemaphorePermit::new(self, n))
    }

    /// Takes one permit with an owned guard, if one is free and nobody is waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(anyscope_core::sync::Semaphore::new(1));
    /// assert!(sem.try_acquire_owned().is_ok());
    /// ```
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.raw.try_acquire(1)?;
        Ok(OwnedSemaphorePermit::new(Arc::clone(self), 1))
    }

    /// Adds `n` permits (AnyIO's `release`); they go to the oldest waiters first.
    ///
    /// # Errors
    ///
    /// [`MaxPermitsExceeded`] if the permits in existence (free and held) would exceed the
    /// semaphore's maximum, or [`Semaphore::MAX_PERMITS`]; nothing is added then.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::new(0);
    /// sem.add_permits(2).unwrap();
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) -> Result<(), MaxPermitsExceeded> {
        self.raw.add(n)
    }

    /// Removes up to `n` free permits; returns how many were removed. Held permits are not
    /// affected (see [`SemaphorePermit::forget`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::new(3);
    /// assert_eq!(sem.forget_permits(5), 3);
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        self.raw.forget_free(n)
    }

    /// Closes the semaphore: every waiter and every later acquisition fails with
    /// [`AcquireError::Closed`]. Permits already held stay valid and can be given back.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// assert!(sem.try_acquire().unwrap_err().is_closed());
    /// ```
    pub fn close(&self) {
        self.raw.close();
    }

    /// Whether [`close`](Semaphore::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!anyscope_core::sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.raw.stats().closed
    }

    /// The number of free permits (AnyIO's `value`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::Semaphore::new(4).available_permits(), 4);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.raw.stats().available
    }

    /// A snapshot of the state.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = anyscope_core::sync::Semaphore::with_max(1, 2);
    /// assert_eq!(sem.statistics().max_permits, Some(2));
    /// ```
    pub fn statistics(&self) -> SemaphoreStatistics {
        let s = self.raw.stats();
        SemaphoreStatistics {
            available_permits: s.available,
            tasks_waiting: s.waiting,
            closed: s.closed,
            max_permits: s.max,
        }
    }

    pub(crate) fn raw(&self) -> &RawSemaphore {
        &self.raw
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").field("statistics", &self.statistics()).finish()
    }
}

/// The future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let sem = anyscope_core::sync::Semaphore::new(1);
/// let fut: anyscope_core::sync::Acquire<'_> = sem.acquire();
/// assert_eq!(fut.await.unwrap().permits(), 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    op: AcquireOp,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.op.poll(&this.sem.raw, cx).map_ok(|()| SemaphorePermit::new(this.sem, this.op.n))
    }
}

impl Drop for Acquire<'_> {
    // Inlined: an acquire that completed (the common case) leaves nothing to undo, a test of
    // its queue id.
    #[inline]
    fn drop(&mut self) {
        self.op.cancel(&self.sem.raw);
    }
}

/// The future of [`Semaphore::acquire_owned`] and [`Semaphore::acquire_many_owned`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use std::sync::Arc;
/// let sem = Arc::new(anyscope_core::sync::Semaphore::new(1));
/// let fut: anyscope_core::sync::AcquireOwned = sem.acquire_owned();
/// assert_eq!(fut.await.unwrap().permits(), 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct AcquireOwned {
    sem: Arc<Semaphore>,
    op: AcquireOp,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.op
            .poll(&this.sem.raw, cx)
            .map_ok(|()| OwnedSemaphorePermit::new(Arc::clone(&this.sem), this.op.n))
    }
}

impl Drop for AcquireOwned {
    #[inline]
    fn drop(&mut self) {
        self.op.cancel(&self.sem.raw);
    }
}
