//! Cancel scopes themselves: delivery at checkpoints, flags, reasons, nesting, misuse.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Waker};
use std::time::Duration;

use anyscope_core::{
    CancelScope, checkpoint, checkpoint_if_cancelled, current_time, is_cancelled, move_on_after, sleep,
};

use crate::support::Log;

/// A scope cancelled before it runs delivers at the body's first checkpoint: the code before
/// the checkpoint runs, the code after does not.
pub async fn cancelled_before_run_delivers_at_first_checkpoint() {
    let scope = CancelScope::new();
    scope.cancel();
    let log = Log::new();
    let l = log.clone();
    let out = scope
        .run(async move {
            l.push("before");
            checkpoint().await;
            l.push("after");
        })
        .await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    assert_eq!(log.events(), ["before"]);
}

/// A body that completes without reaching a checkpoint after the cancel keeps its value: the
/// scope says `cancel_called` but not `cancelled_caught`.
pub async fn cancel_called_without_caught_when_body_never_checkpoints() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let out = scope
        .run(async move {
            handle.cancel();
            7
        })
        .await;
    assert_eq!(out, Some(7));
    assert!(scope.cancel_called());
    assert!(!scope.cancelled_caught());
}

/// A CPU-bound loop that calls `checkpoint()` is cancellable (here by a deadline).
pub async fn cpu_loop_with_checkpoint_is_cancellable() {
    let iterations = Arc::new(AtomicUsize::new(0));
    let it = iterations.clone();
    let out = move_on_after(Duration::from_millis(20), async move {
        let mut acc = 0u64;
        // Bounded only so that a broken build fails instead of spinning forever.
        for i in 0..u64::MAX {
            acc = std::hint::black_box(acc.wrapping_mul(31).wrapping_add(i));
            it.fetch_add(1, Ordering::Relaxed);
            checkpoint().await;
        }
        acc
    })
    .await;
    assert_eq!(out, None);
    assert!(iterations.load(Ordering::Relaxed) > 0);
}

/// A loop that never suspends cannot be cancelled: there is no point where its future could be
/// dropped. It finishes, and the cancellation stays pending (`cancel_called`, not caught).
pub async fn loop_that_never_suspends_finishes() {
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async {
            let mut acc = 0u64;
            for i in 0..100_000u64 {
                acc = std::hint::black_box(acc.wrapping_add(i));
            }
            (acc, is_cancelled())
        })
        .await;
    assert_eq!(out, Some(((0..100_000u64).sum(), true)));
    assert!(scope.cancel_called() && !scope.cancelled_caught());
}

/// Cancelling a scope a thousand times (before and while it runs) is harmless: the first
/// reason stays, the scope catches once.
pub async fn cancelling_a_thousand_times_is_harmless() {
    let scope = CancelScope::new();
    scope.cancel_with("first");
    for _ in 0..500 {
        scope.cancel();
    }
    let handle = scope.clone();
    let err = scope
        .try_run(async move {
            for i in 0..500 {
                handle.cancel_with(format!("later {i}"));
            }
            checkpoint().await;
        })
        .await
        .unwrap_err();
    assert_eq!(err.reason().message(), Some("first"));
    assert!(scope.cancelled_caught());
}

/// `checkpoint_if_cancelled()` resolves on its first poll when the scope is not cancelled.
pub async fn checkpoint_if_cancelled_does_not_yield_when_not_cancelled() {
    let scope = CancelScope::new();
    let out = scope
        .run(async {
            let mut fut = pin!(checkpoint_if_cancelled());
            let mut cx = Context::from_waker(Waker::noop());
            fut.as_mut().poll(&mut cx).is_ready()
        })
        .await;
    assert_eq!(out, Some(true));
}

/// `checkpoint_if_cancelled()` is a delivery point when the scope is cancelled.
pub async fn checkpoint_if_cancelled_delivers_when_cancelled() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let log = Log::new();
    let l = log.clone();
    let out = scope
        .run(async move {
            checkpoint_if_cancelled().await;
            l.push("not cancelled yet");
            handle.cancel();
            checkpoint_if_cancelled().await;
            l.push("unreachable");
        })
        .await;
    assert_eq!(out, None);
    assert_eq!(log.events(), ["not cancelled yet"]);
}

/// A `CancelScope` runs one body: a second `run` panics with a message that says so.
pub async fn scope_run_twice_panics() {
    let scope = CancelScope::new();
    assert_eq!(scope.run(async { 1 }).await, Some(1));
    let panic = catch_unwind(AssertUnwindSafe(|| {
        let _second = scope.run(async { 2 });
    }))
    .unwrap_err();
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains("only one body"), "unexpected panic message: {msg:?}");
}

