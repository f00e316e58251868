//! The errors of the synchronization primitives.

use std::error::Error;
use std::fmt;

/// Why an acquisition of a [`Semaphore`](super::Semaphore) failed: it was closed.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::sync::{AcquireError, Semaphore};
/// let sem = Semaphore::new(0);
/// sem.close();
/// let err = sem.acquire().await.unwrap_err();
/// assert_eq!(err, AcquireError::Closed);
/// assert!(err.is_closed());
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcquireError {
    /// The semaphore was closed before a permit could be given (or while waiting for one).
    Closed,
    /// More permits were requested at once than the semaphore can ever hold (its maximum, or
    /// [`Semaphore::MAX_PERMITS`](super::Semaphore::MAX_PERMITS)): returned at the first poll
    /// instead of waiting forever.
    TooMany {
        /// The permits requested.
        requested: usize,
        /// The most the semaphore can hold.
        max: usize,
    },
}

impl AcquireError {
    /// Whether the semaphore was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::sync::AcquireError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, AcquireError::Closed)
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Closed => f.write_str("the semaphore was closed"),
            AcquireError::TooMany { requested, max } => {
                write!(f, "{requested} permits requested from a semaphore that can hold at most {max}")
            }
        }
    }
}

impl Error for AcquireError {}

/// Why a non-blocking acquisition failed.
///
/// # Examples
///
/// ```
/// use anyscope_core::sync::{Semaphore, TryAcquireError};
/// let sem = Semaphore::new(0);
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// sem.close();
/// assert!(sem.try_acquire().unwrap_err().is_closed());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free, or other tasks are already waiting for them (no barging).
    NoPermits,
    /// More permits were requested than the semaphore can ever hold (waiting would not help).
    TooMany {
        /// The permits requested.
        requested: usize,
        /// The most the semaphore can hold.
        max: usize,
    },
}

impl TryAcquireError {
    /// Whether the semaphore was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::sync::TryAcquireError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether it failed only because no permit was free (waiting would help).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::sync::TryAcquireError::NoPermits.is_no_permits());
    /// ```
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("the semaphore was closed"),
            TryAcquireError::NoPermits => f.write_str("no permit is free without waiting"),
            TryAcquireError::TooMany { requested, max } => {
                write!(f, "{requested} permits requested from a semaphore that can hold at most {max}")
            }
        }
    }
}

impl Error for TryAcquireError {}

/// Adding permits would take a [`Semaphore`](super::Semaphore) beyond its maximum (AnyIO's
/// "semaphore released too many times").
///
/// # Examples
///
/// ```
/// use anyscope_core::sync::Semaphore;
/// let sem = Semaphore::with_max(1, 1);
/// assert!(sem.add_permits(1).is_err());
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPermitsExceeded {
    pub(crate) _priv: (),
}

impl fmt::Display for MaxPermitsExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("releasing would take the semaphore beyond its maximum value")
    }
}

impl Error for MaxPermitsExceeded {}

/// [`Mutex::try_lock`](super::Mutex::try_lock) failed: the mutex is locked, or other tasks are
/// already waiting for it (no barging).
///
/// # Examples
///
/// ```
/// use anyscope_core::sync::Mutex;
/// let m = Mutex::new(1);
/// let _g = m.try_lock().unwrap();
/// assert!(m.try_lock().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TryLockError {
    pub(crate) _priv: (),
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the mutex is locked or has waiters")
    }
}

impl Error for TryLockError {}

/// Why a [`CapacityLimiter`](super::CapacityLimiter) operation failed.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::sync::{BorrowerId, CapacityError, CapacityLimiter};
/// let limiter = CapacityLimiter::new(2);
/// let me = BorrowerId::new();
/// limiter.acquire_on_behalf_of(&me).await.unwrap();
/// assert_eq!(limiter.acquire_on_behalf_of(&me).await, Err(CapacityError::AlreadyBorrowing));
/// limiter.release_on_behalf_of(&me).unwrap();
/// assert!(limiter.release_on_behalf_of(&me).unwrap_err().is_not_borrowing());
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapacityError {
    /// The borrower already holds a token of this limiter (or is already waiting for one).
    AlreadyBorrowing,
    /// The borrower does not hold a token of this limiter.
    NotBorrowing,
    /// No token is free without waiting (from the `try_` methods only).
    WouldBlock,
}

impl CapacityError {
    /// Whether the borrower already held (or was waiting for) a token.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::sync::CapacityError::AlreadyBorrowing.is_already_borrowing());
    /// ```
    pub fn is_already_borrowing(&self) -> bool {
        matches!(self, CapacityError::AlreadyBorrowing)
    }

    /// Whether the borrower released a token it did not hold.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::sync::CapacityError::NotBorrowing.is_not_borrowing());
    /// ```
    pub fn is_not_borrowing(&self) -> bool {
        matches!(self, CapacityError::NotBorrowing)
    }

    /// Whether a `try_` method would have had to wait.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::sync::CapacityError::WouldBlock.is_would_block());
    /// ```
    pub fn is_would_block(&self) -> bool {
        matches!(self, CapacityError::WouldBlock)
    }
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapacityError::AlreadyBorrowing => "this borrower already holds one of the limiter's tokens",
            CapacityError::NotBorrowing => "this borrower does not hold any of the limiter's tokens",
            CapacityError::WouldBlock => "no token is free without waiting",
        })
    }
}

impl Error for CapacityError {}

/// A [`CapacityLimiter`](super::CapacityLimiter) was given 0 tokens: every acquire would wait
/// forever, so it is refused.
///
/// # Examples
///
/// ```
/// let err = anyscope_core::sync::CapacityLimiter::try_new(0).unwrap_err();
/// assert_eq!(err.to_string(), "a capacity limiter needs at least one token");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroTokens {
    pub(crate) _priv: (),
}

impl fmt::Display for ZeroTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a capacity limiter needs at least one token")
    }
}

impl Error for ZeroTokens {}
