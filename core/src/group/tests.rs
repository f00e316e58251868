//! Unit tests of task groups: what the conformance suite cannot reach from outside the crate
//! (adopted cleanups, drops from outside, auto traits, error values).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use super::{
    ChildError, ChildHandle, GroupClosed, GroupError, StartError, TaskGroup, TaskStatus, task_group,
};
use crate::frame::{self, Cleanup};
use crate::runtime::with_runtime;
use crate::testing::{Counter, MockRuntime, poll_with};
use crate::{CancelScope, checkpoint, move_on_after, shield, sleep};

const LONG: Duration = Duration::from_secs(3600);

/// Runs `fut` to completion on a mock runtime: polls the root, then every task, then moves the
/// clock by 1 ms, until the root is ready (bounded, so that a broken test fails, not hangs).
fn drive<F: Future>(fut: F) -> F::Output {
    let rt = MockRuntime::new();
    let mut root = Box::pin(with_runtime(rt.handle(), fut));
    let (_wakes, waker) = Counter::new();
    for _ in 0..100_000 {
        if let Poll::Ready(v) = poll_with(root.as_mut(), &waker) {
            return v;
        }
        rt.run_tasks();
        rt.advance(Duration::from_millis(1));
    }
    panic!("the test future did not finish");
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn has(&self, s: &str) -> bool {
        self.events().iter().any(|e| e == s)
    }
}

async fn wait_for(log: &Log, event: &str) {
    for _ in 0..5_000 {
        if log.has(event) {
            return;
        }
        sleep(Duration::from_millis(2)).await;
    }
    panic!("gave up waiting for {event}");
}

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_send_val<T: Send>(_: &T) {}

#[test]
fn auto_traits() {
    assert_send::<TaskGroup<String>>();
    assert_sync::<TaskGroup<String>>();
    assert_send::<ChildHandle>();
    assert_send::<GroupError<String>>();
    assert_sync::<GroupError<String>>();
    assert_send::<StartError<String>>();
    assert_send::<TaskStatus<u16>>();
    assert_send::<ChildError>();
    assert_sync::<GroupClosed>();
    let group = task_group(|tg| async move {
        let started = tg.start(|s: TaskStatus<u16>| async move {
            s.started(1);
            Ok(())
        });
        assert_send_val(&started);
        started.await.map(|_| ()).map_err(|_| String::new())
    });
    assert_send_val(&group);
}

#[test]
fn group_error_accessors() {
    let one: GroupError<&str> = GroupError::new(vec!["a"], None);
    assert_eq!(one.to_string(), "a task group failed");
    assert_eq!(one.first(), Some(&"a"));
    assert_eq!(one.into_single().unwrap(), "a");
    let two: GroupError<std::io::Error> =
        GroupError::new(vec![std::io::Error::other("x"), std::io::Error::other("y")], None);
    assert_eq!(two.len(), 2);
    assert_eq!(two.to_string(), "a task group failed with 2 errors");
    let source = std::error::Error::source(&two).unwrap();
    assert_eq!(source.to_string(), "x");
    let two = two.into_single().unwrap_err();
    assert_eq!(two.iter().count(), 2);
    assert_eq!(two.into_first().unwrap().to_string(), "x");
    let cancelled: GroupError<&str> = GroupError::new(vec![], Some(crate::CancelReason::Explicit(None)));
    assert!(cancelled.is_cancelled() && cancelled.is_empty());
    assert_eq!(cancelled.to_string(), "a task group was cancelled: cancelled");
}

/// A cleanup adopted by a task's frame runs before the task counts as finished: the group
/// returns after it.
#[test]
fn adopted_cleanup_of_a_task_runs_before_the_group_returns() {
    drive(async {
        let log = Log::default();
        let l = log.clone();
        let res = task_group(|tg| async move {
            tg.spawn(async move {
                let l2 = l.clone();
                let adopted = frame::adopt(Cleanup::new(
                    "test cleanup",
                    Box::pin(async move {
                        sleep(Duration::from_millis(20)).await;
                        l2.push("cleanup done");
                    }),
                ));
                assert!(adopted.is_ok());
                Err("task failed")
            })
            .unwrap();
            Ok(())
        })
        .await;
        log.push("group returned");
        assert_eq!(res.unwrap_err().into_single().unwrap(), "task failed");
        assert_eq!(log.events(), ["cleanup done", "group returned"]);
    });
}