/// When nested scopes are both cancelled, the outermost catches; the inner one is dropped with
/// the body and has `cancel_called` without `cancelled_caught`.
pub async fn nested_explicit_cancels_outermost_catches() {
    let outer = CancelScope::new();
    let inner = CancelScope::new();
    let (outer2, inner2) = (outer.clone(), inner.clone());
    let log = Log::new();
    let l = log.clone();
    let out = outer
        .run(async move {
            let r = inner2
                .run(async {
                    inner2.cancel();
                    outer2.cancel();
                    checkpoint().await;
                })
                .await;
            l.push(format!("inner returned {r:?}"));
        })
        .await;
    assert_eq!(out, None);
    assert!(outer.cancelled_caught());
    assert!(inner.cancel_called() && !inner.cancelled_caught());
    assert!(log.events().is_empty());
}

/// An inner scope's own cancellation is caught by the inner scope; the outer body goes on.
pub async fn inner_cancel_is_caught_by_inner_only() {
    let outer = CancelScope::new();
    let inner = CancelScope::new();
    let inner2 = inner.clone();
    let out = outer
        .run(async move {
            let r = inner2
                .run(async {
                    inner2.cancel();
                    sleep(Duration::from_secs(10)).await;
                })
                .await;
            checkpoint().await;
            r
        })
        .await;
    assert_eq!(out, Some(None));
    assert!(inner.cancelled_caught());
    assert!(!outer.cancel_called() && !outer.cancelled_caught());
}

/// Cancelling a scope after it finished is harmless and does not claim it caught anything.
pub async fn cancel_after_finish_is_harmless() {
    let scope = CancelScope::with_deadline(current_time() + Duration::from_secs(10));
    assert_eq!(
        scope
            .run(async {
                sleep(Duration::from_millis(1)).await;
                3
            })
            .await,
        Some(3)
    );
    scope.cancel();
    scope.set_deadline(Some(current_time()));
    scope.set_shield(true);
    assert!(scope.cancel_called());
    assert!(!scope.cancelled_caught());
}

/// Runs `op` in a scope cancelled beforehand: whether the scope caught (the op did not complete).
async fn caught_before<F: Future>(op: F) -> bool {
    let scope = CancelScope::new();
    scope.cancel();
    scope.run(op).await.is_none()
}

/// Every anyscope awaitable is a checkpoint (DESIGN §4), also when it is ready at once: in a
/// scope cancelled beforehand none completes, and none has its effect — the event's waiter does
/// not return, the lock, permit and token stay free, the item stays in the channel and the
/// sent one is not queued, the blocking call never runs, a zero sleep and a checkpoint do not
/// return.
pub async fn ready_awaitables_do_not_complete_in_a_cancelled_scope() {
    use anyscope_core::sync::{CapacityLimiter, Event, Mutex, Semaphore};

    let event = Event::new();
    event.set();
    assert!(caught_before(event.wait()).await, "Event::wait on a set event");

    let mutex = Mutex::new(0u32);
    assert!(caught_before(async { *mutex.lock().await += 1 }).await, "Mutex::lock");
    assert_eq!(*mutex.try_lock().expect("the lock stayed free"), 0);

    let sem = Semaphore::new(1);
    assert!(caught_before(async { sem.acquire().await.unwrap().forget() }).await, "Semaphore::acquire");
    assert_eq!(sem.available_permits(), 1);

    let limiter = CapacityLimiter::new(1);
    assert!(caught_before(async { limiter.acquire().await.unwrap() }).await, "CapacityLimiter::acquire");
    assert_eq!(limiter.available_tokens(), 1);

    let (tx, rx) = anyscope_core::channel::<u32>(2);
    tx.try_send(1).unwrap();
    assert!(caught_before(async { rx.recv().await.unwrap() }).await, "Receiver::recv with an item");
    assert!(caught_before(async { tx.send(2).await.unwrap() }).await, "Sender::send with room");
    assert_eq!(rx.try_recv().unwrap(), 1, "the item stayed in the channel");
    assert!(rx.try_recv().is_err(), "the cancelled send queued nothing");

    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    assert!(
        caught_before(anyscope_core::run_blocking(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }))
        .await,
        "run_blocking"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the blocking call ran in a cancelled scope");

    assert!(caught_before(sleep(Duration::ZERO)).await, "sleep(0)");
    assert!(caught_before(checkpoint()).await, "checkpoint");
}
