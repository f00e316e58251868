use std::error::Error;
use std::fmt;
use std::time::Duration;

/// When a pooled object is checked with [`Manager::recycle`](super::Manager::recycle) before
/// it is handed out again.
///
/// Whatever the policy, an object whose holder was cancelled or panicked while holding it is
/// recycled (or closed) before anyone else can get it.
///
/// # Examples
///
/// ```
/// use anyscope_core::pool::{PoolConfig, RecyclePolicy};
///
/// let config = PoolConfig::builder().recycle(RecyclePolicy::SuspectOnly).build().unwrap();
/// assert_eq!(config.recycle(), RecyclePolicy::SuspectOnly);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecyclePolicy {
    /// Every idle object is recycled when an acquire takes it (deadpool's behaviour): the safe
    /// default, at the price of one `recycle` call per acquire.
    #[default]
    Always,
    /// Only objects returned by a holder that was cancelled or panicked (the ones that may be
    /// stuck mid-operation) are recycled; others are handed out as they were returned.
    SuspectOnly,
}

/// The configuration of a [`Pool`](super::Pool), made with [`PoolConfig::builder`].
///
/// # Examples
///
/// ```
/// use anyscope_core::pool::PoolConfig;
/// use std::time::Duration;
///
/// let config = PoolConfig::builder()
///     .max_size(16)
///     .min_idle(2)
///     .acquire_timeout(Duration::from_secs(5))
///     .idle_timeout(Duration::from_secs(600))
///     .build()
///     .unwrap();
/// assert_eq!(config.max_size(), 16);
/// ```
#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub(super) max_size: usize,
    pub(super) min_idle: usize,
    pub(super) acquire_timeout: Duration,
    pub(super) max_lifetime: Option<Duration>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) recycle: RecyclePolicy,
    pub(super) create_timeout: Option<Duration>,
    pub(super) recycle_timeout: Option<Duration>,
    pub(super) kind: Option<&'static str>,
}

impl PoolConfig {
    /// The default acquire timeout: 30 seconds. An acquire never waits forever by default.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

    /// The default maximum size: 10 objects.
    pub const DEFAULT_MAX_SIZE: usize = 10;

    /// The largest `max_size` accepted: 2^20 objects. Larger sizes are no bound at all (and
    /// `usize::MAX` would overflow the slot count); [`PoolConfigBuilder::build`] refuses them.
    pub const MAX_SIZE_LIMIT: usize = 1 << 20;

    /// A builder with the defaults: max size 10, min idle 0, acquire timeout 30 s, no lifetime
    /// or idle limit, [`RecyclePolicy::Always`].
    ///
    /// # Examples
    ///
    /// ```
    /// let config = anyscope_core::pool::PoolConfig::builder().build().unwrap();
    /// assert_eq!(config.min_idle(), 0);
    /// ```
    pub fn builder() -> PoolConfigBuilder {
        PoolConfigBuilder {
            config: PoolConfig {
                max_size: Self::DEFAULT_MAX_SIZE,
                min_idle: 0,
                acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
                max_lifetime: None,
                idle_timeout: None,
                recycle: RecyclePolicy::Always,
                create_timeout: None,
                recycle_timeout: None,
                kind: None,
            },
        }
    }

    /// The most objects alive at once (idle, in use, or being created).
    ///
    /// # Examples
    ///
    /// ```
    /// let config = anyscope_core::pool::PoolConfig::builder().max_size(3).build().unwrap();
    /// assert_eq!(config.max_size(), 3);
    /// ```
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// How many idle objects the pool keeps ready, refilled in the background.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = anyscope_core::pool::PoolConfig::builder().min_idle(1).build().unwrap();
    /// assert_eq!(config.min_idle(), 1);
    /// ```
    pub fn min_idle(&self) -> usize {
        self.min_idle
    }

