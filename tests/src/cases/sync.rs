//! Area `sync`: events, mutexes, semaphores, capacity limiters and conditions, with AnyIO's
//! cancel-safety and fairness guarantees.
//!
//! To cancel a waiter that is queued, a case spawns it inside a cancel scope, waits until the
//! primitive's statistics show it waiting, then cancels the scope.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyscope_core::sync::{
    AcquireError, BorrowerId, CapacityError, CapacityLimiter, Condition, Event, Mutex, Semaphore,
};
use anyscope_core::{CancelScope, sleep, spawn};

use crate::fixtures::join;
use crate::support::Log;
use crate::support::wait_until;

mod cancelled_waiters;
pub use cancelled_waiters::*;

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_sync {
    ($runner:expr) => {
        $crate::__area!($runner; sync;
            lock_waiter_cancelled_in_queue_never_gets_the_lock,
            lock_handoff_goes_to_the_oldest_waiter,
            lock_cancel_racing_release_loses_no_lock,
            lock_owned_guard_moves_between_tasks,
            semaphore_value_restored_after_cancelled_acquire,
            semaphore_handoff_goes_to_the_oldest_waiter,
            semaphore_release_beyond_max_is_an_error,
            semaphore_close_fails_current_and_future_waiters,
            semaphore_acquire_many_is_not_starved,
            limiter_borrower_errors,
            limiter_serves_borrowers_fifo,
            limiter_resize_wakes_waiters_and_never_oversubscribes,
            limiter_cancelled_waiter_never_holds_a_token,
            limiter_current_borrower_is_per_task,
            limiter_token_guard_is_released_when_its_holder_is_cancelled,
            event_set_after_cancel_does_not_let_the_waiter_through,
            event_releases_every_waiter,
            condition_wait_notify,
            condition_notify_one_wakes_the_oldest,
            condition_cancelled_wait_passes_the_notification_on,
            bad_input_is_a_clear_error_never_a_wait,
            semaphore_cancelled_big_request_passes_partial_permits_on,
            condition_notify_all_skips_a_cancelled_waiter,
            limiter_resize_admits_exactly_the_new_tokens_skipping_cancelled,
            limiter_borrower_queued_twice_is_an_error_at_once,
            semaphore_permits_are_conserved_around_a_cancelled_big_request,
            semaphore_forgotten_free_permits_make_room_under_the_maximum,
            owned_waiters_cancelled_racing_a_handoff_lose_nothing,
            semaphore_close_keeps_the_permits_of_a_failed_big_request,
        );
    };
}

/// A waiter cancelled while queued for the lock never gets it; the mutex ends free with no
/// waiter.
pub async fn lock_waiter_cancelled_in_queue_never_gets_the_lock() {
    let m = Arc::new(Mutex::new(0));
    let g = m.lock().await;
    let scope = CancelScope::new();
    let (m2, s2) = (Arc::clone(&m), scope.clone());
    let waiter = spawn(async move { s2.run(async move { *m2.lock().await += 1 }).await });
    wait_until("the waiter is queued", || m.statistics().tasks_waiting == 1).await;
    scope.cancel();
    assert_eq!(join(waiter).await, None);
    assert_eq!(m.statistics().tasks_waiting, 0);
    drop(g);
    let s = m.statistics();
    assert!(!s.locked);
    assert_eq!(*m.lock().await, 0);
}

/// At unlock the lock passes to the oldest waiter; a newcomer cannot barge in.
pub async fn lock_handoff_goes_to_the_oldest_waiter() {
    let m = Arc::new(Mutex::new(()));
    let log = Log::new();
    let gate = Arc::new(Event::new()); // holders keep the lock until the gate opens
    let g = m.lock().await;
    let mut tasks = Vec::new();
    for name in ["a", "b", "c"] {
        let (m2, l2, gate2) = (Arc::clone(&m), log.clone(), Arc::clone(&gate));
        let n = tasks.len() + 1;
        tasks.push(spawn(async move {
            let _g = m2.lock().await;
            l2.push(name);
            gate2.wait().await;
        }));
        wait_until("the waiter is queued", || m.statistics().tasks_waiting == n).await;
    }
    drop(g);
    assert!(m.try_lock().is_err(), "the lock was handed to the oldest waiter");
    assert_eq!(m.statistics().tasks_waiting, 2);
    gate.set();
    for t in tasks {
        join(t).await;
    }
    assert_eq!(log.events(), ["a", "b", "c"]);
    assert!(!m.is_locked());
}

