//! The pool's state under its one lock: the idle objects, the slot count and the FIFO queue of
//! waiting acquires.
//!
//! Invariants, all under the lock:
//!
//! - `size` counts the live objects (idle, checked out, being recycled or closed) and the slots
//!   reserved for a create in progress; `size <= max_size` always.
//! - `in_use` counts what holders have: checked-out objects, and slots reserved by an acquire
//!   that is creating an object. The background refill's slot is in `size` only.
//! - A waiter is in `waiters` (no turn yet, waker stored) or in `handed` (given an object or a
//!   slot it has not picked up yet), never both. What is in `handed` counts as in use.
//! - While the pool is open, `waiters` is non-empty only when `idle` is empty and `size ==
//!   max_size`: a returned object or a freed slot goes to the oldest waiter first, and a new
//!   acquire never barges past a waiter.
//!
//! Once `closed`, `idle` holds the objects waiting for the closer to close them.
//!
//! Operations return the waker to wake; callers wake it after unlocking.

use std::collections::VecDeque;
use std::task::Waker;
use std::time::Instant;

use crate::tracker::Token;

/// A pooled object with its tracker token and its ages.
pub(super) struct Entry<T> {
    pub(super) obj: T,
    pub(super) token: Token,
    pub(super) created: Instant,
    pub(super) idle_since: Instant,
}

/// What an acquire gets its turn with: an idle object, or a slot to create one in.
pub(super) enum Turn<T> {
    Idle(Entry<T>),
    Slot,
}

struct Waiter {
    id: u64,
    waker: Waker,
}

pub(super) struct State<T> {
    pub(super) idle: VecDeque<Entry<T>>,
    pub(super) size: usize,
    pub(super) in_use: usize,
    pub(super) closed: bool,
    /// Closes under way: while there is one, objects that come back after the close are put
    /// in `idle` for it to close (not handed to the frame: it may be the closer's own).
    pub(super) closers: usize,
    max_size: usize,
    waiters: VecDeque<Waiter>,
    handed: Vec<(u64, Turn<T>)>,
    next_id: u64,
    /// When the pool's deadline timer is armed for (see `alarm.rs`); `None`: not armed, or
    /// fired and not re-armed yet.
    pub(super) alarm_at: Option<Instant>,
    /// The timer fired and no head has re-armed it yet: a head that leaves the queue wakes
    /// the next one to take the timer over.
    pub(super) duty: bool,
}

impl<T> State<T> {
    pub(super) fn new(max_size: usize) -> Self {
        State {
            idle: VecDeque::new(),
            size: 0,
            in_use: 0,
            closed: false,
            closers: 0,
            max_size,
            waiters: VecDeque::new(),
            handed: Vec::new(),
            next_id: 0,
            alarm_at: None,
            duty: false,
        }
    }

    pub(super) fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// A turn without waiting, if no one waits before us: the most recently returned idle
    /// object, or a free slot.
    pub(super) fn take_turn(&mut self) -> Option<Turn<T>> {
        if !self.waiters.is_empty() {
            return None;
        }
        if let Some(entry) = self.idle.pop_back() {
            self.in_use += 1;
            return Some(Turn::Idle(entry));
        }
        if self.size < self.max_size {
            self.size += 1;
            self.in_use += 1;
            return Some(Turn::Slot);
        }
        None
    }

    /// Whether waiter `id` is the oldest one (the one whose deadline is the earliest).
    pub(super) fn is_head(&self, id: u64) -> bool {
        self.waiters.front().is_some_and(|w| w.id == id)
    }

    /// The oldest waiter's waker.
    pub(super) fn head_waker(&self) -> Option<Waker> {
        self.waiters.front().map(|w| w.waker.clone())
    }

    /// The waker of the head to take the deadline timer over, when it fired and was not
    /// re-armed (see `alarm.rs`): called after a head left the queue. (Never in a pool whose
    /// waiters have no deadline: the timer is then never armed, and never fires.)
    pub(super) fn duty_waker(&self) -> Option<Waker> {
        if self.duty { self.head_waker() } else { None }
    }

