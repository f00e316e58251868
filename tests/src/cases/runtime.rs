//! Area `runtime`: the runtime contract as seen through anyscope-core — spawning and joining,
//! panics and aborts, detaching, blocking offload, the clock, and the ambient runtime.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread::{self, ThreadId};
use std::time::Duration;

use anyscope_core::runtime::{self, NoRuntime};
use anyscope_core::{CancelScope, JoinHandle, current_time, run_blocking, sleep, sleep_until, spawn};

use crate::support::{Flag, Log, SetOnDrop, wait_until};

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_runtime {
    ($runner:expr) => {
        $crate::__area!($runner; runtime;
            spawn_and_join,
            many_tasks_join,
            panic_in_task_is_a_panic_join_error,
            abort_cancels_the_task,
            dropped_handle_detaches,
            run_blocking_runs_off_the_async_thread,
            run_blocking_does_not_stall_async_tasks,
            run_blocking_panic_resumes_in_caller,
            raw_spawn_blocking_joins,
            sleeps_finish_in_deadline_order,
            sleep_until_finishes_in_deadline_order,
            current_time_is_monotonic_and_advances,
            ambient_runtime_in_spawned_and_nested_tasks,
            no_runtime_error_says_how_to_fix_it,
            is_finished_tracks_completion,
            abort_after_finish_keeps_output,
            spawn_in_cancelled_scope_is_cancelled,
            abort_does_not_wait_for_a_running_poll,
            a_task_aborts_itself_through_its_own_handle,
            abort_of_a_task_whose_drop_panics_reports_the_panic,
            awaiting_a_handle_is_a_checkpoint,
            a_detached_tasks_output_whose_drop_panics_leaves_the_runtime_running,
            a_detached_tasks_panic_payload_whose_drop_panics_leaves_the_runtime_running,
            a_future_whose_drop_aborts_another_task_cancels_it,
            aborts_racing_running_tasks_all_join_after_the_future_is_dropped,
            a_handle_dropped_unawaited_after_an_output_whose_drop_panics_does_not_panic,
        );
    };
}

/// The text of a panic payload, when it is a string.
fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<not a string>")
    }
}

/// A spawned task's output comes back through its handle.
pub async fn spawn_and_join() {
    let h = spawn(async { 40 + 2 });
    assert_eq!(h.await.unwrap(), 42);
}

/// Many tasks run concurrently, each handle returns its own task's output.
pub async fn many_tasks_join() {
    let handles: Vec<_> = (0..32u64)
        .map(|i| {
            spawn(async move {
                sleep(Duration::from_millis(32 - i)).await;
                i * i
            })
        })
        .collect();
    let mut outs = Vec::new();
    for h in handles {
        outs.push(h.await.unwrap());
    }
    assert_eq!(outs, (0..32u64).map(|i| i * i).collect::<Vec<_>>());
}

/// A panic in a task surfaces as a join error that is a panic, carrying the payload; the runtime
/// survives it.
pub async fn panic_in_task_is_a_panic_join_error() {
    let h: JoinHandle<u32> = spawn(async {
        sleep(Duration::from_millis(1)).await;
        panic!("boom in a task")
    });
    let err = h.await.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert!(!err.is_cancelled());
    assert_eq!(payload_text(&*err.into_panic()), "boom in a task");
    // The runtime is still usable.
    assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
}

/// `abort` cancels the task: the join error is a cancellation, the future has been dropped by
/// the time the join reports it, and the code after its suspension point never runs.
pub async fn abort_cancels_the_task() {
    let after = Flag::new();
    let dropped = Flag::new();
    let started = Flag::new();
    let (a, d, s) = (after.clone(), dropped.clone(), started.clone());
    let h = spawn(async move {
        let _guard = SetOnDrop(d);
        s.set();
        sleep(Duration::from_secs(3600)).await;
        a.set();
    });
    wait_until("the task started", || started.is_set()).await;
    h.abort();
    let err = h.await.unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!err.is_panic());
    assert!(dropped.is_set(), "the aborted future was not dropped before the join reported it");
    assert!(!after.is_set());
}

