//! Adversarial probes on tokio: two runtimes alternating on one thread with the thread's spare
//! deadline timer, a runtime shut down with live `start_soon` tasks of a group, and tokio's
//! nested executor driving a task group inside a cancelled scope.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::group::task_group;
use anyscope_core::{CancelScope, move_on_after, sleep, spawn};

const LONG: Duration = Duration::from_secs(3600);

/// Timeouts on this thread: a ready one (its timer left as the spare), one dropped while its
/// timer is pending, and one that must fire at its own short deadline.
async fn timeouts() {
    assert_eq!(move_on_after(LONG, async { 1 }).await, Some(1));
    {
        let pending = move_on_after(LONG, sleep(LONG));
        let out = tokio::time::timeout(Duration::from_millis(1), pending).await;
        assert!(out.is_err(), "a one-hour sleep finished");
    }
    assert_eq!(move_on_after(Duration::from_millis(5), sleep(LONG)).await, None);
}

/// Two current-thread runtimes alternate on this thread (A, B, A, ...); then A is dropped while
/// its timer is the thread's spare, and a third runtime runs: each runtime's timeouts fire at
/// their own deadlines, and the spare of a dropped runtime is dropped without a panic.
#[test]
fn two_runtimes_alternating_on_one_thread_fire_their_own_timeouts() {
    let build = || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (a, b) = (build(), build());
    for _ in 0..3 {
        a.block_on(anyscope_tokio::bind(timeouts()));
        b.block_on(anyscope_tokio::bind(timeouts()));
    }
    a.block_on(anyscope_tokio::bind(timeouts()));
    drop(a);
    let c = build();
    c.block_on(anyscope_tokio::bind(timeouts()));
    b.block_on(anyscope_tokio::bind(timeouts()));
    drop((b, c));
    anyscope_tokio::run_current_thread(timeouts());
}

struct CountOnDrop(Arc<AtomicUsize>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Dropping the runtime while a group's owner task and its `start_soon` tasks (suspended, no
/// runtime handle kept by the group) are live: no panic, no hang, every task's state dropped.
#[test]
fn runtime_dropped_with_live_start_soon_tasks() {
    let running = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (r, d) = (running.clone(), dropped.clone());
    rt.block_on(anyscope_tokio::bind(async move {
        let (r2, d2) = (r.clone(), d.clone());
        let _owner = spawn(async move {
            let _c = CountOnDrop(d2.clone());
            let _ = task_group(|tg| async move {
                for _ in 0..4 {
                    let (r, d) = (r2.clone(), d2.clone());
                    tg.start_soon(async move {
                        let _c = CountOnDrop(d);
                        r.fetch_add(1, Ordering::SeqCst);
                        sleep(LONG).await;
                        Ok::<(), String>(())
                    })
                    .unwrap();
                }
                sleep(LONG).await;
                Ok(())
            })
            .await;
        });
        for _ in 0..2000 {
            if r.load(Ordering::SeqCst) == 4 {
                break;
            }
            sleep(Duration::from_millis(5)).await;
        }
    }));
    assert_eq!(running.load(Ordering::SeqCst), 4);
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 5, "the owner and its four tasks are dropped");
}

/// tokio's nested executor (`block_in_place` + `Handle::block_on`) driving a task group, with
/// `start_soon` tasks that sleep, in a cancelled scope, without `runtime::isolated`: it returns
/// (whatever the group's result), it does not hang.
#[test]
fn block_in_place_task_group_in_cancelled_scope_returns() {
    let out = anyscope_tokio::run(async {
        let scope = CancelScope::new();
        scope.cancel();
        let got = scope
            .run(async {
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(async {
                        task_group(|tg| async move {
                            for i in 0..3u64 {
                                tg.start_soon(async move {
                                    sleep(Duration::from_millis(i)).await;
                                    Ok::<(), String>(())
                                })
                                .unwrap();
                            }
                            Ok(())
                        })
                        .await
                        .is_ok()
                    })
                })
            })
            .await;
        (got, scope.cancel_called())
    });
    let (got, cancel_called) = out;
    assert!(cancel_called);
    assert!(got.is_some(), "the scope caught a cancellation its body never reached");
}

/// tokio's nested executor driving `TaskGroup::start` in a cancelled scope (the group is
/// outside it), without `runtime::isolated`: the start returns instead of staying pending for
/// the blocked scope to drop it (before the fix in `group/start.rs` it hung at its first poll).
#[test]
fn block_in_place_start_in_cancelled_scope_returns() {
    let got = anyscope_tokio::run(async {
        task_group(|tg| async move {
            let scope = CancelScope::new();
            scope.cancel();
            let out = scope
                .run(async {
                    tokio::task::block_in_place(|| {
                        tokio::runtime::Handle::current().block_on(tg.start(
                            |s: anyscope_core::group::TaskStatus<u32>| async move {
                                s.started(5);
                                Ok(())
                            },
                        ))
                    })
                })
                .await;
            Ok::<_, String>(out.map(|r| r.is_ok()))
        })
        .await
        .unwrap()
    });
    assert!(got.is_some(), "the scope caught a cancellation its body never reached");
}

/// `block_on` (futures-lite's, no `runtime::isolated`) of an abandonable `run_blocking` inside a
/// cancelled scope on a current-thread runtime (the blocking pool runs on threads of its own):
/// the call returns its result instead of staying pending for the blocked scope to drop it
/// (before the fix in `blocking.rs` it hung once the thread had finished).
#[test]
fn block_on_abandonable_run_blocking_in_cancelled_scope_returns() {
    let out = anyscope_tokio::run_current_thread(async {
        let scope = CancelScope::new();
        scope.cancel();
        scope
            .run(async {
                futures_lite::future::block_on(anyscope_core::run_blocking(|| 7).abandon_on_cancel())
            })
            .await
    });
    assert_eq!(out, Some(7));
}