/// A group dropped from outside cancels its tasks and hands a cleanup that waits for them to
/// the enclosing frame: the enclosing scope returns only after they finished.
#[test]
fn dropped_group_leaves_its_tasks_to_the_enclosing_frame() {
    drive(async {
        let log = Log::default();
        let l = log.clone();
        let out = CancelScope::new()
            .run(async move {
                let l2 = l.clone();
                let mut group: Pin<Box<dyn Future<Output = Result<(), GroupError<String>>> + Send>> =
                    Box::pin(task_group(|tg| async move {
                        tg.spawn(async move {
                            shield(async {
                                l2.push("task in shield");
                                sleep(Duration::from_millis(30)).await;
                                l2.push("task cleanup done");
                            })
                            .await;
                            sleep(LONG).await;
                            l2.push("not reached");
                            Ok(())
                        })
                        .unwrap();
                        sleep(LONG).await;
                        Ok(())
                    }));
                while !l.has("task in shield") {
                    std::future::poll_fn(|cx| {
                        assert!(group.as_mut().poll(cx).is_pending());
                        Poll::Ready(())
                    })
                    .await;
                    sleep(Duration::from_millis(2)).await;
                }
                drop(group);
                l.push("group dropped");
            })
            .await;
        log.push("scope returned");
        assert!(out.is_some());
        assert_eq!(log.events(), ["task in shield", "group dropped", "task cleanup done", "scope returned"]);
    });
}

/// Tasks spawned from a shielded part of the body still hang under the group: a deadline around
/// the group reaches them, while the shielded part finishes.
#[test]
fn tasks_spawned_inside_a_shielded_body_are_cancelled_from_outside() {
    drive(async {
        let log = Log::default();
        let l = log.clone();
        let out = move_on_after(
            Duration::from_millis(20),
            task_group(|tg| async move {
                let l2 = l.clone();
                shield(async {
                    tg.spawn(async move {
                        l2.push("task started");
                        sleep(LONG).await;
                        l2.push("task not cancelled");
                        Ok::<(), String>(())
                    })
                    .unwrap();
                    sleep(Duration::from_millis(40)).await;
                    l.push("shielded part done");
                })
                .await;
                sleep(LONG).await;
                Ok(())
            }),
        )
        .await;
        assert!(out.is_none());
        assert_eq!(log.events(), ["task started", "shielded part done"]);
    });
}

/// A panic of the body is resumed after the tasks finished.
#[test]
fn body_panic_resumed_after_tasks_finished() {
    let log = Log::default();
    let l = log.clone();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(async move {
            let l2 = l.clone();
            let _ = task_group(|tg| async move {
                tg.spawn(async move {
                    shield(async {
                        l2.push("task in shield");
                        sleep(Duration::from_millis(20)).await;
                        l2.push("task cleanup done");
                    })
                    .await;
                    sleep(LONG).await;
                    Ok::<(), String>(())
                })
                .unwrap();
                wait_for(&l, "task in shield").await;
                if l.has("task in shield") {
                    panic!("body panicked");
                }
                Ok(())
            })
            .await;
        })
    }));
    let payload = res.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"body panicked"));
    assert_eq!(log.events(), ["task in shield", "task cleanup done"]);
}

/// A panic of a started task before it reported ready is resumed in the caller of `start`,
/// not in the group.
#[test]
fn start_panic_before_ready_goes_to_the_caller() {
    drive(async {
        let res = task_group(|tg| async move {
            let tg2 = tg.clone();
            let caller = tg.spawn(async move {
                let started = crate::util::CatchUnwind::new(tg2.start(|_s: TaskStatus<u8>| async {
                    checkpoint().await;
                    panic!("not ready");
                }))
                .await;
                let payload = started.expect_err("the caller sees the panic");
                assert_eq!(payload.downcast_ref::<&str>(), Some(&"not ready"));
                Ok::<(), String>(())
            });
            caller.unwrap().await.unwrap();
            Ok(())
        })
        .await;
        assert!(res.is_ok());
    });
}

/// Many tasks failing at once: every error is kept, none is lost.
#[test]
fn every_error_is_kept() {
    drive(async {
        let res: Result<(), _> = task_group(|tg| async move {
            for i in 0..100 {
                tg.spawn(async move {
                    shield(checkpoint()).await;
                    Err(i)
                })
                .unwrap();
            }
            Ok(())
        })
        .await;
        let mut errors = res.unwrap_err().into_errors();
        errors.sort();
        assert_eq!(errors, (0..100).collect::<Vec<_>>());
    });
}

