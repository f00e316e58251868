use std::error::Error;
use std::fmt;
use std::time::Duration;

/// Why an acquire gave no object.
///
/// `Display` says what failed at this level; the manager's error of [`PoolError::Create`] is
/// its [`source`](Error::source), not repeated in the message.
///
/// # Examples
///
/// ```
/// use anyscope_core::pool::PoolError;
/// use std::time::Duration;
///
/// let err: PoolError<std::io::Error> = PoolError::Timeout(Duration::from_secs(30));
/// assert!(err.is_timeout());
/// println!("{err}");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// The pool is closed (or closing): it hands out no more objects.
    Closed,
    /// The acquire took longer than the pool's
    /// [`acquire_timeout`](super::PoolConfig::acquire_timeout), given here.
    Timeout(Duration),
    /// The manager failed to create an object. The slot it was made for was freed.
    Create(E),
    /// [`try_acquire`](super::Pool::try_acquire) found no idle object to take without waiting.
    Busy,
}

impl<E> PoolError<E> {
    /// Whether the pool was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::pool::PoolError::<std::io::Error>::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, PoolError::Closed)
    }

    /// Whether the acquire timed out.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!anyscope_core::pool::PoolError::<std::io::Error>::Busy.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, PoolError::Timeout(_))
    }

    /// The manager's error, if creating an object failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::pool::PoolError;
    /// let err = PoolError::Create(std::io::Error::other("refused"));
    /// assert_eq!(err.into_create_error().unwrap().to_string(), "refused");
    /// ```
    pub fn into_create_error(self) -> Option<E> {
        match self {
            PoolError::Create(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Closed => f.write_str("the pool is closed"),
            PoolError::Timeout(d) => {
                write!(f, "no pool object within the pool's acquire timeout of {d:?}")
            }
            PoolError::Create(_) => f.write_str("creating a pool object failed"), // the cause: `source()`
            PoolError::Busy => f.write_str("no idle pool object is available right now"),
        }
    }
}

impl<E: Error + 'static> Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PoolError::Create(e) => Some(e),
            _ => None,
        }
    }
}