    /// How long an acquire may take in all (waiting, creating, recycling) before it fails with
    /// [`PoolError::Timeout`](super::PoolError::Timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::pool::PoolConfig;
    /// assert_eq!(PoolConfig::builder().build().unwrap().acquire_timeout(), PoolConfig::DEFAULT_ACQUIRE_TIMEOUT);
    /// ```
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// How long an object may live before it is closed (checked when it is idle).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::pool::PoolConfig::builder().build().unwrap().max_lifetime(), None);
    /// ```
    pub fn max_lifetime(&self) -> Option<Duration> {
        self.max_lifetime
    }

    /// How long an object may stay idle before it is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::pool::PoolConfig::builder().build().unwrap().idle_timeout(), None);
    /// ```
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// The bound of one create (deadpool's `timeouts.create`), if set; a create is also bounded
    /// by its acquire.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::pool::PoolConfig::builder().build().unwrap().create_timeout(), None);
    /// ```
    pub fn create_timeout(&self) -> Option<Duration> {
        self.create_timeout
    }

    /// The bound of one recycle or one close of an object (deadpool's `timeouts.recycle`).
    /// Unset, a recycle or close that runs for an acquire is bounded by the acquire, and one
    /// that runs after a holder was cut off (or when nobody waits) by the acquire timeout: no
    /// check or close the pool runs is ever unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::pool::PoolConfig::builder().build().unwrap().recycle_timeout(), None);
    /// ```
    pub fn recycle_timeout(&self) -> Option<Duration> {
        self.recycle_timeout
    }

    /// When objects are recycled before reuse.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::pool::{PoolConfig, RecyclePolicy};
    /// assert_eq!(PoolConfig::builder().build().unwrap().recycle(), RecyclePolicy::Always);
    /// ```
    pub fn recycle(&self) -> RecyclePolicy {
        self.recycle
    }
}

/// Builds a [`PoolConfig`]; see [`PoolConfig::builder`].
///
/// # Examples
///
/// ```
/// let config = anyscope_core::pool::PoolConfig::builder().max_size(4).build().unwrap();
/// assert_eq!(config.max_size(), 4);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build`"]
pub struct PoolConfigBuilder {
    config: PoolConfig,
}

