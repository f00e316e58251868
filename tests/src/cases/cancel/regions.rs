//! Counted regions (a pending shield, a task group waiting for its tasks, a shielded
//! checkpoint) belong to the future that owns them, not to the scopes that happen to be polling
//! when they are polled or dropped: whatever a combinator does with one, no other scope's
//! delivery is blocked or released by it.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use anyscope_core::sync::Event;
use anyscope_core::{CancelScope, cancel_shielded_checkpoint, checkpoint, shield, sleep, spawn};

use crate::support::{Flag, Log, poll_once, wait_until};

/// Runs, in scope `b`, a real shield (which waits for an event) joined with `other`, polled
/// after the shield. Another task cancels `b` once `other` has completed, and sets the event a
/// little later. The real shield must run to its end before `b` delivers.
async fn real_shield_survives_beside(b: CancelScope, other: Pin<&mut (dyn Future<Output = ()> + Send)>) {
    let log = Log::new();
    let release = Arc::new(Event::new());
    let other_done = Flag::new();
    let (handle, rel, done) = (b.clone(), release.clone(), other_done.clone());
    let canceller = spawn(async move {
        wait_until("the other future completed", || done.is_set()).await;
        handle.cancel();
        // Time for a wrongly released scope to deliver, cutting the real shield off.
        sleep(Duration::from_millis(20)).await;
        rel.set();
    });
    let (l, rel, done) = (log.clone(), release.clone(), other_done.clone());
    let out = b
        .run(async move {
            let real = shield(async move {
                rel.wait().await;
                l.push("real shield finished");
            });
            let other = async move {
                other.await;
                done.set();
            };
            join2(real, other).await;
            checkpoint().await;
            log_unreachable();
        })
        .await;
    canceller.await.unwrap();
    assert_eq!(out, None);
    assert!(b.cancelled_caught());
    assert_eq!(log.events(), ["real shield finished"]);
}

fn log_unreachable() {
    panic!("the body ran past a checkpoint in a cancelled scope");
}

/// Polls both futures (`a` first) until both completed, in the current poll: a minimal `join`.
async fn join2(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut a_done, mut b_done) = (false, false);
    std::future::poll_fn(|cx| {
        if !a_done {
            a_done = a.as_mut().poll(cx).is_ready();
        }
        if !b_done {
            b_done = b.as_mut().poll(cx).is_ready();
        }
        if a_done && b_done { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await
}

/// A shield polled once under scope A, then finished under scope B beside a real shield: it
/// takes no count away from B (today it releases B's, and B cuts the real shield off).
pub async fn shield_polled_under_one_scope_and_finished_under_another_releases_no_other() {
    let ready = Arc::new(Event::new());
    let r = ready.clone();
    let mut moved: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(shield(async move { r.wait().await }));
    let a = CancelScope::new();
    assert_eq!(a.run(poll_once(moved.as_mut())).await, Some(None), "pending after one poll under A");
    ready.set();
    real_shield_survives_beside(CancelScope::new(), moved.as_mut()).await;
}

/// A shielded checkpoint first polled outside any frame (on a plain thread), then finished in a
/// scope beside a real shield: it takes no count away from that scope.
pub async fn shielded_checkpoint_first_polled_outside_any_frame_releases_no_other() {
    let mut csc = std::thread::spawn(|| {
        let mut csc = Box::pin(cancel_shielded_checkpoint());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(csc.as_mut().poll(&mut cx).is_pending());
        csc
    })
    .join()
    .unwrap();
    let mut other: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move { csc.as_mut().await });
    real_shield_survives_beside(CancelScope::new(), other.as_mut()).await;
}

/// A shield that a body left pending (polled once in an inner scope, kept outside it) does not
/// make the enclosing scope uncancellable.
pub async fn shield_left_pending_by_a_body_does_not_block_the_enclosing_scope() {
    let never = Arc::new(Event::new());
    let n = never.clone();
    let mut left: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(shield(async move { n.wait().await }));
    let outer = CancelScope::new();
    let handle = outer.clone();
    let done = Flag::new();
    let d = done.clone();
    let task = spawn(async move {
        let out = outer
            .run(async {
                let inner = CancelScope::new();
                assert_eq!(inner.run(poll_once(left.as_mut())).await, Some(None));
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
        d.set();
        (out, left)
    });
    handle.cancel();
    wait_until("the enclosing scope delivered", || done.is_set()).await;
    let (out, left) = task.await.unwrap();
    assert_eq!(out, None);
    never.set();
    left.await;
}

/// A pending shield moved to another task, which finishes it: the first task's scope is
/// cancellable again as soon as the shield is polled there.
pub async fn shield_moved_to_another_task_leaves_the_first_cancellable() {
    let release = Arc::new(Event::new());
    let r = release.clone();
    let scope = CancelScope::new();
    let handle = scope.clone();
    let moved_flag = Flag::new();
    let done = Flag::new();
    let (mf, d) = (moved_flag.clone(), done.clone());
    let first = spawn(async move {
        let out = scope
            .run(async {
                let mut s: Pin<Box<dyn Future<Output = ()> + Send>> =
                    Box::pin(shield(async move { r.wait().await }));
                assert_eq!(poll_once(s.as_mut()).await, None);
                let second = spawn(s);
                mf.set();
                sleep(Duration::from_secs(3600)).await;
                drop(second);
            })
            .await;
        d.set();
        out
    });
    wait_until("the shield moved", || moved_flag.is_set()).await;
    handle.cancel();
    wait_until("the first task's scope delivered", || done.is_set()).await;
    assert_eq!(first.await.unwrap(), None);
    release.set();
}
