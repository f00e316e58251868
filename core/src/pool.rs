//! A pool of reusable objects (database connections, sessions, clients) that never leaks,
//! never poisons, and is bounded by cancel scopes.
//!
//! [`Pool<M>`](Pool) hands out objects made by a [`Manager`]; the [`Object`] guard derefs to
//! one and returns it when dropped. The pool is itself a resource: [`Pool::open`] starts its
//! maintenance (the `min_idle` refill, lifetime and idle expiry) in a task group owned by the
//! pool, and [`Pool::close`] refuses new acquires, waits for every checked-out object to come
//! back, closes every object with its manager, and stops the maintenance.
//!
//! | you want | use |
//! |---|---|
//! | an object, waiting your turn (FIFO), bounded by your scope and the pool's timeout | [`Pool::acquire`] |
//! | an idle object now, or an error | [`Pool::try_acquire`] |
//! | to keep an object out of the pool | [`Object::detach`] |
//! | to close an object you know is bad | [`Object::close`] |
//! | the pool closed with its owner | [`Pool::into_resource`] in a [`Scoped`](crate::Scoped) guard or an [`ExitStack`](crate::ExitStack) |
//!
//! # Guarantees
//!
//! - `max_size` is never exceeded: a slot is taken before an object is created, and freed only
//!   after it is closed — or, when a close or check is abandoned or overdue, when the object
//!   is dropped: a slot is freed whenever its object is gone.
//! - Nothing the manager does can hang the pool: every create, recycle and close the pool
//!   runs is bounded (by the acquire, by `create_timeout`/`recycle_timeout`, or by the
//!   acquire timeout when nobody waits for it).
//! - Waiters are served first come, first served; a returned object or a freed slot goes
//!   straight to the oldest waiter, and a new acquire never barges past one.
//! - A cancelled acquire loses nothing: an object or slot handed to it goes on, untouched, to
//!   the next waiter or back to the pool.
//! - An object whose holder was cancelled or panicked while holding it (a query cut off
//!   mid-reply, a transaction left open) is never handed out as it is: [`Manager::recycle`]
//!   is told why it runs ([`Recycle::Cancelled`], [`Recycle::Panicked`]) before anyone else
//!   can get it. By default such an object is closed; a manager that can reset it (a
//!   `ROLLBACK`) overrides `recycle` and keeps it.
//! - Every object is counted in the [`tracker`](crate::tracker) under the pool's
//!   [`object_kind`](Pool::object_kind) from its create to its close: after a close, zero are
//!   open and none are lost.
//!
//! # Compared with deadpool and bb8
//!
//! - deadpool's `get` waits forever by default; here the acquire timeout is finite (30 s) and
//!   the caller's cancel scope bounds the acquire as well. As in deadpool, creates and
//!   recycles have bounds of their own ([`PoolConfigBuilder::create_timeout`],
//!   [`PoolConfigBuilder::recycle_timeout`]), and an acquire cut off while it checks an
//!   object returns at its bound: the object, cut off mid-check, is closed (on a detached
//!   cleanup, bounded) and its slot freed.
//! - bb8 has leaked connections and deadlocked under load when futures were dropped at the
//!   wrong moment (bb8#67, #122): its waiters and its slot count can disagree. Here the idle
//!   set, the slot count and the waiter queue live under one lock, and every drop path gives
//!   back exactly what it holds.
//! - Neither knows why a connection is returned: a connection dropped while its query was
//!   being cancelled goes back to the idle set as it is (sqlx#4393: the next user gets a
//!   connection stuck mid-transaction). Here such an object is recycled first.
//! - Uncontended, an acquire and a release each take one short lock, allocate nothing and
//!   spawn nothing.
//!
//! # When not to use it
//!
//! For objects that are cheap to make, make one per use. To limit concurrency without
//! reusing anything, use a [`Semaphore`](crate::sync) or a capacity limiter. A client library
//! that already pools internally (most HTTP clients) needs no second pool around it.
//!
//! # Examples
//!
//! ```
//! # anyscope_tokio::run(async {
//! use anyscope_core::pool::{Manager, Pool, PoolConfig, Recycle, RecycleError};
//! use std::time::Duration;
//!
//! struct Conn { open_tx: bool }
//! struct Db;
//!
//! impl Manager for Db {
//!     type Object = Conn;
//!     type Error = std::io::Error;
//!     async fn create(&self) -> Result<Conn, std::io::Error> {
//!         Ok(Conn { open_tx: false })
//!     }
//!     async fn recycle(&self, conn: &mut Conn, _why: Recycle) -> Result<(), RecycleError<std::io::Error>> {
//!         conn.open_tx = false; // ROLLBACK whatever was left open
//!         Ok(())
//!     }
//! }
//!
//! let config = PoolConfig::builder()
//!     .max_size(8)
//!     .acquire_timeout(Duration::from_secs(5))
//!     .build()
//!     .unwrap();
//! let pool = Pool::open(Db, config).await;
//! {
//!     let mut conn = pool.acquire().await.unwrap();
//!     conn.open_tx = true; // BEGIN ...
//!     conn.open_tx = false; // ... COMMIT
//! } // back to the pool
//! pool.close().await;
//! assert!(pool.acquire().await.unwrap_err().is_closed());
//! # });
//! ```

mod acquire;
mod alarm;
mod close;
mod config;
mod error;
mod handle;
mod maintenance;
mod manager;
mod object;
mod resource;
mod shared;
mod state;
mod stats;
mod wait;

pub use config::{ConfigError, PoolConfig, PoolConfigBuilder, RecyclePolicy};
pub use error::PoolError;
pub use handle::Pool;
pub use manager::{Manager, Recycle, RecycleError};
pub use object::Object;
pub use resource::PoolResource;
pub use stats::PoolStats;
