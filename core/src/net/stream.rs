//! What TCP and Unix streams share: the raw stream, the closed flag, and the owned halves.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

use super::raw::RawStream;

/// The error of an operation on a stream that was closed (by this task or another): its
/// [`io::Error`] has kind [`NotConnected`](io::ErrorKind::NotConnected) and this payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the stream was closed")
    }
}

impl std::error::Error for Closed {}

/// Whether `err` is the "closed" error of a stream used after (or while) it was closed.
///
/// # Examples
///
/// ```
/// assert!(!anyscope_core::net::is_closed(&std::io::Error::other("x")));
/// ```
pub fn is_closed(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| e.is::<Closed>())
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, Closed)
}

/// A stream shared by its owner, its halves and its close handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) raw: Box<dyn RawStream>,
    closed: AtomicBool,
    // The wakers of a pending read and a pending write, woken by a close from elsewhere (the
    // reactor may not report a socket shut down by its own process as ready).
    read_waker: Mutex<Option<Waker>>,
    write_waker: Mutex<Option<Waker>>,
}

fn park(slot: &Mutex<Option<Waker>>, cx: &Context<'_>) {
    let mut w = slot.lock().unwrap_or_else(|e| e.into_inner());
    match w.as_ref() {
        Some(old) if old.will_wake(cx.waker()) => {}
        _ => *w = Some(cx.waker().clone()),
    }
}

impl Shared {
    pub(crate) fn new(raw: Box<dyn RawStream>) -> Arc<Self> {
        Arc::new(Shared {
            raw,
            closed: AtomicBool::new(false),
            read_waker: Mutex::new(None),
            write_waker: Mutex::new(None),
        })
    }

    fn is_closed(&self) -> bool {
        // Acquire pairs with the Release in `close`: a poll that sees the flag sees the shutdown.
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if self.is_closed() {
            return Poll::Ready(Err(closed()));
        }
        // A checkpoint: in a cancelled scope nothing is read or written (no byte is lost: the
        // scope drops us before the operation), and a ready operation spends from the budget.
        std::task::ready!(crate::frame::poll_proceed(cx));
        // Nothing asked, nothing to wait for (as `std`): the reactor would wait for data.
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        match self.raw.poll_read(cx, buf) {
            Poll::Pending => {
                park(&self.read_waker, cx);
                // A close between the first check and the parking has woken nobody: look again.
                if self.is_closed() { Poll::Ready(Err(closed())) } else { Poll::Pending }
            }
            // End of stream seen because of our own close is the "closed" error, not an EOF.
            Poll::Ready(Ok(0)) if !buf.is_empty() && self.is_closed() => Poll::Ready(Err(closed())),
            ready => ready,
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.is_closed() {
            return Poll::Ready(Err(closed()));
        }
        // A checkpoint: in a cancelled scope nothing is read or written (no byte is lost: the
        // scope drops us before the operation), and a ready operation spends from the budget.
        std::task::ready!(crate::frame::poll_proceed(cx));
        match self.raw.poll_write(cx, buf) {
            Poll::Pending => {
                park(&self.write_waker, cx);
                if self.is_closed() { Poll::Ready(Err(closed())) } else { Poll::Pending }
            }
            ready => ready,
        }
    }

    /// Shuts the write half down: the peer reads the end of the stream.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        if self.is_closed() {
            return Err(closed());
        }
        match self.raw.shutdown(Shutdown::Write) {
            // The peer already went away: nothing left to tell it.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    /// Closes the stream for everyone: pending and later operations fail with [`Closed`]. With
    /// `graceful`, only the write half is shut down (the peer reads an orderly end of stream);
    /// otherwise both.
    pub(crate) fn close(&self, graceful: bool) -> io::Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let how = if graceful { Shutdown::Write } else { Shutdown::Both };
        let res = match self.raw.shutdown(how) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        };
        // Shut the read side too (quietly): a read pending in the reactor then wakes.
        if graceful {
            let _ = self.raw.shutdown(Shutdown::Read);
        }
        for slot in [&self.read_waker, &self.write_waker] {
            if let Some(w) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                w.wake();
            }
        }
        res
    }
}

/// Closes a stream from anywhere: a pending read or write of its owner (or halves) then fails
/// with the "closed" error ([`is_closed`]), and so does every later use.
///
/// Obtained from `close_handle()` of a stream or a half. Holding one keeps the socket open
/// (not usable) until it is dropped too.
#[derive(Clone, Debug)]
pub struct CloseHandle {
    pub(crate) shared: Arc<Shared>,
}

impl CloseHandle {
    /// Closes the stream: shuts both directions down and marks it closed. Idempotent.
    pub fn close(&self) {
        let _ = self.shared.close(false);
    }
}

/// The read half of a stream, from `into_split`.
#[derive(Debug)]
pub struct OwnedReadHalf {
    pub(crate) shared: Arc<Shared>,
}

/// The write half of a stream, from `into_split`. Its [`poll_close`](AsyncWrite::poll_close)
/// (and [`AsyncClose`](crate::AsyncClose)) shuts the write direction down; dropping it does
/// not.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    pub(crate) shared: Arc<Shared>,
}

