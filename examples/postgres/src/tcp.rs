//! The byte stream under tokio-postgres: a TCP connection on anyscope's I/O, seen through
//! tokio's I/O traits (`tokio_util::compat`), so that no tokio runtime is needed.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyscope_core::net::{ConnectError, TcpStream, connect_tcp};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};

/// The stream tokio-postgres runs over.
pub(crate) type Stream = Compat<TcpStream>;

/// Connects to `host:port` over anyscope's TCP (Happy Eyeballs over the resolved addresses;
/// a host name is resolved on the blocking offload).
///
/// # Cancel safety
///
/// Dropped midway, nothing is left open.
pub(crate) async fn connect(host: &str, port: u16) -> Result<Stream, ConnectError> {
    let stream = connect_tcp(host, port).await?;
    // Small requests and replies: no Nagle delay. A refusal here costs nothing but latency.
    let _ = stream.set_nodelay(true);
    Ok(stream.compat())
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
