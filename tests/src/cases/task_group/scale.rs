//! Many tasks in one group.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyscope_core::group::task_group;
use anyscope_core::{CancelScope, checkpoint, sleep};

use super::{CountOnDrop, LONG};

/// A group of 10,000 tasks waits for all of them.
pub async fn ten_thousand_children() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let res = task_group(|tg| async move {
        for _ in 0..10_000 {
            let n = n2.clone();
            tg.spawn(async move {
                checkpoint().await;
                n.fetch_add(1, Ordering::Relaxed);
                Ok::<(), String>(())
            })
            .unwrap();
        }
        Ok(())
    })
    .await;
    assert!(res.is_ok());
    assert_eq!(n.load(Ordering::SeqCst), 10_000);
}

/// Cancelling a group of 10,000 sleeping tasks cancels and awaits every one of them.
pub async fn cancel_ten_thousand_sleeping_children() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let scope = CancelScope::new();
    let handle = scope.clone();
    let out = scope
        .run(task_group(|tg| async move {
            for _ in 0..10_000 {
                let d = d.clone();
                tg.spawn(async move {
                    let _g = CountOnDrop(d);
                    sleep(LONG).await;
                    Ok::<(), String>(())
                })
                .unwrap();
            }
            handle.cancel();
            sleep(LONG).await;
            Ok(())
        }))
        .await;
    assert!(out.is_none());
    assert_eq!(dropped.load(Ordering::SeqCst), 10_000);
}