/// Spawning concurrently with the group closing either joins the group (and is awaited) or
/// fails with `GroupClosed`; nothing is left running.
#[test]
fn spawn_racing_with_close_is_awaited_or_refused() {
    drive(async {
        for _ in 0..50 {
            let ran = Arc::new(AtomicUsize::new(0));
            let outcome = Arc::new(AtomicUsize::new(0));
            let (r, o) = (ran.clone(), outcome.clone());
            let kept = task_group(|tg| async move {
                let tg2 = tg.clone();
                let spawner = std::thread::spawn(move || {
                    match tg2.spawn(async move {
                        r.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }) {
                        Ok(_) => o.store(1, Ordering::SeqCst),
                        Err(GroupClosed) => o.store(2, Ordering::SeqCst),
                    }
                });
                Ok::<_, String>((tg, spawner))
            })
            .await
            .unwrap();
            let (tg, spawner) = kept;
            spawner.join().unwrap();
            assert!(tg.is_closed());
            match outcome.load(Ordering::SeqCst) {
                1 => assert_eq!(ran.load(Ordering::SeqCst), 1, "an admitted task was awaited"),
                2 => assert_eq!(ran.load(Ordering::SeqCst), 0),
                other => panic!("unexpected outcome {other}"),
            }
        }
    });
}

/// A task's handle reports each way the task ended (returned, cancelled alone, failed), says
/// so in `is_finished`, is woken when it waited, and leaves no waker with the group.
#[test]
fn handle_reports_how_its_task_ended() {
    let res = drive(task_group(|tg: TaskGroup<&'static str>| async move {
        let mut ok = tg
            .spawn(async {
                sleep(Duration::from_millis(3)).await;
                Ok(())
            })
            .unwrap();
        assert!(!ok.is_finished());
        // Pending first: the task wakes the handle when it ends.
        (&mut ok).await.unwrap();
        assert!(ok.is_finished());
        let slow = tg
            .spawn(async {
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
        slow.cancel();
        assert!(slow.await.unwrap_err().is_cancelled());
        assert!(!tg.is_cancelled(), "a task cancelled alone does not cancel its group");
        assert_eq!(tg.shared.joiners_waiting(), 0);
        let failed = tg
            .spawn(async {
                sleep(Duration::from_millis(1)).await;
                Err("boom")
            })
            .unwrap();
        assert!(failed.await.unwrap_err().is_failed());
        Ok(())
    }));
    assert_eq!(res.unwrap_err().into_single().unwrap(), "boom");
}

/// A task that panicked: its handle says so (awaited under a shield), and the group resumes
/// the panic.
#[test]
fn handle_reports_a_panic() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(task_group(|tg: TaskGroup<()>| async move {
            let h = tg
                .spawn(async {
                    sleep(Duration::from_millis(1)).await;
                    panic!("child panic");
                })
                .unwrap();
            // Shielded: the panic cancels the group, and the body with it.
            if shield(h).await.unwrap_err().is_panic() {
                s.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }))
    }));
    assert!(res.is_err());
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

/// A handle dropped while it waits takes its waker back from the group.
#[test]
fn dropped_waiting_handle_leaves_no_waker() {
    drive(task_group(|tg: TaskGroup<()>| async move {
        let mut h = tg
            .spawn(async {
                sleep(Duration::from_millis(2)).await;
                Ok(())
            })
            .unwrap();
        let (_wakes, waker) = Counter::new();
        assert!(poll_with(Pin::new(&mut h), &waker).is_pending());
        assert_eq!(tg.shared.joiners_waiting(), 1);
        drop(h);
        assert_eq!(tg.shared.joiners_waiting(), 0);
        Ok(())
    }))
    .unwrap();
}

/// A task whose future the runtime drops unfinished (a shutdown) ends as cancelled: a handle
/// waiting for it is woken and says so, and the group's count drops.
#[test]
fn task_dropped_by_the_runtime_ends_cancelled() {
    let rt = MockRuntime::new();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let group = task_group(|tg: TaskGroup<()>| async move {
        let h = tg.spawn(std::future::pending()).unwrap();
        let watcher = crate::spawn(async move {
            *s.lock().unwrap() = Some(h.await.map_err(|e| e.is_cancelled()));
        });
        watcher.await.unwrap();
        Ok(())
    });
    let mut root = Box::pin(with_runtime(rt.handle(), group));
    let (_wakes, waker) = Counter::new();
    assert!(poll_with(root.as_mut(), &waker).is_pending());
    rt.run_tasks();
    rt.run_tasks();
    assert!(seen.lock().unwrap().is_none());
    // The group's task was spawned first.
    rt.tasks()[0].drop_unfinished();
    for _ in 0..100 {
        if poll_with(root.as_mut(), &waker).is_ready() {
            break;
        }
        rt.run_tasks();
    }
    assert_eq!(*seen.lock().unwrap(), Some(Err(true)));
}
