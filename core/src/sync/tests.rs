//! Hand-polled unit tests of the handoff and cancel races (dropping a future is what a
//! cancelled scope does to it).

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::*;

use crate::testing::{poll, waker, woken};

#[test]
fn mutex_hands_off_to_the_oldest_waiter_without_barging() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let (c1, w1) = waker();
    let (_c2, w2) = waker();
    let mut l1 = m.lock();
    let mut l2 = m.lock();
    assert!(poll(&mut l1, &w1).is_pending());
    assert!(poll(&mut l2, &w2).is_pending());
    assert_eq!(m.statistics().tasks_waiting, 2);
    drop(g);
    assert_eq!(woken(&c1), 1);
    // Handed to l1: a newcomer cannot take it, l2 still waits.
    assert!(m.try_lock().is_err());
    assert!(poll(&mut l2, &w2).is_pending());
    let Poll::Ready(mut g1) = poll(&mut l1, &w1) else { panic!("l1 should own the lock") };
    *g1 += 1;
    drop(g1);
    let Poll::Ready(g2) = poll(&mut l2, &w2) else { panic!("l2 should own the lock") };
    assert_eq!(*g2, 1);
}

#[test]
fn mutex_lock_handed_to_a_dropped_waiter_goes_to_the_next() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let (_c1, w1) = waker();
    let (c2, w2) = waker();
    let mut l1 = m.lock();
    let mut l2 = m.lock();
    assert!(poll(&mut l1, &w1).is_pending());
    assert!(poll(&mut l2, &w2).is_pending());
    drop(g); // handed to l1
    drop(l1); // cancelled before it ran: passes on
    assert_eq!(woken(&c2), 1);
    assert!(poll(&mut l2, &w2).is_ready());
}

#[test]
fn mutex_waiter_dropped_in_queue_leaves_it_free() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let (_c, w) = waker();
    let mut l = m.lock();
    assert!(poll(&mut l, &w).is_pending());
    drop(l);
    drop(g);
    let s = m.statistics();
    assert!(!s.locked);
    assert_eq!(s.tasks_waiting, 0);
}

#[test]
fn owned_guard_returns_value() {
    let m = Arc::new(Mutex::new(vec![1]));
    let (_c, w) = waker();
    let mut l = m.lock_owned();
    let Poll::Ready(mut g) = poll(&mut l, &w) else { panic!("free mutex") };
    g.push(2);
    drop(g);
    assert_eq!(*m.try_lock().unwrap(), [1, 2]);
}

#[test]
fn semaphore_is_strict_fifo_for_large_requests() {
    let sem = Semaphore::new(1);
    let (ca, wa) = waker();
    let (_cb, wb) = waker();
    let mut a = sem.acquire_many(2);
    let mut b = sem.acquire();
    assert!(poll(&mut a, &wa).is_pending());
    // One permit is free, but `a` waits ahead: no barging.
    assert!(poll(&mut b, &wb).is_pending());
    assert!(sem.try_acquire().unwrap_err().is_no_permits());
    sem.add_permits(1).unwrap();
    assert_eq!(woken(&ca), 1);
    let Poll::Ready(Ok(pa)) = poll(&mut a, &wa) else { panic!("a is served first") };
    assert!(poll(&mut b, &wb).is_pending());
    drop(pa);
    assert!(poll(&mut b, &wb).is_ready());
}

#[test]
fn semaphore_dropped_large_request_unblocks_the_next() {
    let sem = Semaphore::new(1);
    let (_ca, wa) = waker();
    let (cb, wb) = waker();
    let mut a = sem.acquire_many(2);
    let mut b = sem.acquire();
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    drop(a);
    assert_eq!(woken(&cb), 1);
    assert!(poll(&mut b, &wb).is_ready());
}

