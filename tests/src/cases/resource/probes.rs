//! Scoped resources probed as AnyIO's `aclose_forcefully` and Trio's `async with` under
//! cancellation: closes run when the holding task is aborted; a close asked for in a cancelled
//! scope still runs; a deadline passing during the first of two closes; a close that itself
//! drops a guard; a grace period expiring during the first of two closes.

use std::sync::Arc;
use std::time::Duration;

use anyscope_core::resource::{Exit, resource};
use anyscope_core::sync::Event;
use anyscope_core::{AsyncClose, CancelScope, Scoped, move_on_after, sleep, spawn, tracker};

use crate::fixtures::{CloseError, TestRes, assert_clean, closes, unique_kind};
use crate::support::{Log, wait_until};

/// The task holding two guards and a `resource` is aborted while its body waits: every close
/// still runs (the task's frame is gone: a tracked detached cleanup), in reverse order of
/// opening, and the teardown is told `Cancelled`.
pub async fn closes_run_when_the_holding_task_is_aborted() {
    let kind = unique_kind("resource::aborted");
    let log = Log::new();
    let running = Arc::new(Event::new());
    let task = {
        let (log, running) = (log.clone(), running.clone());
        spawn(async move {
            let _a = Scoped::new(TestRes::open(kind, "a", &log).slow(Duration::from_millis(1)));
            let l = log.clone();
            let teardown = move |_v: (), exit: Exit| async move {
                sleep(Duration::from_millis(1)).await;
                l.push(format!("closed tx {exit:?}"));
                Ok::<_, CloseError>(())
            };
            resource(async { Ok::<_, CloseError>(()) }, teardown)
                .run(async |_: &mut ()| {
                    let _b = Scoped::new(TestRes::open(kind, "b", &log).slow(Duration::from_millis(1)));
                    running.set();
                    std::future::pending::<Result<(), CloseError>>().await
                })
                .await
        })
    };
    running.wait().await;
    task.abort();
    assert!(task.await.is_err());
    wait_until("every close ran", || closes(&log).len() == 3).await;
    assert_eq!(closes(&log), ["closed b", "closed tx Cancelled", "closed a"]);
    let stats = tracker::kind(kind);
    assert_eq!((stats.closed_explicitly, stats.lost, stats.abandoned), (0, 0, 0), "{stats:?}");
    assert_clean(kind).await;
}

/// AnyIO's `aclose_forcefully` idea, the other way round: a close asked for inside an already
/// cancelled scope is not skipped. The caller is cut off at once (the scope catches), and the
/// scope finishes the close, awaited, before it returns.
pub async fn close_asked_for_in_a_cancelled_scope_still_runs() {
    let kind = unique_kind("resource::close_cancelled");
    let log = Log::new();
    let guard = Scoped::new(TestRes::open(kind, "a", &log).slow(Duration::from_millis(2)));
    let scope = CancelScope::new();
    scope.cancel();
    assert!(scope.run(guard.close()).await.is_none());
    assert!(scope.cancelled_caught());
    assert_eq!(log.events(), ["open a", "closing a", "closed a"]);
    assert_eq!(tracker::kind(kind).closed_adopted, 1);
    assert_clean(kind).await;
}

/// A resource whose close waits for an event (logged `closing x`, then `closed x`).
struct Gated {
    name: &'static str,
    kind: &'static str,
    log: Log,
    gate: Arc<Event>,
}

impl AsyncClose for Gated {
    type Error = CloseError;
    async fn close(self) -> Result<(), CloseError> {
        self.log.push(format!("closing {}", self.name));
        self.gate.wait().await;
        self.log.push(format!("closed {}", self.name));
        Ok(())
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
}

/// Two resources; the body closes the second explicitly and the scope's deadline passes during
/// that close (the close waits until the scope has registered its cancellation): the close is
/// finished by the scope, then the first (dropped with the body) is closed: reverse order, each
/// close run to its end, once, and the body does not go on.
pub async fn deadline_during_the_first_of_two_closes_keeps_reverse_order() {
    let kind = unique_kind("resource::deadline_in_close");
    let log = Log::new();
    let gate = Arc::new(Event::new());
    let scope = CancelScope::new();
    scope.set_deadline(Some(anyscope_core::current_time() + Duration::from_millis(10)));
    let opener = {
        let (scope, gate) = (scope.clone(), gate.clone());
        spawn(async move {
            wait_until("the deadline cancelled the scope", || scope.cancel_called()).await;
            gate.set();
        })
    };
    let l = log.clone();
    let out = scope
        .run(async move {
            let _a = Scoped::new(TestRes::open(kind, "a", &l).slow(Duration::from_millis(2)));
            let b = Scoped::new(Gated { name: "b", kind, log: l.clone(), gate });
            let _ = b.close().await; // the deadline passes during this close
            l.push("body went on");
            std::future::pending::<()>().await;
        })
        .await;
    assert_eq!(out, None);
    let events = log.events();
    assert_eq!(closes(&log), ["closed b", "closed a"], "{events:?}");
    assert!(!events.iter().any(|e| e == "body went on"), "{events:?}");
    assert_eq!(events.iter().filter(|e| e.starts_with("closing ")).count(), 2, "{events:?}");
    let stats = tracker::kind(kind);
    assert_eq!((stats.closed_adopted, stats.lost), (2, 0), "{stats:?}");
    opener.await.unwrap();
    assert_clean(kind).await;
}

/// A resource whose close opens a helper and drops it unclosed (a cleanup that adopts more):
/// under a cancelled scope, the helper is closed too, before the scope returns.
pub async fn a_close_that_drops_a_guard_adopts_it_into_the_same_frame() {
    struct Parent {
        kind: &'static str,
        log: Log,
    }
    impl AsyncClose for Parent {
        type Error = CloseError;
        async fn close(self) -> Result<(), CloseError> {
            let helper =
                Scoped::new(TestRes::open(self.kind, "helper", &self.log).slow(Duration::from_millis(2)));
            sleep(Duration::from_millis(1)).await;
            drop(helper);
            self.log.push("closed parent");
            Ok(())
        }
        fn kind(&self) -> &'static str {
            self.kind
        }
    }

