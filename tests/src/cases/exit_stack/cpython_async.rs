//! CPython's `TestAsyncExitStack` (Lib/test/test_contextlib_async.py) and the `ExitStack` tests
//! of Lib/test/test_contextlib.py, second round: what `close` does with entries pushed while it
//! runs, a close future that is never polled, a close in a cancelled scope or an aborted task,
//! a resource close failing under an exit callback, and an enter that fails half-way.

use std::sync::Arc;
use std::time::Duration;

use anyscope_core::exit_stack::{ExitOutcome, ExitStack};
use anyscope_core::sync::Event;
use anyscope_core::{CancelScope, spawn, tracker};

use crate::fixtures::{CloseError, TestRes, assert_clean, closes, unique_kind};
use crate::support::{Log, wait_until};

/// The entries are taken when `close` is called (documented): one entered after that (here,
/// while the close is pending) is not closed by it; it stays on the stack for the next close.
pub async fn entry_entered_during_close_waits_for_the_next_close() {
    let kind = unique_kind("exit_stack::during_close");
    let log = Log::new();
    let mut stack = ExitStack::new();
    stack.enter(TestRes::open(kind, "a", &log).slow(Duration::from_millis(1)));
    stack.enter(TestRes::open(kind, "b", &log));
    let closing = stack.close();
    let late = stack.enter(TestRes::open(kind, "late", &log));
    assert_eq!(stack.len(), 1);
    closing.await.unwrap();
    assert_eq!(closes(&log), ["closed b", "closed a"]);
    assert_eq!(stack.get(late).name, "late", "the late entry is still there, usable");
    stack.close().await.unwrap();
    assert_eq!(closes(&log), ["closed b", "closed a", "closed late"]);
    assert_eq!(tracker::kind(kind).closed_explicitly, 3);
    assert_clean(kind).await;
}

/// A callback that pushes onto the stack being closed (shared behind a mutex) does not extend
/// that close: what it pushed runs at the next close, and a stack dropped with it adopts it.
pub async fn callback_pushing_onto_its_own_stack_during_close() {
    let log = Log::new();
    let stack = Arc::new(std::sync::Mutex::new(ExitStack::new()));
    let (l, s) = (log.clone(), stack.clone());
    stack.lock().unwrap().push_callback(move || async move {
        l.push("first");
        let l2 = l.clone();
        s.lock().unwrap().push_callback(move || async move {
            l2.push("pushed during close");
            Ok::<_, CloseError>(())
        });
        Ok::<_, CloseError>(())
    });
    let closing = stack.lock().unwrap().close();
    closing.await.unwrap();
    assert_eq!(log.events(), ["first"]);
    assert_eq!(stack.lock().unwrap().len(), 1);
    let closing = stack.lock().unwrap().close();
    closing.await.unwrap();
    assert_eq!(log.events(), ["first", "pushed during close"]);
}

/// A close future dropped before its first poll still closes every entry it took: the frame
/// that dropped it runs them, in order, before it returns, and counts them as closed by
/// adoption (as a dropped `Scoped::close`), not by their owner.
pub async fn close_future_dropped_unpolled_still_closes_everything() {
    let kind = unique_kind("exit_stack::unpolled_close");
    let log = Log::new();
    let l = log.clone();
    let out = CancelScope::new()
        .run(async move {
            let mut stack = ExitStack::new();
            stack.enter(TestRes::open(kind, "a", &l).slow(Duration::from_millis(1)));
            stack.enter(TestRes::open(kind, "b", &l).slow(Duration::from_millis(1)));
            let closing = stack.close();
            assert!(stack.is_empty());
            drop(closing);
            drop(stack); // empty: closes nothing more
            "body done"
        })
        .await;
    assert_eq!(out, Some("body done"));
    assert_eq!(closes(&log), ["closed b", "closed a"], "closed before the scope returned");
    assert_eq!(tracker::kind(kind).closed_adopted, 2);
    assert_clean(kind).await;
}