#[test]
fn semaphore_granted_then_dropped_gives_permits_back() {
    let sem = Semaphore::new(0);
    let (_c, w) = waker();
    let mut a = sem.acquire();
    assert!(poll(&mut a, &w).is_pending());
    sem.add_permits(1).unwrap(); // granted to `a`
    assert_eq!(sem.available_permits(), 0);
    drop(a);
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(sem.statistics().tasks_waiting, 0);
}

#[test]
fn semaphore_close_fails_waiters_and_newcomers() {
    let sem = Semaphore::new(0);
    let (c, w) = waker();
    let mut a = sem.acquire();
    assert!(poll(&mut a, &w).is_pending());
    sem.close();
    assert_eq!(woken(&c), 1);
    assert!(matches!(poll(&mut a, &w), Poll::Ready(Err(AcquireError::Closed))));
    let mut b = sem.acquire();
    assert!(matches!(poll(&mut b, &w), Poll::Ready(Err(AcquireError::Closed))));
}

#[test]
fn semaphore_max_counts_held_permits() {
    let sem = Semaphore::with_max(2, 2);
    let p = sem.try_acquire().unwrap();
    assert!(sem.add_permits(1).is_err()); // 1 free + 1 held = 2 already
    p.forget();
    sem.add_permits(1).unwrap();
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.forget_permits(1), 1);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn limiter_resize_wakes_waiters_in_order_and_never_oversubscribes() {
    let lim = CapacityLimiter::new(1);
    lim.try_acquire_on_behalf_of(&BorrowerId::new()).unwrap();
    let (ca, wa) = waker();
    let (cb, wb) = waker();
    let mut a = lim.acquire_on_behalf_of(&BorrowerId::new());
    let mut b = lim.acquire_on_behalf_of(&BorrowerId::new());
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    lim.set_total_tokens(2);
    assert_eq!((woken(&ca), woken(&cb)), (1, 0));
    assert_eq!(lim.borrowed_tokens(), 2);
    assert!(poll(&mut b, &wb).is_pending());
    assert!(matches!(poll(&mut a, &wa), Poll::Ready(Ok(()))));
    lim.set_total_tokens(3);
    assert!(matches!(poll(&mut b, &wb), Poll::Ready(Ok(()))));
    assert_eq!(lim.statistics().borrowed_tokens, 3);
}

#[test]
fn limiter_granted_then_dropped_passes_the_token_on() {
    let lim = CapacityLimiter::new(1);
    let holder = BorrowerId::new();
    lim.try_acquire_on_behalf_of(&holder).unwrap();
    let (_ca, wa) = waker();
    let (cb, wb) = waker();
    let a_id = BorrowerId::new();
    let mut a = lim.acquire_on_behalf_of(&a_id);
    let mut b = lim.acquire_on_behalf_of(&BorrowerId::new());
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    // A granted-but-not-run waiter cannot be released on behalf of.
    lim.release_on_behalf_of(&holder).unwrap();
    assert_eq!(lim.release_on_behalf_of(&a_id), Err(CapacityError::NotBorrowing));
    drop(a);
    assert_eq!(woken(&cb), 1);
    assert!(poll(&mut b, &wb).is_ready());
    assert_eq!(lim.borrowed_tokens(), 1);
}

#[test]
fn limiter_same_borrower_waiting_twice_is_an_error() {
    let lim = CapacityLimiter::new(1);
    lim.try_acquire_on_behalf_of(&BorrowerId::new()).unwrap(); // someone else holds the token
    let me = BorrowerId::new();
    let (_c, w) = waker();
    let mut a = lim.acquire_on_behalf_of(&me);
    assert!(poll(&mut a, &w).is_pending());
    let mut again = lim.acquire_on_behalf_of(&me);
    assert!(matches!(poll(&mut again, &w), Poll::Ready(Err(CapacityError::AlreadyBorrowing))));
}

