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

// The semaphore's lock-free fast path (an atomic word: free permits and a "waiters queued" flag)
// racing its slow path (the queue, under the state lock). See `src/sync/semaphore/raw.rs`.

/// The holder's fast release (one `fetch_add`) races an acquirer that finds no permit and
/// queues: the acquirer either sees the permit when it sets the flag, or the release sees the
/// flag and hands the permit over. It never sleeps with the permit free (loom would report the
/// deadlock), and afterwards the fast path is open again.
#[test]
fn semaphore_release_races_a_queueing_acquirer() {
    model("semaphore_release_races_a_queueing_acquirer", || {
        let sem = std::sync::Arc::new(Semaphore::new(1));
        let permit = sem.try_acquire_owned().expect("free");
        let s = std::sync::Arc::clone(&sem);
        let acquirer = thread::spawn(move || {
            let permit = block_on(s.acquire()).expect("not closed");
            assert_eq!(s.available_permits(), 0);
            drop(permit);
        });
        drop(permit);
        acquirer.join().unwrap();

        let stats = sem.statistics();
        assert_eq!((stats.available_permits, stats.tasks_waiting), (1, 0));
        assert!(sem.try_acquire().is_ok(), "the flag is cleared once nobody waits");
    });
}

/// Two tasks share one permit, each acquiring it once through whichever path the race gives
/// (fast CAS, direct take under the lock, or a grant), while the main thread's release opens
/// it: never held twice, never lost.
#[test]
fn semaphore_two_acquirers_share_one_permit() {
    model("semaphore_two_acquirers_share_one_permit", || {
        let sem = std::sync::Arc::new(Semaphore::new(1));
        let held = Arc::new(AtomicBool::new(false));
        let permit = sem.try_acquire_owned().expect("free");
        let spawn = |sem: &std::sync::Arc<Semaphore>| {
            let (s, h) = (std::sync::Arc::clone(sem), Arc::clone(&held));
            thread::spawn(move || {
                let permit = block_on(s.acquire()).expect("not closed");
                enter(&h);
                leave(&h);
                drop(permit);
            })
        };
        let a = spawn(&sem);
        let b = spawn(&sem);
        drop(permit);
        a.join().unwrap();
        b.join().unwrap();

        let stats = sem.statistics();
        assert_eq!((stats.available_permits, stats.tasks_waiting), (1, 0));
    });
}

/// `close` races an acquirer (fast path or queueing) and the holder's release: the acquirer
/// ends with the permit (it came first, or was granted before it saw the close) or with
/// `Closed`, never hangs, and the permit comes back either way.
#[test]
fn semaphore_close_races_acquire_and_release() {
    model("semaphore_close_races_acquire_and_release", || {
        let sem = std::sync::Arc::new(Semaphore::new(1));
        let permit = sem.try_acquire_owned().expect("free");
        let s = std::sync::Arc::clone(&sem);
        let acquirer = thread::spawn(move || {
            if let Ok(permit) = block_on(s.acquire()) {
                assert_eq!(permit.permits(), 1);
            }
        });
        let s = std::sync::Arc::clone(&sem);
        let closer = thread::spawn(move || s.close());
        drop(permit);
        acquirer.join().unwrap();
        closer.join().unwrap();

        let stats = sem.statistics();
        assert_eq!((stats.available_permits, stats.tasks_waiting, stats.closed), (1, 0, true));
        assert!(sem.try_acquire().unwrap_err().is_closed());
    });
}

/// A waiter granted the permit by a release and then cancelled (its future dropped) races a
/// newcomer's `try_acquire` (the fast path): the permit is held by at most one of them at a
/// time, and comes back in the end.
#[test]
fn semaphore_cancelled_granted_waiter_races_a_newcomer() {
    model("semaphore_cancelled_granted_waiter_races_a_newcomer", || {
        let sem = std::sync::Arc::new(Semaphore::new(1));
        let held = Arc::new(AtomicBool::new(false));
        let permit = sem.try_acquire_owned().expect("free");

        let (s, h) = (std::sync::Arc::clone(&sem), Arc::clone(&held));
        let cancelled = thread::spawn(move || {
            let mut acquire = pin!(s.acquire());
            if let Poll::Ready(permit) = poll_once(acquire.as_mut()) {
                let _permit = permit.expect("not closed");
                enter(&h);
                leave(&h);
            }
            // Dropped: cancelled in the queue, or after the grant (the permit passes on).
        });
        let (s, h) = (std::sync::Arc::clone(&sem), Arc::clone(&held));
        let newcomer = thread::spawn(move || {
            if let Ok(_permit) = s.try_acquire() {
                enter(&h);
                leave(&h);
            }
        });
        drop(permit);
        cancelled.join().unwrap();
        newcomer.join().unwrap();

        let stats = sem.statistics();
        assert_eq!((stats.available_permits, stats.tasks_waiting), (1, 0));
    });
}

/// With a maximum of one, the holder forgets its permit and adds one back while an acquirer
/// queues for it: the acquirer gets the new permit, and the maximum still holds.
#[test]
fn semaphore_forget_and_add_race_a_queueing_acquirer() {
    model("semaphore_forget_and_add_race_a_queueing_acquirer", || {
        let sem = std::sync::Arc::new(Semaphore::with_max(1, 1));
        let permit = sem.try_acquire_owned().expect("free");
        let s = std::sync::Arc::clone(&sem);
        let acquirer = thread::spawn(move || {
            let permit = block_on(s.acquire()).expect("not closed");
            assert!(s.add_permits(1).is_err(), "the permit it holds counts against the maximum");
            drop(permit);
        });
        permit.forget();
        sem.add_permits(1).expect("room below the maximum");
        acquirer.join().unwrap();

        assert_eq!(sem.available_permits(), 1);
        assert!(sem.add_permits(1).is_err());
        assert_eq!(sem.forget_permits(2), 1);
        assert_eq!(sem.available_permits(), 0);
    });
}

/// The mutex's unlock (the semaphore's fast release) races a `lock` that queues.
#[test]
fn mutex_unlock_races_a_queueing_lock() {
    model("mutex_unlock_races_a_queueing_lock", || {
        let mutex = Arc::new(Mutex::new(0_u32));
        let mut guard = mutex.try_lock().expect("free");
        let m = Arc::clone(&mutex);
        let locker = thread::spawn(move || *block_on(m.lock()) += 1);
        *guard += 10;
        drop(guard);
        locker.join().unwrap();
        assert_eq!(*mutex.try_lock().expect("the lock is not lost"), 11);
        assert!(!mutex.statistics().locked);
    });
}
