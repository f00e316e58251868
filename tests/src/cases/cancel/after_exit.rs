//! Adversarial probes of the scope tree after a scope ends or moves (issue 13 §2/§3): a
//! handle used after `run` returned changes nothing (Trio's `test_cancel_scope_*`), tasks
//! left by ended scopes (several levels deep, a task group's) follow the live scopes above,
//! a scope moved back and forth many times ends under the right one, and a parent's cancel
//! racing the end of a child scope still reaches the child's task.

// The cases hand a pending scope's future out of another scope's body on purpose (to poll it
// elsewhere next), so bodies yield futures.
#![allow(clippy::async_yields_async)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyscope_core::group::{TaskGroup, task_group};
use anyscope_core::{CancelScope, checkpoint, current_time, move_on_after, shield, sleep, spawn};

use crate::support::{Flag, SetOnDrop, poll_once, wait_until};

type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A task that ticks at each checkpoint until it is cancelled (it says when it was dropped) or
/// told to stop (so that a case leaves nothing running).
#[derive(Clone, Default)]
struct Ticker {
    ticks: Arc<AtomicUsize>,
    dropped: Flag,
    stop: Flag,
}

impl Ticker {
    fn task(&self) -> impl Future<Output = ()> + Send + 'static {
        let (ticks, dropped, stop) = (self.ticks.clone(), self.dropped.clone(), self.stop.clone());
        async move {
            let _guard = SetOnDrop(dropped);
            while !stop.is_set() {
                checkpoint().await;
                ticks.fetch_add(1, Ordering::SeqCst);
                sleep(Duration::from_millis(1)).await;
            }
        }
    }

    async fn started(&self) {
        wait_until("the task started", || self.ticks.load(Ordering::SeqCst) > 0).await;
    }

    /// Waits until the task passed a few more checkpoints: it is not cancelled.
    async fn runs_on(&self, what: &str) {
        let t0 = self.ticks.load(Ordering::SeqCst);
        wait_until(what, || self.ticks.load(Ordering::SeqCst) > t0 + 2 || self.dropped.is_set()).await;
        assert!(!self.dropped.is_set(), "{what}: the task was cancelled");
    }

    async fn cancelled(&self, what: &str) {
        wait_until(what, || self.dropped.is_set()).await;
    }
}

/// Cancels `scope` from another task (so that the caller's own scope is not cancelled in the
/// middle of its poll), and waits for that task.
async fn cancel_from_elsewhere(scope: &CancelScope) {
    let s = scope.clone();
    let _ = spawn(async move { s.cancel() }).await;
}

/// A scope that ended normally: cancelling it, moving its deadline into the past or raising
/// its shield afterwards changes nothing (its task runs on, `cancelled_caught` stays false,
/// `cancel_called` records the call), and the enclosing scope still cancels its task.
pub async fn ended_scope_handle_changes_affect_nothing() {
    let ticker = Ticker::default();
    let outer = CancelScope::new();
    let (handle, t) = (outer.clone(), ticker.clone());
    let out = outer
        .run(async move {
            let inner = CancelScope::new();
            let task = t.task();
            assert_eq!(inner.run(async move { drop(spawn(task)) }).await, Some(()));
            t.started().await;
            inner.set_deadline(Some(current_time()));
            t.runs_on("the ended scope's deadline was moved into the past").await;
            assert!(!inner.cancel_called(), "a deadline passed after the end cancels nothing");
            inner.cancel();
            inner.set_shield(true);
            assert!(inner.cancel_called(), "the call is recorded");
            assert!(!inner.cancelled_caught(), "nothing was caught after the end");
            t.runs_on("the ended scope was cancelled, expired and shielded").await;
            shield(async {
                cancel_from_elsewhere(&handle).await;
                t.cancelled("the enclosing cancel reached the task (the late shield froze nothing)").await;
            })
            .await;
            assert!(!inner.cancelled_caught());
            sleep(Duration::from_secs(3600)).await;
        })
        .await;
    assert_eq!(out, None);
}

