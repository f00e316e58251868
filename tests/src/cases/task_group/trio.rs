//! Trio's nursery tests (trio/_core/_tests/test_run.py) ported: the body panicking while
//! children run, a spawn from outside while the group waits for its children, many children
//! failing at once, a `start` into a winding-down group keeping it open
//! (`test_nursery_start_keeps_nursery_open`), a sibling failing while the body waits in `start`.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyscope_core::group::{GroupClosed, GroupError, TaskGroup, TaskStatus, task_group};
use anyscope_core::sync::Event;
use anyscope_core::{JoinHandle, shield, sleep, spawn};

use super::{LONG, LogOnDrop, logged};
use crate::fixtures::join;
use crate::support::{Log, wait_until};

/// The body panics while two children run: both are cancelled, their cleanups run, and only
/// then is the panic resumed in the group's owner.
pub async fn body_panic_cancels_children_and_is_resumed_after_their_cleanup() {
    let log = Log::new();
    let l = log.clone();
    let owner = spawn(async move {
        let l1 = l.clone();
        let _ = task_group(|tg| async move {
            let l = l1;
            for name in ["child 1 cleaned up", "child 2 cleaned up"] {
                let l2 = l.clone();
                tg.start_soon(async move {
                    let _c = LogOnDrop(l2.clone(), name);
                    l2.push("child running");
                    sleep(LONG).await;
                    Ok(())
                })
                .unwrap();
            }
            wait_until("both children run", || l.events().len() == 2).await;
            if true {
                panic!("body bug");
            }
            Ok::<(), String>(())
        })
        .await;
        l.push("owner went on");
    });
    let err = owner.await.unwrap_err();
    assert!(err.is_panic(), "the body's panic reached the owner: {err:?}");
    let events = log.events();
    assert!(logged(&log, "child 1 cleaned up") && logged(&log, "child 2 cleaned up"), "{events:?}");
    assert!(!logged(&log, "owner went on"));
}

/// While the group waits for its children (the body has returned), a task outside holding its
/// handle may still spawn into it: the group waits for the newcomer too. Once the group has
/// finished, spawning is `GroupClosed` (Trio: "Nursery is closed to new arrivals").
pub async fn spawn_from_outside_while_the_group_waits_is_awaited() {
    let log = Log::new();
    let (group, tg, release) = winding_down_group(&log).await;
    let (go, l) = (Arc::new(Event::new()), log.clone());
    let g = go.clone();
    tg.start_soon(async move {
        g.wait().await;
        l.push("newcomer done");
        Ok(())
    })
    .expect("the group is still open: a child runs");
    release.set(); // the first child ends; the newcomer still holds the group open
    sleep(std::time::Duration::from_millis(5)).await;
    assert!(!logged(&log, "group returned"), "the group waits for the newcomer");
    go.set();
    join(group).await.unwrap();
    assert_eq!(log.events(), ["newcomer done", "group returned"]);
    assert!(tg.is_closed());
    assert!(matches!(tg.start_soon(async { Ok(()) }), Err(GroupClosed)));
}

