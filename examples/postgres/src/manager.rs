use std::convert::Infallible;
use std::sync::Arc;

use anyscope_core::fail_after;
use anyscope_core::group::TaskGroup;
use anyscope_core::pool::{Manager, Recycle, RecycleError};
use tokio_postgres::NoTls;

use crate::{PgConn, PgError, PoolOptions, tcp};

/// Makes, checks and closes [`PgConn`]s for anyscope's [`Pool`](anyscope_core::Pool).
///
/// Each connection's driver (the tokio-postgres `Connection` future, which does the socket's
/// reads and writes) runs as a task of the pool's task group, not as a detached spawn: closing
/// the pool drops every client, each driver then says goodbye to the server and ends, and the
/// group waits for them.
#[derive(Debug)]
pub struct PgManager {
    options: Arc<PoolOptions>,
    drivers: TaskGroup<Infallible>,
}

impl PgManager {
    /// A manager whose connection drivers run in `drivers`.
    pub fn new(options: PoolOptions, drivers: TaskGroup<Infallible>) -> Self {
        PgManager { options: Arc::new(options), drivers }
    }

    /// The pool's options.
    pub fn options(&self) -> &PoolOptions {
        &self.options
    }
}

impl Manager for PgManager {
    type Object = PgConn;
    type Error = PgError;

    /// Connects over anyscope's TCP and authenticates, within the connect timeout.
    async fn create(&self) -> Result<PgConn, PgError> {
        let o = &self.options;
        let connect = async {
            let stream = tcp::connect(&o.host, o.port).await.map_err(PgError::Connect)?;
            let (client, connection) = o.config.connect_raw(stream, NoTls).await?;
            // A lost connection ends its driver with an error that every pending and later
            // query on the client reports: the driver itself has nothing more to say.
            self.drivers
                .spawn(async move {
                    let _ = connection.await;
                    Ok(())
                })
                .map_err(|_| PgError::Closed)?;
            Ok(PgConn::new(client, Arc::clone(o)))
        };
        match fail_after(o.connect_timeout, connect).await {
            Ok(r) => r,
            Err(_) => Err(PgError::Timeout("connecting to the server", o.connect_timeout)),
        }
    }

    /// Runs for a connection whose holder was cut off (cancelled or panicked), and with the
    /// health check on for every acquire. Drops a lost connection; resets one its holder left
    /// mid-query or mid-transaction (cancel on the server, ROLLBACK) within the reset timeout;
    /// then makes a round trip (an empty query) when the holder was cut off or the health check
    /// is on. An error closes the connection (an acquire then goes on with another).
    async fn recycle(&self, conn: &mut PgConn, why: Recycle) -> Result<(), RecycleError<PgError>> {
        if conn.is_closed() {
            return Err(PgError::Closed)?;
        }
        let o = &self.options;
        if !conn.is_clean() {
            match fail_after(o.reset_timeout, conn.reset()).await {
                Ok(r) => r?,
                Err(_) => return Err(PgError::Timeout("resetting a connection", o.reset_timeout))?,
            }
        }
        // The connection's own marks say what its holder left behind (and were acted on
        // above). A connection whose holder was cut off also gets a round trip, to prove it is
        // in step with the server before anyone else uses it; with the health check on, every
        // acquire does.
        if o.health_check || why.holder_cut_off() {
            match fail_after(o.reset_timeout, conn.ping()).await {
                Ok(r) => r?,
                Err(_) => return Err(PgError::Timeout("the health check", o.reset_timeout))?,
            }
        }
        Ok(())
    }

    /// A lost connection: closed, not pooled. (One that its holder left mid-query or
    /// mid-transaction is reset by `recycle` when the holder was cut off, else by
    /// [`PgPool::acquire`](crate::PgPool::acquire) before it is handed out again.)
    fn is_broken(&self, conn: &PgConn) -> bool {
        conn.is_closed()
    }
}
