//! The shared state of a memory object stream and the two operations on it.
//!
//! # Model
//!
//! *Buffered* (`capacity > 0`), as tokio's bounded channel: a blocked sender waits for *room*,
//! not for a receiver. When room frees up, the oldest blocked sender is granted a slot
//! (`reserved`), and on its next poll it puts its item in the buffer and completes. So the item
//! enters the stream in the same poll that reports success: a send that is cancelled (dropped)
//! before completing never delivers its item, and a slot granted to it goes to the next sender.
//!
//! *Rendezvous* (`capacity == 0`): there is no room to wait for, so a blocked sender's item
//! (kept in its `send_q` entry) is offered to receivers directly, and the send completes when a
//! receiver takes it; a sender whose entry is gone without its own doing knows its item was
//! taken. Dropped before that, the item is withdrawn; dropped after, it stays delivered (the
//! receiver has it) — the one case where a cancelled send has delivered.
//!
//! The items a receiver can take (`available`) are the `buffer`, then, in a rendezvous, the
//! blocked senders' items. Waiting receivers are queued in `recv_q`; a *granted* receiver has
//! been promised one of them. Invariants (under the lock):
//!
//! - `recv_q.granted() <= available`: every promise is backed by an item ([`Inner::withdraw`]
//!   takes back the newest promise when a rendezvous item backing it is withdrawn);
//! - if some item is unpromised, no receiver waits unpromised ([`Inner::promise`] runs after
//!   every change that adds an item or frees a promise);
//! - `buffer.len() + reserved <= capacity` except for items handed to waiting receivers (below),
//!   and while there is room no sender waits ungranted ([`Inner::grant_senders`]);
//! - a newcomer (a new `recv`, `try_recv`) takes only an unpromised item, and a new sender takes
//!   the fast path only when no sender waits ungranted: FIFO on both sides, no barging;
//! - the fast path also completes a send when an unpromised receiver waits: the item goes to the
//!   buffer and is promised to it at once (AnyIO hands it over the same way). If that receiver is
//!   then cancelled, the item stays at the head of the buffer for the next receiver: only such
//!   items make the buffer hold more than its capacity;
//! - an item leaves the stream only in the poll of a receive that returns it: a cancelled
//!   receive loses nothing.
//! - No user code runs under the lock: items dropped by the channel (a withdrawn send of a
//!   dropped sender, the buffer discarded when the last receiver closes) are dropped after it is
//!   released, and wakers are woken after it.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use super::error::{RecvError, SendError};
use crate::frame;
use crate::sync::queue::{WaitQueue, Wakers, set_waker};

pub(crate) struct Chan<T> {
    inner: Mutex<Inner<T>>,
}

pub(crate) struct Inner<T> {
    pub(crate) buffer: VecDeque<T>,
    pub(crate) capacity: usize,
    /// Buffer slots granted to blocked senders that have not filled them yet.
    reserved: usize,
    pub(crate) senders: usize,
    pub(crate) receivers: usize,
    pub(crate) send_q: WaitQueue<T>,
    pub(crate) recv_q: WaitQueue<()>,
}

impl<T> Inner<T> {
    fn rendezvous(&self) -> bool {
        self.capacity == 0
    }

    fn available(&self) -> usize {
        self.buffer.len() + if self.rendezvous() { self.send_q.len() } else { 0 }
    }

    fn unpromised(&self) -> usize {
        self.available() - self.recv_q.granted()
    }

    /// Promises unpromised items to the oldest waiting receivers.
    pub(crate) fn promise(&mut self, wakers: &mut Wakers) {
        while self.recv_q.granted() < self.available() && self.recv_q.next_waiting().is_some() {
            if let Some(w) = self.recv_q.grant_next() {
                wakers.push(w);
            }
        }
    }

    /// Grants free buffer slots to the oldest blocked senders (buffered streams only).
    fn grant_senders(&mut self, wakers: &mut Wakers) {
        while self.buffer.len() + self.reserved < self.capacity && self.send_q.next_waiting().is_some() {
            self.reserved += 1;
            if let Some(w) = self.send_q.grant_next() {
                wakers.push(w);
            }
        }
    }

    /// Takes the next item (there is one).
    fn take(&mut self, wakers: &mut Wakers) -> T {
        let item = match self.buffer.pop_front() {
            Some(item) => item,
            None => {
                // A rendezvous: straight from the oldest blocked sender, which completes.
                let entry = self.send_q.pop_front().expect("an item is available");
                wakers.extend(entry.waker);
                entry.data
            }
        };
        self.grant_senders(wakers);
        self.wake_if_ended(wakers);
        item
    }

