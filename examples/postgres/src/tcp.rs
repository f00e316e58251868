//! The byte stream under tokio-postgres: a TCP connection on anyscope's I/O, seen through
//! tokio's I/O traits (`tokio_util::compat`), so that no tokio runtime is needed.

use std::net::{SocketAddr, ToSocketAddrs};

use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};

/// The stream tokio-postgres runs over.
pub(crate) type Stream = Compat<async_io::Async<std::net::TcpStream>>;

/// Connects to `host:port`, trying each resolved address in turn.
///
/// # Cancel safety
///
/// Dropped midway, nothing is left open.
pub(crate) async fn connect(host: &str, port: u16) -> std::io::Result<Stream> {
    let addrs = resolve(host, port).await?;
    let mut last = None;
    for addr in addrs {
        match async_io::Async::<std::net::TcpStream>::connect(addr).await {
            Ok(s) => {
                s.get_ref().set_nodelay(true)?;
                return Ok(s.compat());
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other(format!("{host}:{port} resolved to no address"))))
}

async fn resolve(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let host = host.to_owned();
    anyscope_core::run_blocking(move || (host.as_str(), port).to_socket_addrs().map(Vec::from_iter)).await
}
