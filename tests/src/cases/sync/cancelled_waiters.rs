//! Cancelled waiters in the middle of a queue (AnyIO's `test_synchronization.py`, second round):
//! what they were partly handed goes on, and resizes or notifications skip them.

use std::sync::Arc;

use anyscope_core::sync::{
    AcquireError, BorrowerId, CapacityError, CapacityLimiter, Condition, Mutex, Semaphore,
};
use anyscope_core::{CancelScope, spawn};

use crate::fixtures::join;
use crate::support::{Log, wait_until};

/// A request for several permits at the head of the queue, cancelled after it was handed part of
/// them, passes those permits on: the single-permit waiter behind it gets one, and the rest stay
/// free.
pub async fn semaphore_cancelled_big_request_passes_partial_permits_on() {
    let sem = Arc::new(Semaphore::new(0));
    let scope = CancelScope::new();
    let (sem1, s1) = (Arc::clone(&sem), scope.clone());
    let big = spawn(async move { s1.run(async move { drop(sem1.acquire_many(3).await) }).await });
    wait_until("big is queued", || sem.statistics().tasks_waiting == 1).await;
    let sem2 = Arc::clone(&sem);
    let small = spawn(async move { sem2.acquire().await.unwrap().forget() });
    wait_until("small is queued", || sem.statistics().tasks_waiting == 2).await;
    sem.add_permits(2).unwrap(); // not enough for `big`; `small` may not overtake it
    assert!(sem.try_acquire().is_err(), "no barging past the waiters");
    scope.cancel();
    assert_eq!(join(big).await, None);
    join(small).await;
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.tasks_waiting), (1, 0));
}

/// `notify_all` counts and wakes only the waiters still waiting: one cancelled in the middle is
/// skipped, and a notification sent while nobody waits is not stored for a later waiter.
pub async fn condition_notify_all_skips_a_cancelled_waiter() {
    let pair = Arc::new((Mutex::new(()), Condition::new()));
    assert_eq!(pair.1.notify(1), 0, "nobody waits: nothing is stored");
    let log = Log::new();
    let middle = CancelScope::new();
    let mut tasks = Vec::new();
    for name in ["a", "b", "c"] {
        let (p2, l2, scope) = (Arc::clone(&pair), log.clone(), middle.clone());
        let n = tasks.len() + 1;
        tasks.push(spawn(async move {
            let wait = async {
                let (m, cond) = &*p2;
                let _g = cond.wait(m.lock().await).await;
                l2.push(name);
            };
            if name == "b" {
                scope.run(wait).await
            } else {
                wait.await;
                Some(())
            }
        }));
        wait_until("the waiter waits", || pair.1.statistics().tasks_waiting == n).await;
    }
    middle.cancel();
    wait_until("b left the queue", || pair.1.statistics().tasks_waiting == 2).await;
    assert_eq!(pair.1.notify_all(), 2);
    let outs: Vec<_> = join_all(tasks).await;
    assert_eq!(outs, [Some(()), None, Some(())]);
    let mut woken = log.events();
    woken.sort(); // both were woken at once: they run in the scheduler's order
    assert_eq!(woken, ["a", "c"]);
    assert_eq!(pair.1.statistics().tasks_waiting, 0);
    assert!(!pair.0.is_locked());
}

async fn join_all<T: Send + 'static>(tasks: Vec<anyscope_core::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(join(t).await);
    }
    out
}

