//! Deadlines: nesting, moving, past deadlines, `move_on_*`, `fail_*` and timeouts that are
//! not reported when the deadline did not cause the cancellation.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyscope_core::{
    CancelScope, checkpoint, current_effective_deadline, current_time, fail_after, fail_at, move_on_after,
    move_on_at, shield, sleep, sleep_until, spawn,
};

use crate::support::{Flag, Log, SetOnDrop};

/// Nested deadlines: the outer, earlier one wins. Inside both the effective deadline is the
/// outer one; afterwards the outer scope caught, the inner one has neither flag.
pub async fn nested_deadlines_outer_earlier_wins() {
    let now = current_time();
    let outer_deadline = now + Duration::from_millis(20);
    let outer = CancelScope::with_deadline(outer_deadline);
    let inner = CancelScope::with_deadline(now + Duration::from_secs(10));
    let seen: Arc<Mutex<Option<Instant>>> = Arc::default();
    let log = Log::new();
    let (inner2, seen2, l) = (inner.clone(), seen.clone(), log.clone());
    let out = outer
        .run(async move {
            inner2
                .run(async {
                    *seen2.lock().unwrap() = current_effective_deadline();
                    sleep(Duration::from_secs(60)).await;
                    l.push("inner body finished");
                })
                .await;
            l.push("after inner scope");
        })
        .await;
    assert_eq!(out, None);
    assert_eq!(*seen.lock().unwrap(), Some(outer_deadline));
    assert!(outer.cancel_called() && outer.cancelled_caught());
    assert!(!inner.cancel_called() && !inner.cancelled_caught());
    assert!(outer.cancel_reason().unwrap().is_deadline());
    assert!(log.events().is_empty());
}

/// A deadline already past when the scope starts: the body runs to its first checkpoint, the
/// scope catches there.
pub async fn deadline_in_the_past_at_entry() {
    let scope = CancelScope::with_deadline(current_time() - Duration::from_millis(1));
    let log = Log::new();
    let l = log.clone();
    let out = scope
        .run(async move {
            l.push("ran to the first checkpoint");
            checkpoint().await;
            l.push("unreachable");
        })
        .await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    assert!(scope.cancel_reason().unwrap().is_deadline());
    assert_eq!(log.events(), ["ran to the first checkpoint"]);
}

/// Moving the deadline later while the scope runs (its timer already armed) postpones expiry:
/// a sleep well past the original deadline completes.
pub async fn deadline_moved_later_postpones_expiry() {
    let start = current_time();
    let scope = CancelScope::with_deadline(start + Duration::from_millis(200));
    let handle = scope.clone();
    let out = scope
        .run(async move {
            checkpoint().await; // the scope armed its timer when the body first suspended
            handle.set_deadline(Some(start + Duration::from_secs(3600)));
            // Ends well after the original deadline.
            sleep_until(start + Duration::from_millis(400)).await;
            "finished"
        })
        .await;
    assert_eq!(out, Some("finished"));
    assert!(!scope.cancel_called());
}

/// Moving the deadline earlier while the scope runs hastens expiry: a 60 s sleep is cut short.
pub async fn deadline_moved_earlier_hastens_expiry() {
    let start = current_time();
    let scope = CancelScope::with_deadline(start + Duration::from_secs(3600));
    let handle = scope.clone();
    let log = Log::new();
    let l = log.clone();
    let out = scope
        .run(async move {
            sleep(Duration::from_millis(1)).await; // the timer is armed by now
            handle.set_deadline(Some(current_time() + Duration::from_millis(10)));
            sleep(Duration::from_secs(60)).await;
            l.push("unreachable");
        })
        .await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    assert!(scope.cancel_reason().unwrap().is_deadline());
    assert!(log.events().is_empty());
}