/// `close` called in an already cancelled scope: the caller is cut off (the scope catches), yet
/// every entry is closed, LIFO, before the scope returns, and exit callbacks still see the
/// body's outcome (`Ok`: the close was asked for, not dropped).
pub async fn close_in_a_cancelled_scope_still_runs_every_entry() {
    let kind = unique_kind("exit_stack::close_cancelled");
    let log = Log::new();
    let mut stack = ExitStack::new();
    let l = log.clone();
    stack.push_exit(move |outcome: &ExitOutcome<'_>| {
        l.push(format!("exit sees {outcome:?}"));
        async { Ok::<_, CloseError>(false) }
    });
    stack.enter(TestRes::open(kind, "a", &log).slow(Duration::from_millis(2)));
    stack.enter(TestRes::open(kind, "b", &log).slow(Duration::from_millis(2)));
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope.run(stack.close()).await;
    assert!(out.is_none(), "the scope caught its cancellation");
    assert!(scope.cancelled_caught());
    let events = log.events();
    assert_eq!(closes(&log), ["closed b", "closed a"]);
    assert_eq!(events.last().map(String::as_str), Some("exit sees Ok"));
    assert!(stack.is_empty());
    assert_clean(kind).await;
}

/// The task closing a stack is aborted while a callback waits: the rest of the close still runs
/// to its end (with the task's frame gone, as a tracked detached cleanup), in order.
pub async fn close_in_an_aborted_task_finishes_every_entry() {
    let kind = unique_kind("exit_stack::aborted");
    let log = Log::new();
    let (started, go) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let task = {
        let (log, started, go) = (log.clone(), started.clone(), go.clone());
        spawn(async move {
            let mut stack = ExitStack::new();
            stack.enter(TestRes::open(kind, "a", &log));
            let l = log.clone();
            stack.push_callback(move || async move {
                started.set();
                go.wait().await;
                l.push("closed callback");
                Ok::<_, CloseError>(())
            });
            stack.enter(TestRes::open(kind, "b", &log));
            stack.close().await
        })
    };
    started.wait().await;
    task.abort();
    let res = task.await;
    assert!(res.is_err(), "the task was aborted");
    go.set();
    wait_until("the aborted close finished", || closes(&log).len() == 3).await;
    assert_eq!(closes(&log), ["closed b", "closed callback", "closed a"]);
    assert_clean(kind).await;
}

/// A failing resource close replaces the body's error; an exit callback pushed before it sees
/// the close's error, with the body's as its context, and may suppress both.
pub async fn exit_callback_sees_a_failing_close_and_may_suppress_it() {
    let kind = unique_kind("exit_stack::close_seen");
    let log = Log::new();
    let mut stack = ExitStack::new();
    let l = log.clone();
    stack.push_exit(move |outcome: &ExitOutcome<'_>| {
        if let ExitOutcome::Error(e) = outcome {
            let src = std::error::Error::source(*e).map(|s| s.to_string());
            l.push(format!("sees {e} <- {src:?}"));
        }
        async { Ok::<_, CloseError>(true) }
    });
    stack.enter(TestRes::open(kind, "db", &log).failing());
    stack.close_with_error("body").await.unwrap();
    assert!(
        log.events().contains(&"sees close of db failed <- Some(\"body\")".to_string()),
        "{:?}",
        log.events()
    );
    assert_eq!(tracker::kind(kind).close_failed, 1, "the failed close is counted even when suppressed");
    assert_clean(kind).await;
}

/// A panicking resource close is reported as a failure; the entries under it are still closed.
pub async fn panicking_resource_close_reported_rest_closed() {
    let kind = unique_kind("exit_stack::panicking_close");
    let log = Log::new();
    let task = {
        let log = log.clone();
        spawn(async move {
            let mut stack = ExitStack::new();
            stack.enter(TestRes::open(kind, "a", &log));
            stack.enter(TestRes::open(kind, "bad", &log).panicking());
            stack.enter(TestRes::open(kind, "c", &log));
            stack.close().await.map_err(|e| e.to_string())
        })
    };
    let err = task.await.expect("the panic does not escape close").unwrap_err();
    assert!(err.contains("close of bad panicked"), "{err}");
    assert_eq!(closes(&log), ["closed c", "closed a"]);
    let stats = tracker::kind(kind);
    assert_eq!(
        (stats.closed_explicitly, stats.cleanup_panicked, stats.close_failed),
        (2, 1, 0),
        "the panicked close counts as panicked, once, not as closed or failed: {stats:?}"
    );
    assert_clean(kind).await;
}

