//! AnyIO's `tests/test_to_thread.py` and `tests/test_from_thread.py`, the cases not already
//! ported: a panic in the blocking call (and in async code it runs through `from_thread`), a
//! call cancelled while it waits for a token, calls nested both ways, the structured wait
//! kept when a combinator drops the call or a sibling's error cancels it, and no runtime.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyscope_core::from_thread;
use anyscope_core::sync::CapacityLimiter;
use anyscope_core::{CancelScope, run_blocking, spawn, task_group};

use crate::support::{Flag, wait_until};

/// The text of a panic payload.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => String::from("<not a string>"),
    }
}

/// `test_run_in_thread_exception`: a panic in the blocking function is resumed in the caller
/// with its payload, and the call's limiter token is given back: the next call runs.
pub async fn blocking_panic_is_resumed_in_the_caller_and_gives_its_token_back() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let l = Arc::clone(&limiter);
    let caller = spawn(async move {
        run_blocking(|| -> u8 { std::panic::panic_any(String::from("boom in the thread")) }).limiter(l).await
    });
    let err = caller.await.expect_err("the caller resumes the panic");
    let payload = err.try_into_panic().expect("a panic, not a cancellation");
    assert_eq!(message(&*payload), "boom in the thread");
    assert_eq!(limiter.borrowed_tokens(), 0, "the panicking call kept its token");
    let v = anyscope_core::fail_after(Duration::from_secs(30), run_blocking(|| 7).limiter(limiter.clone()))
        .await
        .expect("the next call ran");
    assert_eq!(v, 7);
}

/// `test_run_corofunc_from_thread` with an exception: a panic of async code run through
/// `from_thread::run` is resumed on the blocking thread, where it can be caught; the host
/// runtime goes on.
pub async fn from_thread_panic_is_resumed_on_the_thread() {
    let caught = run_blocking(|| {
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
            from_thread::run(async {
                anyscope_core::checkpoint().await;
                std::panic::panic_any(String::from("boom on the host"))
            })
        }));
        match r {
            Ok(_) => String::from("no panic"),
            Err(payload) => message(&*payload),
        }
    })
    .await;
    assert_eq!(caught, "boom on the host");
    assert_eq!(spawn(async { 1 + 1 }).await.unwrap(), 2, "the host goes on");
}

/// A call still waiting for a limiter token is cancelled at once (structured or not: nothing
/// runs yet, there is nothing to wait for), its function never runs, and it leaves no waiter
/// and no token behind.
pub async fn call_cancelled_while_waiting_for_a_token_never_runs() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let (release, holder_done, second_ran) = (Flag::new(), Flag::new(), Flag::new());
    let (r, d) = (release.clone(), holder_done.clone());
    let l = Arc::clone(&limiter);
    let holder = spawn(async move {
        run_blocking(move || {
            while !r.is_set() {
                std::thread::sleep(Duration::from_millis(2));
            }
            d.set();
        })
        .limiter(l)
        .await
    });
    wait_until("the first call holds the token", || limiter.borrowed_tokens() == 1).await;
    let scope = CancelScope::new();
    let (s2, l2, ran) = (scope.clone(), Arc::clone(&limiter), second_ran.clone());
    let waiting = spawn(async move { s2.run(run_blocking(move || ran.set()).limiter(l2)).await });
    wait_until("the second call waits for a token", || limiter.statistics().tasks_waiting == 1).await;
    scope.cancel();
    assert_eq!(waiting.await.unwrap(), None);
    assert!(!holder_done.is_set(), "the cancelled call did not wait for the other one");
    assert_eq!(limiter.statistics().tasks_waiting, 0, "no waiter left behind");
    release.set();
    holder.await.unwrap();
    assert!(!second_ran.is_set(), "a call cancelled before its token ran anyway");
    assert_eq!(limiter.borrowed_tokens(), 0);
}

/// Calls nested both ways reach the right host: a blocking call runs async code that makes a
/// blocking call of its own, which runs async code again; each level sees its own caller.
pub async fn nested_blocking_and_from_thread_calls() {
    let host = anyscope_core::runtime::current().name();
    let v = run_blocking(|| {
        from_thread::run(async {
            let inner = run_blocking(|| {
                assert!(from_thread::check_cancelled().is_ok());
                from_thread::run(async { (anyscope_core::runtime::current().name(), 40) }).unwrap()
            })
            .await;
            (inner.0, inner.1 + 2)
        })
        .unwrap()
    })
    .await;
    assert_eq!(v, (host, 42));
}

