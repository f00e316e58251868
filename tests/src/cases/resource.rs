//! Area `resource`: scoped resources and structured async drop.

mod bounded_close;
mod probes;

pub use bounded_close::*;
pub use probes::*;

use std::future::{pending, poll_fn};
use std::time::Duration;

use anyscope_core::resource::{Exit, UsingError, resource};
use anyscope_core::runtime::{self, TaskOutput};
use anyscope_core::{CancelScope, Scoped, move_on_after, sleep, spawn, tracker, using};

use crate::fixtures::{CloseError, TestRes, assert_clean, closes, unique_kind};
use crate::support::{Log, poll_once};

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_resource {
    ($runner:expr) => {
        $crate::__area!($runner; resource;
            deadline_closes_three_in_reverse_each_awaited,
            deadline_alone_does_not_abandon_an_explicit_close,
            panic_closes_all_then_reaches_caller,
            error_return_closes_all,
            close_error_after_body_error_keeps_both,
            early_drop_closes_while_body_continues,
            dropped_outside_frame_closed_detached,
            dropped_without_runtime_is_lost_not_panic,
            transaction_commits_on_ok,
            transaction_rolls_back_on_error,
            transaction_rolls_back_on_cancel,
            transaction_rolls_back_on_panic,
            failed_setup_opens_nothing,
            body_error_wins_and_failed_teardown_is_reported,
            using_returns_value_and_closes,
            explicit_close_counts_explicit,
            close_panic_reported_others_still_run,
            outer_cancel_waits_for_inner_cleanup,
            shielded_deadline_bounds_slow_close,
            guard_in_cancelled_shielded_scope_is_closed,
            cleanup_grace_abandons_only_what_outlives_it,
            panicking_drop_of_a_body_dropped_from_outside_loses_no_close,
            every_scope_kind_dropped_on_a_plain_thread_detaches_its_cleanups,
            guards_dropped_on_worker_threads_are_closed,
            close_cut_by_cancel_is_finished_by_frame,
            closes_run_when_the_holding_task_is_aborted,
            close_asked_for_in_a_cancelled_scope_still_runs,
            deadline_during_the_first_of_two_closes_keeps_reverse_order,
            a_close_that_drops_a_guard_adopts_it_into_the_same_frame,
            grace_expiring_during_the_first_of_two_closes,
            outer_cancel_and_grace_do_not_cut_an_inner_scopes_cleanup,
            forceful_close_in_a_cancelled_scope_with_zero_grace,
        );
    };
}

/// `move_on_after` around a body that opened three resources and blocks returns only after all
/// three closes ran, in reverse order of opening, each awaited (the closes sleep).
pub async fn deadline_closes_three_in_reverse_each_awaited() {
    let kind = unique_kind("resource::three");
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_millis(20), async move {
        let _a = Scoped::new(TestRes::open(kind, "a", &l).slow(Duration::from_millis(5)));
        let _b = Scoped::new(TestRes::open(kind, "b", &l).slow(Duration::from_millis(5)));
        let _c = Scoped::new(TestRes::open(kind, "c", &l).slow(Duration::from_millis(5)));
        sleep(Duration::from_secs(3600)).await;
    })
    .await;
    assert_eq!(out, None);
    // Returned only after every close finished.
    assert_eq!(closes(&log), ["closed c", "closed b", "closed a"]);
    let stats = tracker::kind(kind);
    assert_eq!((stats.opened, stats.closed_adopted), (3, 3));
    assert_clean(kind).await;
}