/// AnyIO#398: a cancel racing the release that handed the lock to a waiter loses no lock — it
/// goes on to the next waiter.
pub async fn lock_cancel_racing_release_loses_no_lock() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let g = m.lock().await;
    let scope = CancelScope::new();
    let (m1, s1) = (Arc::clone(&m), scope.clone());
    let first = spawn(async move { s1.run(async move { m1.lock().await.push("first") }).await });
    wait_until("first is queued", || m.statistics().tasks_waiting == 1).await;
    let m2 = Arc::clone(&m);
    let second = spawn(async move { m2.lock().await.push("second") });
    wait_until("second is queued", || m.statistics().tasks_waiting == 2).await;
    drop(g); // handed to `first`...
    scope.cancel(); // ...which may be cancelled before it runs
    let first_out = join(first).await;
    join(second).await;
    let got = m.lock().await.clone();
    match first_out {
        None => assert_eq!(got, ["second"]),
        Some(()) => assert_eq!(got, ["first", "second"]),
    }
    assert!(!m.is_locked());
    assert_eq!(m.statistics().tasks_waiting, 0);
}

/// An owned guard can be taken in one task and released in another.
pub async fn lock_owned_guard_moves_between_tasks() {
    let m = Arc::new(Mutex::new(1));
    let mut g = m.lock_owned().await;
    *g += 1;
    join(spawn(async move {
        *g += 1;
    }))
    .await;
    assert_eq!(*m.lock().await, 3);
}

/// A cancelled acquire leaves the semaphore's value where it started.
pub async fn semaphore_value_restored_after_cancelled_acquire() {
    let sem = Arc::new(Semaphore::new(1));
    let held = sem.acquire().await.unwrap();
    let scope = CancelScope::new();
    let (sem2, s2) = (Arc::clone(&sem), scope.clone());
    let waiter = spawn(async move { s2.run(async move { drop(sem2.acquire().await) }).await });
    wait_until("the acquirer is queued", || sem.statistics().tasks_waiting == 1).await;
    scope.cancel();
    assert_eq!(join(waiter).await, None);
    drop(held);
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.tasks_waiting), (1, 0));
}

/// Released permits go to the waiters in the order they arrived.
pub async fn semaphore_handoff_goes_to_the_oldest_waiter() {
    let sem = Arc::new(Semaphore::new(0));
    let log = Log::new();
    let mut tasks = Vec::new();
    for i in 0..3 {
        let (sem2, l2) = (Arc::clone(&sem), log.clone());
        tasks.push(spawn(async move {
            let p = sem2.acquire().await.unwrap();
            l2.push(format!("{i}"));
            p.forget();
        }));
        wait_until("the acquirer is queued", || sem.statistics().tasks_waiting == i + 1).await;
    }
    for i in 0..3 {
        sem.add_permits(1).unwrap();
        assert!(sem.try_acquire().is_err(), "no barging past the waiters");
        wait_until("a waiter took its permit", || log.events().len() == i + 1).await;
    }
    for t in tasks {
        join(t).await;
    }
    assert_eq!(log.events(), ["0", "1", "2"]);
}

/// With a maximum, adding (releasing) permits beyond it is an error and changes nothing.
pub async fn semaphore_release_beyond_max_is_an_error() {
    let sem = Semaphore::with_max(1, 1);
    assert!(sem.add_permits(1).is_err());
    let p = sem.acquire().await.unwrap();
    assert!(sem.add_permits(1).is_err(), "held permits count toward the maximum");
    drop(p);
    assert_eq!(sem.available_permits(), 1);
    sem.acquire().await.unwrap().forget();
    sem.add_permits(1).unwrap();
    assert!(sem.add_permits(1).is_err());
    assert_eq!(sem.available_permits(), 1);
}

/// Closing fails the waiters and every later acquisition with a clear error.
pub async fn semaphore_close_fails_current_and_future_waiters() {
    let sem = Arc::new(Semaphore::new(0));
    let sem2 = Arc::clone(&sem);
    let waiter = spawn(async move { sem2.acquire().await.map(drop) });
    wait_until("the acquirer is queued", || sem.statistics().tasks_waiting == 1).await;
    sem.close();
    assert_eq!(join(waiter).await, Err(AcquireError::Closed));
    assert_eq!(sem.acquire().await.map(drop), Err(AcquireError::Closed));
    assert!(sem.try_acquire().unwrap_err().is_closed());
    assert_eq!(sem.statistics().tasks_waiting, 0);
}

