//! A scope handed to a task it spawned, and polled there inside a scope of that task: its new
//! place in the scope tree would be below itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyscope_core::{CancelScope, checkpoint, move_on_after, sleep, spawn};

use crate::support::{Flag, SetOnDrop, poll_once, wait_until};

type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A scope S spawns task T, and is then polled by T inside a scope of T's own: S would hang
/// below T's scope, which hangs below S. That poll panics with a clear message (the task
/// reports a panic) instead of leaving a cycle that every walk up the tree (a checkpoint, a
/// cancel) would loop around forever; S is dropped with the task, and nothing hangs.
pub async fn scope_polled_inside_a_task_it_spawned_panics_instead_of_looping() {
    let slot: Arc<Mutex<Option<Boxed>>> = Arc::default();
    let (s, dropped) = (slot.clone(), Flag::new());
    let d = dropped.clone();
    let scope = CancelScope::new();
    let handle = scope.clone();
    let task: Arc<Mutex<Option<anyscope_core::JoinHandle<()>>>> = Arc::default();
    let t = task.clone();
    let mut fut: Boxed = Box::pin(async move {
        let _guard = SetOnDrop(d);
        scope
            .run(async move {
                let spawned = spawn(async move {
                    CancelScope::new()
                        .run(async move {
                            wait_until("the scope was handed over", || s.lock().unwrap().is_some()).await;
                            let mut fut = s.lock().unwrap().take().unwrap();
                            let _ = poll_once(fut.as_mut()).await;
                            checkpoint().await;
                        })
                        .await;
                });
                *t.lock().unwrap() = Some(spawned);
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
    });
    assert!(poll_once(fut.as_mut()).await.is_none());
    let spawned = task.lock().unwrap().take().expect("S spawned its task");
    *slot.lock().unwrap() = Some(fut);
    let joined = move_on_after(Duration::from_secs(10), spawned).await.expect("the task ended");
    assert!(joined.unwrap_err().is_panic(), "the poll that would make a cycle panics");
    assert!(dropped.is_set(), "S was dropped with the task that held it");
    assert!(slot.lock().unwrap().is_none());
    handle.cancel();
    checkpoint().await;
}
