//! The sending end of a memory object stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use futures_sink::Sink;

use super::channel::ChannelStatistics;
use super::error::{SendError, TrySendError};
use super::state::{Chan, SendOp};
use crate::frame;

/// The sending end of a [`channel`](super::channel) (AnyIO's `MemoryObjectSendStream`).
///
/// Cloning gives another open sender; the sending side is closed when every clone is closed
/// ([`close`](Sender::close)) or dropped. Cloning a closed sender gives a closed sender.
///
/// It is also a [`Sink`]: `start_send` sends at once when it can and otherwise keeps the one
/// item in the sender until `poll_ready`/`poll_flush` complete it (or the sender is dropped,
/// which withdraws it). Once polled, the kept item is a blocked send like any other: it keeps
/// its place in the senders' queue, and a buffer slot granted to it stays reserved for it until
/// the sink is polled again — so keep polling a sink that holds an item, as the `Sink` contract
/// asks.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let (tx, rx) = anyscope_core::stream::channel(1);
/// let tx2 = tx.clone();
/// tx.close(); // only this clone
/// assert!(tx.try_send(1).unwrap_err().is_closed());
/// tx2.send(2).await.unwrap();
/// assert_eq!(rx.recv().await, Ok(2));
/// # });
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
    // Ordering: only this handle's own closed state; the stream's counts are under the lock.
    closed: AtomicBool,
    // The item kept by `Sink::start_send`. Only touched through `&mut self` (`get_mut`, no
    // locking); the mutex is there so that `Sender<T>` is `Sync` for any `T: Send`.
    sink: std::sync::Mutex<Option<SendOp<T>>>,
}

// Items are never pinned.
impl<T> Unpin for Sender<T> {}

impl<T> Sender<T> {
    pub(crate) fn new(chan: Arc<Chan<T>>) -> Self {
        Sender { chan, closed: AtomicBool::new(false), sink: std::sync::Mutex::new(None) }
    }

    /// Sends `item`, waiting for room in the buffer (or, for a rendezvous, for a receiver).
    /// Senders are served in the order they started waiting.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] if this sender is closed, [`SendError::Broken`] if every receiver
    /// is gone (also when that happens while waiting); the item is given back.
    ///
    /// # Cancel safety
    ///
    /// A checkpoint: inside a cancelled scope it does not complete and sends nothing. Dropping
    /// a send that has not completed withdraws its item (it is dropped with the future):
    ///
    /// - buffered stream: the item is never delivered. A blocked sender waits for room; its
    ///   item enters the buffer only in the poll that returns `Ok` (as with tokio's bounded
    ///   channel), and a slot granted to a dropped send goes to the next blocked sender.
    /// - rendezvous: an item no receiver has taken is never delivered. If a receiver took it
    ///   just before the drop, the receiver keeps it although the send never reported
    ///   success: a cancellation delivered by drop cannot undo a handoff.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let (tx, rx) = anyscope_core::stream::channel(1);
    /// tx.send("hi").await.unwrap();
    /// assert_eq!(rx.try_recv(), Ok("hi"));
    /// # });
    /// ```
    pub fn send(&self, item: T) -> SendFuture<'_, T> {
        SendFuture { sender: self, op: SendOp::new(item) }
    }

    /// Sends `item` if it can be done without waiting: room in the buffer, or a receiver
    /// already waiting for it, and no other sender waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Closed`], [`TrySendError::Broken`], [`TrySendError::WouldBlock`], each
    /// with the item.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = anyscope_core::stream::channel(0);
    /// assert!(tx.try_send(1).unwrap_err().is_would_block()); // nobody is receiving
    /// ```
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        if self.is_closed() {
            return Err(TrySendError::Closed(item));
        }
        let mut wakers = crate::sync::queue::Wakers::default();
        let out = {
            let mut s = self.chan.lock();
            if s.receivers == 0 {
                Err(TrySendError::Broken(item))
            } else {
                s.try_push(item, &mut wakers).map_err(TrySendError::WouldBlock)
            }
        };
        wakers.wake();
        out
    }

    /// Closes this clone (AnyIO's `close`). When it was the last open sender, receivers get
    /// end-of-stream once the buffer is drained. An item the [`Sink`] keeps is withdrawn (a
    /// buffer slot granted to it goes to the next sender): the next `poll_flush` returns it
    /// as [`SendError::Closed`], unless a receiver had already taken it. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let (tx, rx) = anyscope_core::stream::channel::<u8>(1);
    /// tx.close();
    /// assert!(rx.recv().await.unwrap_err().is_end_of_stream());
    /// # });
    /// ```
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            // An item kept by the `Sink` leaves the queue now (a buffer slot granted to it goes
            // to the next sender instead of waiting for this closed clone to be polled again);
            // the next `poll_flush` returns it as `Closed`, unless a receiver had taken it.
            let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
            if sink.as_mut().is_some_and(|op| !op.unqueue(&self.chan)) {
                *sink = None;
            }
            drop(sink);
            self.chan.close_sender();
        }
    }

    /// Whether this clone is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = anyscope_core::stream::channel::<u8>(1);
    /// tx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// A snapshot of the stream's state.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = anyscope_core::stream::channel::<u8>(3);
    /// assert_eq!(tx.statistics().max_buffer_size, 3);
    /// ```
    pub fn statistics(&self) -> ChannelStatistics {
        ChannelStatistics::of(&self.chan.lock())
    }
}

