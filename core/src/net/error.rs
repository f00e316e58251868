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
