//! What scopes report and return while the cleanups their bodies left behind run.

use std::time::Duration;

use anyscope_core::{CancelScope, Scoped, checkpoint, sleep, spawn};

use crate::fixtures::{TestRes, assert_clean, closes, unique_kind};
use crate::support::{Flag, Log, wait_until};

/// An outer scope cancelled while an inner scope's adopted cleanups run: the cleanups finish,
/// the inner `run` returns `None` (it caught its own cancellation), and the outer scope catches
/// its cancellation at the next checkpoint after it. Each scope reports what it caught itself.
pub async fn outer_cancel_while_inner_cleanups_run_lets_inner_return() {
    let kind = unique_kind("cancel::inner_cleanups");
    let log = Log::new();
    let outer = CancelScope::new();
    let inner = CancelScope::new();
    let (outer_h, inner_h) = (outer.clone(), inner.clone());
    let closing = Flag::new();
    let c = closing.clone();
    let l = log.clone();
    let canceller = spawn(async move {
        inner_h.cancel();
        wait_until("the inner cleanup started", || l.events().iter().any(|e| e == "closing r")).await;
        outer_h.cancel();
        c.set();
    });
    let (l, i) = (log.clone(), inner.clone());
    let out = outer
        .run(async move {
            let got = i
                .run(async {
                    let _guard = Scoped::new(TestRes::open(kind, "r", &l).slow(Duration::from_millis(50)));
                    sleep(Duration::from_secs(3600)).await;
                })
                .await;
            l.push(format!("inner returned {got:?}"));
            checkpoint().await;
            l.push("unreachable");
        })
        .await;
    canceller.await.unwrap();
    assert!(closing.is_set());
    assert_eq!(out, None);
    assert!(inner.cancelled_caught(), "the inner scope caught its own cancellation");
    assert!(outer.cancelled_caught(), "the outer scope caught its own, after the inner returned");
    assert_eq!(closes(&log), ["closed r"]);
    let events = log.events();
    let returned = events.iter().position(|e| e == "inner returned None").expect("inner run returned");
    let closed = events.iter().position(|e| e == "closed r").unwrap();
    assert!(closed < returned, "{events:?}");
    assert_clean(kind).await;
}

/// A guard whose close panics, dropped in a cancelled scope: the panic is counted once, as
/// panicked — not also as a lost resource or a lost cleanup — and the resource is no longer open.
pub async fn panicking_adopted_close_counts_once_as_panicked() {
    let kind = unique_kind("cancel::close_panics_adopted");
    let log = Log::new();
    let l = log.clone();
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async move {
            let _guard = Scoped::new(TestRes::open(kind, "p", &l).panicking());
            checkpoint().await;
        })
        .await;
    assert_eq!(out, None);
    let stats = anyscope_core::tracker::kind(kind);
    assert_eq!((stats.cleanup_panicked, stats.lost, stats.closed(), stats.open()), (1, 0, 0, 0), "{stats:?}");
    assert_eq!(log.events(), ["open p", "closing p"]);
}

/// A close that panics while its owner awaits it: the panic reaches the owner (here, the task's
/// join handle), the close is counted once as panicked, and the panicked close is never polled
/// again (no second panic "`async fn` resumed after panicking" from a cleanup).
pub async fn panicking_awaited_close_reaches_owner_once() {
    let kind = unique_kind("cancel::close_panics_awaited");
    let log = Log::new();
    let l = log.clone();
    let task = spawn(async move {
        let guard = Scoped::new(TestRes::open(kind, "p", &l).panicking());
        let _ = guard.close().await;
        l.push("unreachable");
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    let payload = err.into_panic();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
    assert_eq!(message.as_deref(), Some("close of p panicked"));
    let stats = anyscope_core::tracker::kind(kind);
    assert_eq!((stats.cleanup_panicked, stats.lost, stats.closed(), stats.open()), (1, 0, 0, 0), "{stats:?}");
    assert_eq!(log.events(), ["open p", "closing p"]);
}
