//! TCP streams and listeners.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::raw::{RawListener, RawStream};
use super::stream::{Shared, stream_traits};
use crate::group::task_group;
use crate::runtime::{self, BoxFuture};

/// A TCP connection on the ambient runtime's reactor.
///
/// Reads and writes through [`AsyncRead`](futures_io::AsyncRead) and
/// [`AsyncWrite`](futures_io::AsyncWrite) (`futures-lite`'s or `futures`'s extension traits give
/// `read_exact`, `write_all`, ...); closes through [`AsyncClose`](crate::AsyncClose). Dropping
/// it closes the socket at once. See the [module docs](super) for closing and cancellation.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::AsyncClose;
/// use anyscope_core::net::{TcpListener, TcpStream};
/// use futures_lite::AsyncReadExt;
///
/// let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
/// let (mut server, peer) = listener.accept().await.unwrap();
/// assert_eq!(peer, client.local_addr().unwrap());
/// client.close().await.unwrap(); // the server reads the end of the stream
/// let mut rest = Vec::new();
/// assert_eq!(server.read_to_end(&mut rest).await.unwrap(), 0);
/// # });
/// ```
pub struct TcpStream {
    pub(crate) shared: Arc<Shared>,
}

stream_traits!(TcpStream);

impl TcpStream {
    pub(crate) fn from_raw(raw: Box<dyn RawStream>) -> Self {
        TcpStream { shared: Shared::new(raw) }
    }

    /// Connects to one address. For a host name, or several addresses, use
    /// [`connect_tcp`](super::connect_tcp).
    ///
    /// # Errors
    ///
    /// The OS's error (connection refused, unreachable, ...).
    ///
    /// # Panics
    ///
    /// When first polled, if no runtime is available.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completed closes the half-open socket at once.
    pub fn connect(addr: SocketAddr) -> ConnectAddr {
        ConnectAddr { addr, fut: None }
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// The OS's error (the peer has gone, say).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.shared.raw.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.raw.local_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.shared.raw.set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.shared.raw.nodelay()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

/// The future of [`TcpStream::connect`].
///
/// # Cancel safety
///
/// See [`TcpStream::connect`].
#[must_use = "futures do nothing unless polled"]
pub struct ConnectAddr {
    addr: SocketAddr,
    fut: Option<BoxFuture<io::Result<Box<dyn RawStream>>>>,
}

impl Future for ConnectAddr {
    type Output = io::Result<TcpStream>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<TcpStream>> {
        let addr = self.addr;
        let fut = self.fut.get_or_insert_with(|| runtime::current().connect_tcp(addr));
        fut.as_mut().poll(cx).map_ok(TcpStream::from_raw)
    }
}

impl fmt::Debug for ConnectAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectAddr").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// A TCP listening socket on the ambient runtime's reactor.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let addr = listener.local_addr().unwrap();
/// let _client = TcpStream::connect(addr).await.unwrap();
/// let (_conn, _peer) = listener.accept().await.unwrap();
/// # });
/// ```
pub struct TcpListener {
    raw: Box<dyn RawListener>,
}

impl TcpListener {
    /// Binds to `addr` (port 0 picks a free port) and listens. The bundled adapters (tokio, smol)
    /// listen with a backlog of 1,024: a burst of connections waits in the kernel's queue until
    /// it is accepted.
    ///
    /// # Errors
    ///
    /// The OS's error (address in use, ...), naming the address.
    ///
    /// # Panics
    ///
    /// If no runtime is available.
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        let raw = runtime::current()
            .bind_tcp(addr)
            .map_err(|e| super::error::at("binding a TCP listener to", addr, e))?;
        Ok(TcpListener { raw })
    }

    /// The local address (with the port the OS picked).
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.raw.local_addr()
    }

    /// Accepts the next connection, and returns it with its remote address.
    ///
    /// # Errors
    ///
    /// The OS's error (too many open files, ...): the listener keeps working.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is taken from the OS only when it is returned, so dropping
    /// the future loses none.
    pub fn accept(&self) -> Accept<'_> {
        Accept { listener: self }
    }

    /// Accepts connections and runs `handler` on each, in a task group, until cancelled (AnyIO's
    /// `Listener.serve`).
    ///
    /// Each connection's handler is a task of the group, so a panic in one ends the server
    /// (after cancelling the others). Transient accept errors (a connection aborted before it
    /// was accepted) are skipped.
    ///
    /// # Errors
    ///
    /// An accept error that is not transient (too many open files, ...), after the running
    /// handlers were cancelled and finished.
    ///
    /// # Cancel safety
    ///
    /// Cancelling the enclosing scope stops accepting, cancels every handler, and — before the
    /// scope returns — waits for them and closes every connection and the listener (each
    /// handler owns its connection, dropped or closed when the handler ends).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::net::{TcpListener, TcpStream};
    /// use anyscope_core::move_on_after;
    /// use futures_lite::AsyncWriteExt;
    /// use std::time::Duration;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// anyscope_core::spawn(async move { let _c = TcpStream::connect(addr).await; });
    /// let served = move_on_after(Duration::from_millis(50), listener.serve(|mut conn| async move {
    ///     let _ = conn.write_all(b"hello\n").await;
    /// }))
    /// .await;
    /// assert!(served.is_none()); // cut off by the deadline, every connection closed
    /// # });
    /// ```
    pub async fn serve<H, Fut>(self, mut handler: H) -> io::Result<()>
    where
        H: FnMut(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let res = task_group(|tg| async move {
            loop {
                let conn = match self.accept().await {
                    Ok((conn, _)) => conn,
                    Err(e) if is_transient(&e) => continue,
                    Err(e) => return Err(e),
                };
                let fut = handler(conn);
                // The group is open while its body runs.
                let _ = tg.spawn(async move {
                    fut.await;
                    Ok(())
                });
            }
        })
        .await;
        res.map_err(|e| match e.into_first() {
            Some(e) => e,
            None => io::Error::other("serving was cancelled"),
        })
    }
}

impl crate::AsyncClose for TcpListener {
    type Error = io::Error;

    /// Closes the listening socket: connections not accepted yet are refused.
    ///
    /// # Cancel safety
    ///
    /// Completes at once.
    async fn close(self) -> io::Result<()> {
        drop(self);
        Ok(())
    }
}

/// Accept errors after which the listener goes on as if nothing happened.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::NotConnected
            | io::ErrorKind::Interrupted
    )
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("local", &self.local_addr().ok()).finish()
    }
}

/// The future of [`TcpListener::accept`].
///
/// # Cancel safety
///
/// Cancel safe: see [`TcpListener::accept`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Accept<'a> {
    listener: &'a TcpListener,
}

impl Future for Accept<'_> {
    type Output = io::Result<(TcpStream, SocketAddr)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(crate::frame::poll_proceed(cx)); // a checkpoint
        let raw = std::task::ready!(self.listener.raw.poll_accept(cx))?;
        let peer = raw.peer_addr()?;
        Poll::Ready(Ok((TcpStream::from_raw(raw), peer)))
    }
}
