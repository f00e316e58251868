//! loom models of counted regions (`frame/region.rs`): a frame deferring its delivery while
//! regions are active, racing the tickets that lower its count from other threads (a region
//! finished or dropped in another task). Invariant 4: the frame either sees the count at zero
//! when it defers, or its stored waker is woken once the count reaches zero.

use std::sync::Arc;

use loom::sync::atomic::Ordering;
use loom::thread;

use super::{counting_waker, model};
use crate::frame::{RegionCount, RegionTicket};

/// One region ends on another thread while the frame defers.
#[test]
fn region_ending_elsewhere_races_the_deferring_frame() {
    model("region_ending_elsewhere_races_the_deferring_frame", || {
        let count = Arc::new(RegionCount::default());
        let mut ticket = RegionTicket::default();
        ticket.raise_on(Some(Arc::clone(&count)));
        let ender = thread::spawn(move || drop(ticket));
        let (wakes, waker) = counting_waker();
        let deferred = count.defer(&waker);
        ender.join().unwrap();
        let woken = wakes.0.load(Ordering::SeqCst);
        assert!(!count.is_active());
        assert!(!deferred || woken == 1, "deferred: {deferred}, woken {woken} times");
    });
}

/// Two regions end on two threads while the frame defers: exactly one wake-up, by whichever
/// lowers the count to zero, and none if the frame saw it at zero.
#[test]
fn two_regions_ending_elsewhere_wake_the_frame_once() {
    model("two_regions_ending_elsewhere_wake_the_frame_once", || {
        let count = Arc::new(RegionCount::default());
        let mut a = RegionTicket::default();
        let mut b = RegionTicket::default();
        a.raise_on(Some(Arc::clone(&count)));
        b.raise_on(Some(Arc::clone(&count)));
        let ta = thread::spawn(move || drop(a));
        let tb = thread::spawn(move || drop(b));
        let (wakes, waker) = counting_waker();
        let deferred = count.defer(&waker);
        ta.join().unwrap();
        tb.join().unwrap();
        let woken = wakes.0.load(Ordering::SeqCst);
        assert!(!count.is_active());
        assert!(!deferred || woken == 1, "deferred: {deferred}, woken {woken} times");
        assert!(deferred || woken == 0, "not deferred, yet woken {woken} times");
    });
}
