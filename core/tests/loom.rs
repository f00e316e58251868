//! loom models of the FIFO handoff of the async [`Mutex`] and [`Semaphore`] (through their
//! public API), run by `ci/loom.sh` (which sets `cfg(loom)` on anyscope-core only; see there).
//!
//! Under `cfg(loom)` the semaphore's state lock (the wait queue lives in it) is a loom mutex
//! (`sync_shim`), so every acquire, release and cancellation is a loom scheduling point. A
//! waiter is cancelled by dropping its future after polling it once: loom runs the release of
//! the lock (or of the permits) before the poll, between the poll and the drop, and after the
//! drop. A waker that is never woken shows up as a loom deadlock.
//!
//! The scope-tree models are in `src/loom_tests.rs` (they need crate-internal access).
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use anyscope_core::sync::{Mutex, Semaphore};
use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

/// Runs `f` under `loom::model`, once per interleaving, and checks that loom explored more than
/// one (the model does reach the code under test through loom's primitives).
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&runs);
    loom::model(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    let runs = runs.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("loom: {name}: {runs} interleavings");
    assert!(runs > 1, "{name}: loom explored a single interleaving");
}

/// Polls `fut` once, as a task that is then cancelled (the caller drops the future).
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// Marks the lock held; panics if it already was.
fn enter(held: &AtomicBool) {
    assert!(!held.swap(true, Ordering::SeqCst), "the lock is held twice");
}

fn leave(held: &AtomicBool) {
    held.store(false, Ordering::SeqCst);
}

/// A waiter cancelled while the holder's unlock hands it the lock: the lock goes on to the
/// other waiter (or becomes free), is never held twice, and is never lost.
#[test]
fn mutex_handoff_to_a_cancelled_waiter() {
    model("mutex_handoff_to_a_cancelled_waiter", || {
        let mutex = Arc::new(Mutex::new(0_u32));
        let held = Arc::new(AtomicBool::new(false));
        let guard = mutex.try_lock().expect("free");
        enter(&held);

        let (m, h) = (Arc::clone(&mutex), Arc::clone(&held));
        let cancelled = thread::spawn(move || {
            let mut lock = pin!(m.lock());
            if let Poll::Ready(mut g) = poll_once(lock.as_mut()) {
                enter(&h);
                *g += 1;
                leave(&h);
            }
            // The future is dropped here: cancelled in the queue, or after the handoff.
        });
        let (m, h) = (Arc::clone(&mutex), Arc::clone(&held));
        let waiter = thread::spawn(move || {
            let mut g = block_on(m.lock());
            enter(&h);
            *g += 10;
            leave(&h);
        });

        leave(&held);
        drop(guard);
        cancelled.join().unwrap();
        waiter.join().unwrap();

        let g = mutex.try_lock().expect("the lock is not lost");
        assert!(*g == 10 || *g == 11, "value {}", *g);
        drop(g);
        let stats = mutex.statistics();
        assert!(!stats.locked);
        assert_eq!(stats.tasks_waiting, 0);
    });
}

/// Two waiters queue behind the holder; both the unlock and a cancellation race them. Every
/// waiter that is not cancelled gets the lock, one at a time, in some order.
#[test]
fn mutex_two_waiters_and_a_cancelled_one() {
    model("mutex_two_waiters_and_a_cancelled_one", || {
        let mutex = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(AtomicBool::new(false));
        let guard = mutex.try_lock().expect("free");

        let (m, h) = (Arc::clone(&mutex), Arc::clone(&held));
        let cancelled = thread::spawn(move || {
            let mut lock = pin!(m.lock());
            if let Poll::Ready(mut g) = poll_once(lock.as_mut()) {
                enter(&h);
                g.push('c');
                leave(&h);
            }
        });
        let (m, h) = (Arc::clone(&mutex), Arc::clone(&held));
        let waiter = thread::spawn(move || {
            let mut g = block_on(m.lock());
            enter(&h);
            g.push('w');
            leave(&h);
        });

        drop(guard);
        // The holder comes back as a second real waiter.
        let mut g = block_on(mutex.lock());
        enter(&held);
        g.push('m');
        leave(&held);
        drop(g);
        cancelled.join().unwrap();
        waiter.join().unwrap();

        let mut order = mutex.try_lock().expect("the lock is not lost").clone();
        order.sort_unstable();
        assert!(order == ['m', 'w'] || order == ['c', 'm', 'w'], "{order:?}");
    });
}

/// A waiter for one permit cancelled while the release hands it that permit, ahead of a waiter
/// for two: the permit goes on, the second waiter gets both, and all permits come back.
#[test]
fn semaphore_permits_survive_a_cancelled_waiter() {
    model("semaphore_permits_survive_a_cancelled_waiter", || {
        let sem = Arc::new(Semaphore::new(2));
        let permits = sem.try_acquire_many(2).expect("free");

        let s = Arc::clone(&sem);
        let cancelled = thread::spawn(move || {
            let mut acquire = pin!(s.acquire());
            if let Poll::Ready(permit) = poll_once(acquire.as_mut()) {
                assert_eq!(permit.expect("not closed").permits(), 1);
            }
        });
        let s = Arc::clone(&sem);
        let waiter = thread::spawn(move || {
            let permit = block_on(s.acquire_many(2)).expect("not closed");
            assert_eq!(permit.permits(), 2);
            assert_eq!(s.available_permits(), 0);
        });

        drop(permits);
        cancelled.join().unwrap();
        waiter.join().unwrap();

        let stats = sem.statistics();
        assert_eq!(stats.available_permits, 2, "permits are conserved");
        assert_eq!(stats.tasks_waiting, 0);
    });
}

/// Two holders give their permits back concurrently while a waiter is cancelled: no permit is
/// lost or created.
#[test]
fn semaphore_concurrent_releases_and_a_cancelled_waiter() {
    model("semaphore_concurrent_releases_and_a_cancelled_waiter", || {
        // `std`'s `Arc`: owned permits hold one.
        let sem = std::sync::Arc::new(Semaphore::new(2));
        let first = sem.try_acquire_owned().expect("free");
        let second = sem.try_acquire_owned().expect("free");

        let releaser = thread::spawn(move || drop(first));
        let s = std::sync::Arc::clone(&sem);
        let cancelled = thread::spawn(move || {
            let mut acquire = pin!(s.acquire_many(2));
            if let Poll::Ready(permit) = poll_once(acquire.as_mut()) {
                assert_eq!(permit.expect("not closed").permits(), 2);
            }
        });
        drop(second);
        releaser.join().unwrap();
        cancelled.join().unwrap();

        assert_eq!(sem.available_permits(), 2, "permits are conserved");
        assert_eq!(sem.statistics().tasks_waiting, 0);
        assert_eq!(sem.try_acquire_many(2).expect("all free").permits(), 2);
    });
}
