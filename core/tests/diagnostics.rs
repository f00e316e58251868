//! Diagnostics never break the program: the library writes nothing to standard error, a `Drop`
//! never panics because of a diagnostic, and the tracker's counters record what nobody can
//! receive.

mod common;

use std::future::{Future, poll_fn};
use std::process::{Command, Stdio};
use std::task::Poll;

use anyscope_core::group::task_group;
use anyscope_core::{Scoped, checkpoint, shield, tracker};
use common::{Ends, Res, unique_kind};

const CHILD_ENV: &str = "ANYSCOPE_DIAG_CLOSED_STDERR_CHILD";
const CHILD_TEST: &str = "guard_dropped_without_runtime_survives_a_closed_stderr";

/// A guard dropped with no runtime is recorded as lost. The test re-runs itself in a child
/// process whose standard error is a pipe with its read end closed (where `eprintln!` panics),
/// with `--nocapture` so that nothing catches the output: the child must exit 0.
#[test]
fn guard_dropped_without_runtime_survives_a_closed_stderr() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let kind = unique_kind("closed-stderr");
        drop(Scoped::new(Res { kind, ends: Ends::Ok })); // no runtime, no frame
        assert_eq!(tracker::kind(kind).lost, 1);
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the test binary");
    drop(child.stderr.take()); // close the read end: every write to stderr now fails
    let status = child.wait().expect("waiting for the child");
    assert!(status.success(), "the child failed ({status}): a diagnostic broke a drop");
}

/// What used to be printed is counted: a lost guard, a failed and a panicking close of dropped
/// guards, and an error and a panic of a task group whose future was dropped.
#[test]
fn counters_record_what_nobody_can_receive() {
    let lost = unique_kind("lost");
    std::thread::spawn(move || drop(Scoped::new(Res { kind: lost, ends: Ends::Ok })))
        .join()
        .expect("dropping a guard never panics");
    let s = tracker::kind(lost);
    assert_eq!((s.opened, s.lost, s.open()), (1, 1, 0));

    let failing = unique_kind("fails");
    let panicking = unique_kind("panics");
    let group_before = tracker::kind("anyscope::TaskGroup");
    anyscope_tokio::run(async move {
        drop(Scoped::new(Res { kind: failing, ends: Ends::Fails }));
        drop(Scoped::new(Res { kind: panicking, ends: Ends::Panics }));
        // A group dropped from outside after its first poll: its tasks are cancelled, finish
        // their shielded step, then fail and panic with nobody left to receive either.
        let mut group = Box::pin(task_group(|tg| async move {
            tg.spawn(async {
                shield(checkpoint()).await;
                Err("late error")
            })
            .unwrap();
            tg.spawn(async {
                shield(checkpoint()).await;
                panic!("late panic (expected by the test)")
            })
            .unwrap();
            std::future::pending::<Result<(), &str>>().await
        }));
        poll_fn(|cx| {
            assert!(group.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        drop(group); // the root frame adopts the wait for its tasks
    });
    let s = tracker::kind(failing);
    assert_eq!((s.close_failed, s.closed_adopted, s.open()), (1, 1, 0));
    let s = tracker::kind(panicking);
    assert_eq!((s.cleanup_panicked, s.open()), (1, 0));
    let group_after = tracker::kind("anyscope::TaskGroup");
    assert_eq!(group_after.errors_unreceived - group_before.errors_unreceived, 1);
    assert_eq!(group_after.panics_unreceived - group_before.panics_unreceived, 1);
}