impl PoolConfigBuilder {
    /// The most objects alive at once. Must be at least 1 and at most
    /// [`PoolConfig::MAX_SIZE_LIMIT`]; [`build`](Self::build) says so otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::pool::PoolConfig::builder().max_size(0).build().is_err());
    /// assert!(anyscope_core::pool::PoolConfig::builder().max_size(usize::MAX).build().is_err());
    /// ```
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.config.max_size = max_size;
        self
    }

    /// How many idle objects to keep ready (at most `max_size`), created in the background.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = anyscope_core::pool::PoolConfig::builder().max_size(2).min_idle(3);
    /// assert!(b.build().is_err());
    /// ```
    pub fn min_idle(mut self, min_idle: usize) -> Self {
        self.config.min_idle = min_idle;
        self
    }

    /// The bound on one acquire, waiting and creating included (default 30 s). Must not be
    /// zero ([`build`](Self::build) refuses it: no acquire could ever succeed).
    ///
    /// The waiting acquires of a pool share one timer, armed for the oldest one (whose
    /// deadline is the earliest, as every waiter has the same bound): a bounded wait costs a
    /// clock read, not a timer of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = anyscope_core::pool::PoolConfig::builder().acquire_timeout(Duration::from_secs(1)).build();
    /// assert_eq!(c.unwrap().acquire_timeout(), Duration::from_secs(1));
    /// assert!(anyscope_core::pool::PoolConfig::builder().acquire_timeout(Duration::ZERO).build().is_err());
    /// ```
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.config.acquire_timeout = timeout;
        self
    }

    /// Objects older than this are closed instead of being reused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = anyscope_core::pool::PoolConfig::builder().max_lifetime(Duration::from_secs(1800)).build();
    /// assert_eq!(c.unwrap().max_lifetime(), Some(Duration::from_secs(1800)));
    /// ```
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.max_lifetime = Some(lifetime);
        self
    }

    /// Objects idle for longer than this are closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = anyscope_core::pool::PoolConfig::builder().idle_timeout(Duration::from_secs(60)).build();
    /// assert_eq!(c.unwrap().idle_timeout(), Some(Duration::from_secs(60)));
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// Bounds each create (deadpool's `timeouts.create`); a create that takes longer fails the
    /// acquire with [`PoolError::Timeout`](super::PoolError::Timeout) and frees its slot. Must
    /// not be zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = anyscope_core::pool::PoolConfig::builder().create_timeout(Duration::from_secs(2)).build();
    /// assert_eq!(c.unwrap().create_timeout(), Some(Duration::from_secs(2)));
    /// ```
    pub fn create_timeout(mut self, timeout: Duration) -> Self {
        self.config.create_timeout = Some(timeout);
        self
    }

    /// Bounds each recycle and each close of an object (deadpool's `timeouts.recycle`). A
    /// recycle that takes longer counts as failed: the object is closed and its slot freed; a
    /// close that takes longer is abandoned (the object is dropped) and its slot freed. Must
    /// not be zero. See [`PoolConfig::recycle_timeout`] for the bound when it is unset.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = anyscope_core::pool::PoolConfig::builder().recycle_timeout(Duration::from_secs(1)).build();
    /// assert_eq!(c.unwrap().recycle_timeout(), Some(Duration::from_secs(1)));
    /// ```
    pub fn recycle_timeout(mut self, timeout: Duration) -> Self {
        self.config.recycle_timeout = Some(timeout);
        self
    }

    /// When objects are recycled before reuse (default [`RecyclePolicy::Always`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::pool::{PoolConfig, RecyclePolicy};
    /// let c = PoolConfig::builder().recycle(RecyclePolicy::SuspectOnly).build().unwrap();
    /// assert_eq!(c.recycle(), RecyclePolicy::SuspectOnly);
    /// ```
    pub fn recycle(mut self, policy: RecyclePolicy) -> Self {
        self.config.recycle = policy;
        self
    }

    /// The kind under which the [`tracker`](crate::tracker) counts the pool's objects (default:
    /// the manager's type name).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = anyscope_core::pool::PoolConfig::builder().kind("db-conn").build();
    /// assert!(c.is_ok());
    /// ```
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.config.kind = Some(kind);
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `max_size` is 0 or above [`PoolConfig::MAX_SIZE_LIMIT`], if
    /// `min_idle` exceeds `max_size`, or if a timeout is zero (an acquire that can never
    /// succeed is refused here, not discovered as a timeout at every call).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = anyscope_core::pool::PoolConfig::builder().max_size(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid pool configuration: max_size must be at least 1");
    /// ```
    pub fn build(self) -> Result<PoolConfig, ConfigError> {
        let c = &self.config;
        if c.max_size == 0 {
            return Err(ConfigError("max_size must be at least 1"));
        }
        if c.max_size > PoolConfig::MAX_SIZE_LIMIT {
            return Err(ConfigError("max_size must be at most PoolConfig::MAX_SIZE_LIMIT"));
        }
        if c.min_idle > c.max_size {
            return Err(ConfigError("min_idle must not exceed max_size"));
        }
        if c.acquire_timeout.is_zero() {
            return Err(ConfigError("acquire_timeout must not be zero"));
        }
        if c.create_timeout.is_some_and(|t| t.is_zero()) || c.recycle_timeout.is_some_and(|t| t.is_zero()) {
            return Err(ConfigError("create_timeout and recycle_timeout must not be zero"));
        }
        Ok(self.config)
    }
}

/// An invalid [`PoolConfig`]: what [`PoolConfigBuilder::build`] returns instead of panicking.
///
/// # Examples
///
/// ```
/// let err = anyscope_core::pool::PoolConfig::builder().max_size(0).build().unwrap_err();
/// println!("{err}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(&'static str);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid pool configuration: {}", self.0)
    }
}

impl Error for ConfigError {}
