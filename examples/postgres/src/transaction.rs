use std::ops::{Deref, DerefMut};

use anyscope_core::fail_after;
use anyscope_core::pool::Object;
use std::fmt;

use anyscope_core::resource::{Exit, resource};

use crate::{PgConn, PgError, PgPool, PooledConn};

/// An open transaction: a resource that owns its pooled connection, and derefs to it.
///
/// Made by [`PgPool::transaction`], which commits when the body returns `Ok` and rolls back
/// when it returns `Err`, is cancelled or panics.
#[derive(Debug)]
pub struct Transaction {
    conn: PooledConn,
}

impl Deref for Transaction {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        &self.conn
    }
}

impl DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut PgConn {
        &mut self.conn
    }
}

impl Transaction {
    /// The teardown: COMMIT on `Ok`; otherwise cancel a statement still running on the server,
    /// then ROLLBACK. A connection that cannot be brought back to idle within the reset
    /// timeout is closed, never reused.
    async fn finish(mut self, exit: Exit) -> Result<(), PgError> {
        let bound = self.conn.options().reset_timeout;
        let result = match exit {
            Exit::Ok => self.conn.end_transaction("COMMIT").await,
            Exit::Error | Exit::Cancelled | Exit::Panicked => Ok(()),
        };
        if !self.conn.is_clean() {
            // A failed COMMIT has ended the transaction on the server, but say ROLLBACK anyway:
            // the connection then goes back known to be idle.
            let reset = match fail_after(bound, self.conn.reset()).await {
                Ok(r) => r,
                Err(_) => Err(PgError::Timeout("rolling back", bound)),
            };
            if let Err(e) = reset {
                Object::close(self.conn).await;
                return result.and(Err(e));
            }
        }
        // A connection lost after a COMMIT that succeeded is closed by the pool when it comes
        // back; the transaction did commit.
        result
    }
}

impl PgPool {
    /// Runs `body` in a transaction on a connection of the pool: asyncpg's
    /// `async with pool.acquire() as conn: async with conn.transaction():`.
    ///
    /// COMMIT when `body` returns `Ok`; ROLLBACK when it returns `Err`, panics, or is cancelled
    /// (a deadline, a cancelled scope, the future dropped) — then a statement still running is
    /// first cancelled on the server. The rollback is structured async drop: it has finished,
    /// and the connection is back in the pool, before the enclosing scope completes.
    ///
    /// # Errors
    ///
    /// `body`'s error; a [`PgError`] (converted) if no connection could be acquired, BEGIN or
    /// COMMIT failed. If `body` failed and the rollback failed too, `body`'s error is returned,
    /// the rollback's is counted in anyscope's tracker as a failed close, and the connection
    /// is closed.
    ///
    /// # Cancel safety
    ///
    /// Dropped while `body` runs, the transaction is rolled back (see above). Dropped during the
    /// COMMIT, the COMMIT is finished by the enclosing frame: whether it took effect is not
    /// known to the caller, as with any cut-off COMMIT.
    pub async fn transaction<R, E, B>(&self, body: B) -> Result<R, E>
    where
        B: AsyncFnOnce(&mut Transaction) -> Result<R, E>,
        E: From<PgError> + fmt::Display + Send + 'static,
    {
        let setup = async {
            let mut conn = self.acquire().await?;
            conn.begin().await?;
            Ok::<_, E>(Transaction { conn })
        };
        let teardown = |tx: Transaction, exit: Exit| async move { Ok(tx.finish(exit).await?) };
        resource(setup, teardown).with_kind("postgres transaction").run(body).await
    }
}