/// A request for several permits keeps its place: smaller requests behind it do not overtake.
pub async fn semaphore_acquire_many_is_not_starved() {
    let sem = Arc::new(Semaphore::new(1));
    let log = Log::new();
    let (sem2, l2) = (Arc::clone(&sem), log.clone());
    let big = spawn(async move {
        let _p = sem2.acquire_many(3).await.unwrap();
        l2.push("big");
    });
    wait_until("big is queued", || sem.statistics().tasks_waiting == 1).await;
    let (sem3, l3) = (Arc::clone(&sem), log.clone());
    let small = spawn(async move {
        let _p = sem3.acquire().await.unwrap();
        l3.push("small");
    });
    wait_until("small is queued", || sem.statistics().tasks_waiting == 2).await;
    sem.add_permits(2).unwrap();
    join(big).await;
    join(small).await;
    assert_eq!(log.events(), ["big", "small"]);
    assert_eq!(sem.available_permits(), 3);
}

/// A borrower acquiring twice, or releasing what it does not hold, is an error.
pub async fn limiter_borrower_errors() {
    let limiter = CapacityLimiter::new(2);
    let a = BorrowerId::new();
    limiter.acquire_on_behalf_of(&a).await.unwrap();
    assert_eq!(limiter.acquire_on_behalf_of(&a).await, Err(CapacityError::AlreadyBorrowing));
    assert_eq!(limiter.try_acquire_on_behalf_of(&a), Err(CapacityError::AlreadyBorrowing));
    assert_eq!(limiter.release_on_behalf_of(&BorrowerId::new()), Err(CapacityError::NotBorrowing));
    limiter.release_on_behalf_of(&a).unwrap();
    assert_eq!(limiter.release_on_behalf_of(&a), Err(CapacityError::NotBorrowing));
    assert_eq!(limiter.borrowed_tokens(), 0);
}

/// Tokens go to waiting borrowers first come, first served.
pub async fn limiter_serves_borrowers_fifo() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let holder = BorrowerId::new();
    limiter.acquire_on_behalf_of(&holder).await.unwrap();
    let log = Log::new();
    let mut tasks = Vec::new();
    for i in 0..3 {
        let (lim, l2) = (Arc::clone(&limiter), log.clone());
        tasks.push(spawn(async move {
            lim.acquire().await.unwrap();
            l2.push(format!("{i}"));
            lim.release().unwrap();
        }));
        wait_until("the borrower is queued", || limiter.statistics().tasks_waiting == i + 1).await;
    }
    limiter.release_on_behalf_of(&holder).unwrap();
    for t in tasks {
        join(t).await;
    }
    assert_eq!(log.events(), ["0", "1", "2"]);
    assert_eq!(limiter.borrowed_tokens(), 0);
}

/// Growing the total wakes waiters; shrinking takes nothing back and admits nobody until the
/// borrowed count is below the new total.
pub async fn limiter_resize_wakes_waiters_and_never_oversubscribes() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let first = BorrowerId::new();
    limiter.acquire_on_behalf_of(&first).await.unwrap();
    let mut ids = Vec::new();
    let mut tasks = Vec::new();
    for n in 1..=2 {
        let id = BorrowerId::new();
        ids.push(id.clone());
        let lim = Arc::clone(&limiter);
        tasks.push(spawn(async move { lim.acquire_on_behalf_of(&id).await.unwrap() }));
        wait_until("the borrower is queued", || limiter.statistics().tasks_waiting == n).await;
    }
    limiter.set_total_tokens(3);
    for t in tasks {
        join(t).await;
    }
    assert_eq!(limiter.borrowed_tokens(), 3);
    limiter.set_total_tokens(1);
    assert_eq!(limiter.available_tokens(), 0);
    let lim = Arc::clone(&limiter);
    let late = spawn(async move { lim.acquire_on_behalf_of(&BorrowerId::new()).await.unwrap() });
    wait_until("the late borrower is queued", || limiter.statistics().tasks_waiting == 1).await;
    limiter.release_on_behalf_of(&first).unwrap();
    limiter.release_on_behalf_of(&ids.pop().unwrap()).unwrap();
    assert_eq!(limiter.statistics().tasks_waiting, 1, "1 borrowed of a total of 1: nobody is admitted");
    limiter.release_on_behalf_of(&ids.pop().unwrap()).unwrap();
    join(late).await;
    assert_eq!(limiter.borrowed_tokens(), 1);
}

