//! Drops: the body is dropped inside its frame, its cleanups run (shielded) before the frame
//! completes or go to the enclosing frame; panics pass through; tasks hang under scopes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use super::*;
use crate::cancel::{CancelScope, checkpoint, move_on_after};
use crate::frame;
use crate::runtime::JoinHandle;
use crate::testing::{Counter, Gate, Log, MockRuntime, poll_with};

#[test]
fn body_is_dropped_inside_the_frame_and_its_cleanup_runs_before_completion() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    let gate = Gate::new();
    let log = Log::new();
    let (l, g) = (log.clone(), gate.clone());
    let mut fut = rooted(
        &rt,
        scope.run(async move {
            let _probe = Probe(l);
            g.wait().await;
        }),
    );
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    scope.cancel();
    // The cleanup passes a checkpoint: it is shielded although its frame is cancelled.
    assert_eq!(poll_until_ready(&mut fut, &waker, 10), Some(None));
    assert_eq!(
        log.events(),
        ["probe dropped, cancelled_here=true", "adopted=true", "cleanup start", "cleanup end"]
    );
}

#[test]
fn cleanup_adopted_by_cancelled_deadline_scope_is_shielded() {
    let rt = MockRuntime::new();
    let gate = Gate::new();
    let log = Log::new();
    let (l, g) = (log.clone(), gate.clone());
    let mut fut = rooted(
        &rt,
        move_on_after(Duration::from_secs(1), async move {
            let _probe = Probe(l);
            g.wait().await;
        }),
    );
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    rt.advance(Duration::from_secs(2));
    assert_eq!(poll_until_ready(&mut fut, &waker, 10), Some(None));
    assert_eq!(
        log.events(),
        ["probe dropped, cancelled_here=true", "adopted=true", "cleanup start", "cleanup end"]
    );
}

#[test]
fn panic_in_body_propagates_after_the_frame_popped() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    let gate = Gate::new();
    let g = gate.clone();
    let mut fut = rooted(
        &rt,
        scope.run(async move {
            g.wait().await;
            panic!("boom in a body");
        }),
    );
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    gate.open();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_with(fut.as_mut(), &waker)));
    assert_eq!(*panic.unwrap_err().downcast::<&str>().unwrap(), "boom in a body");
    assert!(frame::current_node().is_none(), "no frame is left on the stack");
    assert!(!frame::cancelled_here());

    // A new scope works on this thread.
    let fresh = CancelScope::new();
    fresh.cancel();
    let mut next = rooted(&rt, fresh.run(checkpoint()));
    assert_eq!(poll_with(next.as_mut(), &waker), Poll::Ready(None));
    assert!(fresh.cancelled_caught());
}