/// A shielded scope that ended keeps its task shielded: lowering the shield through the handle
/// afterwards does not let the enclosing cancel through.
pub async fn ended_shield_lowered_after_exit_still_shields() {
    let ticker = Ticker::default();
    let outer = CancelScope::new();
    let (handle, t) = (outer.clone(), ticker.clone());
    let out = outer
        .run(async move {
            let inner = CancelScope::shielded();
            let task = t.task();
            assert_eq!(inner.run(async move { drop(spawn(task)) }).await, Some(()));
            t.started().await;
            inner.set_shield(false);
            shield(async {
                cancel_from_elsewhere(&handle).await;
                t.runs_on("the ended shield was lowered, then the enclosing scope cancelled").await;
            })
            .await;
            checkpoint().await;
        })
        .await;
    assert_eq!(out, None);
    t_stop(&ticker).await;
}

/// Stops a ticker that must not have been cancelled, and waits until it ended.
async fn t_stop(ticker: &Ticker) {
    ticker.stop.set();
    wait_until("the task stopped", || ticker.dropped.is_set()).await;
}

/// A cancelled scope that ended keeps its task cancelled even if the enclosing scope is
/// shielded afterwards, and a deadline moved later after the end does not revive it.
pub async fn ended_cancelled_scope_keeps_its_task_cancelled() {
    let ticker = Ticker::default();
    let t = ticker.clone();
    let inner = CancelScope::with_deadline(current_time() + Duration::from_secs(3600));
    let handle = inner.clone();
    let task = t.task();
    let out = CancelScope::shielded()
        .run(async move {
            let out = inner
                .run(async move {
                    drop(spawn(task));
                    handle.cancel();
                    // No checkpoint: the body ends with its scope cancelled.
                })
                .await;
            assert_eq!(out, Some(()));
            assert!(!inner.cancelled_caught());
            inner.set_deadline(None);
            ticker.cancelled("the task of the cancelled scope was cancelled").await;
        })
        .await;
    assert_eq!(out, Some(()));
}

/// A task spawned three scopes deep (a handle scope, a `move_on_after`, a task group's body),
/// all of which ended normally, is cancelled by the live scope that enclosed them.
pub async fn task_left_by_three_ended_scopes_is_cancelled_by_the_enclosing_one() {
    let ticker = Ticker::default();
    let outer = CancelScope::new();
    let (handle, t) = (outer.clone(), ticker.clone());
    let out = outer
        .run(async move {
            let task: Boxed = Box::pin(t.task());
            let ended = CancelScope::new()
                .run(move_on_after(Duration::from_secs(3600), async move {
                    task_group(move |_tg: TaskGroup<()>| async move {
                        drop(spawn(task));
                        Ok(())
                    })
                    .await
                }))
                .await;
            assert!(matches!(ended, Some(Some(Ok(())))), "all three scopes ended normally");
            t.started().await;
            t.runs_on("the three scopes ended").await;
            shield(async {
                cancel_from_elsewhere(&handle).await;
                t.cancelled("the enclosing cancel reached the task").await;
            })
            .await;
            sleep(Duration::from_secs(3600)).await;
        })
        .await;
    assert_eq!(out, None);
}

/// A task of a group starts a plain task and ends, then the group ends: the plain task, left
/// by two ended nodes (its spawner's task and the group), is cancelled by the enclosing scope.
pub async fn task_left_by_an_ended_group_child_is_cancelled_by_the_enclosing_scope() {
    let ticker = Ticker::default();
    let outer = CancelScope::new();
    let (handle, t) = (outer.clone(), ticker.clone());
    let out = outer
        .run(async move {
            let task: Boxed = Box::pin(t.task());
            let child: Boxed = Box::pin(async move { drop(spawn(task)) });
            let ended = task_group(move |tg: TaskGroup<()>| spawn_and_return(tg, child)).await;
            assert!(ended.is_ok(), "the group ended normally");
            t.started().await;
            t.runs_on("the group and its child ended").await;
            shield(async {
                cancel_from_elsewhere(&handle).await;
                t.cancelled("the enclosing cancel reached the task").await;
            })
            .await;
            sleep(Duration::from_secs(3600)).await;
        })
        .await;
    assert_eq!(out, None);
}

