use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::shared::Shared;
use super::{Manager, Object, PoolConfig, PoolError, PoolStats, acquire, close, maintenance};
use crate::frame::{self, Cleanup};

/// A pool of objects made by a [`Manager`]: see the [module docs](super).
///
/// A cheap handle (`Clone`, `Send`, `Sync`): every clone is the same pool. The pool is a
/// resource: close it with [`close`](Pool::close), which takes `&self` (the handle stays
/// usable: its stats, `is_closed`), or hand it to a [`Scoped`](crate::Scoped) guard or an
/// [`ExitStack`](crate::ExitStack) as [`pool.into_resource()`](Pool::into_resource). If the
/// last handle is dropped unclosed, its close is handed to the innermost frame, as a `Scoped`
/// guard's is.
///
/// `Pool` itself does not implement [`AsyncClose`](crate::AsyncClose): its by-value `close`
/// would take precedence over the inherent [`Pool::close`] wherever the trait is in scope,
/// and `pool.close().await` would move the pool. [`PoolResource`](super::PoolResource) does.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::pool::{Manager, Pool, PoolConfig};
///
/// struct Conns;
/// impl Manager for Conns {
///     type Object = String;
///     type Error = std::io::Error;
///     async fn create(&self) -> Result<String, std::io::Error> { Ok("conn".into()) }
/// }
///
/// let pool = Pool::open(Conns, PoolConfig::builder().max_size(4).build().unwrap()).await;
/// let conn = pool.acquire().await.unwrap();
/// assert_eq!(conn.as_str(), "conn");
/// drop(conn);
/// pool.close().await;
/// assert!(pool.acquire().await.unwrap_err().is_closed());
/// # });
/// ```
pub struct Pool<M: Manager> {
    owner: Arc<Owner<M>>,
}

/// Closes the pool when the last handle goes.
struct Owner<M: Manager> {
    shared: Arc<Shared<M>>,
}

impl<M: Manager> Drop for Owner<M> {
    fn drop(&mut self) {
        if !self.shared.is_closed() {
            // Closed now, so that what is dropped after this is routed to the closer; the
            // rest of the close is handed to the innermost frame.
            let closer = close::begin(&self.shared);
            frame::dispose(Cleanup::new(self.shared.kind, Box::pin(close::finish(closer))));
        }
    }
}

impl<M: Manager> Pool<M> {
    /// Opens a pool and starts its maintenance (the `min_idle` refill, lifetime and idle
    /// expiry) on a task of the ambient runtime, owned by the pool and stopped by its close.
    /// Objects are created on demand and by the refill, not here.
    ///
    /// # Panics
    ///
    /// If no runtime is available.
    ///
    /// # Cancel safety
    ///
    /// It completes at its first poll; dropped before, nothing was opened.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().min_idle(2).build().unwrap()).await;
    /// pool.close().await;
    /// # });
    /// ```
    pub async fn open(manager: M, config: PoolConfig) -> Pool<M> {
        let shared = Arc::new(Shared::new(manager, config, crate::runtime::current()));
        maintenance::start(&shared);
        Pool { owner: Arc::new(Owner { shared }) }
    }

    fn shared(&self) -> &Arc<Shared<M>> {
        &self.owner.shared
    }

