//! anyscope's I/O contract on async-io's reactor: TCP, UDP and Unix sockets.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyscope_core::net::raw::{RawDatagram, RawListener, RawStream};
use anyscope_core::runtime::BoxFuture;
use async_io::Async;
use futures_lite::{AsyncRead, AsyncWrite};

/// An async-io stream (TCP or Unix) behind anyscope's raw stream. async-io reads and writes
/// through `&Async<T>`, with separate read and write wakers.
#[derive(Debug)]
pub(crate) struct Stream<S>(Async<S>);

impl<S> Stream<S>
where
    for<'a> &'a S: io::Read + io::Write,
{
    fn read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &self.0).poll_read(cx, buf)
    }

    fn write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &self.0).poll_write(cx, buf)
    }
}

impl RawStream for Stream<std::net::TcpStream> {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.read(cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write(cx, buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.0.get_ref().shutdown(how)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }

    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.0.get_ref().set_nodelay(on)
    }

    fn nodelay(&self) -> io::Result<bool> {
        self.0.get_ref().nodelay()
    }
}

#[cfg(unix)]
impl RawStream for Stream<std::os::unix::net::UnixStream> {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.read(cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write(cx, buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.0.get_ref().shutdown(how)
    }
}

pub(crate) fn connect_tcp(addr: SocketAddr) -> BoxFuture<io::Result<Box<dyn RawStream>>> {
    Box::pin(async move {
        let s = Async::<std::net::TcpStream>::connect(addr).await?;
        Ok(Box::new(Stream(s)) as Box<dyn RawStream>)
    })
}

/// Accepts on a non-blocking std listener: try, and wait for readability on `WouldBlock`.
fn accept_with<L, S>(
    l: &Async<L>,
    cx: &mut Context<'_>,
    accept: impl Fn(&L) -> io::Result<S>,
) -> Poll<io::Result<Async<S>>>
where
    S: std::os::fd::AsFd,
{
    loop {
        match accept(l.get_ref()) {
            Ok(s) => return Poll::Ready(Async::new(s)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(l.poll_readable(cx))?,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

#[derive(Debug)]
pub(crate) struct TcpListener(Async<std::net::TcpListener>);

impl RawListener for TcpListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Box<dyn RawStream>>> {
        let s = ready!(accept_with(&self.0, cx, |l| l.accept().map(|(s, _)| s)))?;
        Poll::Ready(Ok(Box::new(Stream(s))))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}

/// The listen backlog, as the tokio adapter's (and tokio's own `bind`): a burst of connections
/// waits in the queue instead of overflowing it. std's `bind` (what async-io's `bind` calls)
/// listens with 128, and a burst larger than that on a busy machine has connections dropped or
/// reset by the kernel.
const BACKLOG: i32 = 1024;

/// A listening socket bound to `addr`, with [`BACKLOG`] (non-blocking, close-on-exec: socket2's
/// defaults plus `Async::new`).
fn listen(domain: socket2::Domain, addr: &socket2::SockAddr) -> io::Result<socket2::Socket> {
    let proto = if domain == socket2::Domain::UNIX { None } else { Some(socket2::Protocol::TCP) };
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, proto)?;
    // As std's `bind` does on Unix: a restarted server can bind its port again at once.
    #[cfg(unix)]
    if domain != socket2::Domain::UNIX {
        socket.set_reuse_address(true)?;
    }
    socket.bind(addr)?;
    socket.listen(BACKLOG)?;
    Ok(socket)
}

pub(crate) fn bind_tcp(addr: SocketAddr) -> io::Result<Box<dyn RawListener>> {
    let socket = listen(socket2::Domain::for_address(addr), &addr.into())?;
    Ok(Box::new(TcpListener(Async::new(std::net::TcpListener::from(socket))?)))
}

#[derive(Debug)]
pub(crate) struct UdpSocket(Async<std::net::UdpSocket>);

impl RawDatagram for UdpSocket {
    fn poll_send_to(&self, cx: &mut Context<'_>, buf: &[u8], target: SocketAddr) -> Poll<io::Result<usize>> {
        loop {
            match self.0.get_ref().send_to(buf, target) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(self.0.poll_writable(cx))?,
                res => return Poll::Ready(res),
            }
        }
    }

    fn poll_recv_from(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<(usize, SocketAddr)>> {
        loop {
            match self.0.get_ref().recv_from(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(self.0.poll_readable(cx))?,
                res => return Poll::Ready(res),
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}

pub(crate) fn bind_udp(addr: SocketAddr) -> io::Result<Box<dyn RawDatagram>> {
    Ok(Box::new(UdpSocket(Async::<std::net::UdpSocket>::bind(addr)?)))
}

#[cfg(unix)]
#[derive(Debug)]
pub(crate) struct UnixListener(Async<std::os::unix::net::UnixListener>);

#[cfg(unix)]
impl RawListener for UnixListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Box<dyn RawStream>>> {
        let s = ready!(accept_with(&self.0, cx, |l| l.accept().map(|(s, _)| s)))?;
        Poll::Ready(Ok(Box::new(Stream(s))))
    }
}

#[cfg(unix)]
pub(crate) fn connect_unix(path: std::path::PathBuf) -> BoxFuture<io::Result<Box<dyn RawStream>>> {
    Box::pin(async move {
        let s = Async::<std::os::unix::net::UnixStream>::connect(path).await?;
        Ok(Box::new(Stream(s)) as Box<dyn RawStream>)
    })
}

#[cfg(unix)]
pub(crate) fn bind_unix(path: &std::path::Path) -> io::Result<Box<dyn RawListener>> {
    let socket = listen(socket2::Domain::UNIX, &socket2::SockAddr::unix(path)?)?;
    Ok(Box::new(UnixListener(Async::new(std::os::unix::net::UnixListener::from(
        std::os::fd::OwnedFd::from(socket),
    ))?)))
}