/// A structured call dropped by a combinator (a `select` that another branch won) is still
/// waited for: the enclosing scope returns only after the function has returned.
pub async fn blocking_call_dropped_by_a_select_is_waited_for_by_its_scope() {
    let (selected, release, done) = (Flag::new(), Flag::new(), Flag::new());
    let (sel, r, d) = (selected.clone(), release.clone(), done.clone());
    // The call can end only after the select has dropped it: the sleep always wins.
    let (sel2, rel2) = (selected.clone(), release.clone());
    let releaser = spawn(async move {
        wait_until("the select returns", || sel2.is_set()).await;
        anyscope_core::sleep(Duration::from_millis(50)).await;
        rel2.set();
    });
    let out = CancelScope::new()
        .run(async move {
            let slow = std::pin::pin!(run_blocking(move || {
                while !r.is_set() {
                    std::thread::sleep(Duration::from_millis(2));
                }
                d.set();
            }));
            let quick = std::pin::pin!(anyscope_core::sleep(Duration::from_millis(5)));
            let won = futures_util::future::select(slow, quick).await;
            sel.set();
            matches!(won, futures_util::future::Either::Right(_))
        })
        .await;
    assert_eq!(out, Some(true), "the sleep wins");
    assert!(done.is_set(), "the scope returned before the dropped call ended");
    releaser.await.unwrap();
}

/// A sibling's error cancels a group child blocked in a structured call: the group returns the
/// error only after the call has returned (a thread cannot be interrupted).
pub async fn group_error_waits_for_a_running_blocking_call() {
    let done = Arc::new(AtomicBool::new(false));
    let d = Arc::clone(&done);
    let res = task_group(|tg: anyscope_core::TaskGroup<&'static str>| async move {
        let started = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&started);
        tg.spawn(async move {
            run_blocking(move || {
                s.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(200));
                d.store(true, Ordering::SeqCst);
            })
            .await;
            Ok(())
        })
        .unwrap();
        wait_until("the call runs", || started.load(Ordering::SeqCst)).await;
        tg.spawn(async { Err("sibling failed") }).unwrap();
        Ok(())
    })
    .await;
    assert!(res.is_err(), "the sibling's error is returned");
    assert!(done.load(Ordering::SeqCst), "the group returned before the blocking call ended");
}

/// With no runtime, polling `run_blocking` panics with a message saying so (documented), and
/// `from_thread` is an error; neither hangs.
pub async fn run_blocking_with_no_runtime_panics_clearly() {
    let outcome = std::thread::spawn(|| {
        let mut call = std::pin::pin!(run_blocking(|| 1));
        let mut cx = Context::from_waker(Waker::noop());
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
            matches!(call.as_mut().poll(&mut cx), Poll::Ready(_))
        }));
        (r.map_err(|p| message(&*p)), from_thread::check_cancelled().is_err())
    })
    .join()
    .unwrap();
    let msg = outcome.0.expect_err("no runtime: a panic");
    assert!(msg.to_lowercase().contains("runtime"), "unclear message: {msg}");
    assert!(outcome.1);
}

/// A blocking call inside a shield does not see the outer scope's cancellation or deadline:
/// `check_cancelled` is `Ok` and async code run through `from_thread` is not cancelled.
pub async fn blocking_call_in_a_shield_sees_no_outer_cancellation() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let (outer, s) = (CancelScope::new(), Arc::clone(&seen));
    let o2 = outer.clone();
    outer
        .run(async move {
            o2.cancel();
            let got = anyscope_core::shield(run_blocking(|| {
                let checked = from_thread::check_cancelled().is_ok();
                let ran = from_thread::run(async {
                    anyscope_core::sleep(Duration::from_millis(5)).await;
                    1
                });
                (checked, ran.ok())
            }))
            .await;
            *s.lock().unwrap() = Some(got);
            anyscope_core::checkpoint().await;
        })
        .await;
    assert_eq!(*seen.lock().unwrap(), Some((true, Some(1))), "the shield let the outer cancel in");

    // An outer deadline passing while the shielded call runs does not count inside either.
    let inside = Arc::new(AtomicBool::new(false));
    let i = Arc::clone(&inside);
    let out = anyscope_core::move_on_after(
        Duration::from_millis(10),
        anyscope_core::shield(run_blocking(move || {
            std::thread::sleep(Duration::from_millis(100));
            i.store(from_thread::check_cancelled().is_ok(), Ordering::SeqCst);
        })),
    )
    .await;
    let _ = out;
    assert!(inside.load(Ordering::SeqCst), "the outer deadline was seen inside the shield");
}

