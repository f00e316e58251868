use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::Host;

use crate::PgError;

/// How to open a pool, as asyncpg's `create_pool(dsn, min_size=, max_size=, timeout=)`.
///
/// # Examples
///
/// ```
/// use anyscope_postgres_example::PoolOptions;
/// use std::time::Duration;
///
/// let options = PoolOptions::new("postgres://app:secret@127.0.0.1:5432/app")
///     .unwrap()
///     .min_size(2)
///     .max_size(10)
///     .connect_timeout(Duration::from_secs(5))
///     .health_check(true);
/// assert_eq!(options.max_size_value(), 10);
/// assert!(PoolOptions::new("not a url").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) min_size: usize,
    pub(crate) max_size: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) acquire_timeout: Duration,
    pub(crate) reset_timeout: Duration,
    pub(crate) health_check: bool,
}

impl PoolOptions {
    /// Options for the server of a `postgres://user:password@host:port/db` URL (or a
    /// `key=value` string), with asyncpg's sizes: min 10, max 10.
    ///
    /// # Errors
    ///
    /// [`PgError::Postgres`] if the string does not parse, [`PgError::Config`] if it names no
    /// TCP host.
    pub fn new(dsn: &str) -> Result<Self, PgError> {
        let config = tokio_postgres::Config::from_str(dsn)?;
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            _ => return Err(PgError::Config("the connection string names no TCP host")),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        Ok(PoolOptions {
            config,
            host,
            port,
            min_size: 10,
            max_size: 10,
            connect_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
            reset_timeout: Duration::from_secs(5),
            health_check: false,
        })
    }

    /// The number of connections opened with the pool and kept ready (asyncpg's `min_size`).
    pub fn min_size(mut self, n: usize) -> Self {
        self.min_size = n;
        self
    }

    /// The most connections the pool holds at once (asyncpg's `max_size`).
    pub fn max_size(mut self, n: usize) -> Self {
        self.max_size = n;
        self
    }

    /// The server's host and port.
    pub fn address(&self) -> (&str, u16) {
        (&self.host, self.port)
    }

    /// The configured maximum size.
    pub fn max_size_value(&self) -> usize {
        self.max_size
    }

    /// The bound on opening one connection: TCP connect and startup (asyncpg's `timeout`).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// The bound on waiting for a connection when all are in use (default 30 s).
    /// `Duration::MAX` sets none: the wait is then bounded by the caller's scope only, and
    /// arms no timer.
    pub fn acquire_timeout(mut self, d: Duration) -> Self {
        self.acquire_timeout = d;
        self
    }

    /// The bound on resetting a connection whose holder was cut off (cancelling its query on
    /// the server, rolling back): past it, the connection is closed instead.
    pub fn reset_timeout(mut self, d: Duration) -> Self {
        self.reset_timeout = d;
        self
    }

    /// Whether every acquire checks the connection with a round trip (an empty query) before
    /// handing it out. Off by default: a connection whose driver has ended is detected without
    /// one, and a connection whose holder was cut off is always reset.
    pub fn health_check(mut self, on: bool) -> Self {
        self.health_check = on;
        self
    }

    /// Sets the `application_name` the server shows in `pg_stat_activity`.
    pub fn application_name(mut self, name: &str) -> Self {
        self.config.application_name(name);
        self
    }
}
