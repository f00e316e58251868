//! loom models of the scope tree's cancel propagation (`cancel/node.rs`), run by `ci/loom.sh`
//! (which sets `cfg(loom)` on anyscope-core only; see there).
//!
//! Each model runs a few threads over a small tree of [`Node`]s; loom runs it once per
//! interleaving (bounded by `LOOM_MAX_PREEMPTIONS`). The nodes' flags and locks go through
//! `sync_shim`, so every access is a loom scheduling point. No model enters a frame: the frame
//! stack is a `std` thread-local, which loom's threads (coroutines on one OS thread) share.
//! The public-API models (mutex and semaphore handoff) are in `tests/loom.rs`; the models of
//! the pool's slot accounting in [`pool`]; the models of counted regions (a frame deferring its
//! delivery while tickets are lowered on other threads) in [`regions`]; the models of a
//! spawned task's cell (its poll, abort, join and drop by the runtime) in [`task_cell`].

use std::future::poll_fn;
use std::sync::{Arc, Weak};
use std::task::{Poll, Wake, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use crate::cancel::CancelReason;
use crate::cancel::node::{BY_DEADLINE, CANCELLED, Node};

mod pool;
mod regions;
mod task_cell;
mod tree;

/// Runs `f` under `loom::model`, once per interleaving, and checks that loom explored more than
/// one (the model does reach the code under test through loom's primitives).
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    loom::model(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    let runs = runs.load(std::sync::atomic::Ordering::Relaxed);
    println!("loom: {name}: {runs} interleavings");
    assert!(runs > 1, "{name}: loom explored a single interleaving");
}

fn node() -> Arc<Node> {
    Arc::new(Node::new(0, None, None))
}

/// A waker that counts its wake-ups (in a loom atomic, so the count is part of the model).
#[derive(Debug, Default)]
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<WakeCount>, Waker) {
    let count = Arc::new(WakeCount::default());
    let waker = Waker::from(Arc::clone(&count));
    (count, waker)
}

/// What a task root's poll does: store its waker, then re-check cancellation. Blocks (in
/// loom's `block_on`) until it sees the cancel; if the cancel neither is seen nor wakes the
/// stored waker, loom reports the deadlock.
fn wait_for_cancel(root: &Node) {
    loom::future::block_on(poll_fn(|cx| {
        root.set_waker(cx.waker());
        if root.effectively_cancelled() { Poll::Ready(()) } else { Poll::Pending }
    }));
    // The scope ends: its waker (a loom object) is released before the model ends.
    root.finish();
}

/// The model catches a lost wake-up: a task root that checks cancellation *before* storing its
/// waker can miss a cancel that lands in between (neither sees the other). This is why
/// `set_waker` comes first in a task root's poll.
#[test]
#[should_panic(expected = "lost wake-up")]
fn checking_before_storing_the_waker_loses_the_wake_up() {
    loom::model(|| {
        let parent = node();
        let child = node();
        assert!(child.link(Arc::clone(&parent), true));
        let p = Arc::clone(&parent);
        let canceller = thread::spawn(move || p.cancel(CancelReason::Explicit(None)));
        let (wakes, waker) = counting_waker();
        let cancelled = child.effectively_cancelled();
        child.set_waker(&waker);
        canceller.join().unwrap();
        assert!(cancelled || wakes.0.load(Ordering::SeqCst) > 0, "lost wake-up");
    });
}

/// A parent with a registered task-root child: a cancel of the parent racing the child's
/// waker registration is never lost (the child sees the flag or its waker is woken).
#[test]
fn cancel_races_waker_registration() {
    model("cancel_races_waker_registration", || {
        let parent = node();
        let child = node();
        assert!(child.link(Arc::clone(&parent), true));
        let p = Arc::clone(&parent);
        let canceller = thread::spawn(move || p.cancel(CancelReason::Explicit(None)));
        wait_for_cancel(&child);
        canceller.join().unwrap();
        assert_eq!(
            child.effective_reason(),
            Some(CancelReason::Parent(Box::new(CancelReason::Explicit(None))))
        );
    });
}

/// grandparent <- mid (same task, not registered) <- child (a task root linked while the
/// grandparent is being cancelled): the upward registration (child into mid, then mid into the
/// grandparent) races the cancel's walk; the child still sees the cancel or is woken.
#[test]
fn cancel_races_upward_registration() {
    model("cancel_races_upward_registration", || {
        let grand = node();
        let mid = node();
        assert!(mid.link(Arc::clone(&grand), false));
        let child = node();
        let g = Arc::clone(&grand);
        let canceller = thread::spawn(move || g.cancel(CancelReason::Explicit(None)));
        assert!(child.link(Arc::clone(&mid), true));
        wait_for_cancel(&child);
        canceller.join().unwrap();
        assert!(child.effectively_cancelled());
    });
}

/// Concurrent cancels of one node: exactly one takes effect (one reason, the flags agreeing
/// with it, one wake-up of the scope's waker), and a reader that sees the flag sees a reason.
#[test]
fn concurrent_cancels_keep_the_first_reason() {
    model("concurrent_cancels_keep_the_first_reason", || {
        let scope = node();
        let (wakes, waker) = counting_waker();
        scope.set_waker(&waker);
        drop(waker);
        let s = Arc::clone(&scope);
        let by_deadline = thread::spawn(move || s.cancel(CancelReason::Deadline));
        let s = Arc::clone(&scope);
        let explicit = thread::spawn(move || s.cancel(CancelReason::Explicit(Some("b".into()))));
        if scope.flags() & CANCELLED != 0 {
            assert!(scope.reason().is_some(), "the flag is published after the reason");
        }
        by_deadline.join().unwrap();
        explicit.join().unwrap();

        let flags = scope.flags();
        let reason = scope.reason().expect("cancelled");
        assert_ne!(flags & CANCELLED, 0);
        assert_eq!(flags & BY_DEADLINE != 0, reason == CancelReason::Deadline);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "only the first cancel wakes");
        scope.cancel(CancelReason::Explicit(Some("late".into())));
        assert_eq!(scope.reason(), Some(reason));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        scope.finish();
    });
}

/// A registered task root is dropped (its `Drop` takes the parent's lock to free its slot)
/// while the parent's cancel walks its children: no deadlock, the walk wakes the child at most
/// once and does not keep it alive, and the freed slot is reused by the next task root, which
/// the next cancel walk reaches.
#[test]
fn cancel_races_child_drop() {
    model("cancel_races_child_drop", || {
        let parent = node();
        let child = node();
        assert!(child.link(Arc::clone(&parent), true));
        let (wakes, waker) = counting_waker();
        child.set_waker(&waker);
        drop(waker);
        let weak: Weak<Node> = Arc::downgrade(&child);
        let p = Arc::clone(&parent);
        let canceller = thread::spawn(move || p.cancel(CancelReason::Explicit(None)));
        drop(child);
        canceller.join().unwrap();
        assert!(weak.upgrade().is_none(), "the walk keeps no child alive");
        assert!(wakes.0.load(Ordering::SeqCst) <= 1);

        // The slot is usable again: a new task root is registered and reached by the walk.
        let next = node();
        assert!(next.link(Arc::clone(&parent), true));
        let (next_wakes, waker) = counting_waker();
        next.set_waker(&waker);
        drop(waker);
        parent.set_shield(true);
        parent.set_shield(false); // unshielding wakes the tasks below
        assert_eq!(next_wakes.0.load(Ordering::SeqCst), 1);
        assert!(next.effectively_cancelled());
    });
}
