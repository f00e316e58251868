//! Creating a memory object stream, and its statistics.

use std::sync::Arc;

use super::receiver::Receiver;
use super::sender::Sender;
use super::state::{Chan, Inner};

/// Creates a memory object stream (AnyIO's `create_memory_object_stream`) holding up to
/// `capacity` items; returns its two ends.
///
/// With `capacity == 0` it is a *rendezvous*: a send completes only when a receiver takes the
/// item (or is handed it because it was already waiting). For an unbounded stream, pass
/// `usize::MAX` (the buffer grows as needed; nothing is allocated up front).
///
/// Both ends clone; an end is closed when every clone of it is closed or dropped. Then the
/// other side learns it: receivers get [`RecvError::EndOfStream`](super::RecvError) once the
/// buffer is empty, senders get [`SendError::Broken`](super::SendError) with their item back
/// (and the buffered items are dropped, as nobody can receive them).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::stream::channel;
/// let (tx, rx) = channel(4);
/// let producer = anyscope_core::spawn(async move {
///     for i in 0..10 {
///         tx.send(i).await.unwrap();
///     }
///     // `tx` dropped here: the stream ends once drained.
/// });
/// let mut got = Vec::new();
/// while let Ok(i) = rx.recv().await {
///     got.push(i);
/// }
/// producer.await.unwrap();
/// assert_eq!(got, (0..10).collect::<Vec<_>>());
/// # });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(capacity));
    (Sender::new(Arc::clone(&chan)), Receiver::new(chan))
}

/// A snapshot of a stream's state (AnyIO's `MemoryObjectStreamStatistics`), from either end.
///
/// # Examples
///
/// ```
/// let (tx, rx) = anyscope_core::stream::channel::<u8>(2);
/// tx.try_send(1).unwrap();
/// let s = rx.statistics();
/// assert_eq!((s.current_buffer_used, s.max_buffer_size), (1, 2));
/// assert_eq!((s.open_send_streams, s.open_receive_streams), (1, 1));
/// assert_eq!((s.tasks_waiting_send, s.tasks_waiting_receive), (0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelStatistics {
    /// Items in the buffer. Items handed to waiting receivers that have not run yet are
    /// counted too, so it may briefly exceed the capacity by those (and, if such a receiver is
    /// cancelled, its item stays at the head of the buffer for the next one).
    pub current_buffer_used: usize,
    /// The capacity given to [`channel`].
    pub max_buffer_size: usize,
    /// Open sender clones.
    pub open_send_streams: usize,
    /// Open receiver clones.
    pub open_receive_streams: usize,
    /// Sends blocked waiting for room or a receiver.
    pub tasks_waiting_send: usize,
    /// Receives blocked waiting for an item.
    pub tasks_waiting_receive: usize,
}

impl ChannelStatistics {
    pub(crate) fn of<T>(s: &Inner<T>) -> Self {
        ChannelStatistics {
            current_buffer_used: s.buffer.len(),
            max_buffer_size: s.capacity,
            open_send_streams: s.senders,
            open_receive_streams: s.receivers,
            tasks_waiting_send: s.send_q.len(),
            tasks_waiting_receive: s.recv_q.len(),
        }
    }
}
