use std::fmt;
use std::sync::Arc;

use tokio_postgres::types::ToSql;
use tokio_postgres::{CancelToken, Client, NoTls, Row};

use crate::{PgError, PoolOptions, tcp};

/// One connection to the server, as the pool holds it.
///
/// It knows what state its holder may have left it in: a query still running (the holder was
/// cut off while awaiting it) or a transaction left open. The pool resets such a connection —
/// cancelling the query on the server, rolling back — before anyone else gets it, or closes it.
///
/// Statements that open a transaction by hand (`BEGIN`, `START TRANSACTION`) are noticed too;
/// [`client`](PgConn::client) gives the raw tokio-postgres client, after which the connection is
/// always reset before reuse.
pub struct PgConn {
    client: Client,
    cancel: CancelToken,
    options: Arc<PoolOptions>,
    /// A query was sent and its reply not read to the end (the holder was cut off mid-await).
    busy: bool,
    /// A transaction may be open.
    in_tx: bool,
}

impl fmt::Debug for PgConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConn")
            .field("closed", &self.client.is_closed())
            .field("busy", &self.busy)
            .field("in_tx", &self.in_tx)
            .finish_non_exhaustive()
    }
}

/// Whether a statement opens a transaction (so that the connection is rolled back before reuse
/// if its holder leaves it open).
fn begins(sql: &str) -> bool {
    let s = sql.trim_start();
    let head = s.get(..5).unwrap_or(s);
    head.eq_ignore_ascii_case("begin") || s.get(..5).is_some_and(|h| h.eq_ignore_ascii_case("start"))
}

impl PgConn {
    pub(crate) fn new(client: Client, options: Arc<PoolOptions>) -> Self {
        let cancel = client.cancel_token();
        PgConn { client, cancel, options, busy: false, in_tx: false }
    }

    /// Runs a statement and returns the number of rows it changed.
    ///
    /// # Errors
    ///
    /// [`PgError::Postgres`] with the server's error, or if the connection was lost.
    ///
    /// # Cancel safety
    ///
    /// Dropped midway, the statement may still run on the server: the connection is marked, and
    /// the pool cancels the statement on the server and rolls back before anyone reuses it.
    pub async fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError> {
        self.in_tx |= begins(sql);
        self.busy = true;
        let n = self.client.execute(sql, params).await;
        self.busy = false;
        Ok(n?)
    }

    /// Runs a query and returns its rows.
    ///
    /// # Errors
    ///
    /// As [`execute`](PgConn::execute).
    ///
    /// # Cancel safety
    ///
    /// As [`execute`](PgConn::execute).
    pub async fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, PgError> {
        self.in_tx |= begins(sql);
        self.busy = true;
        let rows = self.client.query(sql, params).await;
        self.busy = false;
        Ok(rows?)
    }

    /// Runs a query that returns exactly one row.
    ///
    /// # Errors
    ///
    /// As [`execute`](PgConn::execute), and if the query returns no row or more than one.
    ///
    /// # Cancel safety
    ///
    /// As [`execute`](PgConn::execute).
    pub async fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, PgError> {
        self.in_tx |= begins(sql);
        self.busy = true;
        let row = self.client.query_one(sql, params).await;
        self.busy = false;
        Ok(row?)
    }

    /// Runs one or more statements separated by semicolons, with no parameters (the simple
    /// query protocol).
    ///
    /// # Errors
    ///
    /// As [`execute`](PgConn::execute).
    ///
    /// # Cancel safety
    ///
    /// As [`execute`](PgConn::execute).
    pub async fn batch_execute(&mut self, sql: &str) -> Result<(), PgError> {
        // Several statements: any of them may open a transaction.
        self.in_tx = true;
        self.busy = true;
        let done = self.client.batch_execute(sql).await;
        self.busy = false;
        Ok(done?)
    }

    /// The raw tokio-postgres client. The connection is then always reset (rolled back)
    /// before it is reused, as the pool cannot follow what is done with it.
    pub fn client(&mut self) -> &Client {
        self.in_tx = true;
        self.busy = true;
        &self.client
    }

    /// Whether the connection is lost (its driver has ended).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Whether the holder left nothing behind: no query in flight, no transaction open.
    pub(crate) fn is_clean(&self) -> bool {
        !self.busy && !self.in_tx
    }

    pub(crate) fn options(&self) -> &PoolOptions {
        &self.options
    }

    /// BEGIN, over the simple query protocol (one round trip).
    pub(crate) async fn begin(&mut self) -> Result<(), PgError> {
        self.in_tx = true;
        self.busy = true;
        let done = self.client.batch_execute("BEGIN").await;
        self.busy = false;
        Ok(done?)
    }

    /// Marks the transaction `sql` ends (COMMIT, ROLLBACK) as ended once it succeeded.
    pub(crate) async fn end_transaction(&mut self, sql: &str) -> Result<(), PgError> {
        self.busy = true;
        let done = self.client.batch_execute(sql).await;
        self.busy = false;
        done?;
        self.in_tx = false;
        Ok(())
    }

    /// Cancels, on the server, whatever query this connection is running (over a connection of
    /// its own, as the protocol wants). Nothing happens if none runs.
    ///
    /// # Cancel safety
    ///
    /// Dropped midway, the cancel request may or may not have reached the server.
    pub(crate) async fn cancel_on_server(&self) -> Result<(), PgError> {
        let stream = tcp::connect(&self.options.host, self.options.port).await.map_err(PgError::Connect)?;
        self.cancel.cancel_query_raw(tcp::CancelStream::new(stream), NoTls).await?;
        Ok(())
    }

    /// Brings a connection its holder left behind back to idle: cancels a query still running
    /// (on the server), then rolls back. Unbounded: callers bound it.
    ///
    /// # Cancel safety
    ///
    /// Dropped midway, the connection stays marked and is reset again (or closed) later.
    pub(crate) async fn reset(&mut self) -> Result<(), PgError> {
        if self.busy {
            self.cancel_on_server().await?;
        }
        if self.busy || self.in_tx {
            // Queued after the cut-off query's reply, so when it returns, that reply has been
            // read. A cancel that reached the backend after the query had ended can hit this
            // ROLLBACK instead (57014): one retry.
            if let Err(e) = self.end_transaction("ROLLBACK").await {
                if e.code() != Some("57014") {
                    return Err(e);
                }
                self.end_transaction("ROLLBACK").await?;
            }
        }
        Ok(())
    }

    /// A round trip: an empty query.
    pub(crate) async fn ping(&mut self) -> Result<(), PgError> {
        self.busy = true;
        let done = self.client.simple_query("").await;
        self.busy = false;
        done?;
        Ok(())
    }
}