/// A task group's body that starts `child` as a task of the group and returns.
// Not an `async fn`: see `group_body`.
#[allow(clippy::manual_async_fn)]
fn spawn_and_return(tg: TaskGroup<()>, child: Boxed) -> impl Future<Output = Result<(), ()>> + Send {
    async move {
        let started = tg.spawn(async move {
            child.await;
            Ok(())
        });
        assert!(started.is_ok(), "the group is open");
        Ok(())
    }
}

/// Each task of a chain starts its successor inside `move_on_after` inside `CancelScope::run`
/// and ends: a cancel of the scope above the first task reaches the last one.
pub async fn respawn_chain_through_nested_scopes_is_cancelled_at_the_top() {
    const LINKS: usize = 200;
    fn link(n: usize, last: Ticker) -> Boxed {
        Box::pin(async move {
            if n == 0 {
                last.task().await;
                return;
            }
            let next = link(n - 1, last);
            CancelScope::new()
                .run(move_on_after(Duration::from_secs(3600), async move { drop(spawn(next)) }))
                .await;
        })
    }
    let ticker = Ticker::default();
    let top = CancelScope::new();
    let handle = top.clone();
    let first = link(LINKS, ticker.clone());
    assert_eq!(top.run(async move { drop(spawn(first)) }).await, Some(()));
    ticker.started().await;
    ticker.runs_on("the chain ended").await;
    handle.cancel();
    ticker.runs_on("the top scope had ended before its cancel").await;
    t_stop(&ticker).await;

    // The same under a live scope: its cancel reaches the last task.
    let ticker = Ticker::default();
    let outer = CancelScope::new();
    let (handle, t) = (outer.clone(), ticker.clone());
    let out = outer
        .run(async move {
            let first = link(LINKS, t.clone());
            assert_eq!(CancelScope::new().run(async move { drop(spawn(first)) }).await, Some(()));
            t.started().await;
            shield(async {
                cancel_from_elsewhere(&handle).await;
                t.cancelled("the live scope's cancel reached the end of the chain").await;
            })
            .await;
            sleep(Duration::from_secs(3600)).await;
        })
        .await;
    assert_eq!(out, None);
}

/// One side of a ping-pong: runs `o`, whose body polls the scope in `slot` once on each of its
/// turns (`moves` has parity `parity`) until `moves` reaches `until`, then waits.
async fn ping_pong_side(
    o: CancelScope,
    slot: Arc<Mutex<Option<Boxed>>>,
    moves: Arc<AtomicUsize>,
    parity: usize,
    until: usize,
) -> Option<()> {
    o.run(async move {
        loop {
            let n = moves.load(Ordering::SeqCst);
            if n % 2 == parity && n < until {
                // The slot is empty if a cancelled side's body was dropped with the scope in
                // hand, or the scope completed under it.
                let taken = slot.lock().unwrap().take();
                if let Some(mut fut) = taken {
                    if poll_once(fut.as_mut()).await.is_none() {
                        *slot.lock().unwrap() = Some(fut);
                    }
                }
                moves.fetch_add(1, Ordering::SeqCst);
            }
            sleep(Duration::from_micros(100)).await;
        }
    })
    .await
}

