//! Area `exit_stack`: `ExitStack`, anyscope's `AsyncExitStack`.

mod cpython_async;
mod handles;

pub use cpython_async::*;
pub use handles::*;

use std::future::pending;
use std::time::Duration;

use anyscope_core::exit_stack::{ExitOutcome, ExitStack};
use anyscope_core::{move_on_after, sleep, spawn, tracker};

use crate::fixtures::{CloseError, TestRes, assert_clean, closes, unique_kind};
use crate::support::Log;

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_exit_stack {
    ($runner:expr) => {
        $crate::__area!($runner; exit_stack;
            lifo_order_of_four_entries,
            callback_suppresses_body_error,
            failing_callback_does_not_stop_the_rest,
            failures_reported_in_order_with_causes,
            pop_all_then_drop_old_closes_nothing,
            closing_twice_is_harmless,
            dynamic_number_of_resources,
            dropped_unclosed_is_adopted_as_one_cleanup,
            cancelled_owner_callbacks_see_cancelled,
            panicking_callback_reported_rest_runs,
            use_entered_while_entering_more,
            cpython_exit_exception_chaining,
            cpython_exit_exception_non_suppressing,
            cpython_exit_exception_with_correct_context,
            cpython_exit_exception_with_existing_context,
            cpython_body_exception_suppress,
            cpython_exit_exception_chaining_suppress,
            cpython_excessive_nesting,
            callback_sees_the_error_a_previous_callback_raised,
            close_cut_off_reports_its_error_to_the_tracker,
            entered_handle_works_only_on_the_stack_holding_its_entry,
            entry_entered_during_close_waits_for_the_next_close,
            callback_pushing_onto_its_own_stack_during_close,
            close_future_dropped_unpolled_still_closes_everything,
            close_in_a_cancelled_scope_still_runs_every_entry,
            close_in_an_aborted_task_finishes_every_entry,
            exit_callback_sees_a_failing_close_and_may_suppress_it,
            panicking_resource_close_reported_rest_closed,
            enter_failing_half_way_closes_what_was_entered,
            stack_dropped_by_a_panic_callbacks_see_panicked,
            panicking_exit_callback_replaces_the_body_error,
            stack_dropped_without_runtime_is_lost_not_panic,
            close_dropped_outside_any_frame_finishes_detached,
            forceful_close_abandons_stuck_entries_and_counts_them,
            dropped_stack_callback_failure_is_seen_then_counted,
        );
    };
}

/// Four entries — resources and callbacks mixed — run last-in first-out.
pub async fn lifo_order_of_four_entries() {
    let kind = unique_kind("exit_stack::lifo");
    let log = Log::new();
    let mut stack = ExitStack::new();
    stack.enter(TestRes::open(kind, "1", &log).slow(Duration::from_millis(1)));
    let l = log.clone();
    stack.push_callback(move || async move {
        l.push("closed 2");
        Ok::<_, CloseError>(())
    });
    stack.enter(TestRes::open(kind, "3", &log));
    stack.enter(TestRes::open(kind, "4", &log).slow(Duration::from_millis(1)));
    assert_eq!(stack.len(), 4);
    stack.close().await.unwrap();
    assert_eq!(closes(&log), ["closed 4", "closed 3", "closed 2", "closed 1"]);
    assert_eq!(tracker::kind(kind).closed_explicitly, 3);
    assert_clean(kind).await;
}