/// Dropping a handle detaches the task: it still runs to completion.
pub async fn dropped_handle_detaches() {
    let done = Flag::new();
    let d = done.clone();
    drop(spawn(async move {
        sleep(Duration::from_millis(20)).await;
        d.set();
    }));
    wait_until("the detached task completed", || done.is_set()).await;
}

/// `run_blocking` runs its function on a thread other than the calling task's (and, on every
/// runner, other than the thread that runs the async root).
pub async fn run_blocking_runs_off_the_async_thread() {
    let caller = thread::current().id();
    let inside: ThreadId = run_blocking(|| thread::current().id()).await;
    assert_ne!(inside, caller);
    // From a spawned task too.
    let (task_thread, blocking_thread) = spawn(async {
        let t = thread::current().id();
        (t, run_blocking(|| thread::current().id()).await)
    })
    .await
    .unwrap();
    assert_ne!(task_thread, blocking_thread);
}

/// A blocking call that waits for an async task does not stall that task: the blocking call is
/// not on the thread the async tasks need (this would deadlock on a current-thread runtime).
pub async fn run_blocking_does_not_stall_async_tasks() {
    let (tx, rx) = mpsc::channel::<u32>();
    let sender = spawn(async move {
        sleep(Duration::from_millis(10)).await;
        tx.send(7).unwrap();
    });
    let got = run_blocking(move || rx.recv_timeout(Duration::from_secs(10))).await;
    assert_eq!(got, Ok(7));
    sender.await.unwrap();
}

/// A panic in the blocking function is resumed in the task that awaited it.
pub async fn run_blocking_panic_resumes_in_caller() {
    let h = spawn(async {
        let v: u32 = run_blocking(|| -> u32 { panic!("boom in a blocking call") }).await;
        v
    });
    let err = h.await.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(payload_text(&*err.into_panic()), "boom in a blocking call");
}

/// The contract's own `spawn_blocking`, used through the ambient runtime handle, runs off the
/// caller's thread and joins with the function's output.
pub async fn raw_spawn_blocking_joins() {
    let caller = thread::current().id();
    let mut raw = runtime::current().spawn_blocking(Box::new(|| Box::new(thread::current().id())));
    let out = std::future::poll_fn(|cx| raw.poll_join(cx)).await.unwrap();
    let inside = *out.downcast::<ThreadId>().unwrap();
    assert_ne!(inside, caller);
}