/// Removing the deadline with `set_deadline(None)` disarms it.
pub async fn deadline_removed_never_expires() {
    let start = current_time();
    let scope = CancelScope::with_deadline(start + Duration::from_millis(200));
    let handle = scope.clone();
    let out = scope
        .run(async move {
            checkpoint().await; // the scope armed its timer when the body first suspended
            handle.set_deadline(None);
            sleep_until(start + Duration::from_millis(400)).await;
            current_effective_deadline()
        })
        .await;
    assert_eq!(out, Some(None));
    assert!(!scope.cancel_called());
    assert_eq!(scope.deadline(), None);
}

/// `fail_after` returns `Elapsed` when its own deadline cut the body off, and the value when
/// the body finished in time.
pub async fn fail_after_elapsed_only_on_own_deadline() {
    let err = fail_after(Duration::from_millis(20), sleep(Duration::from_secs(10))).await.unwrap_err();
    assert!(err.deadline() <= current_time());
    let ok = fail_after(Duration::from_secs(10), async {
        sleep(Duration::from_millis(1)).await;
        5
    })
    .await;
    assert_eq!(ok, Ok(5));
    let deadline = current_time() + Duration::from_millis(20);
    let err = fail_at(deadline, std::future::pending::<()>()).await.unwrap_err();
    assert_eq!(err.deadline(), deadline);
}

/// An explicit cancel of an enclosing scope before the `fail_after` deadline is not a timeout:
/// the enclosing scope catches, and the `fail_after` future is dropped with its body.
pub async fn outer_cancel_before_fail_after_deadline_is_not_a_timeout() {
    let outer = CancelScope::new();
    let handle = outer.clone();
    let dropped = Flag::new();
    let log = Log::new();
    let (d, l) = (dropped.clone(), log.clone());
    let out = outer
        .run(async move {
            let r = fail_after(Duration::from_secs(10), async move {
                let _guard = SetOnDrop(d);
                let canceller = handle.clone();
                let _canceller = spawn(async move {
                    sleep(Duration::from_millis(5)).await;
                    canceller.cancel();
                });
                sleep(Duration::from_secs(60)).await;
            })
            .await;
            l.push(format!("fail_after returned {r:?}"));
        })
        .await;
    assert_eq!(out, None);
    assert!(outer.cancelled_caught());
    assert!(dropped.is_set());
    assert!(log.events().is_empty(), "{:?}", log.events());
}

/// A `fail_at` whose deadline has passed, nested under an outer scope that is cancelled too,
/// does not report a timeout: the outer scope catches.
pub async fn fail_after_under_cancelled_outer_does_not_time_out() {
    let outer = CancelScope::new();
    outer.cancel();
    let log = Log::new();
    let l = log.clone();
    let out = outer
        .run(async move {
            let r = fail_at(current_time() - Duration::from_millis(1), sleep(Duration::from_secs(10))).await;
            l.push(format!("fail_at returned {r:?}"));
            let r = fail_after(Duration::from_millis(10), sleep(Duration::from_secs(10))).await;
            l.push(format!("fail_after returned {r:?}"));
        })
        .await;
    assert_eq!(out, None);
    assert!(outer.cancelled_caught());
    assert!(log.events().is_empty(), "{:?}", log.events());
}

/// A deadline's cancellation says so in the caught value.
pub async fn deadline_reason_reaches_caught_value() {
    let scope = CancelScope::with_deadline(current_time() + Duration::from_millis(10));
    let err = scope.try_run(sleep(Duration::from_secs(10))).await.unwrap_err();
    assert!(err.reason().is_deadline());
    assert_eq!(err.reason().message(), None);
}

/// `move_on_after` with a body that is ready at once returns its value.
pub async fn move_on_after_ready_body_returns_some() {
    assert_eq!(move_on_after(Duration::from_millis(1), async { 42 }).await, Some(42));
    assert_eq!(move_on_after(Duration::ZERO, async { "zero" }).await, Some("zero"));
}