#[test]
fn condition_notification_of_a_dropped_waiter_is_passed_on() {
    let m = Mutex::new(());
    let cond = Condition::new();
    let (_c1, w1) = waker();
    let (c2, w2) = waker();
    let mut a = cond.wait(m.try_lock().unwrap());
    assert!(poll(&mut a, &w1).is_pending());
    let mut b = cond.wait(m.try_lock().unwrap());
    assert!(poll(&mut b, &w2).is_pending());
    assert!(!m.is_locked());
    assert_eq!(cond.notify(1), 1);
    drop(a); // notified, then cancelled: `b` gets the notification
    assert_eq!(woken(&c2), 1);
    let Poll::Ready(g) = poll(&mut b, &w2) else { panic!("b was notified") };
    assert!(m.is_locked());
    drop(g);
    assert_eq!(cond.statistics().tasks_waiting, 0);
}

#[test]
fn condition_relock_waits_for_the_mutex() {
    let m = Mutex::new(());
    let cond = Condition::new();
    let (c, w) = waker();
    let mut a = cond.wait(m.try_lock().unwrap());
    assert!(poll(&mut a, &w).is_pending());
    let g = m.try_lock().unwrap();
    cond.notify_all();
    assert!(poll(&mut a, &w).is_pending()); // now waiting for the lock
    drop(g);
    assert!(woken(&c) >= 2);
    assert!(poll(&mut a, &w).is_ready());
}

#[test]
fn event_wait_counts_and_releases_waiters() {
    let ev = Event::new();
    let (_c, w) = waker();
    let mut a = ev.wait();
    assert!(poll(&mut a, &w).is_pending());
    assert_eq!(ev.statistics().tasks_waiting, 1);
    ev.set();
    assert!(poll(&mut a, &w).is_ready());
    assert_eq!(ev.statistics().tasks_waiting, 0);
}

#[test]
fn event_set_after_cancel_does_not_let_the_waiter_through() {
    anyscope_tokio::run(async {
        let ev = Event::new();
        let scope = crate::CancelScope::new();
        scope.cancel();
        ev.set();
        let out = scope.run(ev.wait()).await;
        assert_eq!(out, None);
    });
}

#[test]
fn borrower_current_is_the_same_across_nested_scopes() {
    // (Unit tests link a second copy of this crate through the adapter: frames come from this
    // copy's scopes only. The per-task part is checked by the conformance suite.)
    let (_c, w) = waker();
    let mut fut = Box::pin(crate::CancelScope::new().run(async {
        let here = BorrowerId::current();
        let inner = crate::CancelScope::new().run(async { BorrowerId::current() }).await.unwrap();
        assert_eq!(here, inner);
        assert_ne!(here, BorrowerId::current_thread_fallback_for_tests());
    }));
    assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_ready());
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: std::marker::Send + Sync>() {}
    check::<Mutex<Vec<u8>>>();
    check::<MutexGuard<'static, Vec<u8>>>();
    check::<OwnedMutexGuard<Vec<u8>>>();
    check::<Lock<'static, Vec<u8>>>();
    check::<Semaphore>();
    check::<Acquire<'static>>();
    check::<OwnedSemaphorePermit>();
    check::<CapacityLimiter>();
    check::<AcquireToken<'static>>();
    check::<Condition>();
    check::<CondWait<'static, Vec<u8>>>();
    check::<Event>();
    check::<Wait<'static>>();
}

#[test]
fn condition_waiter_dropped_while_relocking_passes_the_notification_on() {
    let m = Mutex::new(());
    let cond = Condition::new();
    let (_c1, w1) = waker();
    let (c2, w2) = waker();
    let mut a = cond.wait(m.try_lock().unwrap());
    assert!(poll(&mut a, &w1).is_pending());
    let mut b = cond.wait(m.try_lock().unwrap());
    assert!(poll(&mut b, &w2).is_pending());
    let g = m.try_lock().unwrap();
    cond.notify(1);
    assert!(poll(&mut a, &w1).is_pending()); // notified, now waiting for the mutex
    drop(a);
    assert_eq!(woken(&c2), 1);
    assert!(poll(&mut b, &w2).is_pending()); // notified, waits for the mutex
    drop(g);
    let Poll::Ready(g) = poll(&mut b, &w2) else { panic!("b holds the lock") };
    drop(g);
    assert!(!m.is_locked());
}

