//! A scope's place in the scope tree follows its future (issue 13 §2): a scope polled once
//! under scope O1 (a combinator gave up on it, or it was handed to another task) and finished
//! under scope O2 hangs under O2 from then on. What it spawned is cancelled when O2 is, and no
//! longer when O1 is. And when a scope ends, what it spawned and left running hangs under the
//! scopes that enclosed it: they still cancel it, the ended scope's handle no longer does
//! (Trio: cancelling a scope after it exited does nothing).

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyscope_core::group::{TaskGroup, task_group};
use anyscope_core::{CancelScope, checkpoint, move_on_after, sleep, spawn};

use crate::support::{Flag, SetOnDrop, poll_once, wait_until};

type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A bound on waits that only a broken link would make long.
const BOUND: Duration = Duration::from_secs(10);

/// Polls both futures until both completed: a minimal `join`, so that two sibling scopes run in
/// the same task.
async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

/// A task that counts the checkpoints it passes until it is cancelled, and says when it was
/// dropped.
#[derive(Clone, Default)]
struct Ticker {
    ticks: Arc<AtomicUsize>,
    dropped: Flag,
}

impl Ticker {
    fn task(&self) -> impl Future<Output = ()> + Send + 'static {
        let (ticks, dropped) = (self.ticks.clone(), self.dropped.clone());
        async move {
            let _guard = SetOnDrop(dropped);
            loop {
                checkpoint().await;
                ticks.fetch_add(1, Ordering::SeqCst);
                sleep(Duration::from_millis(1)).await;
            }
        }
    }

    /// Waits until the task passed a few more checkpoints: it is not cancelled.
    async fn runs_on(&self, what: &str) {
        let t0 = self.ticks.load(Ordering::SeqCst);
        wait_until(what, || self.ticks.load(Ordering::SeqCst) > t0 + 2 || self.dropped.is_set()).await;
        assert!(!self.dropped.is_set(), "{what}: the task was cancelled");
    }
}

/// The kinds of scope that can be moved.
#[derive(Clone, Copy)]
enum Kind {
    Run,
    MoveOn,
    Group,
}

