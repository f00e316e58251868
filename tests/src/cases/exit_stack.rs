//! Area `exit_stack`: `ExitStack`, anyscope's `AsyncExitStack`.

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

/// Every failure is reported, in order, with the earlier ones reachable as causes and the body's
/// error first.
pub async fn failures_reported_in_order_with_causes() {
    let mut stack = ExitStack::new();
    stack.push_callback(|| async { Err::<(), _>("third") });
    stack.push_callback(|| async { Err::<(), _>("second") });
    let err = stack.close_with_error("body").await.unwrap_err();
    let all: Vec<String> = err.errors().map(|e| e.to_string()).collect();
    assert_eq!(all, ["body", "second", "third"]);
    // The error is the last failure; its source is the one before, and so on.
    assert!(err.to_string().starts_with("third"));
    let mut chain = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(&err);
    while let Some(e) = cur {
        chain.push(e.to_string());
        cur = e.source();
    }
    assert!(chain[0].starts_with("second"), "{chain:?}");
    assert!(chain.iter().any(|c| c.starts_with("body")), "{chain:?}");
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
