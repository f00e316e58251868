//! The fair counting semaphore that [`Semaphore`](super::Semaphore) and
//! [`Mutex`](crate::sync::Mutex) are built on.
//!
//! # Invariants (all under `state`'s lock)
//!
//! - `available` permits are free; granted waiters already own theirs (subtracted at grant).
//! - `total` = free + held by guards + granted-but-not-taken: the permits in existence. With a
//!   maximum, `total <= max` always; `add` refuses to exceed it.
//! - No barging: a new acquirer takes permits directly only when no waiter is waiting; otherwise
//!   it queues. Every change that frees permits runs [`State::grant`], which hands them to the
//!   oldest waiters in order, stopping at the first one that does not fit (strict FIFO, as
//!   tokio's semaphore, so a large request is not starved by small ones).
//! - Wakers are collected under the lock and woken after it is released.

use std::task::{Context, Poll, Waker};

use crate::frame;
use crate::sync::error::{AcquireError, MaxPermitsExceeded, TryAcquireError};
use crate::sync::queue::{WaitQueue, set_waker, wake_all};
use crate::sync_shim::{Mutex, MutexGuard};

#[derive(Debug)]
pub(crate) struct RawSemaphore {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    available: usize,
    total: usize,
    max: Option<usize>,
    closed: bool,
    queue: WaitQueue<usize>,
}

impl State {
    /// Hands free permits to the oldest waiters, in order.
    fn grant(&mut self, wakers: &mut Vec<Waker>) {
        while let Some(next) = self.queue.next_waiting() {
            if next.data > self.available {
                break;
            }
            self.available -= next.data;
            if let Some(w) = self.queue.grant_next() {
                wakers.push(w);
            }
        }
    }
}

/// Statistics of a raw semaphore.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawStats {
    pub(crate) available: usize,
    pub(crate) waiting: usize,
    pub(crate) closed: bool,
    pub(crate) max: Option<usize>,
}

impl RawSemaphore {
    pub(crate) const fn new(permits: usize, max: Option<usize>) -> Self {
        RawSemaphore {
            state: Mutex::new(State {
                available: permits,
                total: permits,
                max,
                closed: false,
                queue: WaitQueue::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock; poisoning can only come from an allocation failure.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut s = self.lock();
        if s.closed {
            return Err(TryAcquireError::Closed);
        }
        if s.queue.waiting() == 0 && s.available >= n {
            s.available -= n;
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// Gives `n` held permits back.
    pub(crate) fn release(&self, n: usize) {
        let mut wakers = Vec::new();
        {
            let mut s = self.lock();
            s.available += n;
            s.grant(&mut wakers);
        }
        wake_all(wakers);
    }

    /// Removes `n` held permits from existence (a forgotten permit).
    pub(crate) fn forget_held(&self, n: usize) {
        let mut s = self.lock();
        s.total -= n;
    }

    /// Removes up to `n` free permits; returns how many were removed.
    pub(crate) fn forget_free(&self, n: usize) -> usize {
        let mut s = self.lock();
        let k = n.min(s.available);
        s.available -= k;
        s.total -= k;
        k
    }

    /// Adds `n` new permits.
    pub(crate) fn add(&self, n: usize) -> Result<(), MaxPermitsExceeded> {
        let mut wakers = Vec::new();
        {
            let mut s = self.lock();
            let total = s.total.checked_add(n).ok_or(MaxPermitsExceeded { _priv: () })?;
            if s.max.is_some_and(|m| total > m) {
                return Err(MaxPermitsExceeded { _priv: () });
            }
            s.total = total;
            s.available += n;
            s.grant(&mut wakers);
        }
        wake_all(wakers);
        Ok(())
    }

    pub(crate) fn close(&self) {
        let mut wakers = Vec::new();
        {
            let mut s = self.lock();
            s.closed = true;
            s.queue.take_all_wakers(&mut wakers);
        }
        wake_all(wakers);
    }

    pub(crate) fn stats(&self) -> RawStats {
        let s = self.lock();
        RawStats { available: s.available, waiting: s.queue.waiting(), closed: s.closed, max: s.max }
    }
}

/// The state of one acquisition of `n` permits: not queued yet, or queued under an id.
#[derive(Debug)]
pub(crate) struct AcquireOp {
    pub(crate) n: usize,
    id: Option<u64>,
}

impl AcquireOp {
    pub(crate) const fn new(n: usize) -> Self {
        AcquireOp { n, id: None }
    }

    /// Polls the acquisition. A checkpoint: inside a cancelled scope it is `Pending` and takes
    /// nothing (the scope drops it at once; [`AcquireOp::cancel`] then undoes the queueing).
    pub(crate) fn poll(
        &mut self,
        sem: &RawSemaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if frame::cancelled_here() {
            return Poll::Pending;
        }
        let mut wakers = Vec::new();
        let out = {
            let mut s = sem.lock();
            match self.id {
                None => {
                    if s.closed {
                        Poll::Ready(Err(AcquireError::Closed))
                    } else if s.queue.waiting() == 0 && s.available >= self.n {
                        s.available -= self.n;
                        Poll::Ready(Ok(()))
                    } else {
                        self.id = Some(s.queue.push(self.n, cx.waker()));
                        Poll::Pending
                    }
                }
                Some(id) => {
                    let closed = s.closed;
                    let entry = s.queue.get_mut(id).expect("a queued acquirer stays queued until it leaves");
                    if entry.granted {
                        s.queue.remove(id);
                        self.id = None;
                        Poll::Ready(Ok(()))
                    } else if closed {
                        s.queue.remove(id);
                        self.id = None;
                        // A large request that leaves may unblock the ones behind it.
                        s.grant(&mut wakers);
                        Poll::Ready(Err(AcquireError::Closed))
                    } else {
                        set_waker(&mut entry.waker, cx.waker());
                        Poll::Pending
                    }
                }
            }
        };
        wake_all(wakers);
        out
    }

    /// Leaves the queue; permits already granted go to the next waiters. Never panics.
    pub(crate) fn cancel(&mut self, sem: &RawSemaphore) {
        let Some(id) = self.id.take() else { return };
        let mut wakers = Vec::new();
        {
            let mut s = sem.lock();
            if let Some(entry) = s.queue.remove(id) {
                if entry.granted {
                    s.available += entry.data;
                }
                s.grant(&mut wakers);
            }
        }
        wake_all(wakers);
    }
}