/// Twenty children fail at once (each after a shielded wait, so the first failure's cancel
/// cannot stop the others from failing): every error is returned, none lost, none twice.
pub async fn many_children_failing_together_all_errors_returned() {
    const N: usize = 20;
    let go = Arc::new(Event::new());
    let g = go.clone();
    let err = task_group(|tg| async move {
        for i in 0..N {
            let g = g.clone();
            tg.start_soon(async move {
                shield(g.wait()).await;
                Err(i)
            })
            .unwrap();
        }
        g.set();
        sleep(LONG).await;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(err.is_cancelled(), "the body, sleeping, was cancelled by the first failure");
    let got: BTreeSet<usize> = err.iter().copied().collect();
    assert_eq!((err.len(), got), (N, (0..N).collect()));
    drop(go);
}

/// Trio's `test_nursery_start_keeps_nursery_open`: a task started into a group from outside,
/// while the group's body has returned and a child holds it open, keeps the group open after
/// that child ends, before it reports ready as after; the group returns after it.
pub async fn start_from_outside_keeps_a_winding_down_group_open() {
    let log = Log::new();
    let (ready, finish) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let (group, tg, release) = winding_down_group(&log).await;
    let starter = {
        let (log, ready, finish, release) = (log.clone(), ready.clone(), finish.clone(), release.clone());
        spawn(async move {
            let v = tg
                .start(|status: TaskStatus<&'static str>| async move {
                    release.set(); // the holding child ends while this one is not ready yet
                    ready.wait().await;
                    status.started("up");
                    finish.wait().await;
                    log.push("started task done");
                    Ok(())
                })
                .await;
            v.map_err(|_| "start failed")
        })
    };
    sleep(std::time::Duration::from_millis(5)).await;
    assert!(!logged(&log, "group returned"), "open while the task is not ready");
    ready.set();
    assert_eq!(join(starter).await, Ok("up"));
    assert!(!logged(&log, "group returned"), "open while the started task runs");
    finish.set();
    join(group).await.unwrap();
    assert_eq!(log.events(), ["started task done", "group returned"]);
}

/// A sibling fails while the body waits in `start` for a task that never reports ready: the
/// body and the starting task are cancelled, the starting task's cleanup runs before the group
/// returns, and the group returns the sibling's error alone.
pub async fn sibling_failure_while_the_body_waits_in_start() {
    let log = Log::new();
    let l = log.clone();
    let err = task_group(|tg| async move {
        let l2 = l.clone();
        let fail = Arc::new(Event::new());
        let f = fail.clone();
        tg.start_soon(async move {
            f.wait().await;
            Err("sibling failed")
        })
        .unwrap();
        let r = tg
            .start(|_status: TaskStatus<()>| async move {
                let _c = LogOnDrop(l2.clone(), "starting task cleaned up");
                fail.set();
                sleep(LONG).await;
                Ok(())
            })
            .await;
        l.push(format!("start returned {:?}", r.is_ok()));
        sleep(LONG).await;
        Ok(())
    })
    .await
    .unwrap_err();
    assert_eq!(err.iter().copied().collect::<Vec<_>>(), ["sibling failed"]);
    assert!(logged(&log, "starting task cleaned up"), "{:?}", log.events());
}

/// `TaskGroup::cancel` reaches grandchildren (tasks of a group a child runs): they are cancelled
/// and their cleanups have run when the outer group returns, which reports a bare cancellation
/// (the child is dropped with its inner group: no error of the inner group reaches the outer).
pub async fn group_cancel_reaches_grandchildren_and_waits_for_their_cleanup() {
    let log = Log::new();
    let l = log.clone();
    let err = task_group(|tg| async move {
        let l2 = l.clone();
        tg.start_soon(async move {
            let l4 = l2.clone();
            let inner = task_group(|inner| async move {
                let l2 = l4;
                for name in ["grandchild 1 cleaned up", "grandchild 2 cleaned up"] {
                    let l3 = l2.clone();
                    inner
                        .start_soon(async move {
                            let _c = LogOnDrop(l3.clone(), name);
                            l3.push("grandchild running");
                            sleep(LONG).await;
                            Ok(())
                        })
                        .unwrap();
                }
                sleep(LONG).await;
                Ok::<(), String>(())
            })
            .await;
            l2.push(format!(
                "inner group returned cancelled={}",
                inner.as_ref().is_err_and(|e| e.is_cancelled())
            ));
            inner.map_err(|e| format!("{} errors", e.len()))
        })
        .unwrap();
        wait_until("both grandchildren run", || {
            l.events().iter().filter(|e| *e == "grandchild running").count() == 2
        })
        .await;
        tg.cancel();
        sleep(LONG).await;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(err.is_cancelled() && err.is_empty(), "a bare cancellation: {err:?}");
    // The child's scope (under the group's) is the outermost cancelled one in its task: the
    // child is dropped with its inner group, it never sees that group return.
    assert!(!log.events().iter().any(|e| e.starts_with("inner group returned")), "{:?}", log.events());
    assert!(
        logged(&log, "grandchild 1 cleaned up") && logged(&log, "grandchild 2 cleaned up"),
        "{:?}",
        log.events()
    );
}

/// Runs a group as a task of `outer` and hands out its handle (Trio's `setup_nursery`): the
/// group's body only waits; the group is cancelled with `LONG` sleeping bodies otherwise.
async fn setup_group(
    tg: &anyscope_core::group::TaskGroup<String>,
) -> anyscope_core::group::TaskGroup<String> {
    tg.start(|status: TaskStatus<anyscope_core::group::TaskGroup<String>>| async move {
        let res = task_group(|inner| async move {
            status.started(inner);
            sleep(LONG).await;
            Ok::<(), String>(())
        })
        .await;
        match res {
            Err(e) if e.is_cancelled() && e.is_empty() => Ok(()),
            Err(e) => Err(format!("{} errors", e.len())),
            Ok(()) => Ok(()),
        }
    })
    .await
    .expect("the target group starts")
}

/// Trio's `test_nursery_start_keeps_nursery_open`, second half: a task started into a group
/// from outside fails before it reports ready; the group, whose body has returned with no other
/// task, stays open until that task ends, and returns `Ok` (the error went to the caller of
/// `start`, `StartError::Failed`).
pub async fn start_from_outside_failing_before_ready_keeps_the_group_open() {
    let log = Log::new();
    let (handle_tx, handle_rx) = anyscope_core::channel(1);
    let (starting, fail) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let group = {
        let (log, starting) = (log.clone(), starting.clone());
        spawn(async move {
            let res = task_group(|tg: anyscope_core::group::TaskGroup<String>| async move {
                handle_tx.send(tg.clone()).await.unwrap();
                starting.wait().await; // the start from outside is under way
                Ok::<(), String>(())
            })
            .await;
            log.push("group returned");
            res.map_err(|e| e.len())
        })
    };
    let tg = handle_rx.recv().await.unwrap();
    let starter = {
        let (starting, fail, log) = (starting.clone(), fail.clone(), log.clone());
        spawn(async move {
            let r = tg
                .start(|_status: TaskStatus<()>| async move {
                    starting.set();
                    fail.wait().await;
                    log.push("task failing");
                    Err("KeyError".to_string())
                })
                .await;
            matches!(r, Err(anyscope_core::group::StartError::Failed(e)) if e == "KeyError")
        })
    };
    starting.wait().await;
    sleep(std::time::Duration::from_millis(5)).await;
    assert!(!logged(&log, "group returned"), "the start-phase task keeps the group open");
    fail.set();
    assert!(join(starter).await, "the caller of start got the error");
    assert_eq!(join(group).await, Ok(()), "the group did not get the error");
    assert_eq!(log.events(), ["task failing", "group returned"]);
}

/// Trio's `test_nursery_start_with_cancelled_nursery`: the target group is cancelled just
/// before the starting task reports ready, while that task's own children sleep: `start`
/// returns the value, the task and its children are cancelled, and everything ends (no hang).
pub async fn start_into_a_group_cancelled_just_before_started() {
    let log = Log::new();
    let l = log.clone();
    let res = task_group(|outer| async move {
        let target = setup_group(&outer).await;
        let t = target.clone();
        let r = target
            .start(|status: TaskStatus<String>| async move {
                task_group(|inner: anyscope_core::group::TaskGroup<String>| async move {
                    for _ in 0..2 {
                        let l2 = l.clone();
                        inner
                            .start_soon(async move {
                                let _c = LogOnDrop(l2.clone(), "sleeping child cleaned up");
                                l2.push("sleeping child running");
                                sleep(LONG).await;
                                Ok(())
                            })
                            .unwrap();
                    }
                    wait_until("both children sleep", || l.events().len() == 2).await;
                    t.cancel();
                    status.started("ready".to_string());
                    sleep(LONG).await;
                    Ok::<(), String>(())
                })
                .await
                .map_err(|e| format!("{} errors", e.len()))
            })
            .await;
        Ok::<_, String>(r.map_err(|e| format!("{e:?}")))
    })
    .await;
    let r = res.map_err(|e| e.len()).expect("the outer group is not failed");
    assert_eq!(r.as_deref(), Ok("ready"), "started was called before any checkpoint");
    assert_eq!(log.events().iter().filter(|e| *e == "sleeping child cleaned up").count(), 2);
}

/// Three children panic and one fails at once (each after a shielded wait): the owner gets one
/// of the panics, resumed after everything finished; the other panics and the error, which
/// nobody can receive any more, are counted in the tracker (kind `anyscope::TaskGroup`), not lost.
pub async fn several_panics_and_an_error_one_panic_resumed_the_rest_counted() {
    let stats = || anyscope_core::tracker::kind("anyscope::TaskGroup");
    let before = stats();
    let log = Log::new();
    let owner = {
        let log = log.clone();
        spawn(async move {
            let body_log = log.clone();
            let _ = task_group(|tg| async move {
                let go = Arc::new(Event::new());
                for i in 0..4 {
                    let (g, l) = (go.clone(), body_log.clone());
                    tg.start_soon(async move {
                        shield(g.wait()).await;
                        l.push("child ending");
                        if i < 3 {
                            panic!("child {i} panicked");
                        }
                        Err("child 3 failed".to_string())
                    })
                    .unwrap();
                }
                go.set();
                sleep(LONG).await;
                Ok::<(), String>(())
            })
            .await;
            log.push("owner went on");
        })
    };
    let err = owner.await.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    let events = log.events();
    assert_eq!(events.iter().filter(|e| *e == "child ending").count(), 4, "{events:?}");
    assert!(!events.iter().any(|e| e == "owner went on"));
    let after = stats();
    assert!(after.panics_unreceived >= before.panics_unreceived + 2, "{before:?} -> {after:?}");
    assert!(after.errors_unreceived > before.errors_unreceived, "{before:?} -> {after:?}");
}

/// A race at the group's end: the body has returned, the last task has finished, and the
/// group's future has not been polled since. A spawn through a kept handle now is either
/// refused (`GroupClosed`) or accepted, and then the group waits for the newcomer: a task is
/// never left unsupervised.
pub async fn spawn_after_the_last_task_ended_but_before_the_group_noticed() {
    use crate::support::{Flag, poll_once};

    let (release, child_done) = (Arc::new(Event::new()), Flag::new());
    let (r, d) = (release.clone(), child_done.clone());
    let (handle_tx, handle_rx) = anyscope_core::channel(1);
    let mut group = Box::pin(task_group(move |tg: anyscope_core::group::TaskGroup<String>| async move {
        tg.start_soon(async move {
            r.wait().await;
            d.set();
            Ok(())
        })
        .unwrap();
        handle_tx.try_send(tg.clone()).unwrap();
        Ok::<(), String>(())
    }));
    assert!(poll_once(group.as_mut()).await.is_none(), "the child holds the group open");
    let tg = handle_rx.recv().await.unwrap();
    release.set();
    wait_until("the last child ended", || child_done.is_set()).await;
    sleep(std::time::Duration::from_millis(5)).await; // let it finish its task completely
    let (go, newcomer_done) = (Arc::new(Event::new()), Flag::new());
    let (g, n) = (go.clone(), newcomer_done.clone());
    let accepted = tg
        .start_soon(async move {
            g.wait().await;
            n.set();
            Ok(())
        })
        .is_ok();
    go.set();
    group.as_mut().await.unwrap();
    if accepted {
        assert!(newcomer_done.is_set(), "an accepted newcomer finished before the group returned");
    }
    assert!(tg.is_closed());
}

/// A group whose body has returned while one child (waiting for the returned event) holds it
/// open, run by a task of its own that logs "group returned"; its handle is given out.
async fn winding_down_group(
    log: &Log,
) -> (JoinHandle<Result<(), GroupError<String>>>, TaskGroup<String>, Arc<Event>) {
    let (body_done, release) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let (handle_tx, handle_rx) = anyscope_core::channel(1);
    let group = {
        let (log, body_done, release) = (log.clone(), body_done.clone(), release.clone());
        spawn(async move {
            let res = task_group(|tg| async move {
                let r = release.clone();
                tg.start_soon(async move {
                    r.wait().await;
                    Ok(())
                })
                .unwrap();
                handle_tx.send(tg.clone()).await.unwrap();
                body_done.set();
                Ok::<(), String>(())
            })
            .await;
            log.push("group returned");
            res
        })
    };
    let tg = handle_rx.recv().await.unwrap();
    body_done.wait().await;
    (group, tg, release)
}