    /// Queues a waiter at the back; returns its id.
    pub(super) fn enqueue(&mut self, waker: Waker) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.waiters.push_back(Waiter { id, waker });
        id
    }

    /// The turn handed to waiter `id`, if any; else refreshes its waker.
    pub(super) fn poll_waiter(&mut self, id: u64, waker: &Waker) -> Option<Turn<T>> {
        if let Some(i) = self.handed.iter().position(|(h, _)| *h == id) {
            return Some(self.handed.swap_remove(i).1);
        }
        if let Some(w) = self.waiters.iter_mut().find(|w| w.id == id) {
            if !w.waker.will_wake(waker) {
                w.waker = waker.clone();
            }
        }
        None
    }

    /// Removes waiter `id`; returns what it had been handed, if anything.
    pub(super) fn leave(&mut self, id: u64) -> Option<Turn<T>> {
        if let Some(i) = self.waiters.iter().position(|w| w.id == id) {
            self.waiters.remove(i);
            return None;
        }
        let i = self.handed.iter().position(|(h, _)| *h == id)?;
        Some(self.handed.swap_remove(i).1)
    }

    /// The wakers of every waiter (the pool is closing: they fail when polled).
    pub(super) fn waiter_wakers(&self) -> Vec<Waker> {
        self.waiters.iter().map(|w| w.waker.clone()).collect()
    }

    /// A checked-out object comes back: to the oldest waiter, else to the idle set. `Err` gives
    /// it back when the pool is closed (the caller closes it; it still counts as in use).
    pub(super) fn put(&mut self, entry: Entry<T>) -> Result<Option<Waker>, Entry<T>> {
        if self.closed {
            return Err(entry);
        }
        if let Some(w) = self.waiters.pop_front() {
            self.handed.push((w.id, Turn::Idle(entry)));
            return Ok(Some(w.waker));
        }
        self.in_use -= 1;
        self.idle.push_back(entry);
        Ok(None)
    }

    /// A new object made by the refill (in `size`, not in use) joins the pool. `Err` when
    /// the pool is closed.
    pub(super) fn add(&mut self, entry: Entry<T>) -> Result<Option<Waker>, Entry<T>> {
        if self.closed {
            return Err(entry);
        }
        if let Some(w) = self.waiters.pop_front() {
            self.in_use += 1;
            self.handed.push((w.id, Turn::Idle(entry)));
            return Ok(Some(w.waker));
        }
        self.idle.push_back(entry);
        Ok(None)
    }

    /// A slot is freed (its object was closed or detached, or its create failed): to the
    /// oldest waiter while the pool is open, else the size shrinks.
    pub(super) fn free_slot(&mut self, was_in_use: bool) -> Option<Waker> {
        if was_in_use {
            self.in_use -= 1;
        }
        if !self.closed {
            if let Some(w) = self.waiters.pop_front() {
                self.in_use += 1;
                self.handed.push((w.id, Turn::Slot));
                return Some(w.waker);
            }
        }
        self.size -= 1;
        None
    }

    /// A holder that closed its object keeps the slot: it takes an idle object instead if
    /// there is one (the slot is freed), else it keeps the slot to create one. `None` if the
    /// pool is closed (the slot is freed).
    pub(super) fn reuse_slot(&mut self) -> Option<Turn<T>> {
        if self.closed {
            self.in_use -= 1;
            self.size -= 1;
            return None;
        }
        match self.idle.pop_back() {
            Some(entry) => {
                self.size -= 1;
                Some(Turn::Idle(entry))
            }
            None => Some(Turn::Slot),
        }
    }
}

impl<T> State<T> {
    /// The most recently returned idle object, if no one waits before us (no slot is taken:
    /// for `try_acquire`, which cannot create).
    pub(super) fn take_idle(&mut self) -> Option<Entry<T>> {
        if !self.waiters.is_empty() {
            return None;
        }
        let entry = self.idle.pop_back()?;
        self.in_use += 1;
        Some(entry)
    }
}
