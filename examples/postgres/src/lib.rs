//! asyncpg's `transfer_funds`, in Rust, on a real PostgreSQL, on tokio or smol.
//!
//! This crate is a recipe (not published: copy it): a pool of `tokio-postgres` connections made
//! with anyscope's [`Pool`](anyscope_core::Pool), connected over anyscope's TCP, so the same
//! code runs on tokio and on smol (`tokio-postgres` without its `runtime` feature needs no tokio
//! runtime; its I/O traits are bridged with `tokio_util::compat`).
//!
//! | Python (asyncpg) | Rust (this crate) |
//! |---|---|
//! | `pool = await asyncpg.create_pool(dsn, min_size=10, max_size=20)` | [`with_pool`]`(PoolOptions::new(dsn)?.min_size(10).max_size(20), async \|pool\| ...)` |
//! | `async with pool.acquire() as conn:` | `let mut conn = pool.acquire().await?;` |
//! | `async with conn.transaction():` | `pool.transaction(async \|tx\| ...)` |
//! | `await conn.execute(sql)` | `conn.execute(sql, &[]).await?` |
//!
//! ```python
//! async def transfer_funds(pool):
//!     async with pool.acquire() as conn:          # the connection always goes back
//!         async with conn.transaction():          # COMMIT on exit, ROLLBACK on any exception
//!             await conn.execute("UPDATE accounts SET balance = balance - 100 WHERE id = 1")
//!             await conn.execute("UPDATE accounts SET balance = balance + 100 WHERE id = 2")
//! ```
//!
//! ```
//! use anyscope_postgres_example::{PgError, PgPool};
//!
//! async fn transfer_funds(pool: &PgPool) -> Result<(), PgError> {
//!     pool.transaction(async |tx| {   // a pooled connection, BEGIN; COMMIT on Ok, else ROLLBACK
//!         tx.execute("UPDATE accounts SET balance = balance - 100 WHERE id = 1", &[]).await?;
//!         tx.execute("UPDATE accounts SET balance = balance + 100 WHERE id = 2", &[]).await?;
//!         Ok(())
//!     })
//!     .await
//! }
//! ```
//!
//! What the two lines of `pool.transaction` guarantee, as asyncpg's two `async with` do:
//!
//! - the connection always goes back to the pool, and the transaction is committed when the
//!   body returns `Ok`, rolled back when it returns `Err`, panics or is cancelled — a
//!   deadline, a cancelled scope, its future dropped. The rollback is anyscope's structured
//!   async drop: it has run before the enclosing scope completes, not "some time later";
//! - a statement still running when its holder was cut off is cancelled on the server (the
//!   protocol's cancel request over a connection of its own), and the connection is rolled
//!   back before anyone else gets it — never handed out mid-transaction or with a reply
//!   unread; a connection that cannot be reset within [`PoolOptions::reset_timeout`] is closed;
//! - the connections' drivers are tasks of the pool's own task group: when [`with_pool`]
//!   returns, every connection has said goodbye to the server.
//!
//! # When not to use it
//!
//! It is a recipe, small enough to read in one sitting: no TLS, no statement cache, one host.
//! For those, take the ideas (the driver in a task group, the connection that knows it was cut
//! off, the transaction as a resource told how its body ended) into your own manager.
#![forbid(unsafe_code)]

mod conn;
mod error;
mod manager;
mod options;
mod pool;
mod tcp;
mod transaction;

pub use conn::PgConn;
pub use error::PgError;
pub use manager::PgManager;
pub use options::PoolOptions;
pub use pool::{PgPool, PooledConn, with_pool};
pub use transaction::Transaction;