// The semaphore's atomic fast path against its queue (semaphore/raw.rs).

#[test]
fn semaphore_release_with_a_waiter_hands_off_then_the_fast_path_returns() {
    let sem = Semaphore::new(1);
    let p = sem.try_acquire().unwrap();
    let (c, w) = waker();
    let mut a = sem.acquire();
    assert!(poll(&mut a, &w).is_pending());
    drop(p); // handed to `a`, never free
    assert_eq!(woken(&c), 1);
    assert_eq!(sem.available_permits(), 0);
    assert!(sem.try_acquire().unwrap_err().is_no_permits());
    let Poll::Ready(Ok(pa)) = poll(&mut a, &w) else { panic!("a was granted the permit") };
    drop(pa);
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.tasks_waiting), (1, 0));
    // Nobody waits any more: a newcomer takes the permit directly again.
    let mut b = sem.acquire();
    assert!(matches!(poll(&mut b, &w), Poll::Ready(Ok(_))));
}

#[test]
fn semaphore_closed_refuses_free_permits_and_takes_back_held_ones() {
    let sem = Semaphore::new(2);
    let p = sem.try_acquire().unwrap();
    sem.close();
    assert!(sem.try_acquire().unwrap_err().is_closed());
    let (_c, w) = waker();
    let mut a = sem.acquire();
    assert!(matches!(poll(&mut a, &w), Poll::Ready(Err(AcquireError::Closed))));
    drop(p);
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.tasks_waiting, s.closed), (2, 0, true));
}

#[test]
fn semaphore_grant_made_before_close_is_kept() {
    let sem = Semaphore::new(1);
    let p = sem.try_acquire().unwrap();
    let (_c, w) = waker();
    let mut a = sem.acquire();
    assert!(poll(&mut a, &w).is_pending());
    drop(p); // granted to `a`
    sem.close();
    let Poll::Ready(Ok(pa)) = poll(&mut a, &w) else { panic!("the grant came before the close") };
    drop(pa);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_forget_and_add_with_a_large_waiter_queued() {
    let sem = Semaphore::with_max(1, 3);
    let (c, w) = waker();
    let mut a = sem.acquire_many(2);
    assert!(poll(&mut a, &w).is_pending());
    assert_eq!(sem.available_permits(), 1); // free, but `a` needs 2
    assert_eq!(sem.forget_permits(5), 1);
    assert_eq!(sem.available_permits(), 0);
    assert!(sem.add_permits(4).is_err()); // beyond the maximum: nothing added, nobody woken
    assert_eq!(woken(&c), 0);
    sem.add_permits(3).unwrap();
    assert_eq!(woken(&c), 1);
    assert_eq!(sem.available_permits(), 1);
    let Poll::Ready(Ok(pa)) = poll(&mut a, &w) else { panic!("a was granted 2 permits") };
    drop(pa);
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.statistics().tasks_waiting, 0);
}

#[test]
fn semaphore_zero_permit_request_queues_behind_a_waiter() {
    let sem = Semaphore::new(0);
    let (_ca, wa) = waker();
    let (cb, wb) = waker();
    let mut a = sem.acquire();
    let mut b = sem.acquire_many(0);
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending()); // no barging, even for nothing
    sem.add_permits(1).unwrap(); // `a` gets 1, then `b` its 0
    assert_eq!(woken(&cb), 1);
    assert!(matches!(poll(&mut b, &wb), Poll::Ready(Ok(_))));
    assert!(matches!(poll(&mut a, &wa), Poll::Ready(Ok(_))));
    // With nobody waiting, zero permits are taken at once.
    assert!(sem.try_acquire_many(0).is_ok());
}

