//! The errors of memory object streams. Each says which case it is, and those of a send give
//! the item back.

use std::error::Error;
use std::fmt;

/// Why [`Sender::send`](super::Sender::send) failed; the item is given back.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::stream::{channel, SendError};
/// let (tx, rx) = channel::<i32>(1);
/// drop(rx);
/// let err = tx.send(7).await.unwrap_err();
/// assert!(err.is_broken());
/// assert_eq!(err.into_inner(), 7);
/// # });
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError<T> {
    /// This sender (the clone used) was closed (AnyIO's `ClosedResourceError`).
    Closed(T),
    /// Every receiver is closed or dropped: nobody can ever receive the item (AnyIO's
    /// `BrokenResourceError`).
    Broken(T),
}

impl<T> SendError<T> {
    /// The item that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::stream::SendError::Closed(1).into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendError::Closed(t) | SendError::Broken(t) => t,
        }
    }

    /// Whether this sender was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::SendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, SendError::Closed(_))
    }

    /// Whether every receiver is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::SendError::Broken(()).is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        matches!(self, SendError::Broken(_))
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("Closed(..)"),
            SendError::Broken(_) => f.write_str("Broken(..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("sending on a closed sender"),
            SendError::Broken(_) => f.write_str("sending on a stream whose receivers are all gone"),
        }
    }
}

impl<T> Error for SendError<T> {}

/// Why [`Sender::try_send`](super::Sender::try_send) failed; the item is given back.
///
/// # Examples
///
/// ```
/// use anyscope_core::stream::{channel, TrySendError};
/// let (tx, _rx) = channel::<i32>(1);
/// tx.try_send(1).unwrap();
/// let err = tx.try_send(2).unwrap_err();
/// assert!(err.is_would_block());
/// assert_eq!(err.into_inner(), 2);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrySendError<T> {
    /// This sender was closed.
    Closed(T),
    /// Every receiver is gone.
    Broken(T),
    /// The buffer is full (or, for a rendezvous, no receiver is waiting), or other senders are
    /// already waiting (no barging).
    WouldBlock(T),
}

impl<T> TrySendError<T> {
    /// The item that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::stream::TrySendError::WouldBlock(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Closed(t) | TrySendError::Broken(t) | TrySendError::WouldBlock(t) => t,
        }
    }

    /// Whether this sender was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }

    /// Whether every receiver is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::TrySendError::Broken(()).is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        matches!(self, TrySendError::Broken(_))
    }

    /// Whether sending would have had to wait.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::TrySendError::WouldBlock(()).is_would_block());
    /// ```
    pub fn is_would_block(&self) -> bool {
        matches!(self, TrySendError::WouldBlock(_))
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        match e {
            SendError::Closed(t) => TrySendError::Closed(t),
            SendError::Broken(t) => TrySendError::Broken(t),
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
            TrySendError::Broken(_) => f.write_str("Broken(..)"),
            TrySendError::WouldBlock(_) => f.write_str("WouldBlock(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Closed(_) => f.write_str("sending on a closed sender"),
            TrySendError::Broken(_) => f.write_str("sending on a stream whose receivers are all gone"),
            TrySendError::WouldBlock(_) => f.write_str("sending would block"),
        }
    }
}

impl<T> Error for TrySendError<T> {}

/// Why [`Receiver::recv`](super::Receiver::recv) failed.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::stream::{channel, RecvError};
/// let (tx, rx) = channel::<i32>(1);
/// drop(tx);
/// assert_eq!(rx.recv().await, Err(RecvError::EndOfStream));
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvError {
    /// This receiver (the clone used) was closed (AnyIO's `ClosedResourceError`).
    Closed,
    /// The buffer is empty and every sender is closed or dropped: no item will ever come
    /// (AnyIO's `EndOfStream`).
    EndOfStream,
}

impl RecvError {
    /// Whether this receiver was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::RecvError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, RecvError::Closed)
    }

    /// Whether the stream ended.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::RecvError::EndOfStream.is_end_of_stream());
    /// ```
    pub fn is_end_of_stream(&self) -> bool {
        matches!(self, RecvError::EndOfStream)
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvError::Closed => "receiving on a closed receiver",
            RecvError::EndOfStream => "end of stream: the buffer is empty and every sender is gone",
        })
    }
}

impl Error for RecvError {}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) failed.
///
/// # Examples
///
/// ```
/// use anyscope_core::stream::{channel, TryRecvError};
/// let (_tx, rx) = channel::<i32>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRecvError {
    /// This receiver was closed.
    Closed,
    /// The buffer is empty and every sender is gone.
    EndOfStream,
    /// No item is available now (or those available are promised to tasks already waiting).
    WouldBlock,
}

impl TryRecvError {
    /// Whether this receiver was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::TryRecvError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TryRecvError::Closed)
    }

    /// Whether the stream ended.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::TryRecvError::EndOfStream.is_end_of_stream());
    /// ```
    pub fn is_end_of_stream(&self) -> bool {
        matches!(self, TryRecvError::EndOfStream)
    }

    /// Whether receiving would have had to wait.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyscope_core::stream::TryRecvError::WouldBlock.is_would_block());
    /// ```
    pub fn is_would_block(&self) -> bool {
        matches!(self, TryRecvError::WouldBlock)
    }
}

impl From<RecvError> for TryRecvError {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::Closed => TryRecvError::Closed,
            RecvError::EndOfStream => TryRecvError::EndOfStream,
        }
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Closed => "receiving on a closed receiver",
            TryRecvError::EndOfStream => "end of stream: the buffer is empty and every sender is gone",
            TryRecvError::WouldBlock => "receiving would block",
        })
    }
}

impl Error for TryRecvError {}
