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
