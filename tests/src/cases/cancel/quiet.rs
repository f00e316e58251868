//! The checkpoint's fast path: while the frames a checkpoint would walk can only change through
//! a change of the thread's frame stack (no node, no remote parent), anyscope remembers that
//! they are not cancelled and skips the walk (`core/src/frame/cancelled.rs`). These cases
//! guard that promise from the outside: every way a scope becomes cancelled — its own deadline,
//! an enclosing scope's, another task, its group, a child's handle — is still seen by a busy
//! body of ready awaitables, right after the frames around it changed, and no summary made in
//! one place (a shield, a nested executor's frames, another task) is read in another.
//!
//! Loops that would run forever without delivery carry a hang guard on the wall clock
//! ([`HANG_GUARD`]): the case fails instead of hanging. No case asserts a timing: deadlines are
//! short against long sleeps, and orders and counts are what is checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyscope_core::runtime::isolated;
use anyscope_core::stream::channel;
use anyscope_core::sync::{Mutex, Semaphore};
use anyscope_core::{
    CancelScope, TaskGroup, cancel_shielded_checkpoint, is_cancelled, move_on_after, shield, sleep, spawn,
    task_group,
};
use futures_lite::future::block_on;

use crate::support::{Flag, wait_until};

/// How long a loop may run before the case gives up on it: far beyond any deadline used here.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// A scope that never ends by itself in a case.
const LONG: Duration = Duration::from_secs(3600);

/// Ready awaitables of three kinds (an uncontended permit and lock, a buffered item), each a
/// checkpoint that completes at once when nothing around it is cancelled.
async fn ready_ops(
    sem: &Semaphore,
    m: &Mutex<u64>,
    tx: &anyscope_core::Sender<u64>,
    rx: &anyscope_core::Receiver<u64>,
) {
    drop(sem.acquire().await.expect("the semaphore is open"));
    *m.lock().await += 1;
    tx.send(1).await.expect("the receiver is alive");
    rx.recv().await.expect("an item is buffered");
}

/// A busy loop of ready awaitables under a deadline scope that has no node (nothing outside
/// its future has seen it) and a task root with none either: the fast path's own ground. The
/// deadline is delivered, and the work done stays in the structures.
pub async fn quiet_no_node_deadline_cuts_off_a_loop_of_ready_permits_locks_and_items() {
    let sem = Semaphore::new(1);
    let m = Mutex::new(0u64);
    let (tx, rx) = channel::<u64>(1);
    let give_up = Instant::now() + HANG_GUARD;
    let out = move_on_after(Duration::from_millis(20), async {
        loop {
            ready_ops(&sem, &m, &tx, &rx).await;
            if Instant::now() > give_up {
                return "never cut off";
            }
        }
    })
    .await;
    assert_eq!(out, None);
    assert!(*m.lock().await > 0);
    assert_eq!(sem.available_permits(), 1, "no permit is lost");
}

/// Between ready awaitables of a quiet loop (each one leaves the summary set), scopes already
/// cancelled when entered — an elapsed deadline, a cancelled handle — stop at their first ready
/// awaitable (also when that is the first thing the scope polls, right after the entry), a
/// shield inside them lets its own run, and the awaitable after that shield stops again. Three hundred rounds, so that every entry and exit follows a summarised checkpoint.
pub async fn quiet_checkpoints_between_scopes_cancelled_at_entry_stop_at_their_first() {
    let m = Mutex::new(0u64);
    let reached = AtomicUsize::new(0);
    for round in 0..300u32 {
        *m.lock().await += 1;
        *m.lock().await += 1;
        let out = move_on_after(Duration::ZERO, async {
            *m.lock().await += 1;
            reached.fetch_add(1, Ordering::SeqCst);
        })
        .await;
        assert_eq!(out, None, "round {round}: an elapsed deadline let a ready lock complete");
        let out = move_on_after(Duration::ZERO, async {
            let inside = shield(async {
                *m.lock().await += 1;
                is_cancelled()
            })
            .await;
            assert!(!inside, "a shield hides the cancelled scope around it");
            assert!(is_cancelled(), "the cancelled scope is seen again after the shield");
            *m.lock().await += 1;
            reached.fetch_add(1, Ordering::SeqCst);
        })
        .await;
        assert_eq!(out, None, "round {round}: the lock after a shield completed");
        let scope = CancelScope::new();
        scope.cancel();
        let out = scope
            .run(async {
                cancel_shielded_checkpoint().await;
                *m.lock().await += 1;
                reached.fetch_add(1, Ordering::SeqCst);
            })
            .await;
        assert_eq!(out, None, "round {round}: a lock after a shielded checkpoint completed");
        *m.lock().await += 1;
        let scope = CancelScope::new();
        scope.cancel();
        let out = scope
            .run(async {
                *m.lock().await += 1;
                reached.fetch_add(1, Ordering::SeqCst);
            })
            .await;
        assert_eq!(out, None, "round {round}: a lock as the first thing in a cancelled scope completed");
        assert!(!is_cancelled());
    }
    assert_eq!(reached.load(Ordering::SeqCst), 0);
    assert_eq!(*m.lock().await, 300 * 4, "three locks a round outside, one in the shield");
}

