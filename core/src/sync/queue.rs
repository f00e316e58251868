//! The FIFO waiter queue behind [`Mutex`](super::Mutex), [`Semaphore`](super::Semaphore),
//! [`CapacityLimiter`](super::CapacityLimiter), [`Condition`](super::Condition) and the memory
//! streams' blocked senders and receivers.
//!
//! # Invariants
//!
//! - The queue lives inside the primitive's `std::sync::Mutex`; every method here runs with that
//!   lock held, and never wakes anything: wakers are returned to the caller, who wakes them after
//!   unlocking.
//! - Ids increase in push order, so the entries are sorted by id and found by binary search.
//! - Grants go in queue order, so the granted entries are always a prefix of the queue (removing
//!   entries keeps it a prefix). `granted` is that prefix's length; the entry at `granted` is the
//!   oldest waiter still waiting.
//! - A granted entry already owns what it was granted (a permit, a token, a notification); its
//!   future takes it on its next poll, or gives it back (to the next waiter) when dropped.

use std::collections::VecDeque;
use std::task::Waker;

/// One waiting future.
#[derive(Debug)]
pub(crate) struct Entry<D> {
    pub(crate) id: u64,
    pub(crate) waker: Option<Waker>,
    pub(crate) granted: bool,
    /// What the waiter asks for (a number of permits, a borrower).
    pub(crate) data: D,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct WaitQueue<D> {
    entries: VecDeque<Entry<D>>,
    granted: usize,
    next_id: u64,
}

impl<D> WaitQueue<D> {
    /// An empty queue.
    pub(crate) const fn new() -> Self {
        WaitQueue { entries: VecDeque::new(), granted: 0, next_id: 0 }
    }

    /// Appends a waiter; returns its id.
    pub(crate) fn push(&mut self, data: D, waker: &Waker) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.entries.push_back(Entry { id, waker: Some(waker.clone()), granted: false, data });
        id
    }

    fn index(&self, id: u64) -> Option<usize> {
        self.entries.binary_search_by_key(&id, |e| e.id).ok()
    }

    /// The entry `id`, if it is still queued.
    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut Entry<D>> {
        let i = self.index(id)?;
        self.entries.get_mut(i)
    }

    /// Removes the entry `id`, granted or not.
    pub(crate) fn remove(&mut self, id: u64) -> Option<Entry<D>> {
        let i = self.index(id)?;
        let entry = self.entries.remove(i)?;
        if entry.granted {
            self.granted -= 1;
        }
        Some(entry)
    }

    /// The oldest waiter that has not been granted yet.
    pub(crate) fn next_waiting(&self) -> Option<&Entry<D>> {
        self.entries.get(self.granted)
    }

    /// Grants the oldest waiting entry; returns its waker, to wake after unlocking.
    pub(crate) fn grant_next(&mut self) -> Option<Waker> {
        let entry = self.entries.get_mut(self.granted)?;
        entry.granted = true;
        self.granted += 1;
        entry.waker.take()
    }

    /// Withdraws the grant of the most recently granted entry (it goes back to waiting, keeping
    /// its place). Used when what it was granted disappeared (a channel item withdrawn).
    /// Grants the oldest waiting entry if `admit` accepts its data: `Some` of its waker, `None`
    /// when nobody waits or `admit` refused. One lookup where `next_waiting` + `grant_next`
    /// take two.
    #[inline]
    pub(crate) fn grant_next_if(&mut self, admit: impl FnOnce(&D) -> bool) -> Option<Option<Waker>> {
        let entry = self.entries.get_mut(self.granted)?;
        if !admit(&entry.data) {
            return None;
        }
        entry.granted = true;
        self.granted += 1;
        Some(entry.waker.take())
    }

    pub(crate) fn ungrant_last(&mut self) {
        if self.granted > 0 {
            self.granted -= 1;
            self.entries[self.granted].granted = false;
        }
    }

    /// Removes the oldest entry (used by queues that never grant).
    pub(crate) fn pop_front(&mut self) -> Option<Entry<D>> {
        let entry = self.entries.pop_front()?;
        if entry.granted {
            self.granted -= 1;
        }
        Some(entry)
    }

    /// The number of queued entries, granted or not.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The number of entries still waiting (not granted).
    pub(crate) fn waiting(&self) -> usize {
        self.entries.len() - self.granted
    }

    /// The number of granted entries whose futures have not taken their grant yet.
    pub(crate) fn granted(&self) -> usize {
        self.granted
    }

    /// Every queued entry's waker (to wake them all, e.g. on close).
    pub(crate) fn take_all_wakers(&mut self, out: &mut Wakers) {
        out.extend(self.entries.iter_mut().filter_map(|e| e.waker.take()));
    }

    /// Whether any queued entry satisfies `f`.
    pub(crate) fn any(&self, mut f: impl FnMut(&D) -> bool) -> bool {
        self.entries.iter().any(|e| f(&e.data))
    }
}

/// Stores `waker` in `slot` unless it would wake the same task.
pub(crate) fn set_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// The wakers collected under a lock, woken after it is released. The first one is kept inline
/// (an operation wakes one waiter most of the time), so that collecting it allocates nothing.
#[derive(Default)]
pub(crate) struct Wakers {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Wakers {
    #[inline]
    pub(crate) fn push(&mut self, waker: Waker) {
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.push(waker);
        }
    }

    /// Wakes them all (call with no lock held).
    // Inlined: most calls wake one waiter or none, and the call cost as much as the test.
    #[inline]
    pub(crate) fn wake(self) {
        if let Some(w) = self.first {
            w.wake();
        }
        if !self.rest.is_empty() {
            Self::wake_rest(self.rest);
        }
    }

    #[cold]
    fn wake_rest(rest: Vec<Waker>) {
        for w in rest {
            w.wake();
        }
    }
}

impl Extend<Waker> for Wakers {
    fn extend<I: IntoIterator<Item = Waker>>(&mut self, iter: I) {
        for w in iter {
            self.push(w);
        }
    }
}