#[test]
fn dropping_a_running_scope_drops_its_body_inside_its_frame() {
    let rt = MockRuntime::new();
    let log = Log::new();
    let l = log.clone();
    let mut fut = rooted(&rt, async move {
        let scope = CancelScope::new();
        let l2 = l.clone();
        let mut running = Box::pin(scope.run(async move {
            let _probe = Probe(l2);
            std::future::pending::<()>().await;
        }));
        std::future::poll_fn(|cx| {
            assert!(running.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        drop(running);
        l.push("scope dropped");
    });
    let (_, waker) = Counter::new();
    assert_eq!(poll_until_ready(&mut fut, &waker, 10), Some(()));
    // Not cancelled: the drop came from outside; its cleanup went to the enclosing frame.
    assert_eq!(
        log.events(),
        [
            "probe dropped, cancelled_here=false",
            "adopted=true",
            "scope dropped",
            "cleanup start",
            "cleanup end"
        ]
    );
    assert_eq!(rt.tasks().len(), 0, "nothing was detached");
}

#[test]
fn dropping_the_root_detaches_pending_cleanups_in_one_task() {
    let rt = MockRuntime::new();
    let log = Log::new();
    let l = log.clone();
    let scope = CancelScope::new();
    let mut fut = rooted(
        &rt,
        scope.run(async move {
            let _probe = Probe(l);
            std::future::pending::<()>().await;
        }),
    );
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    drop(fut);
    assert_eq!(log.events(), ["probe dropped, cancelled_here=false", "adopted=true"]);
    assert_eq!(rt.tasks().len(), 1);
    for _ in 0..10 {
        if rt.run_tasks() == 0 {
            break;
        }
    }
    assert_eq!(rt.run_tasks(), 0);
    assert_eq!(
        log.events(),
        ["probe dropped, cancelled_here=false", "adopted=true", "cleanup start", "cleanup end"]
    );
}

#[test]
fn task_root_is_cancelled_through_its_remote_parent() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    let gate = Gate::new();
    let slot: Arc<std::sync::Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let (g, s) = (gate.clone(), slot.clone());
    let mut fut = rooted(
        &rt,
        scope.run(async move {
            *s.lock().unwrap() = Some(crate::spawn(g.wait()));
            std::future::pending::<()>().await;
        }),
    );
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!(rt.run_tasks(), 1);
    let task = rt.tasks().pop().unwrap();
    assert_eq!((wakes.get(), task.wakes()), (0, 0));

    scope.cancel();
    assert_eq!((wakes.get(), task.wakes()), (1, 1), "each task woken once");
    assert_eq!(rt.run_tasks(), 0, "the task delivers at its suspension point");
    assert_eq!((gate.polls(), gate.dropped()), (1, 1));
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));

    let mut handle = slot.lock().unwrap().take().unwrap();
    let Poll::Ready(joined) = poll_with(Pin::new(&mut handle), &waker) else { panic!("finished") };
    assert!(joined.unwrap_err().is_cancelled());
}

#[test]
fn task_spawned_in_a_deadline_scope_is_cancelled_by_the_deadline() {
    let rt = MockRuntime::new();
    let gate = Gate::new();
    let g = gate.clone();
    let mut fut = rooted(
        &rt,
        move_on_after(Duration::from_secs(1), async move {
            // Gives the (node-less) deadline scope a node, under which the task hangs.
            let _task = crate::spawn(g.wait());
            std::future::pending::<()>().await;
        }),
    );
    let (wakes, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!(rt.run_tasks(), 1);
    let task = rt.tasks().pop().unwrap();
    rt.advance(Duration::from_secs(1));
    assert_eq!((wakes.get(), task.wakes()), (1, 0), "only the scope's timer fires");
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
    assert_eq!((wakes.get(), task.wakes()), (1, 1), "the deadline's cancellation reaches the task");
    assert_eq!(rt.run_tasks(), 0);
    assert_eq!(gate.dropped(), 1);
}

/// Runs its closure when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

#[test]
fn scope_inside_a_cleanup_of_a_cancelled_frame_catches_its_own_cancellation() {
    let rt = MockRuntime::new();
    let scope = CancelScope::new();
    let log = Log::new();
    let l = log.clone();
    let mut fut = rooted(
        &rt,
        scope.run(async move {
            // Dropped when the cancellation is delivered: adopts a cleanup into the cancelled
            // scope's frame, which runs it after the body is gone.
            let _guard = OnDrop(move || {
                let l2 = l.clone();
                let cleanup = frame::Cleanup::new(
                    "test cleanup",
                    Box::pin(async move {
                        l2.push(format!("cleanup sees is_cancelled={}", crate::is_cancelled()));
                        let inner = CancelScope::new();
                        inner.cancel();
                        let r = inner.run(checkpoint()).await;
                        l2.push(format!("inner scope returned {r:?}, caught={}", inner.cancelled_caught()));
                    }),
                );
                assert!(frame::adopt(cleanup).is_ok());
            });
            std::future::pending::<()>().await;
        }),
    );
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert!(log.events().is_empty());
    scope.cancel();
    assert_eq!(poll_until_ready(&mut fut, &waker, 10), Some(None));
    assert_eq!(log.events(), ["cleanup sees is_cancelled=false", "inner scope returned None, caught=true"]);
}