/// Growing the total while borrowers wait admits exactly as many as the new tokens, oldest
/// first, skipping one cancelled at the head of the queue; the others keep waiting.
pub async fn limiter_resize_admits_exactly_the_new_tokens_skipping_cancelled() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let holder = BorrowerId::new();
    limiter.acquire_on_behalf_of(&holder).await.unwrap();
    let head = CancelScope::new();
    let log = Log::new();
    let mut ids = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..4 {
        let id = BorrowerId::new();
        ids.push(id.clone());
        let (lim, l2, scope) = (Arc::clone(&limiter), log.clone(), head.clone());
        tasks.push(spawn(async move {
            let wait = async {
                lim.acquire_on_behalf_of(&id).await.unwrap();
                l2.push(format!("{i}"));
            };
            if i == 0 {
                scope.run(wait).await
            } else {
                wait.await;
                Some(())
            }
        }));
        wait_until("the borrower is queued", || limiter.statistics().tasks_waiting == i + 1).await;
    }
    head.cancel();
    wait_until("the head left the queue", || limiter.statistics().tasks_waiting == 3).await;
    limiter.set_total_tokens(3); // two new tokens: borrowers 1 and 2, not 3
    let s = limiter.statistics();
    assert_eq!((s.borrowed_tokens, s.total_tokens, s.tasks_waiting), (3, 3, 1));
    assert_eq!(limiter.available_tokens(), 0);
    let mut tasks = tasks.into_iter();
    assert_eq!(join(tasks.next().unwrap()).await, None);
    assert_eq!(join(tasks.next().unwrap()).await, Some(()));
    assert_eq!(join(tasks.next().unwrap()).await, Some(()));
    let mut admitted = log.events();
    admitted.sort(); // both were admitted at once: they run in the scheduler's order
    assert_eq!(admitted, ["1", "2"]);
    limiter.release_on_behalf_of(&ids[1]).unwrap();
    assert_eq!(join(tasks.next().unwrap()).await, Some(()));
    assert_eq!(log.events()[2], "3");
    assert_eq!(limiter.release_on_behalf_of(&ids[0]), Err(CapacityError::NotBorrowing));
    for id in [&holder, &ids[2], &ids[3]] {
        limiter.release_on_behalf_of(id).unwrap();
    }
    let s = limiter.statistics();
    assert_eq!((s.borrowed_tokens, s.tasks_waiting), (0, 0));
}

/// A borrower already waiting for a token cannot queue a second time (AnyIO checks only the
/// holders, so a borrower queued twice there ends with two tokens): the second acquisition fails
/// at once, and the first is served normally.
pub async fn limiter_borrower_queued_twice_is_an_error_at_once() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let holder = BorrowerId::new();
    limiter.acquire_on_behalf_of(&holder).await.unwrap();
    let a = BorrowerId::new();
    let (lim, a2) = (Arc::clone(&limiter), a.clone());
    let first = spawn(async move { lim.acquire_on_behalf_of(&a2).await });
    wait_until("a is queued", || limiter.statistics().tasks_waiting == 1).await;
    assert_eq!(limiter.acquire_on_behalf_of(&a).await, Err(CapacityError::AlreadyBorrowing));
    assert_eq!(limiter.try_acquire_on_behalf_of(&a), Err(CapacityError::AlreadyBorrowing));
    assert_eq!(limiter.release_on_behalf_of(&a), Err(CapacityError::NotBorrowing), "waiting is not holding");
    assert_eq!(limiter.statistics().tasks_waiting, 1);
    limiter.release_on_behalf_of(&holder).unwrap();
    assert_eq!(join(first).await, Ok(()));
    assert_eq!(limiter.borrowed_tokens(), 1);
    limiter.release_on_behalf_of(&a).unwrap();
    let s = limiter.statistics();
    assert_eq!((s.borrowed_tokens, s.tasks_waiting), (0, 0));
}

/// Permits added while a larger request waits are neither lost nor duplicated: whether they are
/// counted free or kept for the request, those `forget_permits` removes plus those free after
/// the request is cancelled are exactly the ones added.
pub async fn semaphore_permits_are_conserved_around_a_cancelled_big_request() {
    let sem = Arc::new(Semaphore::new(0));
    let scope = CancelScope::new();
    let (sem1, s1) = (Arc::clone(&sem), scope.clone());
    let big = spawn(async move { s1.run(async move { drop(sem1.acquire_many(3).await) }).await });
    wait_until("big is queued", || sem.statistics().tasks_waiting == 1).await;
    sem.add_permits(2).unwrap();
    let forgotten = sem.forget_permits(1);
    scope.cancel();
    assert_eq!(join(big).await, None);
    let s = sem.statistics();
    assert_eq!(forgotten + s.available_permits, 2, "{s:?}, forgot {forgotten}");
    assert_eq!(s.tasks_waiting, 0);
    let left = s.available_permits;
    assert_eq!(sem.try_acquire_many(left).map(|p| p.permits()), Ok(left));
}

