//! The error of [`connect_tcp`](super::connect_tcp).

use std::fmt;
use std::io;
use std::net::SocketAddr;

/// Connecting to a host failed: the name did not resolve, or every address was tried and each
/// failed. [`attempts`](ConnectError::attempts) names each address tried and its error.
///
/// Converts into an [`io::Error`] whose kind is that of the last failure.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// // Port 1 on loopback: nothing listens there.
/// let err = anyscope_core::net::connect_tcp("127.0.0.1", 1).await.unwrap_err();
/// assert_eq!(err.attempts().len(), 1);
/// assert!(err.to_string().contains("127.0.0.1:1"));
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
/// # });
/// ```
#[derive(Debug)]
pub struct ConnectError {
    host: String,
    port: u16,
    failure: Failure,
}

#[derive(Debug)]
enum Failure {
    Resolve(io::Error),
    NoAddress,
    Attempts(Vec<(SocketAddr, io::Error)>),
}

impl ConnectError {
    pub(crate) fn resolve(host: &str, port: u16, e: io::Error) -> Self {
        ConnectError { host: host.to_owned(), port, failure: Failure::Resolve(e) }
    }

    pub(crate) fn no_address(host: &str, port: u16) -> Self {
        ConnectError { host: host.to_owned(), port, failure: Failure::NoAddress }
    }

    pub(crate) fn attempts_failed(host: &str, port: u16, attempts: Vec<(SocketAddr, io::Error)>) -> Self {
        ConnectError { host: host.to_owned(), port, failure: Failure::Attempts(attempts) }
    }

    /// The host as given to `connect_tcp`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port as given to `connect_tcp`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Each address tried, in the order tried, with the error it failed with. Empty when the
    /// name did not resolve.
    pub fn attempts(&self) -> &[(SocketAddr, io::Error)] {
        match &self.failure {
            Failure::Attempts(a) => a,
            _ => &[],
        }
    }

    /// Whether the failure was resolving the host name (no address was tried).
    pub fn is_resolve(&self) -> bool {
        matches!(self.failure, Failure::Resolve(_) | Failure::NoAddress)
    }

    fn kind(&self) -> io::ErrorKind {
        match &self.failure {
            Failure::Resolve(e) => e.kind(),
            Failure::NoAddress => io::ErrorKind::NotFound,
            Failure::Attempts(a) => a.last().map_or(io::ErrorKind::Other, |(_, e)| e.kind()),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connecting to {}:{} failed: ", self.host, self.port)?;
        match &self.failure {
            Failure::Resolve(_) => f.write_str("the host name did not resolve"),
            Failure::NoAddress => f.write_str("the host name resolved to no address"),
            // Several causes, which `source()` cannot chain: each is named here.
            Failure::Attempts(a) => {
                f.write_str("tried ")?;
                for (i, (addr, e)) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{addr} ({e})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.failure {
            Failure::Resolve(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConnectError> for io::Error {
    fn from(e: ConnectError) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

/// What an [`io::Error`] of a failed bind (or Unix connect) carries: what was done and the
/// address or path; the OS's error is its [`source`](std::error::Error::source), and the
/// `io::Error` keeps that error's kind.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::net::{AddrError, TcpListener};
///
/// let a = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let taken = a.local_addr().unwrap();
/// let err = TcpListener::bind(taken).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
/// assert!(err.to_string().contains(&taken.to_string()));
/// assert!(err.get_ref().unwrap().is::<AddrError>());
/// # });
/// ```
#[derive(Debug)]
pub struct AddrError {
    what: &'static str,
    addr: String,
    source: io::Error,
}

impl AddrError {
    /// The address or path, as shown.
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} failed", self.what, self.addr)
    }
}

impl std::error::Error for AddrError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `e` so that it names `what` was done at `addr`, keeping its kind.
pub(crate) fn at(what: &'static str, addr: impl fmt::Display, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), AddrError { what, addr: addr.to_string(), source: e })
}
