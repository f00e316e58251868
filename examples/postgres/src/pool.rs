use std::convert::Infallible;

use anyscope_core::fail_after;
use anyscope_core::group::task_group;
use anyscope_core::pool::{Manager, Object, Pool, PoolConfig, PoolStats, RecyclePolicy};

use crate::{PgError, PgManager, PoolOptions};

/// A connection checked out of a [`PgPool`]: derefs to [`PgConn`](crate::PgConn), and goes
/// back to the pool when dropped (reset first if its holder was cut off).
pub type PooledConn = Object<PgManager>;

/// A pool of PostgreSQL connections: asyncpg's `Pool`. A cheap handle (`Clone`), valid inside
/// the [`with_pool`] call that opened it.
#[derive(Clone, Debug)]
pub struct PgPool {
    pool: Pool<PgManager>,
}

/// Opens a pool, runs `body` with it, and closes the pool: asyncpg's
/// `async with create_pool(...) as pool:`.
///
/// The pool makes one connection before `body` runs (so a wrong address or password fails
/// here, as in asyncpg), then keeps `min_size` idle connections ready, opened in the background (asyncpg counts
/// `min_size` in total; here it is the idle ones, within `max_size`). The connections'
/// drivers run in a task group owned by this call: when `body` has returned, the pool is closed
/// (it waits for checked-out connections to come back), every driver says goodbye to the server
/// and ends, and only then does `with_pool` return. Nothing outlives it.
///
/// # Errors
///
/// [`PgError::Config`] for sizes that do not fit; the connection error if the first connection
/// cannot be opened (when `min_size` > 0); `body`'s own result is returned as `Ok`.
///
/// # Cancel safety
///
/// Cancelled (by an enclosing scope), `body` is cancelled at its next suspension point; the
/// transactions it had open are rolled back and the pool's close and the drivers' end are
/// finished, shielded, before the enclosing scope completes.
///
/// # Examples
///
/// ```no_run
/// # anyscope_tokio::run(async {
/// use anyscope_postgres_example::{PoolOptions, with_pool};
///
/// let options = PoolOptions::new("postgres://anyscope:anyscope@127.0.0.1/anyscope").unwrap();
/// let n: i32 = with_pool(options.min_size(1).max_size(4), async |pool| {
///     let mut conn = pool.acquire().await?;
///     Ok::<_, anyscope_postgres_example::PgError>(conn.query_one("SELECT 1 + 1", &[]).await?.get(0))
/// })
/// .await
/// .unwrap()
/// .unwrap();
/// assert_eq!(n, 2);
/// # });
/// ```
pub async fn with_pool<T, B>(options: PoolOptions, body: B) -> Result<T, PgError>
where
    B: AsyncFnOnce(PgPool) -> T,
{
    if options.max_size == 0 || options.min_size > options.max_size {
        return Err(PgError::Config("min_size must be at most max_size, and max_size at least 1"));
    }
    let config = PoolConfig::builder()
        .max_size(options.max_size)
        .min_idle(options.min_size)
        .acquire_timeout(options.acquire_timeout)
        // Backstops: the manager bounds its own connects and resets (with errors that say which).
        .create_timeout(options.connect_timeout * 2)
        .recycle_timeout(options.reset_timeout * 2)
        // A connection its holder left clean is handed out as it is (no round trip, no timer);
        // one left dirty is reset: by `recycle` if the holder was cut off, else by `acquire`.
        .recycle(if options.health_check { RecyclePolicy::Always } else { RecyclePolicy::SuspectOnly })
        .kind("postgres connection")
        .build()
        .map_err(|_| PgError::Config("the pool rejected these sizes"))?;
    let min = options.min_size;
    let out = task_group(move |drivers| async move {
        let manager = PgManager::new(options, drivers);
        // One connection first, outside the pool: a wrong address or password is the caller's
        // error, not a refill that retries in the background.
        if min > 0 {
            match manager.create().await {
                Ok(probe) => drop(probe), // its driver says goodbye and ends
                Err(e) => return Ok::<_, Infallible>(Err(e)),
            }
        }
        let warm = Pool::open(manager, config).await;
        let pool = PgPool { pool: warm };
        let out = body(pool.clone()).await;
        pool.pool.close().await;
        Ok(Ok(out))
    })
    .await;
    // The drivers never fail (a lost connection is reported through its client), so the group
    // has no error of its own to return.
    out.unwrap_or_else(|_| Err(PgError::Closed))
}

impl PgPool {
    /// Acquires a connection: asyncpg's `pool.acquire()`.
    ///
    /// A connection that its last holder returned mid-query or mid-transaction without being cut
    /// off (a query future dropped by a `select!`, a `BEGIN` by hand) is reset first (its query
    /// cancelled on the server, ROLLBACK), or closed if that fails, and another one taken.
    ///
    /// # Errors
    ///
    /// [`PgError::Pool`] if the pool is closed, the acquire timeout passed, or a new connection
    /// could not be opened.
    ///
    /// # Cancel safety
    ///
    /// A cancelled acquire takes nothing and loses nothing (see
    /// [`Pool::acquire`](anyscope_core::Pool::acquire)).
    pub async fn acquire(&self) -> Result<PooledConn, PgError> {
        loop {
            let mut conn = self.pool.acquire().await?;
            if conn.is_clean() {
                return Ok(conn);
            }
            let bound = conn.options().reset_timeout;
            // Cancelled here, the connection goes back from a cut-off holder: `recycle` resets it.
            if let Ok(Ok(())) = fail_after(bound, conn.reset()).await {
                return Ok(conn);
            }
            Object::close(conn).await;
        }
    }

    /// The pool's counts: open, idle, in use, waiting.
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Closes the pool early: refuses new acquires, waits for every connection to come back
    /// and closes them (their drivers end). [`with_pool`] does it anyway when its body returns.
    ///
    /// # Cancel safety
    ///
    /// Dropped midway, the rest of the close is finished by the enclosing frame.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The anyscope pool underneath.
    pub fn inner(&self) -> &Pool<PgManager> {
        &self.pool
    }
}
