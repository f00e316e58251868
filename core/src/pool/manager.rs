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
/// use anyscope_core::pool::Manager;
///
/// struct Conn { healthy: bool }
///
/// struct Db;
///
/// impl Manager for Db {
///     type Object = Conn;
///     type Error = std::io::Error;
///
///     async fn create(&self) -> Result<Conn, std::io::Error> {
///         Ok(Conn { healthy: true }) // connect, authenticate, ...
///     }
///
///     async fn recycle(&self, conn: &mut Conn) -> Result<(), std::io::Error> {
///         // ping, roll back a transaction left open, ...
///         if conn.healthy { Ok(()) } else { Err(std::io::Error::other("dead")) }
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
    /// # Cancel safety
    ///
    /// The future is dropped if the acquire is cancelled or times out: nothing is pooled then.
    fn create(&self) -> impl Future<Output = Result<Self::Object, Self::Error>> + Send;

    /// Checks (and resets) an object before it is reused: a ping, a rollback of a transaction
    /// left open. An error closes the object and the acquire goes on with another one.
    ///
    /// When it runs is set by [`RecyclePolicy`](super::RecyclePolicy); an object whose holder
    /// was cancelled or panicked is always recycled before anyone else gets it. The default
    /// accepts every object.
    ///
    /// # Cancel safety
    ///
    /// Dropped midway (the acquirer was cancelled), the object is recycled again, as a cleanup
    /// of the acquirer's frame, before it goes back to the pool.
    fn recycle(&self, obj: &mut Self::Object) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = obj;
        std::future::ready(Ok(()))
    }

    /// Closes an object for good (a goodbye message, a flush). The default drops it.
    ///
    /// # Cancel safety
    ///
    /// The pool runs it to its end: a close cut off by a cancellation is handed to the
    /// innermost frame, which finishes it shielded.
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