/// `move_on_at` with a deadline already past runs the body to its first checkpoint.
pub async fn move_on_at_past_deadline_delivers_at_checkpoint() {
    let log = Log::new();
    let l = log.clone();
    let out = move_on_at(current_time() - Duration::from_secs(1), async move {
        l.push("ran");
        sleep(Duration::from_secs(10)).await;
        l.push("unreachable");
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(log.events(), ["ran"]);
}

/// `move_on_after(0)` and `fail_after(0)` are cancelled from their body's first checkpoint, as
/// Trio's are (a zero delay is a deadline that has passed): a checkpoint that is ready at once
/// does not complete, a blocking call is not started; a body with no checkpoint still returns.
pub async fn zero_delay_delivers_at_first_checkpoint() {
    assert_eq!(move_on_after(Duration::ZERO, checkpoint()).await, None);
    assert!(fail_after(Duration::ZERO, checkpoint()).await.is_err());
    let started = Flag::new();
    let s = started.clone();
    let out = move_on_after(Duration::ZERO, anyscope_core::run_blocking(move || s.set())).await;
    assert_eq!(out, None);
    assert!(!started.is_set(), "a blocking call under a zero delay was started");
    assert_eq!(move_on_after(Duration::ZERO, async { 7 }).await, Some(7));
}

/// `current_effective_deadline()` takes the earliest deadline of the enclosing scopes, up to
/// and including the nearest shield.
pub async fn effective_deadline_stops_at_shield() {
    let outer_deadline = current_time() + Duration::from_secs(5);
    let out = move_on_at(outer_deadline, async {
        let here = current_effective_deadline();
        let in_shield = shield(async { current_effective_deadline() }).await;
        let bounded = CancelScope::shielded();
        let own = current_time() + Duration::from_secs(60);
        bounded.set_deadline(Some(own));
        let in_bounded = bounded.run(async { current_effective_deadline() }).await;
        let inner = move_on_after(Duration::from_secs(3600), async { current_effective_deadline() }).await;
        (here, in_shield, in_bounded, own, inner)
    })
    .await;
    let (here, in_shield, in_bounded, own, inner) = out.unwrap();
    assert_eq!(here, Some(outer_deadline));
    assert_eq!(in_shield, None);
    assert_eq!(in_bounded, Some(Some(own)));
    assert_eq!(inner, Some(Some(outer_deadline)));
}

/// A sleep due after its scope's deadline never completes first, even when both timers have
/// fired by the time the task runs again (the thread was blocked past both): the scope's
/// deadline cancels it there (DESIGN: no anyscope awaitable completes in an effectively
/// cancelled scope; Trio: a deadline cancels its scope when it passes). Seen before on
/// tokio_current_thread: the sleep completed and the body went on until its next checkpoint.
/// The same for `sleep_until` at the deadline itself, and under a shield's own deadline.
pub async fn a_sleep_due_after_the_deadline_never_completes_before_it() {
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_millis(10), async move {
        let block = async {
            std::thread::sleep(Duration::from_millis(60));
        };
        futures_lite::future::zip(sleep(Duration::from_millis(20)), block).await;
        l.push("went on");
        std::future::pending::<()>().await;
    })
    .await;
    assert_eq!(out, None);
    assert!(log.events().is_empty(), "the body went on after its deadline: {:?}", log.events());

    let at = current_time() + Duration::from_millis(10);
    let l = log.clone();
    let out = move_on_at(at, async move {
        let block = async {
            std::thread::sleep(Duration::from_millis(40));
        };
        futures_lite::future::zip(sleep_until(at), block).await;
        l.push("sleep_until at the deadline completed");
    })
    .await;
    assert_eq!(out, None, "{:?}", log.events());

    // A shield's own deadline counts; an outer one does not reach through it.
    let l = log.clone();
    let out = move_on_after(Duration::from_secs(3600), async move {
        CancelScope::shielded()
            .run(async move {
                let inner = move_on_after(Duration::from_millis(10), async {
                    let block = async {
                        std::thread::sleep(Duration::from_millis(60));
                    };
                    futures_lite::future::zip(sleep(Duration::from_millis(20)), block).await;
                    l.push("went on under the shield");
                })
                .await;
                assert_eq!(inner, None);
            })
            .await
    })
    .await;
    assert_eq!(out, Some(Some(())));
    assert!(log.events().is_empty(), "{:?}", log.events());
}
