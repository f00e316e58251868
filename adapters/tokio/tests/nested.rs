//! tokio's own nested executor, `block_in_place` + `Handle::block_on`, inside a cancelled
//! scope: the nested future completes when wrapped in `runtime::isolated` (it keeps the ambient
//! runtime, so it may sleep: the other workers drive the timers meanwhile).

use std::time::Duration;

use anyscope_core::runtime::isolated;
use anyscope_core::{CancelScope, move_on_after, sleep};

#[test]
fn block_in_place_block_on_isolated_in_cancelled_scope_completes() {
    let out = anyscope_tokio::run(async {
        let scope = CancelScope::new();
        scope.cancel();
        let got = scope
            .run(async {
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(isolated(async {
                        sleep(Duration::from_millis(1)).await;
                        7
                    }))
                })
            })
            .await;
        (got, scope.cancelled_caught())
    });
    assert_eq!(out, (Some(7), false));
}

/// The same *without* `isolated`: anyscope recognises the nested executor (its waker is
/// delivered to again and again within one poll of the task) and lets the nested future see
/// only the frames entered inside it. A lock, a set event and a real sleep complete.
#[test]
fn block_in_place_block_on_in_cancelled_scope_completes() {
    use anyscope_core::sync::{Event, Mutex};
    let out = anyscope_tokio::run(async {
        let scope = CancelScope::new();
        scope.cancel();
        let got = scope
            .run(async {
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(async {
                        let m = Mutex::new(1);
                        *m.lock().await += 1;
                        let e = Event::new();
                        e.set();
                        e.wait().await;
                        sleep(Duration::from_millis(1)).await;
                        let v = *m.lock().await;
                        v + 5
                    })
                })
            })
            .await;
        (got, scope.cancelled_caught())
    });
    assert_eq!(out, (Some(7), false));
}

/// Inside a deadline that has passed, a nested future sleeps to its end, a scope entered inside
/// it keeps its own deadline (a 20 ms `move_on_after` around a one-hour sleep returns `None`),
/// and the task's next checkpoint after `block_on` delivers the outer deadline.
#[test]
fn block_in_place_block_on_keeps_inner_deadlines_under_an_elapsed_one() {
    let out = anyscope_tokio::run(async {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let l = log.clone();
        let outer = move_on_after(Duration::ZERO, async move {
            let inner = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    sleep(Duration::from_millis(1)).await;
                    move_on_after(Duration::from_millis(20), sleep(Duration::from_secs(3600))).await
                })
            });
            l.lock().unwrap().push(format!("inner {inner:?}"));
            anyscope_core::checkpoint().await;
            l.lock().unwrap().push("not reached".to_string());
        })
        .await;
        let events = log.lock().unwrap().clone();
        (outer, events)
    });
    assert_eq!(out, (None, vec!["inner None".to_string()]));
}
