use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::shared::{AfterClose, Shared};
use super::state::Entry;
use super::{Manager, Recycle};
use crate::resource::{DropCause, drop_cause};

/// An object checked out of a [`Pool`](super::Pool): derefs (mutably) to it, and returns it
/// when dropped.
///
/// Dropping the guard is synchronous and cheap: one lock, and the object goes straight to the
/// oldest waiting acquire, or back to the idle set. Two drops are not trusted blindly:
///
/// - dropped while its holder is being cancelled or is panicking ([`drop_cause`] says so), the
///   object may be stuck mid-operation (a half-read reply, an open transaction): a cleanup
///   adopted by the holder's frame calls [`Manager::recycle`] with
///   [`Recycle::Cancelled`] or [`Recycle::Panicked`] — which by default refuses it, so it is
///   closed; a manager that can reset it keeps it — before it is returned, bounded by the
///   pool's recycle timeout. Its slot stays taken meanwhile, so nobody gets it first;
/// - dropped while [`Manager::is_broken`] says it is broken, it is closed, not returned.
///
/// [`Object::detach`] takes the object out of the pool; [`Object::close`] closes it.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::pool::{Manager, Pool, PoolConfig};
/// struct Bufs;
/// impl Manager for Bufs {
///     type Object = Vec<u8>;
///     type Error = std::io::Error;
///     async fn create(&self) -> Result<Vec<u8>, std::io::Error> { Ok(Vec::new()) }
/// }
/// let pool = Pool::open(Bufs, PoolConfig::builder().build().unwrap()).await;
/// let mut buf = pool.acquire().await.unwrap();
/// buf.push(1); // DerefMut to the Vec
/// drop(buf); // back to the pool
/// assert_eq!(pool.acquire().await.unwrap().len(), 1); // the same Vec again
/// pool.close().await;
/// # });
/// ```
pub struct Object<M: Manager> {
    entry: Option<Entry<M::Object>>,
    shared: Arc<Shared<M>>,
    /// The object is being checked for an acquire: dropped now, it is closed (not trusted).
    suspect: bool,
}

impl<M: Manager> Object<M> {
    pub(super) fn new(shared: Arc<Shared<M>>, entry: Entry<M::Object>, suspect: bool) -> Self {
        Object { entry: Some(entry), shared, suspect }
    }

    pub(super) fn trust(&mut self) {
        self.suspect = false;
    }

    pub(super) fn shared(&self) -> &Arc<Shared<M>> {
        &self.shared
    }

    pub(super) fn into_entry(mut this: Self) -> Entry<M::Object> {
        this.entry.take().expect("an Object holds its entry until consumed")
    }

    pub(super) fn into_entry_ref(this: &Self) -> &Entry<M::Object> {
        this.entry()
    }

    fn entry(&self) -> &Entry<M::Object> {
        self.entry.as_ref().expect("an Object holds its entry until consumed")
    }

    /// Takes the object out of the pool for good: its slot is freed (the pool may create
    /// another), and the pool will neither recycle nor close it. Written `Object::detach(obj)`
    /// so as not to hide a method of the object.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Object, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(7) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().build().unwrap()).await;
    /// let id: u32 = Object::detach(pool.acquire().await.unwrap());
    /// assert_eq!((id, pool.stats().size), (7, 0));
    /// pool.close().await;
    /// # });
    /// ```
    pub fn detach(this: Self) -> M::Object {
        let shared = Arc::clone(&this.shared);
        let Entry { obj, token, .. } = Object::into_entry(this);
        token.closed_explicitly();
        shared.release_slot(true);
        obj
    }

    /// Closes the object with the manager, and frees its slot. Written `Object::close(obj)`.
    ///
    /// # Cancel safety
    ///
    /// Dropped before it finished, the rest of the close is handed to the innermost frame,
    /// which finishes it (shielded) before it completes; the slot is freed then.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::pool::{Manager, Object, Pool, PoolConfig};
    /// struct Ids;
    /// impl Manager for Ids {
    ///     type Object = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(7) }
    /// }
    /// let pool = Pool::open(Ids, PoolConfig::builder().build().unwrap()).await;
    /// Object::close(pool.acquire().await.unwrap()).await;
    /// assert_eq!(pool.stats().closed, 1);
    /// pool.close().await;
    /// # });
    /// ```
    pub fn close(this: Self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&this.shared);
        let entry = Object::into_entry(this);
        let close = shared.close_entry(entry, AfterClose::Free { in_use: true });
        async move {
            close.await;
        }
    }
}

impl<M: Manager> Deref for Object<M> {
    type Target = M::Object;

    fn deref(&self) -> &M::Object {
        &self.entry().obj
    }
}

impl<M: Manager> DerefMut for Object<M> {
    fn deref_mut(&mut self) -> &mut M::Object {
        &mut self.entry.as_mut().expect("an Object holds its entry until consumed").obj
    }
}

impl<M: Manager> Drop for Object<M> {
    fn drop(&mut self) {
        let Some(entry) = self.entry.take() else { return };
        let cause = drop_cause();
        if self.suspect {
            // Cut off mid-check by its acquire: not trusted, closed on a detached cleanup so
            // that the acquire returns at its bound; the slot is freed when the close ends.
            self.shared.close_detached(entry);
        } else if cause.is_some() {
            let why = match cause {
                Some(DropCause::Panicked) => Recycle::Panicked,
                _ => Recycle::Cancelled,
            };
            self.shared.suspect_returned(entry, why);
        } else if self.shared.manager.is_broken(&entry.obj) {
            self.shared.discard(entry, true);
        } else {
            self.shared.release(entry);
        }
    }
}

impl<M: Manager> fmt::Debug for Object<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object").field("kind", &self.shared.kind).finish_non_exhaustive()
    }
}
