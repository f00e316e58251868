//! Memory object streams: AnyIO's `create_memory_object_stream`, with its cancel-safety
//! guarantees.
//!
//! [`channel`] creates a stream of `T` with a buffer of a given capacity (0: a rendezvous) and
//! returns its [`Sender`] and [`Receiver`]. Both ends clone and close per clone; an end is closed
//! when all its clones are. Every error says which case it is: this clone closed
//! ([`SendError::Closed`], [`RecvError::Closed`]), the other side gone ([`SendError::Broken`]:
//! nobody can receive; the item comes back), end of stream ([`RecvError::EndOfStream`]: the
//! buffer is empty and all senders are gone), would block ([`TrySendError::WouldBlock`],
//! [`TryRecvError::WouldBlock`]).
//!
//! # Guarantees
//!
//! - Every `send`/`recv` is a checkpoint: inside a cancelled scope it neither sends nor
//!   receives anything.
//! - A cancelled blocked send withdraws its item: in a buffered stream it is never delivered
//!   (the item enters the buffer only in the poll that reports success), in a rendezvous it is
//!   not delivered unless a receiver had already taken it (see [`Sender::send`]). A cancelled
//!   receive loses no item and leaves no waiting receiver behind.
//! - FIFO: blocked senders deliver in order, blocked receivers are served in order, and a
//!   newcomer never barges past them (`try_send`/`try_recv` included).
//! - Items are neither lost nor duplicated, whatever the interleaving of sends, receives,
//!   cancellations and closes.
//!
//! # Compared with its neighbours
//!
//! `async-channel` (smol) has no rendezvous and closes the whole channel, not a clone; tokio's
//! `mpsc` has one receiver. This stream is built on the same FIFO waiter queue as
//! [`crate::sync`] (see its docs for why not on `event-listener` directly): blocked senders keep
//! their item in the queue and are granted buffer slots in order, so withdrawing on
//! cancellation is a removal, and waiting receivers are *promised* items in order, so a
//! cancelled receiver passes its promise on. When
//! you need a single value, not a stream, use a [`sync::Event`](crate::sync::Event) plus a
//! slot, or a task's `JoinHandle`.
//!
//! # Examples
//!
//! ```
//! # anyscope_tokio::run(async {
//! use anyscope_core::stream::channel;
//! let (tx, rx) = channel::<u32>(8);
//! let mut workers = Vec::new();
//! for _ in 0..2 {
//!     let rx = rx.clone();
//!     workers.push(anyscope_core::spawn(async move {
//!         let mut sum = 0;
//!         while let Ok(n) = rx.recv().await {
//!             sum += n;
//!         }
//!         sum
//!     }));
//! }
//! drop(rx);
//! for n in 1..=100 {
//!     tx.send(n).await.unwrap();
//! }
//! drop(tx);
//! let mut total = 0;
//! for w in workers {
//!     total += w.await.unwrap();
//! }
//! assert_eq!(total, 5050);
//! # });
//! ```

mod channel;
mod error;
mod receiver;
mod sender;
mod state;
#[cfg(test)]
mod tests;

pub use channel::{ChannelStatistics, channel};
pub use error::{RecvError, SendError, TryRecvError, TrySendError};
pub use receiver::{Receiver, RecvFuture};
pub use sender::{SendFuture, Sender};
