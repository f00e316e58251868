//! Threads both ways: `run_blocking` (structured, limited) and `from_thread`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::from_thread::{self, FromThreadError};
use anyscope_core::sync::CapacityLimiter;
use anyscope_core::{CancelScope, Scoped, move_on_after, run_blocking, sleep, task_group};

use crate::fixtures::{TestRes, closes, unique_kind};
use crate::support::{Flag, Log, wait_until};

/// A caller cancelled while its blocking call runs waits for the call: when the scope returns,
/// the call has ended (AnyIO's default).
pub async fn run_blocking_is_structured() {
    let done = Flag::new();
    let d = done.clone();
    let out = move_on_after(
        Duration::from_millis(30),
        run_blocking(move || {
            std::thread::sleep(Duration::from_millis(300));
            d.set();
        }),
    )
    .await;
    assert!(out.is_none());
    assert!(done.is_set(), "the scope returned before the blocking call ended");
}

/// With `abandon_on_cancel`, the cancelled caller goes on at once; the call ends on its own.
pub async fn run_blocking_abandon_on_cancel_returns_at_once() {
    let (release, done) = (Flag::new(), Flag::new());
    let (r, d) = (release.clone(), done.clone());
    let out = move_on_after(
        Duration::from_millis(30),
        run_blocking(move || {
            while !r.is_set() {
                std::thread::sleep(Duration::from_millis(2));
            }
            d.set();
        })
        .abandon_on_cancel(),
    )
    .await;
    assert!(out.is_none());
    assert!(!done.is_set());
    release.set();
    wait_until("the abandoned call ends", || done.is_set()).await;
}

/// Blocking calls take a token from their limiter: never more run at once than it has tokens;
/// the default limiter has AnyIO's 40.
pub async fn run_blocking_takes_a_token_from_the_limiter() {
    assert_eq!(anyscope_core::default_thread_limiter().total_tokens(), 40);
    let limiter = Arc::new(CapacityLimiter::new(2));
    let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (l0, now0, max0) = (limiter.clone(), now.clone(), max.clone());
    let res: Result<(), ()> = task_group(|tg: anyscope_core::TaskGroup<()>| {
        let (limiter, now, max) = (l0, now0, max0);
        async move {
            for _ in 0..8 {
                let (l, now, max) = (limiter.clone(), now.clone(), max.clone());
                tg.spawn(async move {
                    run_blocking(move || {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(10));
                        now.fetch_sub(1, Ordering::SeqCst);
                    })
                    .limiter(l)
                    .await;
                    Ok(())
                })
                .unwrap();
            }
            Ok(())
        }
    })
    .await
    .map_err(|_| ());
    res.unwrap();
    let m = max.load(Ordering::SeqCst);
    assert!((1..=2).contains(&m), "{m} calls ran at once with 2 tokens");
    assert_eq!(limiter.borrowed_tokens(), 0, "a token was not given back");
}

/// `from_thread::run` runs async code on the host runtime from a blocking call and returns its
/// output; outside a blocking call it is an error, not a hang.
pub async fn from_thread_runs_async_code_on_the_host() {
    let host = anyscope_core::runtime::current().name();
    let (name, v) = run_blocking(|| {
        from_thread::run(async {
            sleep(Duration::from_millis(1)).await;
            let v = anyscope_core::spawn(async { 6 * 7 }).await.unwrap();
            (anyscope_core::runtime::current().name(), v)
        })
        .unwrap()
    })
    .await;
    assert_eq!((name, v), (host, 42));
    assert!(matches!(from_thread::run(async {}), Err(FromThreadError::NoHost)));
    assert!(matches!(from_thread::check_cancelled(), Err(FromThreadError::NoHost)));
    let e = run_blocking(|| std::thread::spawn(from_thread::check_cancelled).join().unwrap()).await;
    assert!(matches!(e, Err(FromThreadError::NoHost)), "a thread the call started is not the call");
}

/// Async code run from a blocking call inherits the caller's cancel scope: cancelling it
/// cancels that code, and the call sees it through `check_cancelled`.
pub async fn from_thread_inherits_the_callers_cancel_scope() {
    let log = Log::new();
    let l = log.clone();
    let scope = CancelScope::new();
    let s2 = scope.clone();
    let canceller = anyscope_core::spawn(async move {
        sleep(Duration::from_millis(30)).await;
        s2.cancel();
    });
    let out = scope
        .run(run_blocking(move || {
            assert!(from_thread::check_cancelled().is_ok());
            let r = from_thread::run(sleep(Duration::from_secs(3600)));
            l.push(format!("run cancelled: {}", r.as_ref().is_err_and(FromThreadError::is_cancelled)));
            l.push(format!(
                "check cancelled: {}",
                from_thread::check_cancelled().is_err_and(|e| e.is_cancelled())
            ));
        }))
        .await;
    assert!(out.is_none());
    canceller.await.unwrap();
    // The call was waited for (structured), and saw the cancellation both ways.
    assert_eq!(log.events(), ["run cancelled: true", "check cancelled: true"]);
}

/// A long blocking loop stops early by polling `check_cancelled`, and a deadline counts (even
/// before the caller's scope has delivered it).
pub async fn check_cancelled_sees_a_deadline() {
    let stopped = Flag::new();
    let s = stopped.clone();
    let out = move_on_after(
        Duration::from_millis(30),
        run_blocking(move || {
            for _ in 0..60_000 {
                if let Err(e) = from_thread::check_cancelled() {
                    if e.is_cancelled() {
                        s.set();
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }),
    )
    .await;
    // The call may return before the deadline is delivered to the scope (`Some`), or after.
    let _ = out;
    assert!(stopped.is_set(), "the blocking loop never saw the deadline");
}

/// A resource guard dropped inside a blocking call is closed (on the caller's runtime), as on
/// tokio, whose blocking threads know their runtime.
pub async fn guard_dropped_inside_run_blocking_is_closed() {
    let kind = unique_kind("io-guard");
    let log = Log::new();
    let guard = Scoped::new(TestRes::open(kind, "conn", &log));
    run_blocking(move || drop(guard)).await;
    let l = log.clone();
    wait_until("the guard's close ran", move || !closes(&l).is_empty()).await;
    assert_eq!(closes(&log), ["closed conn"]);
    crate::fixtures::assert_clean(kind).await;
}