/// A borrower cancelled while waiting never holds a token, and the count ends where it began.
pub async fn limiter_cancelled_waiter_never_holds_a_token() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let holder = BorrowerId::new();
    limiter.acquire_on_behalf_of(&holder).await.unwrap();
    let scope = CancelScope::new();
    let (lim, s2) = (Arc::clone(&limiter), scope.clone());
    let waiter = spawn(async move { s2.run(async move { lim.acquire().await.unwrap() }).await });
    wait_until("the borrower is queued", || limiter.statistics().tasks_waiting == 1).await;
    scope.cancel();
    assert_eq!(join(waiter).await, None);
    limiter.release_on_behalf_of(&holder).unwrap();
    let s = limiter.statistics();
    assert_eq!((s.borrowed_tokens, s.tasks_waiting), (0, 0));
}

/// The default borrower is the current task: the same across its scopes, another in another
/// task.
pub async fn limiter_current_borrower_is_per_task() {
    let limiter = Arc::new(CapacityLimiter::new(2));
    limiter.acquire().await.unwrap();
    let inner = CancelScope::new().run(async { limiter.acquire().await }).await.unwrap();
    assert_eq!(inner, Err(CapacityError::AlreadyBorrowing));
    let lim = Arc::clone(&limiter);
    join(spawn(async move {
        assert_eq!(lim.release(), Err(CapacityError::NotBorrowing));
        lim.acquire().await.unwrap();
        lim.release().unwrap();
    }))
    .await;
    limiter.release().unwrap();
    assert_eq!(limiter.borrowed_tokens(), 0);
}

/// A token held by a guard goes back when its holder is cancelled, and the next borrower gets
/// it.
pub async fn limiter_token_guard_is_released_when_its_holder_is_cancelled() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let scope = CancelScope::new();
    let (lim, s2) = (Arc::clone(&limiter), scope.clone());
    let holder = spawn(async move {
        s2.run(async move {
            let _token = lim.borrow().await.unwrap();
            sleep(Duration::from_secs(3600)).await;
        })
        .await
    });
    wait_until("the token is held", || limiter.borrowed_tokens() == 1).await;
    let lim = Arc::clone(&limiter);
    let next = spawn(async move {
        let token = lim.borrow().await.unwrap();
        assert_eq!(lim.borrowed_tokens(), 1);
        drop(token);
    });
    wait_until("the next borrower waits", || limiter.statistics().tasks_waiting == 1).await;
    scope.cancel();
    assert_eq!(join(holder).await, None);
    join(next).await;
    let s = limiter.statistics();
    assert_eq!((s.borrowed_tokens, s.tasks_waiting), (0, 0));
}

/// An event set after the waiter's scope was cancelled does not let the waiter through.
pub async fn event_set_after_cancel_does_not_let_the_waiter_through() {
    let ev = Arc::new(Event::new());
    let passed = Arc::new(AtomicBool::new(false));
    let scope = CancelScope::new();
    let (ev2, p2, s2) = (Arc::clone(&ev), Arc::clone(&passed), scope.clone());
    let waiter = spawn(async move {
        s2.run(async move {
            ev2.wait().await;
            p2.store(true, Ordering::SeqCst);
        })
        .await
    });
    wait_until("the waiter waits", || ev.statistics().tasks_waiting == 1).await;
    scope.cancel();
    ev.set();
    assert_eq!(join(waiter).await, None);
    assert!(!passed.load(Ordering::SeqCst));
    assert!(scope.cancelled_caught());
    // Also when both happened before the wait is even polled.
    let scope = CancelScope::new();
    scope.cancel();
    assert_eq!(scope.run(ev.wait()).await, None);
}

/// Setting wakes every waiter, and later waits pass at once.
pub async fn event_releases_every_waiter() {
    let ev = Arc::new(Event::new());
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let ev2 = Arc::clone(&ev);
            spawn(async move { ev2.wait().await })
        })
        .collect();
    wait_until("all wait", || ev.statistics().tasks_waiting == 3).await;
    assert!(!ev.is_set());
    ev.set();
    for t in tasks {
        join(t).await;
    }
    ev.wait().await;
    assert_eq!(ev.statistics().tasks_waiting, 0);
}