/// A pending scope of `kind` whose body starts the ticker's task (a plain task, or a task of
/// the group) and then waits.
fn scope_that_spawns(kind: Kind, ticker: &Ticker) -> Boxed {
    let task: Boxed = Box::pin(ticker.task());
    match kind {
        Kind::Run => Box::pin(async move {
            CancelScope::new()
                .run(async move {
                    drop(spawn(task));
                    sleep(Duration::from_secs(3600)).await;
                })
                .await;
        }),
        Kind::MoveOn => Box::pin(async move {
            move_on_after(Duration::from_secs(3600), async move {
                drop(spawn(task));
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
        }),
        Kind::Group => Box::pin(group_that_spawns(task)),
    }
}

/// A task group whose body starts `task` as a task of the group, then waits.
async fn group_that_spawns(task: Boxed) {
    let _ = task_group(move |tg: TaskGroup<()>| group_body(tg, task)).await;
}

// Not an `async fn`: the task group's closure needs a future that is `Send` for every lifetime,
// which the compiler cannot prove of an `async` block written in the closure itself.
#[allow(clippy::manual_async_fn)]
fn group_body(tg: TaskGroup<()>, task: Boxed) -> impl Future<Output = Result<(), ()>> + Send {
    async move {
        let started = tg.spawn(async move {
            task.await;
            Ok(())
        });
        assert!(started.is_ok(), "the group is open");
        sleep(Duration::from_secs(3600)).await;
        Ok(())
    }
}

/// Polls a scope of `kind` once under O1, then finishes it under O2 (a sibling scope of the
/// same task, or a scope of another task): once moved, O1's cancel leaves its task running,
/// O2's cancel reaches it.
async fn moved_scope_follows(kind: Kind, other_task: bool) {
    let ticker = Ticker::default();
    let (o1, o2) = (CancelScope::new(), CancelScope::new());
    let (h1, h2) = (o1.clone(), o2.clone());
    let slot: Arc<Mutex<Option<Boxed>>> = Arc::default();
    let mut fut = scope_that_spawns(kind, &ticker);
    let (s, t) = (slot.clone(), ticker.clone());
    let first = async move {
        o1.run(async move {
            assert!(poll_once(fut.as_mut()).await.is_none(), "pending after one poll under O1");
            wait_until("the task started", || t.ticks.load(Ordering::SeqCst) > 0).await;
            *s.lock().unwrap() = Some(fut);
            sleep(Duration::from_secs(3600)).await;
        })
        .await
    };
    let t = ticker.clone();
    let second = async move {
        o2.run(async move {
            wait_until("the scope was handed over", || slot.lock().unwrap().is_some()).await;
            let mut fut = slot.lock().unwrap().take().unwrap();
            assert!(poll_once(fut.as_mut()).await.is_none(), "pending after one poll under O2");
            h1.cancel();
            t.runs_on("O1 was cancelled after the move").await;
            h2.cancel();
            fut.await;
        })
        .await
    };
    let (out1, out2) = if other_task {
        let first = spawn(first);
        let out2 = second.await;
        (move_on_after(BOUND, first).await.expect("O1's task ended").unwrap(), out2)
    } else {
        join2(first, second).await
    };
    assert_eq!((out1, out2), (None, None), "both scopes caught their cancellation");
    wait_until("O2's cancel reached the task", || ticker.dropped.is_set()).await;
}

/// A `CancelScope::run` polled under one scope and finished under a sibling scope.
pub async fn scope_moved_between_scopes_follows_the_new_one() {
    moved_scope_follows(Kind::Run, false).await;
}

/// A `move_on_after` polled under one scope and finished under a sibling scope.
pub async fn move_on_after_moved_between_scopes_follows_the_new_one() {
    moved_scope_follows(Kind::MoveOn, false).await;
}

/// A task group polled under one scope and finished under a sibling scope.
pub async fn task_group_moved_between_scopes_follows_the_new_one() {
    moved_scope_follows(Kind::Group, false).await;
}

/// A `CancelScope::run` polled once in one task and finished in another.
pub async fn scope_moved_to_another_task_follows_it() {
    moved_scope_follows(Kind::Run, true).await;
}

/// A scope polled once under O1 and then under O2, which is already cancelled: what it
/// spawned is cancelled.
pub async fn scope_moved_under_a_cancelled_scope_cancels_its_task() {
    let ticker = Ticker::default();
    let mut fut = scope_that_spawns(Kind::Run, &ticker);
    let t = ticker.clone();
    let out = CancelScope::new()
        .run(async move {
            assert!(poll_once(fut.as_mut()).await.is_none());
            wait_until("the task started", || t.ticks.load(Ordering::SeqCst) > 0).await;
            Some(fut)
        })
        .await;
    let mut fut = out.flatten().expect("the first scope ran to its end");
    let o2 = CancelScope::new();
    o2.cancel();
    // O2's body polls the scope once (no checkpoint: the body completes) and hands it back.
    let out = o2
        .run(async move {
            assert!(poll_once(fut.as_mut()).await.is_none());
            Some(fut)
        })
        .await;
    let _fut = out.flatten().expect("no checkpoint in O2's body");
    wait_until("the task was cancelled with O2", || ticker.dropped.is_set()).await;
}

/// A task left running by a scope that ended is still cancelled by the scope that enclosed it,
/// and not by the ended scope's handle.
pub async fn task_left_by_an_ended_scope_follows_the_enclosing_scopes() {
    let ticker = Ticker::default();
    let outer = CancelScope::new();
    let handle = outer.clone();
    let t = ticker.clone();
    let out = outer
        .run(async move {
            let inner = CancelScope::new();
            let task = t.task();
            let started = inner.run(async move { Some(spawn(task)) }).await.flatten().expect("not cancelled");
            wait_until("the task started", || t.ticks.load(Ordering::SeqCst) > 0).await;
            inner.cancel();
            t.runs_on("the ended scope's handle was cancelled").await;
            let _canceller = spawn(async move { handle.cancel() });
            sleep(Duration::from_secs(3600)).await;
            drop(started);
        })
        .await;
    assert_eq!(out, None);
    wait_until("the enclosing scope's cancel reached the task", || ticker.dropped.is_set()).await;
}

/// A scope that was cancelled before it ended keeps what it left running cancelled.
pub async fn task_left_by_a_cancelled_scope_stays_cancelled() {
    let ticker = Ticker::default();
    let inner = CancelScope::new();
    let handle = inner.clone();
    let task = ticker.task();
    let out = inner
        .run(async move {
            let started = spawn(task);
            handle.cancel();
            // No checkpoint: the body ends with its scope cancelled, the task still pending.
            Some(started)
        })
        .await;
    let task = out.flatten().expect("the body ended before a checkpoint");
    let joined = move_on_after(BOUND, task).await.expect("the task was cancelled");
    assert!(joined.unwrap_err().is_cancelled());
}

/// A pending shield polled once in one task and finished in another: inside it, the borrower
/// (the task, for capacity limiters) is the task that polls it now. A shield is not reached by
/// cancellation from outside, but its place in the scope tree still says which task it runs in.
pub async fn borrower_in_a_shield_moved_to_another_task_is_the_new_task() {
    use anyscope_core::sync::{BorrowerId, Event};
    let here = BorrowerId::current();
    let go = Arc::new(Event::new());
    let g = go.clone();
    let mut moved: Pin<Box<dyn Future<Output = (BorrowerId, BorrowerId)> + Send>> =
        Box::pin(anyscope_core::shield(async move {
            let first = BorrowerId::current();
            g.wait().await;
            (first, BorrowerId::current())
        }));
    assert!(poll_once(moved.as_mut()).await.is_none(), "pending after one poll here");
    let task = spawn(async move {
        let there = BorrowerId::current();
        (there, moved.await)
    });
    go.set();
    let (there, (first, second)) = move_on_after(BOUND, task).await.expect("the task ended").unwrap();
    assert_ne!(here, there);
    assert_eq!(first, here, "first polled in this task");
    assert_eq!(second, there, "finished in the other task");
}

/// A task spawned in a scope that moves from O1 to O2 sees O2's deadline from then on, not
/// O1's: the effective deadline is read through the scope's new place.
pub async fn task_of_a_moved_scope_sees_the_new_enclosing_deadline() {
    use anyscope_core::{current_effective_deadline, current_time};
    let d1 = current_time() + Duration::from_secs(3600);
    let d2 = current_time() + Duration::from_secs(1800);
    let seen: Arc<Mutex<Option<std::time::Instant>>> = Arc::default();
    let s = seen.clone();
    let task = async move {
        loop {
            *s.lock().unwrap() = current_effective_deadline();
            sleep(Duration::from_millis(1)).await;
        }
    };
    let fut: Boxed = Box::pin(async move {
        CancelScope::new()
            .run(async move {
                drop(spawn(task));
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
    });
    let (o1, o2) = (CancelScope::with_deadline(d1), CancelScope::with_deadline(d2));
    let (h1, h2) = (o1.clone(), o2.clone());
    let slot: Arc<Mutex<Option<Boxed>>> = Arc::default();
    let (k, v) = (slot.clone(), seen.clone());
    let first = o1.run(async move {
        let mut fut = fut;
        assert!(poll_once(fut.as_mut()).await.is_none());
        wait_until("the task saw O1's deadline", || *v.lock().unwrap() == Some(d1)).await;
        *k.lock().unwrap() = Some(fut);
        sleep(Duration::from_secs(3600)).await;
    });
    let v = seen.clone();
    let second = o2.run(async move {
        wait_until("the scope was handed over", || slot.lock().unwrap().is_some()).await;
        let mut fut = slot.lock().unwrap().take().unwrap();
        assert!(poll_once(fut.as_mut()).await.is_none());
        wait_until("the task sees O2's deadline", || *v.lock().unwrap() == Some(d2)).await;
        h1.cancel();
        h2.cancel();
        fut.await;
    });
    assert_eq!(join2(first, second).await, (None, None));
}