/// A pending scope that spawned a task, moved under a new scope of its own each time it is
/// polled.
fn moving_scope(ticker: &Ticker) -> Boxed {
    let task = ticker.task();
    Box::pin(async move {
        CancelScope::new()
            .run(async move {
                drop(spawn(task));
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
    })
}

/// A pending scope (which spawned a task) handed back and forth 1,000 times between the
/// bodies of two live sibling scopes O1 and O2 of the same task, polled once under each: it
/// hangs under the last one, O2. Cancelling O1 leaves its task running; cancelling O2 reaches
/// it.
pub async fn scope_moved_a_thousand_times_ends_under_the_last_one() {
    const MOVES: usize = 1000;
    let ticker = Ticker::default();
    let (o1, o2) = (CancelScope::new(), CancelScope::new());
    let (h1, h2) = (o1.clone(), o2.clone());
    let slot: Arc<Mutex<Option<Boxed>>> = Arc::new(Mutex::new(Some(moving_scope(&ticker))));
    let moves = Arc::new(AtomicUsize::new(0));
    let sides = join2(
        ping_pong_side(o1, slot.clone(), moves.clone(), 0, MOVES),
        ping_pong_side(o2, slot.clone(), moves.clone(), 1, MOVES),
    );
    let (m, t) = (moves.clone(), ticker.clone());
    let check = async move {
        wait_until("1,000 moves", || m.load(Ordering::SeqCst) == MOVES).await;
        assert!(slot.lock().unwrap().is_some(), "the moved scope is still pending");
        h1.cancel();
        t.runs_on("O1 was cancelled, the scope last moved under O2").await;
        h2.cancel();
        t.cancelled("O2's cancel reached the moved scope's task").await;
        drop(slot.lock().unwrap().take());
    };
    let (sides, ()) = join2(sides, check).await;
    assert_eq!(sides, (None, None), "both sides caught their cancellation");
}

/// Polls both futures until both completed: a minimal `join`, so that two sibling scopes run in
/// the same task.
async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
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

/// A pending scope handed back and forth between two live sibling scopes of two tasks, while a
/// third task cancels one of them at some point: nothing hangs, and once the scope settles under
/// the scope that was not cancelled, that scope's cancel reaches its task.
pub async fn scope_ping_pong_while_one_side_is_cancelled_settles() {
    let ticker = Ticker::default();
    let (o1, o2) = (CancelScope::new(), CancelScope::new());
    let (h1, h2) = (o1.clone(), o2.clone());
    // The scope is in the slot between polls.
    let slot: Arc<Mutex<Option<Boxed>>> = Arc::new(Mutex::new(Some(moving_scope(&ticker))));
    let moves = Arc::new(AtomicUsize::new(0));
    let first = spawn(ping_pong_side(o1, slot.clone(), moves.clone(), 0, usize::MAX));
    let m = moves.clone();
    let canceller = spawn(async move {
        wait_until("500 moves", || m.load(Ordering::SeqCst) >= 500).await;
        h2.cancel();
    });
    let second = ping_pong_side(o2, slot.clone(), moves.clone(), 1, usize::MAX).await;
    assert_eq!(second, None, "O2 caught its cancellation");
    let _ = canceller.await;
    ticker.started().await;
    // O2's side stopped: if it was its turn, pass it (only O2 moves from an odd count).
    if moves.load(Ordering::SeqCst) % 2 == 1 {
        moves.fetch_add(1, Ordering::SeqCst);
    }
    let before = moves.load(Ordering::SeqCst);
    let m = moves.clone();
    wait_until("O1 polled the scope once more", || m.load(Ordering::SeqCst) > before).await;
    h1.cancel();
    let first = move_on_after(Duration::from_secs(10), first).await.expect("O1's side ended");
    assert_eq!(first.unwrap(), None, "O1 caught its cancellation");
    ticker.cancelled("the task was cancelled by O1 (or by O2 before the move back)").await;
    drop(slot.lock().unwrap().take());
}

/// A scope with its own deadline moved from O1 (earlier deadline) to O2 (later deadline): its
/// task's effective deadline becomes the scope's own, the earlier of it and O2's.
pub async fn moved_scope_with_a_deadline_sees_the_min_of_its_own_and_the_new_enclosing() {
    use anyscope_core::current_effective_deadline;
    let now = current_time();
    let (own, d1, d2) =
        (now + Duration::from_secs(2400), now + Duration::from_secs(1200), now + Duration::from_secs(3600));
    let seen: Arc<Mutex<Option<std::time::Instant>>> = Arc::default();
    let s = seen.clone();
    let stop = Flag::new();
    let st = stop.clone();
    let task = async move {
        while !st.is_set() {
            *s.lock().unwrap() = current_effective_deadline();
            sleep(Duration::from_millis(1)).await;
        }
    };
    let mut fut: Boxed = Box::pin(async move {
        CancelScope::with_deadline(own)
            .run(async move {
                drop(spawn(task));
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
    });
    let v = seen.clone();
    let out = CancelScope::with_deadline(d1)
        .run(async move {
            assert!(poll_once(fut.as_mut()).await.is_none());
            wait_until("the task sees O1's earlier deadline", || *v.lock().unwrap() == Some(d1)).await;
            fut
        })
        .await;
    let mut fut = out.expect("O1 is not cancelled");
    let v = seen.clone();
    let out = CancelScope::with_deadline(d2)
        .run(async move {
            assert!(poll_once(fut.as_mut()).await.is_none());
            wait_until("the task sees the scope's own deadline", || *v.lock().unwrap() == Some(own)).await;
            fut
        })
        .await;
    drop(out);
    stop.set();
}

/// A shield inside a moved scope keeps the task it spawned running when the new enclosing scope
/// is cancelled; a task group inside a moved scope has its child cancelled by it.
pub async fn shield_and_group_inside_a_moved_scope() {
    let (shielded, grouped) = (Ticker::default(), Ticker::default());
    let (ts, tg_task) = (shielded.task(), grouped.task());
    let mut fut: Boxed = Box::pin(async move {
        CancelScope::new()
            .run(async move {
                let protected = shield(async move {
                    drop(spawn(ts));
                    sleep(Duration::from_secs(3600)).await;
                });
                let tg_task: Boxed = Box::pin(tg_task);
                let group = task_group(move |tg: TaskGroup<()>| group_body(tg, tg_task));
                let (mut protected, mut group) = (Box::pin(protected), Box::pin(group));
                std::future::poll_fn(|cx| {
                    let _ = protected.as_mut().poll(cx);
                    group.as_mut().poll(cx).map(|_| ())
                })
                .await;
            })
            .await;
    });
    let out = CancelScope::new()
        .run(async move {
            assert!(poll_once(fut.as_mut()).await.is_none());
            fut
        })
        .await;
    let mut fut = out.expect("O1 is not cancelled");
    shielded.started().await;
    grouped.started().await;
    let o2 = CancelScope::new();
    let handle = o2.clone();
    let (s, g) = (shielded.clone(), grouped.clone());
    let out = o2
        .run(async move {
            assert!(poll_once(fut.as_mut()).await.is_none());
            shield(async {
                cancel_from_elsewhere(&handle).await;
                g.cancelled("O2's cancel reached the group's child").await;
                s.runs_on("the shield inside the moved scope kept its task").await;
            })
            .await;
            fut
        })
        .await;
    let fut = out.expect("no checkpoint in O2's body after the cancel");
    drop(fut);
    t_stop(&shielded).await;
}

/// A task group's body: starts `task` as a task of the group, then waits.
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

/// The cancel of a parent scope racing the end of a child scope that spawned a task (from
/// another task, many times): the task is cancelled every time, whether the cancel walk finds
/// it under the child or it was moved up to the parent first.
pub async fn parent_cancel_racing_child_scope_end_reaches_its_task() {
    for _ in 0..300 {
        let ticker = Ticker::default();
        let outer = CancelScope::new();
        let handle = outer.clone();
        let go = Flag::new();
        let g = go.clone();
        let canceller = spawn(async move {
            while !g.is_set() {
                checkpoint().await;
            }
            handle.cancel();
        });
        let t = ticker.clone();
        let out = outer
            .run(async move {
                let task = t.task();
                CancelScope::new()
                    .run(async move {
                        drop(spawn(task));
                        go.set();
                    })
                    .await;
                shield(t.cancelled("the parent's cancel reached the task")).await;
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
        assert_eq!(out, None);
        let _ = canceller.await;
    }
}