/// The deadline of a scope passes while a shield inside it is busy: the shield's loop runs on
/// (it is the innermost summarised frame), and the first ready awaitable after the shield
/// stops, with no work done past it.
pub async fn quiet_busy_shield_ending_under_an_elapsed_deadline_stops_at_the_next_ready_op() {
    let m = Mutex::new(0u64);
    let shielded = AtomicUsize::new(0);
    let after = AtomicUsize::new(0);
    let give_up = Instant::now() + HANG_GUARD;
    let out = move_on_after(Duration::from_millis(20), async {
        shield(async {
            // The deadline passes here, and the enclosing scope marks itself cancelled in its
            // next poll (delivery waits for the shield).
            sleep(Duration::from_millis(60)).await;
            for _ in 0..1000 {
                *m.lock().await += 1;
                shielded.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
        loop {
            *m.lock().await += 1;
            after.fetch_add(1, Ordering::SeqCst);
            if Instant::now() > give_up {
                return "never cut off";
            }
        }
    })
    .await;
    assert_eq!(out, None);
    assert_eq!(shielded.load(Ordering::SeqCst), 1000, "the shield ran to its end");
    assert_eq!(after.load(Ordering::SeqCst), 0, "a ready lock completed under the elapsed deadline");
}

/// A task spawned from a busy loop under a deadline scope with no node gives that scope a node
/// (the task hangs under it); when the deadline passes, the task — itself busy inside a scope
/// of its own with no node — is cancelled at a ready awaitable.
pub async fn quiet_busy_task_spawned_under_a_no_node_deadline_is_cancelled_when_it_passes() {
    let started = Flag::new();
    let mut handle = None;
    let m = Arc::new(Mutex::new(0u64));
    let give_up = Instant::now() + HANG_GUARD;
    let out = move_on_after(Duration::from_millis(20), async {
        for _ in 0..500 {
            *m.lock().await += 1;
        }
        let (m2, s2) = (m.clone(), started.clone());
        handle = Some(spawn(async move {
            move_on_after(LONG, async {
                loop {
                    *m2.lock().await += 1;
                    s2.set();
                    if Instant::now() > give_up {
                        return "never cut off";
                    }
                }
            })
            .await
        }));
        // The loop goes on (summarised again once the spawn is behind it) until the deadline.
        loop {
            *m.lock().await += 1;
            if Instant::now() > give_up {
                return "never cut off";
            }
        }
    })
    .await;
    assert_eq!(out, None);
    let joined = handle.expect("the task was spawned").await;
    assert!(joined.expect_err("the task was cancelled").is_cancelled());
}

/// A task group's children, busy in scopes of their own with no node: a `ChildHandle` cancel
/// reaches one, then the group's cancel reaches a `start_soon` child and a spawned one. The body
/// of each child would return an error if it were never cut off.
pub async fn quiet_child_handle_and_group_cancel_reach_busy_children_in_no_node_scopes() {
    let running = Arc::new(AtomicUsize::new(0));
    let res = task_group(|tg: TaskGroup<&'static str>| {
        let running = running.clone();
        async move {
            let busy = |running: Arc<AtomicUsize>| async move {
                let m = Mutex::new(0u64);
                let give_up = Instant::now() + HANG_GUARD;
                running.fetch_add(1, Ordering::SeqCst);
                move_on_after(LONG, async {
                    loop {
                        *m.lock().await += 1;
                        if Instant::now() > give_up {
                            return Err("never cut off");
                        }
                    }
                })
                .await
                .unwrap_or(Ok(()))
            };
            let first = tg.spawn(busy(running.clone())).expect("the group is open");
            wait_until("the first child runs", || running.load(Ordering::SeqCst) == 1).await;
            first.cancel();
            assert!(first.await.expect_err("cancelled by its handle").is_cancelled());
            tg.start_soon(busy(running.clone())).expect("the group is open");
            let _second = tg.spawn(busy(running.clone())).expect("the group is open");
            wait_until("both children run", || running.load(Ordering::SeqCst) == 3).await;
            tg.cancel();
            sleep(LONG).await;
            Ok(())
        }
    })
    .await;
    let err = res.expect_err("the group was cancelled");
    assert!(err.is_cancelled() && err.is_empty(), "no child ran on past its cancellation: {err:?}");
}

/// A busy loop in a scope cancelled by another task, alternating with nested executors whose
/// own frames are quiet (`block_on(isolated(..))`: a task root with no node): the summary made
/// inside the nested executor is not read after it, and the loop is cut off.
pub async fn quiet_nested_executor_frames_do_not_hide_the_cancelled_scope_around_them() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let nested = Arc::new(AtomicUsize::new(0));
    let n = nested.clone();
    let canceller = spawn(async move {
        wait_until("nested executors ran", || n.load(Ordering::SeqCst) >= 10).await;
        handle.cancel();
    });
    let m = Mutex::new(0u64);
    let give_up = Instant::now() + HANG_GUARD;
    let out = scope
        .run(async {
            loop {
                let got = block_on(isolated(async {
                    let inner = Mutex::new(1u64);
                    for _ in 0..10 {
                        *inner.lock().await += 1;
                    }
                    inner.into_inner()
                }));
                assert_eq!(got, 11, "the nested future is not cancelled by the scope around it");
                nested.fetch_add(1, Ordering::SeqCst);
                *m.lock().await += 1;
                if Instant::now() > give_up {
                    return "never cut off";
                }
            }
        })
        .await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    canceller.await.expect("the canceller ran");
}

/// A busy task in a scope with no node whose nearest task root has none either cannot be
/// cancelled by anything but its own frames: its cancellation from outside must come through
/// a handle's node. Here the enclosing `CancelScope`'s handle is cancelled by a task spawned
/// from inside the busy loop, below a shield that later ends: the loop after the shield stops.
pub async fn quiet_shield_over_a_cancel_from_a_task_it_spawned_is_seen_after_it() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let cancelled = Flag::new();
    let after = AtomicUsize::new(0);
    let m = Mutex::new(0u64);
    let give_up = Instant::now() + HANG_GUARD;
    let out = scope
        .run(async {
            shield(async {
                move_on_after(LONG, async {
                    for _ in 0..300 {
                        *m.lock().await += 1;
                    }
                    let c = cancelled.clone();
                    let canceller = spawn(async move {
                        handle.cancel();
                        c.set();
                    });
                    while !cancelled.is_set() {
                        *m.lock().await += 1;
                        if Instant::now() > give_up {
                            return;
                        }
                    }
                    canceller.await.expect("the canceller ran");
                    for _ in 0..300 {
                        *m.lock().await += 1;
                    }
                })
                .await
            })
            .await
            .expect("the shield's own deadline never passes");
            loop {
                *m.lock().await += 1;
                after.fetch_add(1, Ordering::SeqCst);
                if Instant::now() > give_up {
                    return "never cut off";
                }
            }
        })
        .await;
    assert_eq!(out, None);
    assert!(cancelled.is_set(), "the canceller ran before the hang guard");
    assert_eq!(after.load(Ordering::SeqCst), 0, "a ready lock completed under the cancelled scope");
}

