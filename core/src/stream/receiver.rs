//! The receiving end of a memory object stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use futures_core::Stream;

use super::channel::ChannelStatistics;
use super::error::{RecvError, TryRecvError};
use super::state::{Chan, RecvOp};

/// The receiving end of a [`channel`](super::channel) (AnyIO's `MemoryObjectReceiveStream`).
///
/// Cloning gives another open receiver (each item goes to exactly one of them, waiting
/// receivers served in order); the receiving side is closed when every clone is closed or
/// dropped. Cloning a closed receiver gives a closed receiver.
///
/// It is also a [`Stream`] that ends (`None`) at end-of-stream or once this clone is closed.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let (tx, rx) = anyscope_core::stream::channel(2);
/// tx.send(1).await.unwrap();
/// tx.send(2).await.unwrap();
/// drop(tx); // buffered items survive the senders
/// assert_eq!(rx.recv().await, Ok(1));
/// assert_eq!(rx.recv().await, Ok(2));
/// assert!(rx.recv().await.unwrap_err().is_end_of_stream());
/// # });
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    closed: AtomicBool,
    // The `Stream` impl's receive in progress. Behind a mutex only so that `close(&self)` can
    // withdraw it (passing on an item promised to it); `poll_next` and `drop` have `&mut self`
    // and reach it with `get_mut`, without locking.
    stream: Mutex<RecvOp>,
}

impl<T> Receiver<T> {
    pub(crate) fn new(chan: Arc<Chan<T>>) -> Self {
        Receiver { chan, closed: AtomicBool::new(false), stream: Mutex::new(RecvOp::default()) }
    }

    /// Receives the next item, waiting for one. Receivers are served in the order they
    /// started waiting.
    ///
    /// # Errors
    ///
    /// [`RecvError::Closed`] if this receiver is closed; [`RecvError::EndOfStream`] when the
    /// buffer is empty and every sender is gone (also when that happens while waiting).
    ///
    /// # Cancel safety
    ///
    /// A checkpoint: inside a cancelled scope it does not complete and takes nothing. Dropping
    /// a waiting receive leaves the queue (no phantom receiver stays behind), and an item that
    /// had already been promised to it goes to the next waiting receiver or stays at the head of
    /// the stream: no item is lost or duplicated.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let (tx, rx) = anyscope_core::stream::channel(0);
    /// let t = anyscope_core::spawn(async move { tx.send(5).await });
    /// assert_eq!(rx.recv().await, Ok(5));
    /// t.await.unwrap().unwrap();
    /// # });
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture { receiver: self, op: RecvOp::default() }
    }

    /// Receives an item if one is available without waiting (and not promised to a receiver
    /// already waiting).
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Closed`], [`TryRecvError::EndOfStream`], [`TryRecvError::WouldBlock`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = anyscope_core::stream::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().unwrap_err().is_would_block());
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        if self.is_closed() {
            return Err(TryRecvError::Closed);
        }
        let mut wakers = crate::sync::queue::Wakers::default();
        let out = {
            let mut s = self.chan.lock();
            match s.try_take(&mut wakers) {
                Some(item) => Ok(item),
                None if s.ended() => Err(TryRecvError::EndOfStream),
                None => Err(TryRecvError::WouldBlock),
            }
        };
        wakers.wake();
        out
    }

    /// Closes this clone. When it was the last open receiver, blocked and later sends fail
    /// with [`SendError::Broken`](super::SendError::Broken) and the buffered items are dropped.
    /// A [`Stream`] poll of this clone left waiting leaves the queue: an item promised to it
    /// goes to another receiver. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = anyscope_core::stream::channel(1);
    /// rx.close();
    /// assert!(tx.try_send(1).unwrap_err().is_broken());
    /// ```
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            // A `Stream` poll left waiting leaves the queue now: an item promised to it goes to
            // another receiver instead of waiting for this closed clone to be polled or dropped.
            self.stream.lock().unwrap_or_else(PoisonError::into_inner).cancel(&self.chan);
            self.chan.close_receiver();
        }
    }

    /// Whether this clone is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = anyscope_core::stream::channel::<u8>(1);
    /// assert!(!rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// A snapshot of the stream's state.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = anyscope_core::stream::channel::<u8>(1);
    /// assert_eq!(rx.statistics().open_send_streams, 1);
    /// ```
    pub fn statistics(&self) -> ChannelStatistics {
        ChannelStatistics::of(&self.chan.lock())
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let clone = Receiver::new(Arc::clone(&self.chan));
        if self.is_closed() {
            clone.closed.store(true, Ordering::Release);
        } else {
            self.chan.add_receiver();
        }
        clone
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.stream.get_mut().unwrap_or_else(PoisonError::into_inner).cancel(&self.chan);
        self.close();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("closed", &self.is_closed()).field("chan", &self.chan).finish()
    }
}

/// Yields the items; ends at end-of-stream or when this clone is closed. Each poll is a
/// checkpoint with [`recv`](Receiver::recv)'s cancel safety: dropping the stream while it
/// waits loses no item.
impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let closed = this.is_closed();
        Poll::Ready(
            ready!(
                this.stream.get_mut().unwrap_or_else(PoisonError::into_inner).poll(&this.chan, closed, cx)
            )
            .ok(),
        )
    }
}

/// The future of [`Receiver::recv`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let (tx, rx) = anyscope_core::stream::channel(1);
/// tx.try_send(1u8).unwrap();
/// let fut: anyscope_core::stream::RecvFuture<'_, u8> = rx.recv();
/// assert_eq!(fut.await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    receiver: &'a Receiver<T>,
    op: RecvOp,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.op.poll(&this.receiver.chan, this.receiver.is_closed(), cx)
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.op.cancel(&self.receiver.chan);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").field("op", &self.op).finish_non_exhaustive()
    }
}