/// The classic pattern: wait in a predicate loop, notify after changing the state.
pub async fn condition_wait_notify() {
    let pair = Arc::new((Mutex::new(Vec::<u32>::new()), Condition::new()));
    let p2 = Arc::clone(&pair);
    let consumer = spawn(async move {
        let (m, cond) = &*p2;
        let mut got = Vec::new();
        while got.len() < 5 {
            let mut q = m.lock().await;
            while q.is_empty() {
                q = cond.wait(q).await;
            }
            got.append(&mut q);
        }
        got
    });
    for i in 0..5 {
        let (m, cond) = &*pair;
        m.lock().await.push(i);
        cond.notify(1);
        sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(join(consumer).await, [0, 1, 2, 3, 4]);
    assert!(!pair.0.is_locked());
}

/// `notify(1)` wakes the oldest waiter only.
pub async fn condition_notify_one_wakes_the_oldest() {
    let pair = Arc::new((Mutex::new(()), Condition::new()));
    let log = Log::new();
    let mut tasks = Vec::new();
    for name in ["a", "b"] {
        let (p2, l2) = (Arc::clone(&pair), log.clone());
        let n = tasks.len() + 1;
        tasks.push(spawn(async move {
            let (m, cond) = &*p2;
            let g = m.lock().await;
            let _g = cond.wait(g).await;
            l2.push(name);
        }));
        wait_until("the waiter waits", || pair.1.statistics().tasks_waiting == n).await;
    }
    assert_eq!(pair.1.notify(1), 1);
    wait_until("a ran", || log.events().len() == 1).await;
    assert_eq!(log.events(), ["a"]);
    assert_eq!(pair.1.statistics().tasks_waiting, 1);
    assert_eq!(pair.1.notify_all(), 1);
    for t in tasks {
        join(t).await;
    }
    assert_eq!(log.events(), ["a", "b"]);
}

/// A notified waiter cancelled before it returned passes the notification on, and never holds
/// the lock afterwards.
pub async fn condition_cancelled_wait_passes_the_notification_on() {
    let pair = Arc::new((Mutex::new(()), Condition::new()));
    let log = Log::new();
    let scope = CancelScope::new();
    let (p1, l1, s1) = (Arc::clone(&pair), log.clone(), scope.clone());
    let a = spawn(async move {
        s1.run(async move {
            let (m, cond) = &*p1;
            let _g = cond.wait(m.lock().await).await;
            l1.push("a");
        })
        .await
    });
    wait_until("a waits", || pair.1.statistics().tasks_waiting == 1).await;
    let (p2, l2) = (Arc::clone(&pair), log.clone());
    let b = spawn(async move {
        let (m, cond) = &*p2;
        let _g = cond.wait(m.lock().await).await;
        l2.push("b");
    });
    wait_until("b waits", || pair.1.statistics().tasks_waiting == 2).await;
    let g = pair.0.lock().await; // `a` cannot return before the cancel
    pair.1.notify(1);
    scope.cancel();
    drop(g);
    assert_eq!(join(a).await, None);
    join(b).await;
    assert_eq!(log.events(), ["b"]);
    assert!(!pair.0.is_locked());
    assert_eq!(pair.1.statistics().tasks_waiting, 0);
}

/// Input that can never be satisfied is a clear error at construction or at the call, never a
/// wait until some deadline: a limiter of 0 tokens, more permits than a semaphore can hold, a
/// pool that could never hand anything out.
pub async fn bad_input_is_a_clear_error_never_a_wait() {
    use anyscope_core::fail_after;
    use anyscope_core::pool::PoolConfig;
    use anyscope_core::sync::TryAcquireError;

    assert_eq!(
        CapacityLimiter::try_new(0).unwrap_err().to_string(),
        "a capacity limiter needs at least one token"
    );
    let panicked = std::panic::catch_unwind(|| CapacityLimiter::new(0)).unwrap_err();
    let msg = panicked.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("at least one token"), "{msg}");

    let sem = Semaphore::with_max(1, 1);
    let err = fail_after(Duration::from_secs(30), sem.acquire_many(5)).await.expect("no wait").unwrap_err();
    assert_eq!(err, AcquireError::TooMany { requested: 5, max: 1 });
    assert_eq!(sem.try_acquire_many(5).unwrap_err(), TryAcquireError::TooMany { requested: 5, max: 1 });
    assert_eq!(sem.try_acquire_many(1).unwrap().permits(), 1, "a satisfiable request still works");
    let unbounded = Semaphore::new(0);
    let too_many = Semaphore::MAX_PERMITS + 1;
    let err = fail_after(Duration::from_secs(30), unbounded.acquire_many(too_many)).await.expect("no wait");
    assert!(matches!(err, Err(AcquireError::TooMany { .. })), "{err:?}");
    assert_eq!(unbounded.statistics().tasks_waiting, 0, "nothing was queued");

    let refused = [
        PoolConfig::builder().max_size(0).build(),
        PoolConfig::builder().max_size(usize::MAX).build(),
        PoolConfig::builder().acquire_timeout(Duration::ZERO).build(),
        PoolConfig::builder().create_timeout(Duration::ZERO).build(),
        PoolConfig::builder().recycle_timeout(Duration::ZERO).build(),
    ];
    for r in refused {
        let err = r.unwrap_err();
        assert!(err.to_string().starts_with("invalid pool configuration: "), "{err}");
    }
}