/// A busy loop whose summary was made over a frame that can be cancelled from outside (a
/// handle's node, a group child's parent) cannot keep it: cancelled by the body itself,
/// through the handle, in the middle of one poll of the task, the loop stops at its next ready
/// awaitable — under a `CancelScope` (a scope with no node between; two hundred locks first,
/// across a yield of the budget), and in a `start_soon` child (a task root with a remote
/// parent and no node until it first suspends: fifty locks first, within its first poll) and
/// a spawned child (a task root with a node) of a group the child cancels.
pub async fn quiet_scope_cancelled_by_its_own_busy_body_stops_at_the_next_ready_op() {
    /// `n` ready locks, `cancel`, then ready locks counted in `after` until the hang guard.
    async fn busy_then(n: usize, cancel: impl FnOnce(), after: &AtomicUsize) {
        let m = Mutex::new(0u64);
        for _ in 0..n {
            *m.lock().await += 1;
        }
        cancel();
        let give_up = Instant::now() + HANG_GUARD;
        while Instant::now() < give_up {
            *m.lock().await += 1;
            after.fetch_add(1, Ordering::SeqCst);
        }
    }

    let after = AtomicUsize::new(0);
    let scope = CancelScope::new();
    let handle = scope.clone();
    let out = scope.run(move_on_after(LONG, busy_then(200, || handle.cancel(), &after))).await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    assert_eq!(after.load(Ordering::SeqCst), 0, "a ready lock completed after its scope's cancel");

    // One group per kind of child: a child of the other kind cancelling first would leave
    // nothing for this one to cancel.
    for soon in [true, false] {
        let after = Arc::new(AtomicUsize::new(0));
        let a = after.clone();
        let res = task_group(move |tg: TaskGroup<&'static str>| async move {
            let g = tg.clone();
            let child = async move {
                busy_then(50, || g.cancel(), &a).await;
                Err("never cut off")
            };
            if soon {
                tg.start_soon(child).expect("the group is open");
            } else {
                tg.spawn(child).expect("the group is open");
            }
            // Cancelled by the child.
            sleep(LONG).await;
            Ok(())
        })
        .await;
        let err = res.expect_err("the group was cancelled");
        assert!(err.is_cancelled() && err.is_empty(), "start_soon {soon}: the child ran on: {err:?}");
        assert_eq!(
            after.load(Ordering::SeqCst),
            0,
            "start_soon {soon}: a ready lock completed after the cancel"
        );
    }
}
