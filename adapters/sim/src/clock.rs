//! The virtual clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The virtual clock: a real base instant plus the virtual time elapsed since.
#[derive(Debug)]
pub(crate) struct Clock {
    base: Instant,
    /// Virtual nanoseconds since `base`. Only the executor thread moves it; anyone reads it.
    elapsed_ns: AtomicU64,
    next_timer: AtomicU64,
}

impl Clock {
    /// A clock reading the real time now, standing still until advanced.
    pub(crate) fn new() -> Self {
        Clock { base: Instant::now(), elapsed_ns: AtomicU64::new(0), next_timer: AtomicU64::new(0) }
    }

    pub(crate) fn now(&self) -> Instant {
        self.base + Duration::from_nanos(self.elapsed_ns.load(Ordering::Acquire))
    }

    /// Moves the clock forward. Only the executor thread calls it.
    pub(crate) fn advance(&self, by: Duration) {
        let ns = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.elapsed_ns
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |e| Some(e.saturating_add(ns)))
            .ok();
    }

    pub(crate) fn next_timer_id(&self) -> u64 {
        self.next_timer.fetch_add(1, Ordering::Relaxed)
    }
}
