//! The I/O objects a runtime adapter hands to anyscope: poll-based, object-safe, shared by
//! reference.
//!
//! Adapters implement these traits on their reactor's types (tokio's `TcpStream`, async-io's
//! `Async<TcpStream>`, ...) and return them boxed from the I/O methods of
//! [`Runtime`](crate::runtime::Runtime). Users never see them: the public types of
//! [`net`](super) wrap them.
//!
//! Every method takes `&self`: a stream's read half and write half are polled from different
//! tasks at the same time. An implementation must keep one read waker and one write waker
//! apart (tokio's `poll_read_ready`/`poll_write_ready`, async-io's `poll_readable`/
//! `poll_writable` do); anyscope never polls two reads (or two writes) of one object at once.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

/// The error of an I/O operation a runtime adapter does not provide.
pub fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("this anyscope runtime adapter does not support {what}"),
    )
}

/// A connected byte stream (TCP, or a Unix socket) on the runtime's reactor.
///
/// Dropping it closes the socket at once.
pub trait RawStream: Send + Sync + fmt::Debug + 'static {
    /// Reads into `buf`: `Ready(Ok(0))` at end of stream, `Pending` (with the waker registered)
    /// when no byte is available yet.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from `buf`, returning how many bytes were written; `Pending` when the send buffer
    /// is full.
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Shuts down the read half, the write half or both (`shutdown(2)`); wakes a pending read.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

    /// The remote address of a TCP stream.
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Err(unsupported("socket addresses on this stream"))
    }

    /// The local address of a TCP stream.
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Err(unsupported("socket addresses on this stream"))
    }

    /// Sets `TCP_NODELAY`.
    fn set_nodelay(&self, _on: bool) -> io::Result<()> {
        Err(unsupported("TCP_NODELAY on this stream"))
    }

    /// Reads `TCP_NODELAY`.
    fn nodelay(&self) -> io::Result<bool> {
        Err(unsupported("TCP_NODELAY on this stream"))
    }
}

/// A listening socket (TCP, or a Unix socket) on the runtime's reactor.
pub trait RawListener: Send + Sync + fmt::Debug + 'static {
    /// Accepts one connection; `Pending` (with the waker registered) while none is waiting.
    /// Never loses a connection: one accepted by the OS is returned by this call.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Box<dyn RawStream>>>;

    /// The local address of a TCP listener.
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Err(unsupported("socket addresses on this listener"))
    }
}

/// A UDP socket on the runtime's reactor.
pub trait RawDatagram: Send + Sync + fmt::Debug + 'static {
    /// Sends one datagram to `target`.
    fn poll_send_to(&self, cx: &mut Context<'_>, buf: &[u8], target: SocketAddr) -> Poll<io::Result<usize>>;

    /// Receives one datagram into `buf` (the excess of a longer one is discarded).
    fn poll_recv_from(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<(usize, SocketAddr)>>;

    /// The local address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}