/// Three tasks sleeping different amounts finish in the order of their deadlines, whatever the
/// order they were spawned in.
pub async fn sleeps_finish_in_deadline_order() {
    let log = Log::new();
    let handles: Vec<_> = [160u64, 20, 80]
        .into_iter()
        .map(|ms| {
            let log = log.clone();
            spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                log.push(ms.to_string());
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(log.events(), ["20", "80", "160"]);
}

/// `sleep_until` wakes tasks in the order of their deadlines, and not before them.
pub async fn sleep_until_finishes_in_deadline_order() {
    let log = Log::new();
    let start = current_time();
    let handles: Vec<_> = [80u64, 160, 20]
        .into_iter()
        .map(|ms| {
            let log = log.clone();
            let deadline = start + Duration::from_millis(ms);
            spawn(async move {
                sleep_until(deadline).await;
                assert!(current_time() >= deadline, "sleep_until woke before its deadline");
                log.push(ms.to_string());
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(log.events(), ["20", "80", "160"]);
}

/// `current_time` never goes backwards, and a sleep advances it by at least the slept amount.
pub async fn current_time_is_monotonic_and_advances() {
    let mut last = current_time();
    for _ in 0..1000 {
        let now = current_time();
        assert!(now >= last);
        last = now;
    }
    let before = current_time();
    sleep(Duration::from_millis(30)).await;
    let after = current_time();
    assert!(after - before >= Duration::from_millis(30), "slept 30 ms, clock advanced {:?}", after - before);
    // The same clock inside a task.
    let in_task = spawn(async { current_time() }).await.unwrap();
    assert!(in_task >= after);
}

/// The ambient runtime is visible inside spawned tasks and tasks they spawn: same runtime name
/// everywhere, and `try_current` succeeds.
pub async fn ambient_runtime_in_spawned_and_nested_tasks() {
    let outside = runtime::current().name();
    assert!(runtime::try_current().is_ok());
    let (inner, nested) = spawn(async {
        let inner = runtime::try_current().expect("no runtime in a spawned task").name();
        let nested = spawn(async {
            let grandchild = spawn(async { runtime::try_current().map(|rt| rt.name()) }).await.unwrap();
            (runtime::try_current().map(|rt| rt.name()), grandchild)
        })
        .await
        .unwrap();
        (inner, nested)
    })
    .await
    .unwrap();
    assert_eq!(inner, outside);
    assert_eq!(nested, (Ok(outside), Ok(outside)));
}

/// Where no runtime is present (a plain thread), `try_current` says so with a message that tells
/// how to fix it, and core functions that need a runtime panic with that message.
pub async fn no_runtime_error_says_how_to_fix_it() {
    let plain = thread::spawn(|| {
        let err = runtime::try_current().unwrap_err();
        let panic = catch_unwind(AssertUnwindSafe(|| drop(sleep(Duration::from_millis(1))))).unwrap_err();
        (err, payload_text(&*panic))
    });
    let (err, panic_text) = run_blocking(move || plain.join()).await.unwrap();
    assert_eq!(err, NoRuntime);
    let msg = err.to_string();
    assert!(msg.contains("anyscope::run"), "{msg}");
    assert_eq!(panic_text, msg);
}

/// `is_finished` is false while the task waits and becomes true once it completed, before the
/// handle is awaited.
pub async fn is_finished_tracks_completion() {
    let go = Flag::new();
    let g = go.clone();
    let h = spawn(async move {
        while !g.is_set() {
            sleep(Duration::from_millis(1)).await;
        }
        "done"
    });
    sleep(Duration::from_millis(5)).await;
    assert!(!h.is_finished());
    go.set();
    wait_until("the task finished", || h.is_finished()).await;
    assert_eq!(h.await.unwrap(), "done");
}

/// Aborting a task that already finished does not lose its output.
pub async fn abort_after_finish_keeps_output() {
    let h = spawn(async { 7 });
    wait_until("the task finished", || h.is_finished()).await;
    h.abort();
    h.abort();
    assert!(h.is_finished(), "aborting a finished task keeps it finished");
    assert_eq!(h.await.unwrap(), 7);
}

/// A task spawned inside a cancelled scope is a child of it: it runs up to its first suspension
/// point, is cancelled there, and its handle reports a cancellation.
pub async fn spawn_in_cancelled_scope_is_cancelled() {
    let scope = CancelScope::new();
    scope.cancel();
    let log = Log::new();
    let l = log.clone();
    let mut handle = None;
    // The body has no checkpoint of its own: it completes, with the handle kept outside.
    let out = scope
        .run(async {
            handle = Some(spawn(async move {
                l.push("started");
                sleep(Duration::from_millis(1)).await;
                l.push("after the first suspension");
            }));
        })
        .await;
    assert_eq!(out, Some(()), "the body completed without a checkpoint");
    let h = handle.expect("the body spawned the task");
    let err = h.await.unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert_eq!(log.events(), ["started"]);
}

/// `abort` never waits for the task: called (from a blocking thread) while the task's poll is
/// busy on its worker, it returns at once; the task is dropped at its next suspension point,
/// on its own thread, and the code after that point never runs.
pub async fn abort_does_not_wait_for_a_running_poll() {
    let (busy, release, after) = (Flag::new(), Flag::new(), Flag::new());
    let (b, r, a) = (busy.clone(), release.clone(), after.clone());
    let h = std::sync::Arc::new(spawn(async move {
        b.set();
        // Busy inside one poll until the aborter has returned (bounded, so a bug fails the
        // case instead of hanging it).
        let t0 = std::time::Instant::now();
        while !r.is_set() && t0.elapsed() < Duration::from_secs(30) {
            std::thread::yield_now();
        }
        sleep(Duration::from_millis(1)).await;
        a.set();
    }));
    let handle = std::sync::Arc::clone(&h);
    let returned = run_blocking(move || {
        let t0 = std::time::Instant::now();
        while !busy.is_set() {
            assert!(t0.elapsed() < Duration::from_secs(30), "the task never started");
            std::thread::yield_now();
        }
        handle.abort();
        release.set();
        true
    })
    .await;
    assert!(returned);
    let h = std::sync::Arc::into_inner(h).expect("the blocking call gave its reference back");
    let err = h.await.unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!after.is_set(), "the code after the suspension point ran");
}

/// A task that holds its own handle can abort itself (and look at itself) from inside its
/// poll: no deadlock; it is cancelled at its next suspension point.
pub async fn a_task_aborts_itself_through_its_own_handle() {
    let (tx, rx) = std::sync::mpsc::channel::<std::sync::Arc<JoinHandle<()>>>();
    let after = Flag::new();
    let a = after.clone();
    let h = std::sync::Arc::new(spawn(async move {
        let own = rx.recv().expect("the handle is sent before the task runs far");
        assert!(!own.is_finished());
        own.abort();
        own.abort();
        sleep(Duration::from_millis(1)).await;
        a.set();
    }));
    tx.send(std::sync::Arc::clone(&h)).unwrap();
    wait_until("the task ended", || h.is_finished()).await;
    // Finished means its future, and the handle it held, were dropped.
    let h = std::sync::Arc::into_inner(h).expect("the task's future was dropped before it finished");
    assert!(h.await.unwrap_err().is_cancelled());
    assert!(!after.is_set());
}

/// A future whose `Drop` panics when the task is aborted: the handle reports that panic (as
/// tokio's does), the runtime survives, and the next task runs.
pub async fn abort_of_a_task_whose_drop_panics_reports_the_panic() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("a drop that panics when the task is aborted");
        }
    }
    let started = Flag::new();
    let s = started.clone();
    let h = spawn(async move {
        let _boom = PanicOnDrop;
        s.set();
        std::future::pending::<()>().await;
    });
    wait_until("the task started", || started.is_set()).await;
    h.abort();
    let err = h.await.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(payload_text(&*err.into_panic()), "a drop that panics when the task is aborted");
    assert_eq!(spawn(async { 3 }).await.unwrap(), 3);
}

/// A value whose `Drop` sets a flag, then panics.
struct PanicAfterSet(Flag);

impl Drop for PanicAfterSet {
    fn drop(&mut self) {
        self.0.set();
        panic!("a drop that panics after setting its flag");
    }
}

/// A detached task whose output's `Drop` panics: the output is dropped by the runtime's side
/// (nobody takes it), and the panic stays there (as tokio contains it): the runtime survives
/// and the next task runs.
pub async fn a_detached_tasks_output_whose_drop_panics_leaves_the_runtime_running() {
    let (go, dropped) = (Flag::new(), Flag::new());
    let (g, d) = (go.clone(), dropped.clone());
    spawn(async move {
        // Ends only after the handle is gone, so that the runtime's side drops the output.
        wait_until("the handle was dropped", || g.is_set()).await;
        PanicAfterSet(d)
    })
    .detach();
    go.set();
    wait_until("the output was dropped", || dropped.is_set()).await;
    sleep(Duration::from_millis(5)).await;
    assert_eq!(spawn(async { 3 }).await.unwrap(), 3);
}

/// A detached task that panics with a payload whose own `Drop` panics: the runtime survives.
pub async fn a_detached_tasks_panic_payload_whose_drop_panics_leaves_the_runtime_running() {
    let (go, dropped) = (Flag::new(), Flag::new());
    let (g, d) = (go.clone(), dropped.clone());
    spawn(async move {
        wait_until("the handle was dropped", || g.is_set()).await;
        std::panic::panic_any(PanicAfterSet(d));
    })
    .detach();
    go.set();
    wait_until("the payload was dropped", || dropped.is_set()).await;
    sleep(Duration::from_millis(5)).await;
    assert_eq!(spawn(async { 4 }).await.unwrap(), 4);
}

/// A task's future whose `Drop` aborts another task (a guard holding its handle): aborting
/// the first cancels the second, with no deadlock; both report a cancellation.
pub async fn a_future_whose_drop_aborts_another_task_cancels_it() {
    struct AbortOnDrop(std::sync::Arc<JoinHandle<()>>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
            self.0.abort();
        }
    }
    let b_dropped = Flag::new();
    let bd = SetOnDrop(b_dropped.clone());
    let b = std::sync::Arc::new(spawn(async move {
        let _bd = bd;
        std::future::pending::<()>().await;
    }));
    let guard = AbortOnDrop(std::sync::Arc::clone(&b));
    let started = Flag::new();
    let s = started.clone();
    let a = spawn(async move {
        let _guard = guard;
        s.set();
        std::future::pending::<()>().await;
    });
    wait_until("the first task started", || started.is_set()).await;
    a.abort();
    assert!(a.await.unwrap_err().is_cancelled());
    wait_until("the second task was dropped", || b_dropped.is_set()).await;
    let b = std::sync::Arc::into_inner(b).expect("the first task's guard was dropped");
    assert!(b.await.unwrap_err().is_cancelled());
}

/// Aborts racing tasks that keep yielding (and a few that end at once): every join ends, each
/// with the task's output or a cancellation, and only once its future has been dropped.
pub async fn aborts_racing_running_tasks_all_join_after_the_future_is_dropped() {
    let mut tasks = Vec::new();
    for i in 0..48u32 {
        let dropped = Flag::new();
        let guard = SetOnDrop(dropped.clone());
        let h = spawn(async move {
            let _guard = guard;
            for _ in 0..(i % 6) {
                anyscope_core::checkpoint().await;
            }
            i
        });
        tasks.push((i, h, dropped));
    }
    for (i, (_, h, _)) in tasks.iter().enumerate() {
        for _ in 0..(i % 4) {
            anyscope_core::checkpoint().await;
        }
        h.abort();
    }
    let (mut done, mut cancelled) = (0, 0);
    for (i, h, dropped) in tasks {
        match h.await {
            Ok(v) => {
                assert_eq!(v, i);
                done += 1;
            }
            Err(e) => {
                assert!(e.is_cancelled(), "{e:?}");
                cancelled += 1;
            }
        }
        assert!(dropped.is_set(), "task {i}: joined before its future was dropped");
    }
    assert_eq!(done + cancelled, 48);
}

/// A finished task's handle dropped unawaited, with an output whose `Drop` panics: dropping
/// the handle does not panic (as with tokio's handle), and the runtime goes on.
pub async fn a_handle_dropped_unawaited_after_an_output_whose_drop_panics_does_not_panic() {
    let dropped = Flag::new();
    let d = dropped.clone();
    let h = spawn(async move { PanicAfterSet(d) });
    wait_until("the task finished", || h.is_finished()).await;
    // Whichever side drops the cell last drops the output: here or on the runtime's side.
    assert!(catch_unwind(AssertUnwindSafe(move || drop(h))).is_ok(), "dropping the handle panicked");
    wait_until("the output was dropped", || dropped.is_set()).await;
    assert_eq!(spawn(async { 5 }).await.unwrap(), 5);
}

/// Awaiting a handle is a checkpoint (DESIGN: every anyscope awaitable is): in a cancelled scope
/// it does not complete even for a task that has finished, and nothing is lost — the same
/// handle awaited afterwards gives the output.
pub async fn awaiting_a_handle_is_a_checkpoint() {
    let mut h = spawn(async { 5 });
    wait_until("the task finished", || h.is_finished()).await;
    let scope = CancelScope::new();
    scope.cancel();
    let got = scope.run(async { (&mut h).await.unwrap() }).await;
    assert_eq!(got, None, "the await completed in a cancelled scope");
    assert!(scope.cancelled_caught());
    assert_eq!(h.await.unwrap(), 5);
}
