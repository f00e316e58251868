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
    let lim = CapacityLimiter::new(0);
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