    let kind = unique_kind("resource::nested_adopt");
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_millis(5), async move {
        let _p = Scoped::new(Parent { kind, log: l.clone() });
        std::future::pending::<()>().await;
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(closes(&log), ["closed parent", "closed helper"]);
    let stats = tracker::kind(kind);
    assert_eq!((stats.opened, stats.closed_adopted, stats.lost), (2, 2, 0), "{stats:?}");
    assert_clean(kind).await;
}

/// A grace period expiring during the first of two closes (the last opened, stuck): it is
/// abandoned and nothing is lost or left open; the other is accounted for too, and the scope
/// returns. (Today the other, queued behind the stuck one, is abandoned unstarted: the grace
/// bounds the whole queue; this case does not pin that down.)
pub async fn grace_expiring_during_the_first_of_two_closes() {
    let kind = unique_kind("resource::grace_first");
    let log = Log::new();
    let scope = CancelScope::new();
    scope.set_deadline(Some(anyscope_core::current_time() + Duration::from_millis(5)));
    scope.set_cleanup_grace(Some(Duration::from_millis(20)));
    let l = log.clone();
    let out = scope
        .run(async move {
            let _quick = Scoped::new(TestRes::open(kind, "quick", &l));
            let _stuck = Scoped::new(TestRes::open(kind, "stuck", &l).slow(Duration::from_secs(3600)));
            std::future::pending::<()>().await;
        })
        .await;
    assert_eq!(out, None);
    let stats = tracker::kind(kind);
    assert_eq!((stats.lost, stats.open()), (0, 0), "{stats:?}");
    assert_eq!(stats.abandoned + stats.closed_adopted, 2, "{stats:?}");
    assert!(!closes(&log).contains(&"closed stuck".to_string()));
}

/// An inner scope's deadline cuts its body, and the scope runs the close the body left (slow);
/// an outer scope with a cleanup grace period is cancelled during that close. The close runs to
/// its end all the same: it is the inner scope's cleanup, shielded, and only the grace of the
/// scope that adopted it bounds it (the outer grace bounds what the outer body leaves once it
/// has ended). Nothing is abandoned, and the outer scope returns after the close.
pub async fn outer_cancel_and_grace_do_not_cut_an_inner_scopes_cleanup() {
    let kind = unique_kind("resource::outer_grace");
    let log = Log::new();
    let outer = CancelScope::new();
    outer.set_cleanup_grace(Some(Duration::from_millis(10)));
    let canceller = {
        let (outer, log) = (outer.clone(), log.clone());
        spawn(async move {
            wait_until("the inner close runs", || log.events().iter().any(|e| e == "closing slow")).await;
            outer.cancel();
        })
    };
    let l = log.clone();
    let out = outer
        .run(async move {
            let l2 = l.clone();
            let r = move_on_after(Duration::from_millis(5), async move {
                let _s = Scoped::new(TestRes::open(kind, "slow", &l2).slow(Duration::from_millis(200)));
                std::future::pending::<()>().await;
            })
            .await;
            l.push(format!("inner returned {r:?}"));
            anyscope_core::checkpoint().await;
            l.push("outer body went on past a checkpoint");
        })
        .await;
    assert_eq!(out, None, "the outer scope caught its cancellation");
    assert_eq!(log.events(), ["open slow", "closing slow", "closed slow", "inner returned None"]);
    let stats = tracker::kind(kind);
    assert_eq!((stats.closed_adopted, stats.abandoned, stats.lost), (1, 0, 0), "{stats:?}");
    canceller.await.unwrap();
    assert_clean(kind).await;
}

/// AnyIO's `aclose_forcefully`: close a resource in a cancelled scope, so that a close that
/// would wait is cut off. Here: a cancelled scope with a zero grace period runs a stuck close;
/// the scope returns, the close is abandoned (counted, nothing lost or left open).
pub async fn forceful_close_in_a_cancelled_scope_with_zero_grace() {
    let kind = unique_kind("resource::forceful");
    let log = Log::new();
    let guard = Scoped::new(TestRes::open(kind, "stuck", &log).slow(Duration::from_secs(3600)));
    let scope = CancelScope::new();
    scope.set_cleanup_grace(Some(Duration::ZERO));
    scope.cancel();
    assert!(scope.run(guard.close()).await.is_none());
    assert!(!closes(&log).contains(&"closed stuck".to_string()));
    let stats = tracker::kind(kind);
    assert_eq!((stats.abandoned, stats.lost, stats.open()), (1, 0, 0), "{stats:?} {:?}", log.events());
}
