//! UDP sockets.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::raw::RawDatagram;
use crate::runtime;

/// A UDP socket on the ambient runtime's reactor.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::net::UdpSocket;
///
/// let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// a.send_to(b"hi", b.local_addr().unwrap()).await.unwrap();
/// let mut buf = [0; 8];
/// let (n, from) = b.recv_from(&mut buf).await.unwrap();
/// assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
/// # });
/// ```
pub struct UdpSocket {
    raw: Box<dyn RawDatagram>,
}

impl UdpSocket {
    /// Binds a UDP socket to `addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// The OS's error, naming the address.
    ///
    /// # Panics
    ///
    /// If no runtime is available.
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        let raw = runtime::current()
            .bind_udp(addr)
            .map_err(|e| super::error::at("binding a UDP socket to", addr, e))?;
        Ok(UdpSocket { raw })
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.raw.local_addr()
    }

    /// Sends one datagram to `target`, returning its length.
    ///
    /// # Errors
    ///
    /// The OS's error (a datagram too long, ...).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is either sent whole when the future completes, or not at all.
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            std::task::ready!(crate::frame::poll_proceed(cx)); // a checkpoint
            self.raw.poll_send_to(cx, buf, target)
        })
        .await
    }

    /// Receives one datagram into `buf`, returning its length and sender. The part of a longer
    /// datagram that does not fit is discarded.
    ///
    /// # Errors
    ///
    /// The OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is taken from the socket only when it is returned.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| {
            std::task::ready!(crate::frame::poll_proceed(cx)); // a checkpoint
            self.raw.poll_recv_from(cx, buf)
        })
        .await
    }
}

impl crate::AsyncClose for UdpSocket {
    type Error = io::Error;

    /// Closes the socket.
    ///
    /// # Cancel safety
    ///
    /// Completes at once.
    async fn close(self) -> io::Result<()> {
        drop(self);
        Ok(())
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("local", &self.local_addr().ok()).finish()
    }
}