/// A waiting call cancelled as the token is released to it (in either order, many times)
/// leaves the limiter whole: no token held, no waiter queued; a call that returned a value ran.
pub async fn token_released_as_the_waiting_call_is_cancelled_is_not_lost() {
    for round in 0..60u32 {
        let limiter = Arc::new(CapacityLimiter::new(1));
        limiter.acquire().await.unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let scope = CancelScope::new();
        let (s2, l2, r2) = (scope.clone(), Arc::clone(&limiter), Arc::clone(&ran));
        let waiting = spawn(async move {
            s2.run(run_blocking(move || r2.store(true, Ordering::SeqCst)).limiter(l2)).await
        });
        wait_until("the call waits for the token", || limiter.statistics().tasks_waiting == 1).await;
        if round % 2 == 0 {
            limiter.release().unwrap();
            scope.cancel();
        } else {
            scope.cancel();
            limiter.release().unwrap();
        }
        let out = waiting.await.unwrap();
        if out.is_some() {
            assert!(ran.load(Ordering::SeqCst));
        }
        let s = limiter.statistics();
        assert_eq!((s.borrowed_tokens, s.tasks_waiting), (0, 0), "round {round}: {s:?}");
        assert!(limiter.try_acquire().is_ok(), "round {round}: the token is free");
        limiter.release().unwrap();
    }
}

/// The task that made a blocking call is aborted while the call waits in `from_thread::run`:
/// the async code is cancelled and the call returns (with the cancelled error), so nothing
/// waits forever for it.
pub async fn aborted_caller_cancels_the_from_thread_code_of_its_blocking_call() {
    let (entered, returned) = (Flag::new(), Flag::new());
    let (e, r) = (entered.clone(), returned.clone());
    let caller = spawn(async move {
        run_blocking(move || {
            let out = from_thread::run(async move {
                e.set();
                anyscope_core::sleep(Duration::from_secs(3600)).await;
            });
            if out.is_err_and(|e| e.is_cancelled()) {
                r.set();
            }
        })
        .await
    });
    wait_until("the async code runs", || entered.is_set()).await;
    caller.abort();
    wait_until("the blocking call returns, cancelled", || returned.is_set()).await;
    assert!(caller.await.is_err_and(|e| e.is_cancelled()));
}

/// A structured call dropped by a combinator (a `select` another branch won) is told its caller
/// stopped waiting: `check_cancelled` reports it and its `from_thread::run` is cancelled, so the
/// enclosing scope, which waits for the call, returns instead of waiting forever.
pub async fn blocking_call_dropped_by_a_select_is_told_it_is_cancelled() {
    let entered = Flag::new();
    let e = entered.clone();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = Arc::clone(&seen);
    // A generous bound, so that a broken build fails instead of hanging; it must not be what
    // ends the call.
    let bound = CancelScope::with_deadline(anyscope_core::current_time() + Duration::from_secs(30));
    let out = bound
        .run(CancelScope::new().run(async move {
            let call = std::pin::pin!(run_blocking(move || {
                let ran = from_thread::run(async move {
                    e.set();
                    anyscope_core::sleep(Duration::from_secs(3600)).await;
                });
                *s.lock().unwrap() =
                    Some((ran.is_err_and(|e| e.is_cancelled()), from_thread::check_cancelled().is_err()));
            }));
            let seen_entered = std::pin::pin!(wait_until("the async code runs", move || entered.is_set()));
            futures_util::future::select(call, seen_entered).await;
        }))
        .await;
    assert!(!bound.cancel_called(), "the scope waited for the dropped call until the bound");
    assert!(out.is_some());
    assert_eq!(*seen.lock().unwrap(), Some((true, true)), "the call was not told");
}

/// The cancelled error a blocking call sees says why: a deadline of the caller's scope, or the
/// message given to `cancel_with`.
pub async fn from_thread_cancellation_says_why() {
    let why = Arc::new(std::sync::Mutex::new(None));
    let w = Arc::clone(&why);
    let out = anyscope_core::move_on_after(
        Duration::from_millis(20),
        run_blocking(move || {
            let ran = from_thread::run(anyscope_core::sleep(Duration::from_secs(3600)));
            let checked = from_thread::check_cancelled();
            *w.lock().unwrap() = match (ran, checked) {
                (
                    Err(from_thread::FromThreadError::Cancelled(a)),
                    Err(from_thread::FromThreadError::Cancelled(b)),
                ) => Some((a.reason().is_deadline(), b.reason().is_deadline())),
                _ => None,
            };
        }),
    )
    .await;
    assert!(out.is_none());
    assert_eq!(*why.lock().unwrap(), Some((true, true)), "the call did not see the deadline as the reason");

    let scope = CancelScope::new();
    let s2 = scope.clone();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = Arc::clone(&seen);
    let canceller = spawn(async move {
        anyscope_core::sleep(Duration::from_millis(20)).await;
        s2.cancel_with("shutting down");
    });
    let _ = scope
        .run(run_blocking(move || {
            let ran = from_thread::run(anyscope_core::sleep(Duration::from_secs(3600)));
            let msg = match ran {
                Err(from_thread::FromThreadError::Cancelled(c)) => c.reason().message().map(str::to_owned),
                _ => None,
            };
            *s.lock().unwrap() = Some(msg);
        }))
        .await;
    canceller.await.unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(Some(String::from("shutting down"))));
}
