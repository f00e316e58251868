use std::error::Error;
use std::fmt;
use std::future::Future;

/// How a [`Pool`](super::Pool) makes, checks and closes its objects (connections, sessions,
/// clients).
///
/// Only [`create`](Manager::create) is required. The futures are `Send`: write the methods as
/// `async fn` in the impl, and the compiler checks that they are.
///
/// # Examples
///
/// ```
/// use anyscope_core::pool::{Manager, Recycle, RecycleError};
///
/// struct Conn { healthy: bool, open_tx: bool }
///
/// struct Db;
///
/// impl Manager for Db {
///     type Object = Conn;
///     type Error = std::io::Error;
///
///     async fn create(&self) -> Result<Conn, std::io::Error> {
///         Ok(Conn { healthy: true, open_tx: false }) // connect, authenticate, ...
///     }
///
///     async fn recycle(&self, conn: &mut Conn, why: Recycle) -> Result<(), RecycleError<std::io::Error>> {
///         if why.holder_cut_off() {
///             conn.open_tx = false; // ROLLBACK what the holder left open (or return Err to close it)
///         }
///         // ping, ...
///         if conn.healthy { Ok(()) } else { Err(std::io::Error::other("dead"))? }
///     }
///
///     fn is_broken(&self, conn: &Conn) -> bool {
///         !conn.healthy
///     }
/// }
/// ```
pub trait Manager: Send + Sync + 'static {
    /// The pooled object.
    type Object: Send + 'static;
    /// What a failed create or recycle reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Makes a new object. Called with a slot of the pool reserved; an error frees the slot and
    /// is returned to the acquirer as [`PoolError::Create`](super::PoolError::Create).
    ///
    /// Bounded by the acquire (its scope and the pool's acquire timeout) and by
    /// [`create_timeout`](super::PoolConfigBuilder::create_timeout) when one is set.
    ///
    /// # Cancel safety
    ///
    /// The future is dropped if the acquire is cancelled or times out: nothing is pooled then,
    /// and the slot is freed.
    fn create(&self) -> impl Future<Output = Result<Self::Object, Self::Error>> + Send;

    /// Checks (and resets) an object before it is reused: a ping, a rollback of a transaction
    /// left open. `why` says why it runs. An error closes the object (an acquire then goes on
    /// with another one).
    ///
    /// It runs for [`Recycle::Reuse`] when an acquire takes an idle object (under
    /// [`RecyclePolicy::Always`](super::RecyclePolicy::Always)), and for
    /// [`Recycle::Cancelled`] or [`Recycle::Panicked`] when the object comes back from a
    /// holder that was cut off while holding it (it may be stuck mid-operation), before
    /// anyone else can get it.
    ///
    /// The default accepts an object for [`Recycle::Reuse`] and refuses ([`RecycleError::Discard`])
    /// one whose holder was cut off: such an object is closed, never handed out again.
    /// Override it to reset such objects instead (a `ROLLBACK`, draining a reply).
    ///
    /// # Cancel safety
    ///
    /// Bounded by [`recycle_timeout`](super::PoolConfigBuilder::recycle_timeout) and, during an
    /// acquire, by the acquire's scope and timeout. Dropped midway for any of these reasons,
    /// the object is closed (not trusted: it was cut off mid-check) and its slot freed.
    fn recycle(
        &self,
        obj: &mut Self::Object,
        why: Recycle,
    ) -> impl Future<Output = Result<(), RecycleError<Self::Error>>> + Send {
        let _ = obj;
        std::future::ready(if why.holder_cut_off() { Err(RecycleError::Discard) } else { Ok(()) })
    }

    /// Closes an object for good (a goodbye message, a flush). The default drops it.
    ///
    /// # Cancel safety
    ///
    /// The pool bounds it by [`recycle_timeout`](super::PoolConfigBuilder::recycle_timeout)
    /// when it closes an object nobody waits for; dropped midway, the object is dropped and
    /// its slot is freed all the same.
    fn close(&self, obj: Self::Object) -> impl Future<Output = ()> + Send {
        drop(obj);
        std::future::ready(())
    }

    /// A cheap synchronous test, made when an object is returned: a broken object is closed,
    /// not returned to the pool. The default says no object is broken.
    fn is_broken(&self, obj: &Self::Object) -> bool {
        let _ = obj;
        false
    }
}

/// Why [`Manager::recycle`] runs.
///
/// Age is not among the reasons: an object past the pool's
/// [`max_lifetime`](super::PoolConfig::max_lifetime) or
/// [`idle_timeout`](super::PoolConfig::idle_timeout) is never recycled, it is closed
/// ([`Manager::close`]) and its slot freed, so no recycle runs for it.
///
/// # Examples
///
/// ```
/// use anyscope_core::pool::Recycle;
/// assert!(Recycle::Cancelled.holder_cut_off());
/// assert!(!Recycle::Reuse.holder_cut_off());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recycle {
    /// An acquire takes an idle object that its last holder returned in the ordinary way.
    Reuse,
    /// The object's holder was cancelled while holding it (a query cut off mid-reply).
    Cancelled,
    /// The object's holder panicked while holding it.
    Panicked,
}

impl Recycle {
    /// Whether the holder was cut off (cancelled or panicked): the object may be stuck
    /// mid-operation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::pool::Recycle::Panicked.holder_cut_off());
    /// ```
    pub fn holder_cut_off(self) -> bool {
        matches!(self, Recycle::Cancelled | Recycle::Panicked)
    }
}

/// Why [`Manager::recycle`] refused an object: the object is closed, not reused.
///
/// `?` converts the manager's error into it, as in deadpool.
///
/// # Examples
///
/// ```
/// use anyscope_core::pool::RecycleError;
/// fn ping() -> Result<(), std::io::Error> { Err(std::io::Error::other("gone")) }
/// fn check() -> Result<(), RecycleError<std::io::Error>> { Ok(ping()?) }
/// assert!(matches!(check(), Err(RecycleError::Backend(_))));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RecycleError<E> {
    /// The object is not to be reused, with no error to report (the default for an object
    /// whose holder was cut off).
    Discard,
    /// The check failed with the manager's error.
    Backend(E),
}

impl<E> From<E> for RecycleError<E> {
    fn from(e: E) -> Self {
        RecycleError::Backend(e)
    }
}

impl<E> fmt::Display for RecycleError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecycleError::Discard => f.write_str("the pool object is not to be reused"),
            RecycleError::Backend(_) => f.write_str("checking a pool object for reuse failed"),
        }
    }
}

impl<E: Error + 'static> Error for RecycleError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            RecycleError::Backend(e) => Some(e),
            RecycleError::Discard => None,
        }
    }
}