#[test]
fn semaphore_holds_at_most_max_permits() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    assert!(sem.add_permits(1).is_err());
    let all = sem.try_acquire_many(Semaphore::MAX_PERMITS).unwrap();
    assert_eq!(sem.available_permits(), 0);
    drop(all);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
    // A maximum above MAX_PERMITS acts as MAX_PERMITS.
    let sem = Semaphore::with_max(0, usize::MAX);
    sem.add_permits(Semaphore::MAX_PERMITS).unwrap();
    assert!(sem.add_permits(1).is_err());
    // A request larger than can ever exist is an error at once, never a wait; one larger than
    // the permits in existence (but not than the maximum) waits.
    let (_c, w) = waker();
    let one = Semaphore::new(1);
    let mut huge = one.acquire_many(usize::MAX);
    let max = Semaphore::MAX_PERMITS;
    assert!(
        matches!(poll(&mut huge, &w), Poll::Ready(Err(AcquireError::TooMany { requested: usize::MAX, max: m })) if m == max)
    );
    let mut big = one.acquire_many(max);
    assert!(poll(&mut big, &w).is_pending());
    one.add_permits(1).unwrap(); // a release with it queued never shifts its request
    assert!(poll(&mut big, &w).is_pending());
    drop(big);
    assert_eq!(one.available_permits(), 2);
}

#[test]
#[should_panic(expected = "MAX_PERMITS")]
fn semaphore_with_more_than_max_permits_panics() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

/// A minimal `block_on` for the threaded tests: parks the thread until woken.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn semaphore_threads_never_exceed_the_permits_and_lose_none() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let sem = Arc::new(Semaphore::new(3));
    let held = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (sem, held) = (Arc::clone(&sem), Arc::clone(&held));
            std::thread::spawn(move || {
                for i in 0..2_000 {
                    let n = 1 + (t + i) % 2;
                    let p = if i % 3 == 0 {
                        match sem.try_acquire_many(n) {
                            Ok(p) => p,
                            Err(_) => continue,
                        }
                    } else {
                        block_on(sem.acquire_many(n)).unwrap()
                    };
                    assert!(held.fetch_add(n, SeqCst) + n <= 3, "more permits held than exist");
                    held.fetch_sub(n, SeqCst);
                    drop(p);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.tasks_waiting), (3, 0));
}

#[test]
fn mutex_threads_increment_under_the_lock() {
    let m = Arc::new(Mutex::new(0_u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    *block_on(m.lock()) += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), 8_000);
    assert_eq!(m.statistics().tasks_waiting, 0);
}

#[test]
fn semaphore_granted_waiters_take_their_grants_in_any_order() {
    let sem = Semaphore::new(0);
    let (ca, wa) = waker();
    let (cb, wb) = waker();
    let (cc, wc) = waker();
    let mut a = sem.acquire();
    let mut b = sem.acquire();
    let mut c = sem.acquire();
    for (f, w) in [(&mut a, &wa), (&mut b, &wb), (&mut c, &wc)] {
        assert!(poll(f, w).is_pending());
    }
    sem.add_permits(2).unwrap(); // `a` and `b` granted, `c` waits
    assert_eq!((woken(&ca), woken(&cb), woken(&cc)), (1, 1, 0));
    assert!(poll(&mut c, &wc).is_pending());
    let Poll::Ready(Ok(pb)) = poll(&mut b, &wb) else { panic!("b was granted") };
    let Poll::Ready(Ok(pa)) = poll(&mut a, &wa) else { panic!("a was granted") };
    assert_eq!(sem.statistics().tasks_waiting, 1);
    drop(pb);
    assert_eq!(woken(&cc), 1);
    let Poll::Ready(Ok(pc)) = poll(&mut c, &wc) else { panic!("c was granted") };
    drop((pa, pc));
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.tasks_waiting), (2, 0));
}
