//! A task group whose `task_group` future is dropped from outside (a `select` that lets
//! another branch win, then drops the group's future) while its children run: one from
//! `start_soon`, one from `spawn`, and one from `start` still in its start phase. As documented
//! on [`task_group`]'s "# Cancel safety": every child is cancelled (never aborted) and runs its
//! cleanups, the enclosing frame completes only after they have finished, and nothing is left
//! open in the tracker.

use anyscope_core::group::{GroupError, TaskStatus, task_group};
use anyscope_core::{CancelScope, Scoped, sleep, spawn};
use futures_util::future::{Either, select};
use std::future::Future;
use std::pin::Pin;

use super::{LONG, LogOnDrop, logged};
use crate::fixtures::{TestRes, assert_clean, closes, unique_kind};
use crate::support::{Log, wait_until};

/// Waits until all three children logged that they run.
async fn wait_all_running(log: Log) {
    let all = || {
        logged(&log, "soon running") && logged(&log, "spawned running") && logged(&log, "starting running")
    };
    wait_until("every child runs", all).await;
}

/// The group: three children that each hold a resource, and a body pending in the third's `start`.
fn group_of_three(
    kind: &'static str,
    l: Log,
) -> Pin<Box<dyn Future<Output = Result<(), GroupError<String>>> + Send>> {
    Box::pin(task_group(move |tg| async move {
        let l1 = l.clone();
        tg.start_soon(async move {
            let _res = Scoped::new(TestRes::open(kind, "soon", &l1));
            let _c = LogOnDrop(l1.clone(), "soon dropped");
            l1.push("soon running");
            sleep(LONG).await;
            Ok(())
        })
        .unwrap();
        let l2 = l.clone();
        let _handle = tg
            .spawn(async move {
                let _res = Scoped::new(TestRes::open(kind, "spawned", &l2));
                let _c = LogOnDrop(l2.clone(), "spawned dropped");
                l2.push("spawned running");
                sleep(LONG).await;
                Ok(())
            })
            .unwrap();
        let l3 = l.clone();
        let start = tg.start(move |status: TaskStatus<()>| async move {
            let _res = Scoped::new(TestRes::open(kind, "starting", &l3));
            let _c = LogOnDrop(l3.clone(), "starting dropped");
            l3.push("starting running");
            sleep(LONG).await;
            status.started(());
            Ok(())
        });
        let started = start.await;
        l.push(format!("start returned {started:?}"));
        sleep(LONG).await;
        Ok::<(), String>(())
    }))
}

/// Runs a group with three children that each hold a resource, drops the group's future once
/// all three run, and returns: the caller checks what happened after its enclosing frame ended.
fn drop_group_with_three_children(kind: &'static str, log: Log) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let group = group_of_three(kind, log.clone());
        match select(group, Box::pin(wait_all_running(log.clone()))).await {
            Either::Left(_) => panic!("the group ended on its own"),
            Either::Right((_, group)) => {
                log.push("dropping the group");
                drop(group);
                log.push("group dropped");
            }
        }
    })
}

/// Dropped inside a cancel scope: the scope's `run` returns only after every child ran its
/// cleanups and closed its resource.
pub async fn group_dropped_from_outside_cancels_and_awaits_every_child() {
    let kind = unique_kind("group-dropped");
    let log = Log::new();
    let scope = CancelScope::new();
    let out = scope.run(drop_group_with_three_children(kind, log.clone())).await;
    assert_eq!(out, Some(()));
    let events = log.events();
    for what in ["soon", "spawned", "starting"] {
        assert!(logged(&log, &format!("{what} dropped")), "{what} not cancelled: {events:?}");
    }
    let mut closed = closes(&log);
    closed.sort();
    assert_eq!(closed, ["closed soon", "closed spawned", "closed starting"], "{events:?}");
    assert!(!events.iter().any(|e| e.starts_with("start returned")), "{events:?}");
    assert_clean(kind).await;
}

/// Dropped in a spawned task with no scope of its own (the task's root frame): awaiting the
/// task returns only after every child ran its cleanups.
pub async fn group_dropped_in_a_task_root_is_awaited_by_the_task() {
    let kind = unique_kind("group-dropped-root");
    let log = Log::new();
    let l = log.clone();
    spawn(async move { drop_group_with_three_children(kind, l).await }).await.unwrap();
    let mut closed = closes(&log);
    closed.sort();
    assert_eq!(closed, ["closed soon", "closed spawned", "closed starting"], "{:?}", log.events());
    assert_clean(kind).await;
}
