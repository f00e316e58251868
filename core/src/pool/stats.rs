use std::fmt;

/// A snapshot of a pool's counters: [`Pool::stats`](super::Pool::stats).
///
/// `size` counts every live object (idle, in use, being checked or closed) plus the objects
/// being created; it never exceeds `max_size`.
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
/// let obj = pool.acquire().await.unwrap();
/// let stats = pool.stats();
/// assert_eq!((stats.size, stats.in_use, stats.created), (1, 1, 1));
/// drop(obj);
/// assert_eq!(pool.stats().idle, 1);
/// pool.close().await;
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Live objects plus objects being created.
    pub size: usize,
    /// Objects waiting in the pool.
    pub idle: usize,
    /// Objects checked out (including ones being created, checked or closed for a holder).
    pub in_use: usize,
    /// Acquires waiting for an object.
    pub waiting: usize,
    /// The configured maximum size.
    pub max_size: usize,
    /// Objects created so far.
    pub created: u64,
    /// Successful recycles so far.
    pub recycled: u64,
    /// Objects closed by the pool so far: broken, expired, failing their recycle, closed with
    /// [`Object::close`](super::Object::close) or by the pool's close. Detached objects are
    /// not counted.
    pub closed: u64,
    /// Failed creates and failed recycles.
    pub failed: u64,
    /// Acquires that timed out.
    pub timed_out: u64,
}

impl fmt::Display for PoolStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "size {}/{} (idle {}, in use {}), waiting {}; created {}, recycled {}, closed {}, failed {}, timed out {}",
            self.size,
            self.max_size,
            self.idle,
            self.in_use,
            self.waiting,
            self.created,
            self.recycled,
            self.closed,
            self.failed,
            self.timed_out
        )
    }
}