    /// When the last item of an ended stream is gone, waiting receivers learn it.
    fn wake_if_ended(&mut self, wakers: &mut Wakers) {
        if self.ended() {
            self.recv_q.take_all_wakers(wakers);
        }
    }

    /// Removes a blocked sender's entry and returns its item; gives back what it held (a
    /// granted slot, or the backing of a promise).
    fn withdraw(&mut self, id: u64, wakers: &mut Wakers) -> Option<T> {
        let entry = self.send_q.remove(id)?;
        if entry.granted {
            self.reserved -= 1;
            self.grant_senders(wakers);
        }
        if self.recv_q.granted() > self.available() {
            self.recv_q.ungrant_last();
        }
        self.wake_if_ended(wakers);
        Some(entry.data)
    }

    /// The fast path of a send: into the buffer if there is room or a receiver waits.
    pub(crate) fn try_push(&mut self, item: T, wakers: &mut Wakers) -> Result<(), T> {
        let room = self.buffer.len() + self.reserved < self.capacity;
        if self.send_q.waiting() == 0 && (room || self.recv_q.waiting() > 0) {
            self.buffer.push_back(item);
            self.promise(wakers);
            Ok(())
        } else {
            Err(item)
        }
    }

    /// The fast path of a receive by a newcomer: an unpromised item.
    pub(crate) fn try_take(&mut self, wakers: &mut Wakers) -> Option<T> {
        if self.unpromised() > 0 { Some(self.take(wakers)) } else { None }
    }

    /// Whether the stream has ended for a receiver holding no promise.
    pub(crate) fn ended(&self) -> bool {
        self.senders == 0 && self.available() == 0
    }
}

