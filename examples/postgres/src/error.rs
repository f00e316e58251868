use std::error::Error;
use std::fmt;
use std::time::Duration;

use anyscope_core::PoolError;
use anyscope_core::net::ConnectError;

/// What went wrong talking to PostgreSQL through the pool.
///
/// `Display` says what failed at this level; the cause (an I/O error, the server's error, the
/// pool's) is reached through [`source`](Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub enum PgError {
    /// The pool's options are unusable (the message says why).
    Config(&'static str),
    /// The pool is closed, or the connection was closed.
    Closed,
    /// Opening the TCP connection to the server failed.
    Connect(ConnectError),
    /// An operation did not finish within its bound: the connect timeout, or the bound on
    /// resetting a connection. The value names the operation.
    Timeout(&'static str, Duration),
    /// The server (or the protocol) reported an error, or the connection was lost.
    Postgres(tokio_postgres::Error),
    /// No connection could be acquired from the pool (closed, acquire timeout, or creating one
    /// failed).
    Pool(Box<PoolError<PgError>>),
}

impl PgError {
    /// The server's SQLSTATE code, if the server reported the error (e.g. `57014`: the query
    /// was cancelled; `57P01`: the server is shutting down).
    pub fn code(&self) -> Option<&str> {
        match self {
            PgError::Postgres(e) => e.code().map(|c| c.code()),
            PgError::Pool(p) => match &**p {
                PoolError::Create(e) => e.code(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether the connection to the server was lost or could not be made (the server went
    /// away, was restarted, or refused us): a retry on a new connection may succeed.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            PgError::Connect(_) => true,
            PgError::Postgres(e) => {
                // The socket failed or closed, or the server said it is going away (57P01
                // admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now) or the
                // connection failed (class 08).
                let io = Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
                let code = e.code().map(|c| c.code());
                e.is_closed() || io || code.is_some_and(|c| c.starts_with("57P") || c.starts_with("08"))
            }
            PgError::Pool(p) => matches!(&**p, PoolError::Create(e) if e.is_connection_lost()),
            PgError::Closed => true,
            PgError::Timeout(..) | PgError::Config(_) => false,
        }
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgError::Closed => f.write_str("the connection or its pool is closed"),
            PgError::Config(why) => write!(f, "invalid pool options: {why}"),
            PgError::Connect(_) => f.write_str("connecting to the PostgreSQL server failed"),
            PgError::Timeout(what, d) => write!(f, "{what} did not finish within {d:?}"),
            PgError::Postgres(_) => f.write_str("PostgreSQL operation failed"),
            PgError::Pool(_) => f.write_str("acquiring a PostgreSQL connection failed"),
        }
    }
}

impl Error for PgError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PgError::Connect(e) => Some(e),
            PgError::Postgres(e) => Some(e),
            PgError::Pool(e) => Some(&**e),
            PgError::Timeout(..) | PgError::Config(_) | PgError::Closed => None,
        }
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Postgres(e)
    }
}

impl From<PoolError<PgError>> for PgError {
    fn from(e: PoolError<PgError>) -> Self {
        PgError::Pool(Box::new(e))
    }
}
