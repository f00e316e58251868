//! loom models of a spawned task's cell (`runtime/task_cell.rs`): the runtime's poll and drop,
//! the handle's abort and join, on different threads. Its two locks and the abort flag go
//! through `sync_shim`, so every access is a loom scheduling point. Each model asserts that no
//! party waits for a wake-up that never comes (loom's `block_on` reports a deadlock) and that
//! the handle's result is the one the interleaving allows.

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::{Context, Poll};

use loom::sync::atomic::Ordering;
use loom::thread;

use super::{counting_waker, model};
use crate::runtime::JoinError;
use crate::runtime::task_cell::{Join, Task, new};

/// A task whose future is pending `n` times (waking itself each time), then ready with 7.
fn task(mut n: usize) -> (Task, Arc<dyn Join<u32>>) {
    new(poll_fn(move |cx: &mut Context<'_>| {
        if n == 0 {
            return Poll::Ready(Ok::<u32, JoinError>(7));
        }
        n -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }))
}

/// The runtime: polls the task until it completes (loom's `block_on` parks while pending and
/// reports a deadlock if nobody wakes it).
fn run(mut t: Task) {
    loom::future::block_on(poll_fn(|cx| std::pin::Pin::new(&mut t).poll(cx)));
}

/// An abort racing a pending poll is never lost: the poll sees the flag, or the abort finds
/// the stored waker and wakes the task, whose next poll drops the future.
#[test]
fn abort_races_a_pending_poll() {
    model("abort_races_a_pending_poll", || {
        // Never ready on its own: only the abort ends it.
        let (mut t, join) = new(poll_fn(|_: &mut Context<'_>| Poll::<Result<u32, JoinError>>::Pending));
        let j = Arc::clone(&join);
        let aborter = thread::spawn(move || j.abort());
        let (wakes, w) = counting_waker();
        let mut cx = Context::from_waker(&w);
        let first = std::pin::Pin::new(&mut t).poll(&mut cx);
        aborter.join().unwrap();
        if first.is_pending() {
            assert!(wakes.0.load(Ordering::SeqCst) > 0, "lost wake-up: abort neither seen nor woke the task");
            assert!(std::pin::Pin::new(&mut t).poll(&mut cx).is_ready(), "the woken poll drops the future");
        }
        drop(t);
        let out = loom::future::block_on(poll_fn(|cx| join.poll_join(cx)));
        assert!(out.unwrap_err().is_cancelled());
    });
}

/// The handle waits while the runtime completes the task on another thread: it is woken with
/// the output (or an abort racing the end gives a cancellation, never a hang).
#[test]
fn join_races_completion_and_abort() {
    model("join_races_completion_and_abort", || {
        let (t, join) = task(1);
        let runner = thread::spawn(move || run(t));
        let j = Arc::clone(&join);
        let aborter = thread::spawn(move || j.abort());
        let out = loom::future::block_on(poll_fn(|cx| join.poll_join(cx)));
        runner.join().unwrap();
        aborter.join().unwrap();
        match out {
            Ok(v) => assert_eq!(v, 7),
            Err(e) => assert!(e.is_cancelled()),
        }
        assert!(join.is_finished());
    });
}

/// The runtime drops the task unfinished (shutdown) while the handle waits and aborts: the
/// handle is woken with a cancellation.
#[test]
fn runtime_drop_races_join_and_abort() {
    model("runtime_drop_races_join_and_abort", || {
        let (t, join) = task(0);
        let dropper = thread::spawn(move || drop(t));
        let j = Arc::clone(&join);
        let aborter = thread::spawn(move || j.abort());
        let out = loom::future::block_on(poll_fn(|cx| join.poll_join(cx)));
        dropper.join().unwrap();
        aborter.join().unwrap();
        assert!(out.unwrap_err().is_cancelled());
    });
}