impl<T> Chan<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Chan {
            inner: Mutex::new(Inner {
                buffer: VecDeque::new(),
                capacity,
                reserved: 0,
                senders: 1,
                receivers: 1,
                send_q: WaitQueue::new(),
                recv_q: WaitQueue::new(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // No user code runs under this lock.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A sender handle closes. The last one ends the stream for waiting receivers.
    pub(crate) fn close_sender(&self) {
        let mut wakers = Wakers::default();
        {
            let mut s = self.lock();
            s.senders -= 1;
            // Wake everything: the last close ends the stream, any close fails that clone's sends.
            s.recv_q.take_all_wakers(&mut wakers);
            s.send_q.take_all_wakers(&mut wakers);
        }
        wakers.wake();
    }

    /// A receiver handle closes. The last one discards the buffer and fails blocked senders.
    pub(crate) fn close_receiver(&self) {
        let mut wakers = Wakers::default();
        let discarded = {
            let mut s = self.lock();
            s.receivers -= 1;
            s.recv_q.take_all_wakers(&mut wakers);
            s.send_q.take_all_wakers(&mut wakers);
            if s.receivers == 0 { std::mem::take(&mut s.buffer) } else { VecDeque::new() }
        };
        wakers.wake();
        drop(discarded);
    }

    pub(crate) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    pub(crate) fn add_receiver(&self) {
        self.lock().receivers += 1;
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("Chan")
            .field("buffered", &s.buffer.len())
            .field("capacity", &s.capacity)
            .field("senders", &s.senders)
            .field("receivers", &s.receivers)
            .finish_non_exhaustive()
    }
}

/// One send: the item until it is queued, then the queue entry's id.
pub(crate) struct SendOp<T> {
    item: Option<T>,
    id: Option<u64>,
}

impl<T> SendOp<T> {
    pub(crate) fn new(item: T) -> Self {
        SendOp { item: Some(item), id: None }
    }

    /// Polls the send. A checkpoint: in a cancelled scope it is `Pending` and changes nothing.
    pub(crate) fn poll(
        &mut self,
        chan: &Chan<T>,
        closed: bool,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<T>>> {
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut wakers = Wakers::default();
        let out = {
            let mut s = chan.lock();
            match self.id {
                None => {
                    let item = self.item.take().expect("`SendOp` polled after completion");
                    if closed {
                        Poll::Ready(Err(SendError::Closed(item)))
                    } else if s.receivers == 0 {
                        Poll::Ready(Err(SendError::Broken(item)))
                    } else {
                        match s.try_push(item, &mut wakers) {
                            Ok(()) => Poll::Ready(Ok(())),
                            Err(item) => {
                                self.id = Some(s.send_q.push(item, cx.waker()));
                                // In a rendezvous, the item is now available to receivers.
                                s.promise(&mut wakers);
                                Poll::Pending
                            }
                        }
                    }
                }
                Some(id) => match s.send_q.get_mut(id).map(|e| e.granted) {
                    None => {
                        // A rendezvous item taken by a receiver: sent.
                        self.id = None;
                        Poll::Ready(Ok(()))
                    }
                    Some(_) if closed || s.receivers == 0 => {
                        self.id = None;
                        let item = s.withdraw(id, &mut wakers).expect("checked above");
                        let err = if closed { SendError::Closed(item) } else { SendError::Broken(item) };
                        Poll::Ready(Err(err))
                    }
                    Some(true) => {
                        // Granted a buffer slot: fill it, in this very poll.
                        self.id = None;
                        let entry = s.send_q.remove(id).expect("checked above");
                        s.reserved -= 1;
                        s.buffer.push_back(entry.data);
                        s.promise(&mut wakers);
                        Poll::Ready(Ok(()))
                    }
                    Some(false) => {
                        let entry = s.send_q.get_mut(id).expect("checked above");
                        set_waker(&mut entry.waker, cx.waker());
                        Poll::Pending
                    }
                },
            }
        };
        wakers.wake();
        out
    }

    /// Withdraws a blocked send; returns the item if it had not been taken (drop it with no
    /// lock held). Never panics.
    pub(crate) fn cancel(&mut self, chan: &Chan<T>) -> Option<T> {
        let id = self.id.take()?;
        let mut wakers = Wakers::default();
        let item = chan.lock().withdraw(id, &mut wakers);
        wakers.wake();
        item
    }

    /// Takes a blocked send out of the queue but keeps its item, so that the next poll reports
    /// on it (its sender closed: `Closed`); a buffer slot granted to it goes to the next sender.
    /// `false` if it holds no item any more: a receiver had taken it (a rendezvous handoff), so
    /// it was sent. Never panics.
    pub(crate) fn unqueue(&mut self, chan: &Chan<T>) -> bool {
        if self.id.is_none() {
            return self.item.is_some();
        }
        match self.cancel(chan) {
            Some(item) => {
                self.item = Some(item);
                true
            }
            None => false,
        }
    }

    /// Whether the send is still in progress (queued).
    pub(crate) fn is_queued(&self) -> bool {
        self.id.is_some()
    }
}

/// One receive: not queued yet, or queued under an id.
#[derive(Debug, Default)]
pub(crate) struct RecvOp {
    id: Option<u64>,
}

impl RecvOp {
    /// Polls the receive. A checkpoint: in a cancelled scope it is `Pending` and takes nothing.
    pub(crate) fn poll<T>(
        &mut self,
        chan: &Chan<T>,
        closed: bool,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, RecvError>> {
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut wakers = Wakers::default();
        let out = {
            let mut s = chan.lock();
            match self.id {
                None => {
                    if closed {
                        Poll::Ready(Err(RecvError::Closed))
                    } else if let Some(item) = s.try_take(&mut wakers) {
                        Poll::Ready(Ok(item))
                    } else if s.ended() {
                        Poll::Ready(Err(RecvError::EndOfStream))
                    } else {
                        self.id = Some(s.recv_q.push((), cx.waker()));
                        // Items may all be promised; this receiver waits its turn.
                        s.promise(&mut wakers);
                        Poll::Pending
                    }
                }
                Some(id) => {
                    let entry = s.recv_q.get_mut(id).expect("a queued receiver stays queued until it leaves");
                    let granted = entry.granted;
                    let ended = s.ended();
                    if closed {
                        self.leave(&mut s, &mut wakers);
                        Poll::Ready(Err(RecvError::Closed))
                    } else if granted {
                        s.recv_q.remove(id);
                        self.id = None;
                        Poll::Ready(Ok(s.take(&mut wakers)))
                    } else if ended {
                        self.leave(&mut s, &mut wakers);
                        Poll::Ready(Err(RecvError::EndOfStream))
                    } else {
                        let entry = s.recv_q.get_mut(id).expect("checked above");
                        set_waker(&mut entry.waker, cx.waker());
                        Poll::Pending
                    }
                }
            }
        };
        wakers.wake();
        out
    }

    /// Leaves the queue, passing a promise on.
    fn leave<T>(&mut self, s: &mut Inner<T>, wakers: &mut Wakers) {
        if let Some(id) = self.id.take() {
            s.recv_q.remove(id);
            s.promise(wakers);
        }
    }

    /// Leaves the queue; an item promised to it goes to the next waiting receiver, or stays
    /// at the head of the stream. Never panics.
    pub(crate) fn cancel<T>(&mut self, chan: &Chan<T>) {
        if self.id.is_none() {
            return;
        }
        let mut wakers = Wakers::default();
        self.leave(&mut chan.lock(), &mut wakers);
        wakers.wake();
    }
}
