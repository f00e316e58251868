//! Races in the scope tree, run many times (on the multi-thread runtime the two sides run on
//! different threads): a scope moved under a scope that another task cancels at the same time,
//! a task registering under a scope that ends at the same time. And which task borrows a
//! capacity limiter inside a scope that moved to another task.

// The cases hand a pending scope's future out of another scope's body on purpose (to poll it
// elsewhere next), so bodies yield futures.
#![allow(clippy::async_yields_async)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::sync::{BorrowerId, CapacityLimiter, Event};
use anyscope_core::{CancelScope, checkpoint, move_on_after, shield, sleep, spawn};

use crate::support::{Flag, SetOnDrop, poll_once, wait_until};

type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How many times each race runs.
const ROUNDS: usize = 200;

/// A task that waits until it is cancelled, and says when it was dropped.
async fn parked(dropped: Flag, started: Arc<AtomicUsize>) {
    let _guard = SetOnDrop(dropped);
    started.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_secs(3600)).await;
}

/// A pending scope that spawned a parked task, polled once under a first scope.
async fn pending_scope_with_a_task(dropped: &Flag) -> Boxed {
    let started = Arc::new(AtomicUsize::new(0));
    let task = parked(dropped.clone(), started.clone());
    let mut fut: Boxed = Box::pin(async move {
        CancelScope::new()
            .run(async move {
                drop(spawn(task));
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
    });
    let out = CancelScope::new()
        .run(async move {
            assert!(poll_once(fut.as_mut()).await.is_none());
            fut
        })
        .await;
    wait_until("the task started", || started.load(Ordering::SeqCst) > 0).await;
    out.expect("the first scope is not cancelled")
}

/// A scope moved under O2 while another task cancels O2: either the cancel walk finds the
/// moved scope's task under O2, or the move sees O2 cancelled; the task is cancelled every time.
pub async fn scope_moved_under_a_scope_being_cancelled_cancels_its_task() {
    for _ in 0..ROUNDS {
        let dropped = Flag::new();
        let mut fut = pending_scope_with_a_task(&dropped).await;
        let o2 = CancelScope::new();
        let handle = o2.clone();
        let go = Flag::new();
        let g = go.clone();
        let canceller = spawn(async move {
            while !g.is_set() {
                checkpoint().await;
            }
            handle.cancel();
        });
        let d = dropped.clone();
        let out = o2
            .run(async move {
                go.set();
                assert!(poll_once(fut.as_mut()).await.is_none());
                shield(wait_until("the task of the moved scope was cancelled", || d.is_set())).await;
                fut
            })
            .await;
        drop(out);
        let _ = canceller.await;
        assert!(dropped.is_set());
    }
}

/// A scope spawns a task and ends at once, while the task starts (and registers) on another
/// thread; then the enclosing scope is cancelled: the task is cancelled every time, whether it
/// registered under the ended scope before its end or past it after.
pub async fn task_registering_while_its_scope_ends_is_reached_by_the_enclosing_cancel() {
    for _ in 0..ROUNDS {
        let dropped = Flag::new();
        let started = Arc::new(AtomicUsize::new(0));
        let outer = CancelScope::new();
        let handle = outer.clone();
        let (d, s) = (dropped.clone(), started.clone());
        let out = outer
            .run(async move {
                let task = parked(d.clone(), s.clone());
                assert_eq!(CancelScope::new().run(async move { drop(spawn(task)) }).await, Some(()));
                shield(async {
                    wait_until("the task started", || s.load(Ordering::SeqCst) > 0).await;
                    let _ = spawn(async move { handle.cancel() }).await;
                    wait_until("the enclosing cancel reached the task", || d.is_set()).await;
                })
                .await;
                checkpoint().await;
            })
            .await;
        assert_eq!(out, None);
    }
}

/// A pending `CancelScope::run` around a `move_on_after`, polled once in this task and finished
/// in another: inside it, the borrower of a capacity limiter is the task that polls it now, and
/// a token it took there is released there.
pub async fn borrower_in_a_scope_moved_to_another_task_is_the_new_task() {
    let limiter = Arc::new(CapacityLimiter::new(2));
    let here = BorrowerId::current();
    let go = Arc::new(Event::new());
    let (g, l) = (go.clone(), limiter.clone());
    type Ids = Option<Option<(BorrowerId, BorrowerId)>>;
    let mut moved: Pin<Box<dyn Future<Output = Ids> + Send>> =
        Box::pin(CancelScope::new().run(move_on_after(Duration::from_secs(3600), async move {
            let first = BorrowerId::current();
            g.wait().await;
            let second = BorrowerId::current();
            l.try_acquire().expect("a free token");
            l.release().expect("the token taken here belongs to the task that polls it now");
            (first, second)
        })));
    assert!(poll_once(moved.as_mut()).await.is_none(), "pending after one poll here");
    let task = spawn(async move {
        let there = BorrowerId::current();
        (there, moved.await)
    });
    go.set();
    let (there, out) = move_on_after(Duration::from_secs(10), task).await.expect("the task ended").unwrap();
    let (first, second) = out.flatten().expect("nothing cancelled the scopes");
    assert_ne!(here, there);
    assert_eq!((first, second), (here, there), "first polled here, finished there");
    limiter.try_acquire().expect("this task holds no token");
    limiter.release().unwrap();
}
