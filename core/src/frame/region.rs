//! Counted regions: a pending shield, a task group waiting for its tasks, a shielded checkpoint.
//!
//! While such a region is pending, the scopes of its task that enclose it defer their delivery
//! (a scope must not drop a shielded body halfway). Each frame owns a [`RegionCount`]: the
//! regions active *directly* inside it. A region holds a [`RegionTicket`] on the count it
//! raised, and lowers exactly that one, wherever and whenever it ends. A frame with regions
//! active inside it is itself such a region for the frame that encloses it, so the deferral
//! reaches every enclosing frame of the task, one level per frame.
//!
//! # Invariants
//!
//! 1. A count is the number of live tickets that hold it. Only a ticket raises or lowers a
//!    count, each by one, at most once per holding: `raise` lowers what the ticket held before
//!    it raises anew, `lower` empties the ticket, and the ticket's `Drop` lowers what it still
//!    holds (unwinding included). So no count outlives its region, and no region lowers a
//!    count it did not raise.
//! 2. A ticket raised by a poll holds the count of the innermost frame on the thread's stack at
//!    that poll (none outside any frame). Raised again by a later poll under another frame (a
//!    combinator polled it once under one scope and finishes it under another, or it moved to
//!    another task), it moves there: the first frame is released then.
//! 3. After each poll of its body, a frame that is a pending shield, or whose count is not zero,
//!    holds a ticket on its enclosing frame's count (never across the task boundary: a task
//!    root holds none); otherwise it holds none. A frame that ends drops its ticket. So a region
//!    that escaped the frame it was raised in (a body left it pending and returned) defers that
//!    frame only, which has ended: the enclosing frames are free.
//! 4. A frame whose count is not zero after a poll leaves its waker with the count (`defer`),
//!    then re-reads it; a ticket that lowers the count to zero with a waiter stored wakes it.
//!    So a region that ends outside the frame's poll (dropped or finished elsewhere) never
//!    leaves the frame waiting, nor its enclosing frames (invariant 3 is re-established at the
//!    frame's next poll).
//! 5. A frame delivers a cancellation only when its count is zero.
//!
//! # Orderings
//!
//! `active` is read and written with `AcqRel`/`Acquire`; the waiter bit is set under the lock
//! and the decrement that observes it takes the lock before waking, so a waiter stored before
//! the last decrement is always woken (invariant 4).

use std::sync::Arc;
use std::task::Waker;

use crate::sync_shim::{AtomicU32, Mutex, Ordering};

/// Set in `active` while a deferring frame's waker is stored (invariant 3).
const WAITER: u32 = 1 << 31;

/// The count of counted regions active inside one frame. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct RegionCount {
    active: AtomicU32,
    waiter: Mutex<Option<Waker>>,
}

impl Default for RegionCount {
    fn default() -> Self {
        RegionCount { active: AtomicU32::new(0), waiter: Mutex::new(None) }
    }
}

impl RegionCount {
    /// Whether a counted region is active inside the frame.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire) & !WAITER != 0
    }

    /// Stores `waker` to be woken when the count reaches zero; returns whether it is still not
    /// zero (when it is zero, nothing is stored and the caller delivers now).
    pub(crate) fn defer(&self, waker: &Waker) -> bool {
        let mut slot = self.waiter.lock().unwrap_or_else(|e| e.into_inner());
        let prev = self.active.fetch_or(WAITER, Ordering::AcqRel);
        if prev & !WAITER == 0 {
            self.active.fetch_and(!WAITER, Ordering::AcqRel);
            *slot = None;
            return false;
        }
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
        true
    }

    pub(crate) fn raise(&self) {
        self.active.fetch_add(1, Ordering::AcqRel);
    }

    fn lower(&self) {
        let prev = self.active.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(prev & !WAITER != 0, "anyscope: a region count lowered below zero");
        if prev == WAITER | 1 {
            let waker = {
                let mut slot = self.waiter.lock().unwrap_or_else(|e| e.into_inner());
                self.active.fetch_and(!WAITER, Ordering::AcqRel);
                slot.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

/// The count one counted region raised, if any. See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct RegionTicket {
    held: Option<Arc<RegionCount>>,
}

impl RegionTicket {
    /// Raises the count of the innermost frame on this thread's stack (invariant 2), moving the
    /// ticket there if it held another. Does nothing if it already holds that one.
    pub(crate) fn raise(&mut self) {
        let here = super::innermost_region_count();
        self.raise_on(here);
    }

    /// Raises `count` (none: hold nothing), moving the ticket there if it held another.
    pub(crate) fn raise_on(&mut self, count: Option<Arc<RegionCount>>) {
        match (&self.held, &count) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => return,
            (None, None) => return,
            _ => {}
        }
        self.lower();
        if let Some(count) = &count {
            count.raise();
        }
        self.held = count;
    }

    /// Lowers what the ticket holds, if anything.
    // Inline: every frame's poll and drop calls this, and a ticket mostly holds nothing.
    #[inline]
    pub(crate) fn lower(&mut self) {
        if let Some(held) = self.held.take() {
            release(held);
        }
    }
}

/// Lowers the count a ticket held and lets go of it (the ticket's slow path).
#[inline(never)]
fn release(held: Arc<RegionCount>) {
    held.lower();
}

impl Drop for RegionTicket {
    #[inline]
    fn drop(&mut self) {
        self.lower();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Counter;

    #[test]
    fn lowering_to_zero_wakes_the_deferring_frame_once() {
        let count = Arc::new(RegionCount::default());
        count.raise();
        count.raise();
        let (woken, waker) = Counter::new();
        assert!(count.defer(&waker));
        count.lower();
        assert_eq!(woken.get(), 0);
        assert!(count.is_active());
        count.lower();
        assert_eq!(woken.get(), 1);
        assert!(!count.is_active());
        count.raise();
        count.lower();
        assert_eq!(woken.get(), 1, "the waiter was taken");
    }

    #[test]
    fn deferring_on_a_zero_count_stores_nothing() {
        let count = RegionCount::default();
        let (_woken, waker) = Counter::new();
        assert!(!count.defer(&waker));
        assert!(!count.is_active());
        count.raise();
        assert!(count.is_active());
    }
}