    /// Acquires an object: the most recently returned idle one (checked first with
    /// [`Manager::recycle`] under [`RecyclePolicy::Always`](super::RecyclePolicy::Always)),
    /// or a new one if the pool is below its maximum size; else waits its turn. Waiters are
    /// served in FIFO order and a new acquire never takes an object a waiter is owed.
    ///
    /// The acquire is bounded by the caller's cancel scope and by the pool's
    /// [`acquire_timeout`](PoolConfig::acquire_timeout) (30 s by default; it never waits
    /// forever). An idle object that fails its check is closed, and the acquire goes on with
    /// another one (or creates one) in the same turn.
    ///
    /// Uncontended, it takes one short lock and allocates nothing; it reads the clock only
    /// when a max lifetime is set.
    ///
    /// # Errors
    ///
    /// [`PoolError::Closed`] if the pool is closed (or closes while we wait),
    /// [`PoolError::Timeout`] when the acquire timeout passes, [`PoolError::Create`] with the
    /// manager's error if creating the object failed (its slot is freed).
    ///
    /// # Cancel safety
    ///
    /// A checkpoint: in a cancelled scope it does not complete (and takes nothing). Dropped
    /// while waiting, it leaves the queue; an object or slot that was handed to it meanwhile
    /// goes on, untouched, to the next waiter or back to the pool — a cancelled acquire never
    /// loses a slot and never discards a healthy object. Dropped while checking an object
    /// (or timed out then), it returns at once: the object, cut off mid-check, is not trusted
    /// and is closed on a detached cleanup (bounded), which frees its slot; dropped while
    /// creating one, the slot is freed.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{move_on_after, pool::{Manager, Pool, PoolConfig}};
    /// use std::time::Duration;
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().max_size(1).build().unwrap()).await;
    /// let held = pool.acquire().await.unwrap();
    /// // The pool is exhausted: the caller's deadline ends the wait.
    /// assert!(move_on_after(Duration::from_millis(10), pool.acquire()).await.is_none());
    /// drop(held);
    /// assert_eq!(pool.stats().idle, 1); // nothing was lost
    /// pool.close().await;
    /// # });
    /// ```
    pub fn acquire(&self) -> impl Future<Output = Result<Object<M>, PoolError<M::Error>>> + Send + '_ {
        acquire::acquire(self.shared())
    }

    /// Takes an idle object without waiting (not recycled: the check is async; objects
    /// returned by a cancelled or panicking holder were checked before they became idle).
    ///
    /// # Errors
    ///
    /// [`PoolError::Closed`] if the pool is closed, [`PoolError::Busy`] if no idle object can
    /// be taken now (none is idle, or acquires are waiting and are served first).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().build().unwrap()).await;
    /// assert!(matches!(pool.try_acquire(), Err(e) if !e.is_closed())); // nothing idle yet
    /// drop(pool.acquire().await.unwrap());
    /// assert!(pool.try_acquire().is_ok());
    /// pool.close().await;
    /// # });
    /// ```
    pub fn try_acquire(&self) -> Result<Object<M>, PoolError<M::Error>> {
        let shared = self.shared();
        loop {
            let (entry, low) = {
                let mut st = shared.lock();
                if st.closed {
                    return Err(PoolError::Closed);
                }
                let entry = st.take_idle().ok_or(PoolError::Busy)?;
                (entry, st.idle.len() < shared.config.min_idle)
            };
            if low {
                shared.notify(false);
            }
            if shared.checks_lifetime() && shared.expired(&entry, shared.now(), false) {
                shared.discard(entry, true);
                continue;
            }
            return Ok(Object::new(Arc::clone(shared), entry, false));
        }
    }

    /// Closes the pool: refuses new acquires ([`PoolError::Closed`]), fails the waiting ones
    /// with it, closes the idle objects with the manager, waits for every checked-out object
    /// to come back (the closer closes each as it comes back, broken or not), and stops the
    /// maintenance.
    ///
    /// Closing a closed pool waits for the same things again and closes nothing twice.
    ///
    /// # Cancel safety
    ///
    /// The pool is closed from the first poll on. The wait for checked-out objects is bounded
    /// by the caller's scope: dropped then, objects still out are closed when they come back,
    /// by their holders' frames. An object close cut off by a drop is finished by the
    /// innermost frame.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().build().unwrap()).await;
    /// drop(pool.acquire().await.unwrap());
    /// pool.close().await;
    /// let stats = pool.stats();
    /// assert_eq!((stats.size, stats.closed), (0, 1));
    /// # });
    /// ```
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(self.shared());
        async move { close::finish(close::begin(&shared)).await }
    }

    /// Whether [`close`](Pool::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().build().unwrap()).await;
    /// pool.close().await;
    /// assert!(pool.is_closed());
    /// # });
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared().is_closed()
    }

    /// The pool's counters now.
    ///
    /// # Examples
    ///
    /// See [`PoolStats`].
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().max_size(3).build().unwrap()).await;
    /// println!("{}", pool.stats());
    /// assert_eq!(pool.stats().max_size, 3);
    /// pool.close().await;
    /// # });
    /// ```
    pub fn stats(&self) -> PoolStats {
        self.shared().stats()
    }

    /// The manager.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// struct Ids(u32);
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(self.0) }
    /// }
    /// let pool = Pool::open(Ids(5), PoolConfig::builder().build().unwrap()).await;
    /// assert_eq!(pool.manager().0, 5);
    /// pool.close().await;
    /// # });
    /// ```
    pub fn manager(&self) -> &M {
        &self.shared().manager
    }

    /// The configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().max_size(2).build().unwrap()).await;
    /// assert_eq!(pool.config().max_size(), 2);
    /// pool.close().await;
    /// # });
    /// ```
    pub fn config(&self) -> &PoolConfig {
        &self.shared().config
    }

    /// This pool as a resource for a [`Scoped`](crate::Scoped) guard or an
    /// [`ExitStack`](crate::ExitStack): it derefs to the pool and is closed with
    /// [`Pool::close`].
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// use anyscope_core::{AsyncClose, Scoped};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().build().unwrap()).await;
    /// pool.close().await; // `AsyncClose` in scope: still the inherent `close(&self)`
    /// assert!(pool.is_closed());
    ///
    /// let pool = Scoped::new(Pool::open(Ids, PoolConfig::builder().build().unwrap()).await.into_resource());
    /// drop(pool.acquire().await.unwrap());
    /// pool.close().await.unwrap(); // the guard's close: closes the pool
    /// # });
    /// ```
    pub fn into_resource(self) -> super::PoolResource<M> {
        super::PoolResource::new(self)
    }

    /// The kind under which the [`tracker`](crate::tracker) counts the pool's objects.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().kind("ids").build().unwrap()).await;
    /// let obj = pool.acquire().await.unwrap();
    /// assert_eq!(anyscope_core::tracker::kind(pool.object_kind()).open(), 1);
    /// drop(obj);
    /// pool.close().await;
    /// assert_eq!(anyscope_core::tracker::kind("ids").open(), 0);
    /// # });
    /// ```
    pub fn object_kind(&self) -> &'static str {
        self.shared().kind
    }
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Pool { owner: Arc::clone(&self.owner) }
    }
}

impl<M: Manager> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("kind", &self.shared().kind).field("stats", &self.stats()).finish()
    }
}