/// CPython's idiom for "enter several, keep them only if all succeed": enter into a stack and
/// `pop_all` at the end. An open failing half-way (`?`) drops the stack: what was entered is
/// closed, LIFO, before the enclosing frame returns, and exit callbacks see `Cancelled`. On
/// success `pop_all` hands everything over and nothing is closed yet.
pub async fn enter_failing_half_way_closes_what_was_entered() {
    async fn open_all(kind: &'static str, log: &Log, fail_at: usize) -> Result<ExitStack, String> {
        let mut stack = ExitStack::new();
        let l = log.clone();
        stack.push_exit(move |outcome: &ExitOutcome<'_>| {
            l.push(format!("exit sees {outcome:?}"));
            async { Ok::<_, CloseError>(false) }
        });
        for i in 0..3 {
            if i == fail_at {
                return Err(format!("open {i} failed"));
            }
            anyscope_core::checkpoint().await;
            stack.enter(TestRes::open(kind, &i.to_string(), log));
        }
        Ok(stack.pop_all())
    }

    let kind = unique_kind("exit_stack::half_way");
    let log = Log::new();
    let l = log.clone();
    let out = CancelScope::new().run(async move { open_all(kind, &l, 2).await.err() }).await;
    assert_eq!(out, Some(Some("open 2 failed".to_string())));
    assert_eq!(closes(&log), ["closed 1", "closed 0"], "closed before the scope returned");
    assert_eq!(log.events().last().map(String::as_str), Some("exit sees Cancelled"));
    assert_clean(kind).await;

    let log = Log::new();
    let mut all = open_all(kind, &log, usize::MAX).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(closes(&log).is_empty());
    all.close().await.unwrap();
    assert_eq!(closes(&log), ["closed 2", "closed 1", "closed 0"]);
    assert_eq!(log.events().last().map(String::as_str), Some("exit sees Ok"));
    assert_clean(kind).await;
}

/// A stack dropped while its task panics: every entry is still closed, LIFO, and exit callbacks
/// see `Panicked`; the panic then reaches whoever awaits the task.
pub async fn stack_dropped_by_a_panic_callbacks_see_panicked() {
    let kind = unique_kind("exit_stack::panicked_owner");
    let log = Log::new();
    let task = {
        let log = log.clone();
        spawn(async move {
            let mut stack = ExitStack::new();
            stack.enter(TestRes::open(kind, "a", &log).slow(Duration::from_millis(1)));
            let l = log.clone();
            stack.push_exit(move |outcome: &ExitOutcome<'_>| {
                l.push(format!("exit sees {outcome:?}"));
                async { Ok::<_, CloseError>(true) }
            });
            stack.enter(TestRes::open(kind, "b", &log).slow(Duration::from_millis(1)));
            anyscope_core::checkpoint().await;
            if stack.len() == 3 {
                panic!("owner bug");
            }
            stack
        })
    };
    let err = task.await.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    let events: Vec<String> =
        log.events().into_iter().filter(|e| !e.starts_with("open ") && !e.starts_with("closing ")).collect();
    assert_eq!(events, ["closed b", "exit sees Panicked", "closed a"]);
    assert_clean(kind).await;
}

/// A panicking exit callback over a body error: the panic becomes a failure that replaces the
/// body's error (which stays reachable as its context), and the callbacks after it see it.
pub async fn panicking_exit_callback_replaces_the_body_error() {
    let seen = Log::new();
    let task = {
        let seen = seen.clone();
        spawn(async move {
            let mut stack = ExitStack::new();
            let s = seen.clone();
            stack.push_exit(move |outcome: &ExitOutcome<'_>| {
                if let ExitOutcome::Error(e) = outcome {
                    let src = std::error::Error::source(*e).map(|s| s.to_string());
                    s.push(format!("outer sees {e} <- {src:?}"));
                }
                async { Ok::<_, CloseError>(false) }
            });
            stack.push_exit(|_: &ExitOutcome<'_>| async {
                if true {
                    panic!("boom");
                }
                Ok::<_, CloseError>(false)
            });
            let err = stack.close_with_error("body").await.unwrap_err();
            let chain: Vec<String> = err.errors().map(|e| e.to_string()).collect();
            (chain, err.body_error().map(|e| e.to_string()))
        })
    };
    let (chain, body) = task.await.expect("the panic does not escape close");
    assert_eq!(chain.len(), 2, "{chain:?}");
    assert_eq!(chain[0], "body");
    assert!(chain[1].contains("boom"), "{chain:?}");
    assert_eq!(body.as_deref(), Some("body"));
    let events = seen.events();
    assert_eq!(events.len(), 1);
    assert!(
        events[0].starts_with("outer sees ")
            && events[0].contains("boom")
            && events[0].ends_with("<- Some(\"body\")"),
        "{events:?}"
    );
}