impl OwnedReadHalf {
    /// A handle that closes the whole stream from elsewhere.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle { shared: Arc::clone(&self.shared) }
    }
}

impl OwnedWriteHalf {
    /// Shuts the write direction down: the peer reads the end of the stream.
    ///
    /// # Errors
    ///
    /// The "closed" error after a close; the OS's error.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.shared.shutdown_write()
    }

    /// A handle that closes the whole stream from elsewhere.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle { shared: Arc::clone(&self.shared) }
    }
}

impl AsyncRead for OwnedReadHalf {
    /// # Cancel safety
    ///
    /// A poll either reads bytes and returns them, or reads nothing.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.shared.poll_read(cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.shared.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shared.shutdown_write())
    }
}

impl crate::AsyncClose for OwnedWriteHalf {
    type Error = io::Error;

    /// Shuts the write direction down (the peer reads the end of the stream).
    ///
    /// # Cancel safety
    ///
    /// Completes at once.
    async fn close(self) -> io::Result<()> {
        self.shared.shutdown_write()
    }
}

/// Implements the stream traits on a type with a `shared: Arc<Shared>` field.
macro_rules! stream_traits {
    ($ty:ty) => {
        impl futures_io::AsyncRead for $ty {
            /// # Cancel safety
            ///
            /// A poll either reads bytes and returns them, or reads nothing.
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.shared.poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            /// # Cancel safety
            ///
            /// A poll either writes bytes and says how many, or writes nothing.
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.shared.poll_write(cx, buf)
            }

            /// Sockets buffer nothing in user space: always ready.
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            /// Shuts the write direction down (the peer reads the end of the stream); reading
            /// goes on.
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shared.shutdown_write())
            }
        }

        impl $crate::AsyncClose for $ty {
            type Error = std::io::Error;

            /// Closes the stream gracefully: the write direction is shut down (the peer reads
            /// an orderly end of stream), the stream is marked closed (a read pending in
            /// another task fails with the "closed" error) and the socket is released once
            /// no half or handle holds it. There is nothing to flush: sockets buffer nothing
            /// in user space.
            ///
            /// # Cancel safety
            ///
            /// Completes at once.
            async fn close(self) -> std::io::Result<()> {
                self.shared.close(true)
            }
        }

        impl $ty {
            /// Splits the stream into a read half and a write half that can be used from two
            /// tasks at once.
            pub fn into_split(self) -> ($crate::net::OwnedReadHalf, $crate::net::OwnedWriteHalf) {
                let shared = self.shared;
                (
                    $crate::net::OwnedReadHalf { shared: std::sync::Arc::clone(&shared) },
                    $crate::net::OwnedWriteHalf { shared },
                )
            }

            /// Shuts the write direction down (sends FIN): the peer reads the end of the stream,
            /// and can still answer.
            ///
            /// # Errors
            ///
            /// The "closed" error after a close; the OS's error.
            pub fn shutdown_write(&self) -> std::io::Result<()> {
                self.shared.shutdown_write()
            }

            /// A handle that closes this stream from elsewhere (see [`CloseHandle`](crate::net::CloseHandle)).
            pub fn close_handle(&self) -> $crate::net::CloseHandle {
                $crate::net::CloseHandle { shared: std::sync::Arc::clone(&self.shared) }
            }
        }
    };
}

pub(crate) use stream_traits;

#[cfg(test)]
mod tests {
    use crate::net::*;

    fn send_unpin_static<T: Send + Unpin + 'static>() {}
    fn sync<T: Sync>() {}

    #[test]
    fn public_types_are_send_unpin_static_and_sync_where_shared() {
        send_unpin_static::<TcpStream>();
        send_unpin_static::<OwnedReadHalf>();
        send_unpin_static::<OwnedWriteHalf>();
        send_unpin_static::<CloseHandle>();
        send_unpin_static::<TcpListener>();
        send_unpin_static::<UdpSocket>();
        send_unpin_static::<ConnectTcp>();
        send_unpin_static::<ConnectError>();
        send_unpin_static::<crate::fs::File>();
        send_unpin_static::<crate::fs::ReadDir>();
        send_unpin_static::<crate::signal::Signals>();
        send_unpin_static::<crate::RunBlocking<u8>>();
        sync::<TcpStream>();
        sync::<TcpListener>();
        sync::<UdpSocket>();
        sync::<CloseHandle>();
        sync::<ConnectError>();
        #[cfg(unix)]
        {
            send_unpin_static::<UnixStream>();
            send_unpin_static::<UnixListener>();
            sync::<UnixStream>();
        }
    }

    #[test]
    fn closed_error_is_recognised() {
        let e = super::closed();
        assert!(is_closed(&e));
        assert_eq!(e.kind(), std::io::ErrorKind::NotConnected);
        assert_eq!(e.to_string(), "the stream was closed");
        assert!(!is_closed(&std::io::Error::new(std::io::ErrorKind::NotConnected, "other")));
    }
}
