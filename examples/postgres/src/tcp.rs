//! The byte stream under tokio-postgres: a TCP connection on anyscope's I/O, seen through
//! tokio's I/O traits (`tokio_util::compat`), so that no tokio runtime is needed.

use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite};
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

/// The stream a cancel request goes over: its shutdown also waits for the server to close the
/// connection, which the server does only once it has signalled the backend. tokio-postgres'
/// `cancel_query_raw` returns after the shutdown; without the wait, a cancel could reach the
/// backend late and hit a later statement instead of the one it was meant for.
pub(crate) struct CancelStream {
    inner: Stream,
    shut: bool,
}

impl CancelStream {
    pub(crate) fn new(inner: Stream) -> Self {
        CancelStream { inner, shut: false }
    }
}

impl AsyncRead for CancelStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CancelStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if !self.shut {
            ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
            self.shut = true;
        }
        // The server sends nothing back: read until it closes its end.
        let mut scratch = [0u8; 64];
        loop {
            let mut buf = tokio::io::ReadBuf::new(&mut scratch);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf))?;
            if buf.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
        }
    }
}
