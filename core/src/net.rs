//! Networking on any runtime: TCP, UDP and Unix sockets on the ambient runtime's reactor
//! (AnyIO's `connect_tcp`, `create_tcp_listener`, `create_udp_socket`, ...).
//!
//! The streams implement the `futures-io` traits ([`AsyncRead`](futures_io::AsyncRead),
//! [`AsyncWrite`](futures_io::AsyncWrite)) and [`AsyncClose`](crate::AsyncClose), so
//! [`Scoped`](crate::Scoped), [`ExitStack`](crate::ExitStack), [`using`](crate::using) and the
//! [`Pool`](crate::Pool) manage them like any resource; a tokio library takes them through
//! `tokio_util::compat`.
//!
//! | you want | use |
//! |---|---|
//! | a connection to a host name and port | [`connect_tcp`] (resolution off the runtime threads, Happy Eyeballs) |
//! | a connection to one address | [`TcpStream::connect`] |
//! | to accept connections | [`TcpListener::bind`], then [`accept`](TcpListener::accept) or [`serve`](TcpListener::serve) |
//! | datagrams | [`UdpSocket`] |
//! | a local socket (unix) | `UnixStream`, `UnixListener` |
//!
//! # Closing and cancellation
//!
//! Dropping a stream closes its socket at once. [`AsyncClose::close`](crate::AsyncClose::close)
//! closes it gracefully (the peer reads the end of the stream). Closing a stream from another
//! task — through a [`CloseHandle`] or a half — makes a pending read or write fail with a
//! "closed" error ([`is_closed`]); using a stream after it was closed is the same error, never a
//! hang. Every operation is a plain poll: a read or write cut off by cancellation has read or
//! written nothing, so bytes already read are never lost (what a `read_exact` or `write_all`
//! built on top has done when cut off is unknown to its caller).
//!
//! # Examples
//!
//! ```
//! # anyscope_tokio::run(async {
//! use anyscope_core::net::{TcpListener, connect_tcp};
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//!
//! let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
//! let port = listener.local_addr().unwrap().port();
//! let mut client = connect_tcp("127.0.0.1", port).await.unwrap();
//! let (mut server, _) = listener.accept().await.unwrap();
//! client.write_all(b"ping").await.unwrap();
//! let mut buf = [0; 4];
//! server.read_exact(&mut buf).await.unwrap();
//! assert_eq!(&buf, b"ping");
//! # });
//! ```

mod connect;
mod error;
pub mod raw;
mod stream;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use connect::{ConnectTcp, connect_tcp};
pub use error::{AddrError, ConnectError};
pub use stream::{CloseHandle, Closed, OwnedReadHalf, OwnedWriteHalf, is_closed};
pub use tcp::{Accept, ConnectAddr, TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};