/// A body that panics after opening three resources: the closes run, in reverse, before the
/// panic reaches the caller.
pub async fn panic_closes_all_then_reaches_caller() {
    let kind = unique_kind("resource::panic");
    let log = Log::new();
    let l = log.clone();
    let task = spawn(async move {
        move_on_after(Duration::from_secs(60), async move {
            let _a = Scoped::new(TestRes::open(kind, "a", &l).slow(Duration::from_millis(2)));
            let _b = Scoped::new(TestRes::open(kind, "b", &l));
            let _c = Scoped::new(TestRes::open(kind, "c", &l).slow(Duration::from_millis(2)));
            sleep(Duration::from_millis(1)).await;
            panic!("body failed");
        })
        .await
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(closes(&log), ["closed c", "closed b", "closed a"]);
    assert_clean(kind).await;
}

/// A body that returns an error after opening resources: its guards are closed (adopted) before
/// the scope returns the error.
pub async fn error_return_closes_all() {
    let kind = unique_kind("resource::error");
    let log = Log::new();
    let l = log.clone();
    let out: Option<Result<(), &str>> = CancelScope::new()
        .run(async move {
            let _a = Scoped::new(TestRes::open(kind, "a", &l).slow(Duration::from_millis(2)));
            let _b = Scoped::new(TestRes::open(kind, "b", &l).slow(Duration::from_millis(2)));
            sleep(Duration::from_millis(1)).await;
            Err("query failed")
        })
        .await;
    assert_eq!(out, Some(Err("query failed")));
    assert_eq!(closes(&log), ["closed b", "closed a"]);
    assert_clean(kind).await;
}

/// A close that fails after a body that failed: both errors are visible, the body's first.
pub async fn close_error_after_body_error_keeps_both() {
    let kind = unique_kind("resource::both");
    let log = Log::new();
    let res = TestRes::open(kind, "db", &log).failing();
    let err = using(res, async |_r: &mut TestRes| Err::<(), _>(CloseError("body".into()))).await.unwrap_err();
    assert!(matches!(err, UsingError::Both { .. }));
    assert_eq!(err.body_error(), Some(&CloseError("body".into())));
    assert_eq!(err.close_error(), Some(&CloseError("db".into())));
    // Display says what failed at this level; the body's error is the source, not repeated.
    assert_eq!(err.to_string(), "closing the resource failed after the body failed");
    assert_eq!(std::error::Error::source(&err).unwrap().to_string(), CloseError("body".into()).to_string());
    assert_clean(kind).await;
}

/// A guard dropped early in a body is closed while the body continues, and before the scope ends.
pub async fn early_drop_closes_while_body_continues() {
    let kind = unique_kind("resource::early");
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_secs(60), async move {
        let a = Scoped::new(TestRes::open(kind, "a", &l).slow(Duration::from_millis(5)));
        drop(a);
        l.push("body continues");
        // Long enough for the close to finish meanwhile; order, not time, is asserted.
        for _ in 0..200 {
            if l.events().contains(&"closed a".to_string()) {
                break;
            }
            sleep(Duration::from_millis(5)).await;
        }
        l.push("body ends");
        7
    })
    .await;
    assert_eq!(out, Some(7));
    let events = log.events();
    let pos = |e: &str| events.iter().position(|x| x == e).unwrap();
    assert!(pos("body continues") < pos("closed a"));
    assert!(pos("closed a") < pos("body ends"));
    assert_clean(kind).await;
}

/// A guard dropped outside any frame (in a raw runtime task) is closed by a detached task, which
/// the tracker shows and `wait_detached` (what `run` awaits) waits for.
pub async fn dropped_outside_frame_closed_detached() {
    let kind = unique_kind("resource::detached");
    let log = Log::new();
    let guard = Scoped::new(TestRes::open(kind, "a", &log).slow(Duration::from_millis(5)));
    let rt = runtime::current();
    let mut raw = rt.spawn(Box::pin(async move {
        drop(guard); // no anyscope frame here
        Box::new(()) as TaskOutput
    }));
    poll_fn(|cx| raw.poll_join(cx)).await.unwrap();
    tracker::wait_detached().await;
    assert_eq!(closes(&log), ["closed a"]);
    assert_eq!(tracker::kind(kind).closed_detached, 1);
    assert_clean(kind).await;
}

/// A guard dropped where there is no runtime at all: no panic, recorded as lost.
pub async fn dropped_without_runtime_is_lost_not_panic() {
    let kind = unique_kind("resource::lost");
    let log = Log::new();
    let guard = Scoped::new(TestRes::open(kind, "a", &log));
    std::thread::spawn(move || drop(guard)).join().expect("dropping a guard never panics");
    let stats = tracker::kind(kind);
    assert_eq!((stats.opened, stats.lost, stats.open()), (1, 1, 0));
    assert!(closes(&log).is_empty());
}

type TxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, CloseError>> + Send>>;
type TxTeardown = Box<dyn FnOnce(Vec<String>, Exit) -> TxFuture<()> + Send>;
type Tx = anyscope_core::resource::Resource<TxFuture<Vec<String>>, TxTeardown>;

/// A transaction: BEGIN on setup; COMMIT on `Exit::Ok`, ROLLBACK otherwise, after an awaited step.
fn transaction(log: Log, kind: &'static str) -> Tx {
    let (l1, l2) = (log.clone(), log.clone());
    let setup: TxFuture<Vec<String>> = Box::pin(async move {
        l1.push("BEGIN");
        Ok(Vec::new())
    });
    let teardown: TxTeardown = Box::new(move |tx: Vec<String>, exit: Exit| -> TxFuture<()> {
        Box::pin(async move {
            sleep(Duration::from_millis(2)).await; // an awaited teardown
            l2.push(if exit == Exit::Ok {
                format!("COMMIT {}", tx.len())
            } else {
                format!("ROLLBACK {exit:?}")
            });
            Ok(())
        })
    });
    resource(setup, teardown).with_kind(kind)
}

/// The transaction commits when the body succeeds.
pub async fn transaction_commits_on_ok() {
    let kind = unique_kind("resource::tx_ok");
    let log = Log::new();
    let n = transaction(log.clone(), kind)
        .run(async |tx: &mut Vec<String>| {
            tx.push("UPDATE a".into());
            tx.push("UPDATE b".into());
            Ok::<_, CloseError>(tx.len())
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(log.events(), ["BEGIN", "COMMIT 2"]);
    assert_clean(kind).await;
}

/// The transaction rolls back when the body fails, and the body's error comes back.
pub async fn transaction_rolls_back_on_error() {
    let kind = unique_kind("resource::tx_err");
    let log = Log::new();
    let err = transaction(log.clone(), kind)
        .run(async |_tx: &mut Vec<String>| Err::<(), _>(CloseError("constraint".into())))
        .await
        .unwrap_err();
    assert!(matches!(err, CloseError(ref m) if m == "constraint"));
    assert_eq!(log.events(), ["BEGIN", "ROLLBACK Error"]);
    assert_clean(kind).await;
}

/// The transaction rolls back when the body is cancelled, before the cancelled scope returns.
pub async fn transaction_rolls_back_on_cancel() {
    let kind = unique_kind("resource::tx_cancel");
    let log = Log::new();
    let tx = transaction(log.clone(), kind);
    let out = move_on_after(Duration::from_millis(10), async move {
        tx.run(async |_tx: &mut Vec<String>| {
            sleep(Duration::from_secs(3600)).await;
            Ok::<_, CloseError>(())
        })
        .await
    })
    .await;
    assert!(out.is_none());
    assert_eq!(log.events(), ["BEGIN", "ROLLBACK Cancelled"]);
    assert_clean(kind).await;
}

/// The transaction rolls back when the body panics; the panic still reaches the caller.
pub async fn transaction_rolls_back_on_panic() {
    let kind = unique_kind("resource::tx_panic");
    let log = Log::new();
    let tx = transaction(log.clone(), kind);
    let task = spawn(async move {
        tx.run(async |_tx: &mut Vec<String>| -> Result<(), CloseError> {
            sleep(Duration::from_millis(1)).await;
            panic!("bug in the body")
        })
        .await
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(log.events(), ["BEGIN", "ROLLBACK Panicked"]);
    assert_clean(kind).await;
}

/// Body and teardown both fail: the body's error comes back (one error type, no nesting), and
/// the teardown's failure is reported to the tracker, not lost.
pub async fn body_error_wins_and_failed_teardown_is_reported() {
    let kind = unique_kind("resource::both");
    let res = resource(async { Ok::<u32, CloseError>(1) }, |_v: u32, exit: Exit| async move {
        assert_eq!(exit, Exit::Error);
        Err(CloseError("rollback failed".into()))
    })
    .with_kind(kind);
    let err = res.run(async |_v: &mut u32| Err::<(), _>(CloseError("constraint".into()))).await.unwrap_err();
    assert_eq!(err, CloseError("constraint".into()));
    let stats = tracker::kind(kind);
    assert_eq!((stats.close_failed, stats.open()), (1, 0), "{stats:?}");
    assert_clean(kind).await;
}

/// A setup that fails opens nothing, runs no body and tears nothing down.
pub async fn failed_setup_opens_nothing() {
    let kind = unique_kind("resource::setup");
    let log = Log::new();
    let l = log.clone();
    let res = resource(
        async { Err::<u32, _>(CloseError("connect".into())) },
        move |_v: u32, _e: Exit| async move {
            l.push("teardown");
            Ok::<_, CloseError>(())
        },
    )
    .with_kind(kind);
    let l = log.clone();
    let err = res
        .run(async move |_v: &mut u32| {
            l.push("body");
            Ok::<_, CloseError>(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CloseError(ref m) if m == "connect"));
    assert!(log.events().is_empty());
    assert_eq!(tracker::kind(kind).opened, 0);
}

/// `using` returns the body's value and closes the resource after.
pub async fn using_returns_value_and_closes() {
    let kind = unique_kind("resource::using");
    let log = Log::new();
    let l = log.clone();
    let v = using(TestRes::open(kind, "conn", &log), async move |r: &mut TestRes| {
        l.push(format!("use {}", r.name));
        Ok::<_, CloseError>(5)
    })
    .await
    .unwrap();
    assert_eq!(v, 5);
    assert_eq!(log.events(), ["open conn", "use conn", "closing conn", "closed conn"]);
    assert_eq!(tracker::kind(kind).closed_explicitly, 1);
    assert_clean(kind).await;
}

/// An explicit close returns the close's result and counts as explicit.
pub async fn explicit_close_counts_explicit() {
    let kind = unique_kind("resource::explicit");
    let log = Log::new();
    let ok = Scoped::new(TestRes::open(kind, "a", &log).slow(Duration::from_millis(1)));
    assert_eq!(ok.close().await, Ok(()));
    let bad = Scoped::new(TestRes::open(kind, "b", &log).failing());
    assert_eq!(bad.close().await, Err(CloseError("b".into())));
    let stats = tracker::kind(kind);
    assert_eq!((stats.opened, stats.closed_explicitly, stats.closed_adopted), (2, 2, 0));
    assert_clean(kind).await;
}

/// A panic inside one adopted close is reported and the other closes still run.
pub async fn close_panic_reported_others_still_run() {
    let kind = unique_kind("resource::close_panic");
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_millis(5), async move {
        let _a = Scoped::new(TestRes::open(kind, "a", &l));
        let _b = Scoped::new(TestRes::open(kind, "b", &l).panicking());
        let _c = Scoped::new(TestRes::open(kind, "c", &l));
        pending::<()>().await;
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(closes(&log), ["closed c", "closed a"]);
    let stats = tracker::kind(kind);
    assert_eq!(stats.cleanup_panicked, 1);
    assert_eq!(stats.closed_adopted, 2);
}

/// An outer cancellation that arrives while an inner scope runs its adopted cleanups waits for
/// them: the outer scope returns only after the slow close finished.
pub async fn outer_cancel_waits_for_inner_cleanup() {
    let kind = unique_kind("resource::outer_waits");
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_millis(20), async move {
        let l2 = l.clone();
        move_on_after(Duration::from_millis(1), async move {
            let _r = Scoped::new(TestRes::open(kind, "r", &l2).slow(Duration::from_millis(80)));
            pending::<()>().await;
        })
        .await;
        l.push("inner returned");
        pending::<()>().await;
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(closes(&log), ["closed r"]);
    let stats = tracker::kind(kind);
    assert_eq!(stats.closed_adopted, 1);
    assert_clean(kind).await;
}

/// A shielded scope with a deadline and a cleanup grace period bounds a close that would hang:
/// the deadline cuts the close off, the grace period abandons what it left, and the tracker
/// counts it as abandoned, not lost.
pub async fn shielded_deadline_bounds_slow_close() {
    let kind = unique_kind("resource::bounded");
    let log = Log::new();
    let guard = Scoped::new(TestRes::open(kind, "stuck", &log).slow(Duration::from_secs(3600)));
    let bound = CancelScope::shielded();
    bound.set_deadline(Some(anyscope_core::current_time() + Duration::from_millis(20)));
    bound.set_cleanup_grace(Some(Duration::from_millis(10)));
    let out = bound.run(guard.close()).await;
    assert!(out.is_none());
    assert!(bound.cancelled_caught());
    let stats = tracker::kind(kind);
    assert_eq!((stats.abandoned, stats.lost, stats.open()), (1, 0, 0));
    assert!(closes(&log).is_empty());
}

/// A guard in a shielded scope cancelled by its own deadline, or explicitly, is closed: the
/// cleanups a body leaves behind run to their end, whatever kind of scope it is.
pub async fn guard_in_cancelled_shielded_scope_is_closed() {
    for explicit in [false, true] {
        let kind = unique_kind("resource::shielded_closed");
        let log = Log::new();
        let scope = CancelScope::shielded();
        if explicit {
            scope.cancel();
        } else {
            scope.set_deadline(Some(anyscope_core::current_time() + Duration::from_millis(5)));
        }
        let l = log.clone();
        let out = scope
            .run(async move {
                let _guard = Scoped::new(TestRes::open(kind, "r", &l).slow(Duration::from_millis(10)));
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
        assert_eq!(out, None);
        assert_eq!(closes(&log), ["closed r"], "explicit cancel: {explicit}");
        let stats = tracker::kind(kind);
        assert_eq!((stats.closed_adopted, stats.abandoned, stats.lost), (1, 0, 0));
        assert_clean(kind).await;
    }
}

/// A grace period bounds the cleanups of any scope, cancelled or not: what it cuts off is
/// counted as abandoned, what finished in time as closed.
pub async fn cleanup_grace_abandons_only_what_outlives_it() {
    let kind = unique_kind("resource::grace");
    let log = Log::new();
    let scope = CancelScope::new();
    scope.set_cleanup_grace(Some(Duration::from_millis(30)));
    let l = log.clone();
    let out = scope
        .run(async move {
            let _stuck = Scoped::new(TestRes::open(kind, "stuck", &l).slow(Duration::from_secs(3600)));
            let _quick = Scoped::new(TestRes::open(kind, "quick", &l));
            7
        })
        .await;
    assert_eq!(out, Some(7));
    assert_eq!(closes(&log), ["closed quick"]);
    let stats = tracker::kind(kind);
    assert_eq!((stats.closed_adopted, stats.abandoned, stats.lost, stats.open()), (1, 1, 0, 0));
}

/// An explicit close cut off by a cancellation is handed to the frame that cut it off, which
/// finishes it before returning.
pub async fn close_cut_by_cancel_is_finished_by_frame() {
    let kind = unique_kind("resource::cut_close");
    let log = Log::new();
    // A generous gap between the deadline and the end of the close, for a loaded machine.
    let guard = Scoped::new(TestRes::open(kind, "a", &log).slow(Duration::from_millis(400)));
    let out = move_on_after(Duration::from_millis(5), guard.close()).await;
    assert!(out.is_none());
    assert_eq!(closes(&log), ["closed a"]);
    assert_eq!(tracker::kind(kind).closed_adopted, 1);
    assert_clean(kind).await;
}

/// Panics when dropped: a body whose `Drop` panics.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("a body's Drop panicked (on purpose)");
    }
}

/// A scope dropped from outside whose body's `Drop` panics: the close adopted during the drop
/// is not lost (the enclosing frame closes it), and the panic reaches the code that dropped it.
pub async fn panicking_drop_of_a_body_dropped_from_outside_loses_no_close() {
    let kind = unique_kind("resource::panicking_drop");
    let log = Log::new();
    let l = log.clone();
    let out = move_on_after(Duration::from_secs(3600), async move {
        let mut fut = Box::pin(CancelScope::new().run(async move {
            let _guard = Scoped::new(TestRes::open(kind, "r", &l));
            let _boom = PanicOnDrop;
            pending::<()>().await;
        }));
        assert_eq!(poll_once(fut.as_mut()).await, None);
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(fut)));
        assert!(dropped.is_err(), "the body's panic reaches whoever dropped the scope");
    })
    .await;
    assert_eq!(out, Some(()));
    assert_eq!(closes(&log), ["closed r"]);
    assert_eq!(tracker::kind(kind).closed_adopted, 1);
    assert_clean(kind).await;
}

/// A scope of any kind (`CancelScope::run`, `shield`, `move_on_after`), polled once in the
/// runtime and dropped on a thread with no frame and no runtime, hands the cleanups its body
/// leaves to one detached task on the runtime: none is lost.
pub async fn every_scope_kind_dropped_on_a_plain_thread_detaches_its_cleanups() {
    for which in ["run", "shield", "move_on_after"] {
        let kind = unique_kind("resource::plain_thread_drop");
        let log = Log::new();
        let l = log.clone();
        let body = async move {
            let _a = Scoped::new(TestRes::open(kind, "a", &l).slow(Duration::from_millis(2)));
            let _b = Scoped::new(TestRes::open(kind, "b", &l));
            pending::<()>().await;
        };
        let mut fut: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = match which {
            "run" => Box::pin(async move {
                CancelScope::new().run(body).await;
            }),
            "shield" => Box::pin(anyscope_core::shield(body)),
            _ => Box::pin(async move {
                move_on_after(Duration::from_secs(3600), body).await;
            }),
        };
        assert_eq!(poll_once(fut.as_mut()).await, None);
        std::thread::spawn(move || drop(fut)).join().unwrap();
        assert_clean(kind).await;
        assert_eq!(closes(&log), ["closed b", "closed a"], "{which}: one sequential cleanup, order kept");
        assert_eq!(tracker::kind(kind).closed_detached, 2, "{which}");
    }
}

/// Guards dropped in twenty raw runtime tasks (outside any frame, on whichever worker threads
/// run them) are all closed by detached tasks: none is lost on any runtime's worker.
pub async fn guards_dropped_on_worker_threads_are_closed() {
    let kind = unique_kind("resource::worker_drops");
    let log = Log::new();
    let rt = runtime::current();
    let mut raws = Vec::new();
    for i in 0..20 {
        let guard = Scoped::new(TestRes::open(kind, &format!("w{i}"), &log));
        raws.push(rt.spawn(Box::pin(async move {
            drop(guard); // no anyscope frame here
            Box::new(()) as TaskOutput
        })));
    }
    // Keep this thread busy for a moment: on a multi-thread runtime, workers take the tasks.
    std::thread::sleep(Duration::from_millis(50));
    for mut raw in raws {
        poll_fn(|cx| raw.poll_join(cx)).await.unwrap();
    }
    tracker::wait_detached().await;
    assert_clean(kind).await;
    let stats = tracker::kind(kind);
    assert_eq!((stats.closed(), stats.lost), (20, 0), "{stats:?}");
}