/// With a maximum, free permits removed with `forget_permits` leave the total, so as many can be
/// added back, and no more; a multi-permit request cancelled after part was handed to it does
/// not push the total past the maximum either.
pub async fn semaphore_forgotten_free_permits_make_room_under_the_maximum() {
    let sem = Arc::new(Semaphore::with_max(2, 3));
    assert_eq!(sem.forget_permits(1), 1);
    sem.add_permits(2).unwrap(); // total 1 + 2 = 3
    assert!(sem.add_permits(1).is_err(), "the maximum still holds");
    assert_eq!(sem.forget_permits(3), 3);
    let scope = CancelScope::new();
    let (sem1, s1) = (Arc::clone(&sem), scope.clone());
    let big = spawn(async move { s1.run(async move { drop(sem1.acquire_many(3).await) }).await });
    wait_until("big is queued", || sem.statistics().tasks_waiting == 1).await;
    sem.add_permits(2).unwrap();
    scope.cancel();
    assert_eq!(join(big).await, None);
    assert_eq!(sem.available_permits(), 2);
    sem.add_permits(1).unwrap();
    assert!(sem.add_permits(1).is_err(), "2 + 1 is the maximum");
    assert_eq!(sem.statistics().max_permits, Some(3));
    assert_eq!(sem.acquire_many(3).await.map(|p| p.permits()), Ok(3));
}

/// The owned forms (`lock_owned`, `acquire_owned`) keep the no-loss rule of AnyIO#398: a waiter
/// cancelled racing the release that handed it the lock or permit passes it on to the next
/// waiter.
pub async fn owned_waiters_cancelled_racing_a_handoff_lose_nothing() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let g = m.lock().await;
    let scope = CancelScope::new();
    let (m1, s1) = (Arc::clone(&m), scope.clone());
    let first = spawn(async move { s1.run(async move { m1.lock_owned().await.push("first") }).await });
    wait_until("first is queued", || m.statistics().tasks_waiting == 1).await;
    let m2 = Arc::clone(&m);
    let second = spawn(async move { m2.lock_owned().await.push("second") });
    wait_until("second is queued", || m.statistics().tasks_waiting == 2).await;
    drop(g);
    scope.cancel();
    let first_out = join(first).await;
    join(second).await;
    let got = m.lock().await.clone();
    let want: &[&str] = if first_out.is_some() { &["first", "second"] } else { &["second"] };
    assert_eq!(got, want);
    assert!(!m.is_locked());

    let sem = Arc::new(Semaphore::new(0));
    let scope = CancelScope::new();
    let (sem1, s1) = (Arc::clone(&sem), scope.clone());
    let first =
        spawn(async move { s1.run(async move { sem1.acquire_owned().await.unwrap().forget() }).await });
    wait_until("first is queued", || sem.statistics().tasks_waiting == 1).await;
    let sem2 = Arc::clone(&sem);
    let second = spawn(async move { sem2.acquire_owned().await.unwrap().forget() });
    wait_until("second is queued", || sem.statistics().tasks_waiting == 2).await;
    sem.add_permits(1).unwrap();
    scope.cancel();
    let first_out = join(first).await;
    if first_out.is_none() {
        join(second).await; // the permit went on to `second`
    } else {
        sem.add_permits(1).unwrap();
        join(second).await;
    }
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.tasks_waiting), (0, 0));
}

/// Closing a semaphore while a multi-permit request waits with part of its permits: the request
/// fails with `Closed`, and the permits added for it are not lost (they are free again, and a
/// permit held across the close can still be given back).
pub async fn semaphore_close_keeps_the_permits_of_a_failed_big_request() {
    let sem = Arc::new(Semaphore::new(1));
    let held = sem.acquire().await.unwrap();
    let sem1 = Arc::clone(&sem);
    let big = spawn(async move { sem1.acquire_many(3).await.map(|p| p.permits()) });
    wait_until("big is queued", || sem.statistics().tasks_waiting == 1).await;
    sem.add_permits(2).unwrap();
    sem.close();
    assert_eq!(join(big).await, Err(AcquireError::Closed));
    drop(held);
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.tasks_waiting, s.closed), (3, 0, true), "{s:?}");
}