impl<T> Sender<T> {
    fn sink_mut(&mut self) -> &mut Option<SendOp<T>> {
        self.sink.get_mut().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let clone = Sender::new(Arc::clone(&self.chan));
        if self.is_closed() {
            clone.closed.store(true, Ordering::Release);
        } else {
            self.chan.add_sender();
        }
        clone
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Sender { chan, sink, .. } = self;
        let sink = sink.get_mut().unwrap_or_else(|e| e.into_inner());
        let withdrawn = sink.as_mut().and_then(|op| op.cancel(chan));
        self.close();
        drop(withdrawn);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("closed", &self.is_closed()).field("chan", &self.chan).finish()
    }
}

impl<T> Sink<T> for Sender<T> {
    type Error = SendError<T>;

    /// Completes the item kept by a previous `start_send`, if any. A checkpoint.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }

    /// Sends at once if possible, else keeps the item until the next `poll_ready`/`poll_flush`.
    /// Panics if an item is still kept (`poll_ready` was not called first).
    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        assert!(this.sink_mut().is_none(), "`start_send` called without `poll_ready` completing first");
        match this.try_send(item) {
            Ok(()) => Ok(()),
            Err(TrySendError::WouldBlock(item)) => {
                *this.sink_mut() = Some(SendOp::new(item));
                Ok(())
            }
            Err(TrySendError::Closed(item)) => Err(SendError::Closed(item)),
            Err(TrySendError::Broken(item)) => Err(SendError::Broken(item)),
        }
    }

    /// Waits until the kept item is taken. A checkpoint; cancelled, the item stays kept.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let closed = this.is_closed();
        let Sender { chan, sink, .. } = this;
        let sink = sink.get_mut().unwrap_or_else(|e| e.into_inner());
        let Some(op) = sink else { return Poll::Ready(Ok(())) };
        let out = ready!(op.poll(chan, closed, cx));
        *sink = None;
        Poll::Ready(out)
    }

    /// Flushes, then closes this clone.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.as_mut().poll_flush(cx))?;
        self.close();
        Poll::Ready(Ok(()))
    }
}

/// The future of [`Sender::send`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let (tx, rx) = anyscope_core::stream::channel(1);
/// let fut: anyscope_core::stream::SendFuture<'_, u8> = tx.send(1);
/// fut.await.unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    op: SendOp<T>,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.op.poll(&this.sender.chan, this.sender.is_closed(), cx)
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        // The withdrawn item is dropped here, with no lock held.
        drop(self.op.cancel(&self.sender.chan));
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").field("blocked", &self.op.is_queued()).finish_non_exhaustive()
    }
}