/// An exit callback sees the body's error and suppresses it; callbacks after it see `Ok`.
pub async fn callback_suppresses_body_error() {
    let log = Log::new();
    let mut stack = ExitStack::new();
    let l = log.clone();
    stack.push_exit(move |outcome: &ExitOutcome<'_>| {
        l.push(format!("outer sees {}", matches!(outcome, ExitOutcome::Ok)));
        async { Ok::<_, CloseError>(false) }
    });
    let l = log.clone();
    stack.push_exit(move |outcome: &ExitOutcome<'_>| {
        let suppress = matches!(outcome, ExitOutcome::Error(e) if e.to_string() == "timeout talking to db");
        l.push(format!("inner suppresses {suppress}"));
        async move { Ok::<_, CloseError>(suppress) }
    });
    stack.close_with_error("timeout talking to db").await.unwrap();
    assert_eq!(log.events(), ["inner suppresses true", "outer sees true"]);

    // Not suppressed: the body's error comes back.
    let mut stack = ExitStack::new();
    stack.push_exit(|_: &ExitOutcome<'_>| async { Ok::<_, CloseError>(false) });
    let err = stack.close_with_error("fatal").await.unwrap_err();
    assert_eq!(err.body_error().unwrap().to_string(), "fatal");
    assert!(!err.has_exit_failures());
}

/// A failing callback does not stop the ones after it.
pub async fn failing_callback_does_not_stop_the_rest() {
    let kind = unique_kind("exit_stack::failing");
    let log = Log::new();
    let mut stack = ExitStack::new();
    stack.enter(TestRes::open(kind, "a", &log));
    stack.enter(TestRes::open(kind, "b", &log).failing());
    stack.enter(TestRes::open(kind, "c", &log));
    let err = stack.close().await.unwrap_err();
    assert_eq!(closes(&log), ["closed c", "closed b", "closed a"]);
    assert_eq!(err.len(), 1);
    assert_eq!(tracker::kind(kind).close_failed, 1);
    assert_clean(kind).await;
}

/// Every failure is reported, in order, each with the one it replaced (its context) as its
/// source, back to the body's error.
pub async fn failures_reported_in_order_with_causes() {
    let mut stack = ExitStack::new();
    stack.push_callback(|| async { Err::<(), _>("third") });
    stack.push_callback(|| async { Err::<(), _>("second") });
    let err = stack.close_with_error("body").await.unwrap_err();
    let all: Vec<String> = err.errors().map(|e| e.to_string()).collect();
    assert_eq!(all, ["body", "second", "third"]);
    // The error is the last failure; its source is the one before, and so on.
    assert_eq!(err.to_string(), "third", "Display is this level only");
    let mut chain = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(&err);
    while let Some(e) = cur {
        chain.push(e.to_string());
        cur = e.source();
    }
    assert_eq!(chain, ["second", "body"]);
}

/// `pop_all` moves every cleanup to a new stack; dropping the old one closes nothing, closing the
/// new one closes all.
pub async fn pop_all_then_drop_old_closes_nothing() {
    let kind = unique_kind("exit_stack::pop_all");
    let log = Log::new();
    let mut stack = ExitStack::new();
    stack.enter(TestRes::open(kind, "a", &log));
    stack.enter(TestRes::open(kind, "b", &log));
    let mut moved = stack.pop_all();
    assert!(stack.is_empty());
    drop(stack);
    sleep(Duration::from_millis(5)).await;
    assert!(closes(&log).is_empty());
    moved.close().await.unwrap();
    assert_eq!(closes(&log), ["closed b", "closed a"]);
    assert_clean(kind).await;
}

/// Closing twice is harmless: the second close has nothing to do.
pub async fn closing_twice_is_harmless() {
    let kind = unique_kind("exit_stack::twice");
    let log = Log::new();
    let mut stack = ExitStack::new();
    stack.enter(TestRes::open(kind, "a", &log));
    stack.close().await.unwrap();
    stack.close().await.unwrap();
    assert_eq!(closes(&log), ["closed a"]);
    assert_clean(kind).await;
}

/// The dynamic case: a number of resources chosen at run time, closed in reverse.
pub async fn dynamic_number_of_resources() {
    let kind = unique_kind("exit_stack::dynamic");
    let log = Log::new();
    let n = 3 + (std::process::id() as usize % 5); // chosen at run time
    let mut stack = ExitStack::new();
    for i in 0..n {
        stack.enter(TestRes::open(kind, &i.to_string(), &log));
    }
    stack.close().await.unwrap();
    let expected: Vec<String> = (0..n).rev().map(|i| format!("closed {i}")).collect();
    assert_eq!(closes(&log), expected);
    assert_clean(kind).await;
}

