//! anyscope's I/O contract on tokio's reactor: TCP, UDP and Unix sockets.

use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyscope_core::net::raw::{RawDatagram, RawListener, RawStream};
use anyscope_core::runtime::BoxFuture;

/// A tokio stream (TCP or Unix) behind anyscope's raw stream.
#[derive(Debug)]
pub(crate) struct Stream<S>(S);

/// Reads and writes through readiness and `try_read`/`try_write`, which take `&self`: the read
/// and write halves then poll from two tasks at once, each with its own waker.
macro_rules! raw_stream {
    ($s:ty) => {
        impl Stream<$s> {
            fn read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                loop {
                    ready!(self.0.poll_read_ready(cx))?;
                    // As tokio's own `poll_read`: a read shorter than the buffer drained the
                    // socket, so it clears the readiness (unless an event came in since the read
                    // began), and the next read waits instead of making a syscall that would
                    // only fail with `WouldBlock`.
                    let mut short = None;
                    let res = self.0.try_io(tokio::io::Interest::READABLE, || {
                        let n = io::Read::read(&mut &*socket2::SockRef::from(&self.0), buf)?;
                        if cfg!(unix) && n > 0 && n < buf.len() {
                            short = Some(n);
                            return Err(io::ErrorKind::WouldBlock.into());
                        }
                        Ok(n)
                    });
                    match (res, short) {
                        (Err(e), Some(n)) if e.kind() == io::ErrorKind::WouldBlock => {
                            return Poll::Ready(Ok(n));
                        }
                        // The readiness was stale: tokio cleared it, wait again.
                        (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        (res, _) => return Poll::Ready(res),
                    }
                }
            }

            fn write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                loop {
                    ready!(self.0.poll_write_ready(cx))?;
                    match self.0.try_write(buf) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        res => return Poll::Ready(res),
                    }
                }
            }

            fn shut(&self, how: Shutdown) -> io::Result<()> {
                socket2::SockRef::from(&self.0).shutdown(how)
            }
        }
    };
}

raw_stream!(tokio::net::TcpStream);
#[cfg(unix)]
raw_stream!(tokio::net::UnixStream);

impl RawStream for Stream<tokio::net::TcpStream> {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.read(cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write(cx, buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.shut(how)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.0.set_nodelay(on)
    }

    fn nodelay(&self) -> io::Result<bool> {
        self.0.nodelay()
    }
}

#[cfg(unix)]
impl RawStream for Stream<tokio::net::UnixStream> {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.read(cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write(cx, buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.shut(how)
    }
}

/// A future polled inside the tokio runtime's context (sockets register with its reactor).
struct Entered<F> {
    handle: tokio::runtime::Handle,
    fut: Pin<Box<F>>,
}

impl<F: Future> Future for Entered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _in_context = self.handle.enter();
        self.fut.as_mut().poll(cx)
    }
}

pub(crate) fn connect_tcp(
    handle: &tokio::runtime::Handle,
    addr: SocketAddr,
) -> BoxFuture<io::Result<Box<dyn RawStream>>> {
    let fut = async move {
        let s = tokio::net::TcpStream::connect(addr).await?;
        Ok(Box::new(Stream(s)) as Box<dyn RawStream>)
    };
    Box::pin(Entered { handle: handle.clone(), fut: Box::pin(fut) })
}

#[derive(Debug)]
pub(crate) struct TcpListener(tokio::net::TcpListener);

impl RawListener for TcpListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Box<dyn RawStream>>> {
        let (s, _) = ready!(self.0.poll_accept(cx))?;
        Poll::Ready(Ok(Box::new(Stream(s))))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

pub(crate) fn bind_tcp(
    handle: &tokio::runtime::Handle,
    addr: SocketAddr,
) -> io::Result<Box<dyn RawListener>> {
    let _in_context = handle.enter();
    let socket =
        if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // tokio's own `bind` backlog: a burst of connections waits instead of being retried.
    Ok(Box::new(TcpListener(socket.listen(1024)?)))
}

#[derive(Debug)]
pub(crate) struct UdpSocket(tokio::net::UdpSocket);

impl RawDatagram for UdpSocket {
    fn poll_send_to(&self, cx: &mut Context<'_>, buf: &[u8], target: SocketAddr) -> Poll<io::Result<usize>> {
        self.0.poll_send_to(cx, buf, target)
    }

    fn poll_recv_from(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<(usize, SocketAddr)>> {
        let mut rb = tokio::io::ReadBuf::new(buf);
        let from = ready!(self.0.poll_recv_from(cx, &mut rb))?;
        Poll::Ready(Ok((rb.filled().len(), from)))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

pub(crate) fn bind_udp(
    handle: &tokio::runtime::Handle,
    addr: SocketAddr,
) -> io::Result<Box<dyn RawDatagram>> {
    let std = std::net::UdpSocket::bind(addr)?;
    std.set_nonblocking(true)?;
    let _in_context = handle.enter();
    Ok(Box::new(UdpSocket(tokio::net::UdpSocket::from_std(std)?)))
}

#[cfg(unix)]
#[derive(Debug)]
pub(crate) struct UnixListener(tokio::net::UnixListener);

#[cfg(unix)]
impl RawListener for UnixListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Box<dyn RawStream>>> {
        let (s, _) = ready!(self.0.poll_accept(cx))?;
        Poll::Ready(Ok(Box::new(Stream(s))))
    }
}

#[cfg(unix)]
pub(crate) fn connect_unix(
    handle: &tokio::runtime::Handle,
    path: std::path::PathBuf,
) -> BoxFuture<io::Result<Box<dyn RawStream>>> {
    let fut = async move {
        let s = tokio::net::UnixStream::connect(path).await?;
        Ok(Box::new(Stream(s)) as Box<dyn RawStream>)
    };
    Box::pin(Entered { handle: handle.clone(), fut: Box::pin(fut) })
}

#[cfg(unix)]
pub(crate) fn bind_unix(
    handle: &tokio::runtime::Handle,
    path: &std::path::Path,
) -> io::Result<Box<dyn RawListener>> {
    let _in_context = handle.enter();
    Ok(Box::new(UnixListener(tokio::net::UnixListener::bind(path)?)))
}