/// A stack dropped where there is no runtime at all: no panic; each entered resource is
/// recorded as lost (and nothing is closed or left counted as open).
pub async fn stack_dropped_without_runtime_is_lost_not_panic() {
    let kind = unique_kind("exit_stack::no_runtime");
    let log = Log::new();
    let mut stack = ExitStack::new();
    stack.enter(TestRes::open(kind, "a", &log));
    stack.push_callback(|| async { Ok::<(), CloseError>(()) });
    stack.enter(TestRes::open(kind, "b", &log));
    std::thread::spawn(move || drop(stack)).join().expect("dropping a stack never panics");
    let stats = tracker::kind(kind);
    assert_eq!((stats.opened, stats.lost, stats.open()), (2, 2, 0), "{stats:?}");
    assert!(closes(&log).is_empty());
}

/// A close future polled once (its first entry's close under way) and then dropped outside any
/// frame (a raw task of the runtime): the rest of the close runs on a tracked detached task, in
/// order; the entries closed after the drop count as closed by it, not by their owner.
pub async fn close_dropped_outside_any_frame_finishes_detached() {
    use anyscope_core::runtime::{self, TaskOutput};
    use std::future::poll_fn;

    let kind = unique_kind("exit_stack::close_detached");
    let log = Log::new();
    let mut stack = ExitStack::new();
    stack.enter(TestRes::open(kind, "a", &log));
    stack.enter(TestRes::open(kind, "b", &log).slow(Duration::from_millis(2)));
    let mut closing = Box::pin(stack.close());
    let rt = runtime::current();
    let mut raw = rt.spawn(Box::pin(async move {
        // No anyscope frame here: poll the close once, then drop it.
        let first = crate::support::poll_once(closing.as_mut()).await;
        assert!(first.is_none(), "b's close sleeps");
        drop(closing);
        Box::new(()) as TaskOutput
    }));
    poll_fn(|cx| raw.poll_join(cx)).await.unwrap();
    tracker::wait_detached().await;
    assert_eq!(closes(&log), ["closed b", "closed a"]);
    let stats = tracker::kind(kind);
    assert_eq!((stats.closed_detached, stats.closed_explicitly, stats.lost), (2, 0, 0), "{stats:?}");
    assert_clean(kind).await;
}

/// A stack closed in a cancelled scope whose cleanup grace is zero (AnyIO's
/// `aclose_forcefully`): the scope returns, the stuck closes are abandoned and counted as such,
/// none lost, none left open.
pub async fn forceful_close_abandons_stuck_entries_and_counts_them() {
    let kind = unique_kind("exit_stack::forceful");
    let log = Log::new();
    let mut stack = ExitStack::new();
    stack.enter(TestRes::open(kind, "a", &log).slow(Duration::from_secs(3600)));
    stack.enter(TestRes::open(kind, "b", &log).slow(Duration::from_secs(3600)));
    let scope = CancelScope::new();
    scope.set_cleanup_grace(Some(Duration::ZERO));
    scope.cancel();
    assert!(scope.run(stack.close()).await.is_none());
    assert!(closes(&log).is_empty());
    let stats = tracker::kind(kind);
    assert_eq!((stats.abandoned, stats.lost, stats.open()), (2, 0, 0), "{stats:?} {:?}", log.events());
}

/// A stack dropped by a cancelled body whose callback fails: the callbacks after it see that
/// failure (the CPython unwinding, with the cancellation as what was propagating before), and
/// the error nobody can receive is counted in the tracker (kind `anyscope::ExitStack`).
pub async fn dropped_stack_callback_failure_is_seen_then_counted() {
    let unreceived = || tracker::kind("anyscope::ExitStack").errors_unreceived;
    let before = unreceived();
    let log = Log::new();
    let l = log.clone();
    let out = anyscope_core::move_on_after(Duration::from_millis(5), async move {
        let mut stack = ExitStack::new();
        let l1 = l.clone();
        stack.push_exit(move |outcome: &ExitOutcome<'_>| {
            l1.push(match outcome {
                ExitOutcome::Error(e) => format!("outer sees error {e}"),
                other => format!("outer sees {other:?}"),
            });
            async { Ok::<_, CloseError>(false) }
        });
        stack.push_callback(|| async { Err::<(), _>("flush failed") });
        let l2 = l.clone();
        stack.push_exit(move |outcome: &ExitOutcome<'_>| {
            l2.push(format!("inner sees {outcome:?}"));
            async { Ok::<_, CloseError>(false) }
        });
        std::future::pending::<()>().await;
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(log.events(), ["inner sees Cancelled", "outer sees error flush failed"]);
    assert!(unreceived() > before, "the unreceived failure was counted");
}