/// A stack dropped unclosed by a cancelled body is adopted as ONE cleanup: its entries close in
/// LIFO order, each awaited, before the cancelled scope returns.
pub async fn dropped_unclosed_is_adopted_as_one_cleanup() {
    let kind = unique_kind("exit_stack::dropped");
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_millis(10), async move {
        let mut stack = ExitStack::new();
        stack.enter(TestRes::open(kind, "a", &l).slow(Duration::from_millis(3)));
        stack.enter(TestRes::open(kind, "b", &l).slow(Duration::from_millis(3)));
        stack.enter(TestRes::open(kind, "c", &l).slow(Duration::from_millis(3)));
        pending::<()>().await;
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(closes(&log), ["closed c", "closed b", "closed a"]);
    assert_eq!(tracker::kind(kind).closed_adopted, 3);
    assert_clean(kind).await;
}

/// Exit callbacks of a stack dropped because its owner was cancelled see `Cancelled`.
pub async fn cancelled_owner_callbacks_see_cancelled() {
    let log = Log::new();
    let l = log.clone();
    move_on_after(Duration::from_millis(5), async move {
        let mut stack = ExitStack::new();
        stack.push_exit(move |outcome: &ExitOutcome<'_>| {
            l.push(format!("{outcome:?}"));
            async { Ok::<_, CloseError>(false) }
        });
        pending::<()>().await;
    })
    .await;
    assert_eq!(log.events(), ["Cancelled"]);
}

/// A panicking callback is reported as a failure and the others still run.
pub async fn panicking_callback_reported_rest_runs() {
    let log = Log::new();
    let task = spawn({
        let log = log.clone();
        async move {
            let mut stack = ExitStack::new();
            let l = log.clone();
            stack.push_callback(move || async move {
                l.push("first pushed ran");
                Ok::<_, CloseError>(())
            });
            stack.push_callback(|| async {
                if true {
                    panic!("callback bug");
                }
                Ok::<_, CloseError>(())
            });
            stack.close().await
        }
    });
    let err = task.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("callback bug"));
    assert_eq!(log.events(), ["first pushed ran"]);
}

/// What was entered can be used while more is entered.
pub async fn use_entered_while_entering_more() {
    let kind = unique_kind("exit_stack::use");
    let log = Log::new();
    let mut stack = ExitStack::new();
    let first = stack.enter(TestRes::open(kind, "a", &log));
    let derived = format!("{}-child", stack.get(first).name);
    let second = stack.enter(TestRes::open(kind, &derived, &log));
    stack.get_mut(second).name.push('!');
    assert_eq!(stack.get(second).name, "a-child!");
    stack.close().await.unwrap();
    assert_eq!(closes(&log), ["closed a-child!", "closed a"]);
    assert_clean(kind).await;
}

// CPython's `TestBaseExitStack` (Lib/test/test_contextlib.py), ported: `stack.callback(raise_exc,
// E)` is a callback failing with "E", `stack.push(suppress_exc)` an exit callback returning
// `Ok(true)`, the body's exception is `close_with_error`. `exc.__context__` is `source()`.

/// The messages of `err` and its sources, outermost first (`exc`, `exc.__context__`, ...).
fn context_chain(err: &dyn std::error::Error) -> Vec<String> {
    let mut chain = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        chain.push(e.to_string());
        cur = e.source();
    }
    chain
}

fn raise(stack: &mut ExitStack, name: &'static str) {
    stack.push_callback(move || async move { Err::<(), _>(name) });
}

