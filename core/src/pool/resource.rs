use std::convert::Infallible;
use std::fmt;
use std::ops::Deref;

use super::{Manager, Pool};
use crate::AsyncClose;

/// A [`Pool`] as a resource ([`Pool::into_resource`]): for a [`Scoped`](crate::Scoped) guard
/// or an [`ExitStack`](crate::ExitStack), which close it with [`Pool::close`] (no error to
/// report). It derefs to the pool.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::pool::{Manager, Pool, PoolConfig};
/// use anyscope_core::ExitStack;
/// struct Ids;
/// impl Manager for Ids {
///     type Object = u32;
///     type Error = std::io::Error;
///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
/// }
/// let mut stack = ExitStack::new();
/// let entered = stack.enter(Pool::open(Ids, PoolConfig::builder().build().unwrap()).await.into_resource());
/// let pool: Pool<Ids> = (*stack.get(entered)).clone();
/// drop(pool.acquire().await.unwrap());
/// stack.close().await.unwrap();
/// assert!(pool.is_closed());
/// # });
/// ```
pub struct PoolResource<M: Manager>(Pool<M>);

impl<M: Manager> PoolResource<M> {
    pub(super) fn new(pool: Pool<M>) -> Self {
        PoolResource(pool)
    }

    /// The pool handle back.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// # use anyscope_core::pool::{Manager, Pool, PoolConfig};
    /// # struct Ids;
    /// # impl Manager for Ids {
    /// #     type Object = u32;
    /// #     type Error = std::io::Error;
    /// #     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
    /// # }
    /// let pool = Pool::open(Ids, PoolConfig::builder().build().unwrap()).await.into_resource().into_pool();
    /// pool.close().await;
    /// # });
    /// ```
    pub fn into_pool(self) -> Pool<M> {
        self.0
    }
}

impl<M: Manager> Deref for PoolResource<M> {
    type Target = Pool<M>;

    fn deref(&self) -> &Pool<M> {
        &self.0
    }
}

impl<M: Manager> AsyncClose for PoolResource<M> {
    type Error = Infallible;

    async fn close(self) -> Result<(), Infallible> {
        Pool::close(&self.0).await;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "anyscope_core::pool::Pool"
    }
}

impl<M: Manager> fmt::Debug for PoolResource<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PoolResource").field(&self.0).finish()
    }
}