/// `test_exit_exception_chaining` (the example): callbacks IndexError, KeyError,
/// AttributeError, a suppressor, ValueError; the body raises ZeroDivisionError. The suppressor
/// sees ValueError (whose context is ZeroDivisionError) and clears it; the result is
/// IndexError <- KeyError <- AttributeError, nothing more.
pub async fn cpython_exit_exception_chaining() {
    let seen = Log::new();
    let mut stack = ExitStack::new();
    raise(&mut stack, "IndexError");
    raise(&mut stack, "KeyError");
    raise(&mut stack, "AttributeError");
    let s = seen.clone();
    stack.push_exit(move |outcome: &ExitOutcome<'_>| {
        if let ExitOutcome::Error(e) = outcome {
            s.push(context_chain(*e).join(" <- "));
        }
        async { Ok::<_, CloseError>(true) }
    });
    raise(&mut stack, "ValueError");
    let err = stack.close_with_error("ZeroDivisionError").await.unwrap_err();
    assert_eq!(context_chain(&err), ["IndexError", "KeyError", "AttributeError"]);
    assert!(err.body_error().is_none(), "the body's error was suppressed");
    assert_eq!(seen.events(), ["ValueError <- ZeroDivisionError"]);
}

/// `test_exit_exception_non_suppressing` (bpo-19092).
pub async fn cpython_exit_exception_non_suppressing() {
    let mut stack = ExitStack::new();
    stack.push_callback(|| async { Ok::<(), CloseError>(()) });
    raise(&mut stack, "IndexError");
    let err = stack.close().await.unwrap_err();
    assert_eq!(context_chain(&err), ["IndexError"]);

    let mut stack = ExitStack::new();
    raise(&mut stack, "KeyError");
    stack.push_exit(|_: &ExitOutcome<'_>| async { Ok::<_, CloseError>(true) });
    raise(&mut stack, "IndexError");
    let err = stack.close().await.unwrap_err();
    assert_eq!(context_chain(&err), ["KeyError"]);
}

/// `test_exit_exception_with_correct_context` (bpo-20317): exits raising 4, 3, 2 over a body
/// raising 1 give 4 <- 3 <- 2 <- 1.
pub async fn cpython_exit_exception_with_correct_context() {
    let mut stack = ExitStack::new();
    for name in ["4", "3", "2"] {
        stack.push_exit(move |_: &ExitOutcome<'_>| async move { Err::<bool, _>(name) });
    }
    let err = stack.close_with_error("1").await.unwrap_err();
    assert_eq!(context_chain(&err), ["4", "3", "2", "1"]);
    assert_eq!(err.body_error().unwrap().to_string(), "1");
}

/// An error with a cause of its own (Python: raised while handling another).
#[derive(Debug)]
struct Nested(&'static str, CloseError);

impl std::fmt::Display for Nested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Nested {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.1)
    }
}

/// `test_exit_exception_with_existing_context`: callbacks raising 5 (from 4) and 3 (from 2)
/// over a body raising 1. The chain of contexts is 5 <- 3 <- 1; each failure keeps its own
/// cause (4, 2), reachable from it. (Rust errors have one `source()`: `ExitError` uses it for
/// the context, as `__context__`, and the failure itself holds its cause.)
pub async fn cpython_exit_exception_with_existing_context() {
    let mut stack = ExitStack::new();
    stack.push_callback(|| async { Err::<(), _>(Nested("5", CloseError("4".into()))) });
    stack.push_callback(|| async { Err::<(), _>(Nested("3", CloseError("2".into()))) });
    let err = stack.close_with_error("1").await.unwrap_err();
    assert_eq!(context_chain(&err), ["5", "3", "1"]);
    let causes: Vec<Vec<String>> = err.errors().map(|e| context_chain(e)).collect();
    assert_eq!(causes, [vec!["1"], vec!["3", "close of 2 failed"], vec!["5", "close of 4 failed"]]);
    assert_eq!(err.last().downcast_ref::<Nested>().map(|n| n.0), Some("5"));
}

/// `test_body_exception_suppress`.
pub async fn cpython_body_exception_suppress() {
    let mut stack = ExitStack::new();
    stack.push_exit(|_: &ExitOutcome<'_>| async { Ok::<_, CloseError>(true) });
    assert!(stack.close_with_error("ZeroDivisionError").await.is_ok());
}

/// `test_exit_exception_chaining_suppress`: a suppressor registered first clears what the two
/// failing exits after it raised.
pub async fn cpython_exit_exception_chaining_suppress() {
    let mut stack = ExitStack::new();
    stack.push_exit(|_: &ExitOutcome<'_>| async { Ok::<_, CloseError>(true) });
    stack.push_exit(|_: &ExitOutcome<'_>| async { Err::<bool, _>("ZeroDivisionError") });
    stack.push_exit(|_: &ExitOutcome<'_>| async { Err::<bool, _>("KeyError") });
    assert!(stack.close().await.is_ok());
}

/// `test_excessive_nesting`: 10,000 callbacks; here they all fail too, and the chain of 10,000
/// is built, walked and dropped without deep recursion.
pub async fn cpython_excessive_nesting() {
    let mut stack = ExitStack::new();
    for _ in 0..10_000 {
        stack.push_callback(|| async { Ok::<(), CloseError>(()) });
    }
    assert!(stack.close().await.is_ok());
    let mut stack = ExitStack::new();
    for _ in 0..10_000 {
        raise(&mut stack, "fails");
    }
    let err = stack.close().await.unwrap_err();
    assert_eq!((err.len(), err.errors().count()), (10_000, 10_000));
    drop(err);
}

/// Each callback sees the error propagating when it runs: the body's until a callback fails,
/// then that callback's (with the body's as its context).
pub async fn callback_sees_the_error_a_previous_callback_raised() {
    let seen = Log::new();
    let mut stack = ExitStack::new();
    let s = seen.clone();
    stack.push_exit(move |outcome: &ExitOutcome<'_>| {
        if let ExitOutcome::Error(e) = outcome {
            s.push(format!("outer sees {}", context_chain(*e).join(" <- ")));
        }
        async { Ok::<_, CloseError>(false) }
    });
    raise(&mut stack, "flush failed");
    let s = seen.clone();
    stack.push_exit(move |outcome: &ExitOutcome<'_>| {
        if let ExitOutcome::Error(e) = outcome {
            s.push(format!("inner sees {e}"));
        }
        async { Ok::<_, CloseError>(false) }
    });
    let err = stack.close_with_error("body").await.unwrap_err();
    assert_eq!(seen.events(), ["inner sees body", "outer sees flush failed <- body"]);
    assert_eq!(context_chain(&err), ["flush failed", "body"]);
}

/// `close` is not shielded: a cancellation cuts the caller off during a callback; the rest of
/// the closing still runs (handed to the caller's frame, before that frame returns), and the
/// error the caller can no longer receive is counted in the tracker, not lost.
pub async fn close_cut_off_reports_its_error_to_the_tracker() {
    use anyscope_core::CancelScope;
    use anyscope_core::sync::Event;
    use std::sync::Arc;

    let unreceived = || tracker::kind("anyscope::ExitStack").errors_unreceived;
    let before = unreceived();
    let log = Log::new();
    let (started, go) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let mut stack = ExitStack::new();
    let (l, s, g) = (log.clone(), started.clone(), go.clone());
    stack.push_callback(move || async move {
        s.set();
        g.wait().await; // until the caller has been cut off
        l.push("callback finished");
        Err::<(), _>("late failure")
    });
    let scope = CancelScope::new();
    let canceller = {
        let (scope, started, go) = (scope.clone(), started.clone(), go.clone());
        spawn(async move {
            started.wait().await;
            scope.cancel();
            sleep(Duration::from_millis(5)).await;
            go.set();
        })
    };
    let out = scope.run(stack.close()).await;
    assert!(out.is_none(), "the caller was cut off");
    assert_eq!(log.events(), ["callback finished"], "the rest ran before the scope returned");
    assert!(unreceived() > before, "the unreceived error was counted");
    canceller.await.unwrap();
}
