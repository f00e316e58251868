//! AnyIO's `tests/test_fileio.py`, the subset `fs` documents and the earlier cases left out:
//! a write accepted is written by a thread meanwhile, and survives the file being dropped right
//! after (no flush, no close), in a scope, at a task's root, and in a scope already cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyscope_core::fs::{self, File, TempDir};
use anyscope_core::{AsyncClose, CancelScope, checkpoint, spawn};
use futures_lite::AsyncWriteExt;

use crate::support::wait_until;

/// A write has been accepted whole when it returns; the file dropped right after (no flush, no
/// close) still writes it before the enclosing scope returns.
pub async fn file_dropped_right_after_a_write_keeps_its_bytes() {
    let dir = TempDir::new().await.unwrap();
    let path = dir.path().join("dropped");
    let p = path.clone();
    CancelScope::new()
        .run(async move {
            let mut f = File::create(&p).await.unwrap();
            f.write_all(b"hello").await.unwrap();
            drop(f);
        })
        .await
        .unwrap();
    assert_eq!(fs::read(&path).await.unwrap(), b"hello", "accepted bytes lost with the dropped file");

    // A task whose body drops the file at its end: the bytes are there once it has finished.
    let p = dir.path().join("task");
    let p2 = p.clone();
    spawn(async move {
        let mut f = File::create(&p2).await.unwrap();
        f.write_all(b"from a task").await.unwrap();
    })
    .await
    .unwrap();
    assert_eq!(fs::read(&p).await.unwrap(), b"from a task");

    // A write accepted in a scope already cancelled (no thread can start there): the drop's
    // cleanup writes it.
    let p = dir.path().join("cancelled");
    let (p2, accepted) = (p.clone(), Arc::new(AtomicBool::new(false)));
    let (scope, acc) = (CancelScope::new(), Arc::clone(&accepted));
    let s2 = scope.clone();
    let out = scope
        .run(async move {
            let mut f = File::create(&p2).await.unwrap();
            s2.cancel();
            if f.write_all(b"late").await.is_ok() {
                acc.store(true, Ordering::SeqCst);
            }
            drop(f);
            checkpoint().await;
        })
        .await;
    assert!(out.is_none());
    let expect: &[u8] = if accepted.load(Ordering::SeqCst) { b"late" } else { b"" };
    assert_eq!(fs::read(&p).await.unwrap(), expect, "accepted: {}", accepted.load(Ordering::SeqCst));
    dir.close().await.unwrap();
}

/// A write is written by a thread meanwhile (as tokio's `File`): the bytes reach the file with
/// no further operation on it.
pub async fn file_write_lands_without_another_operation() {
    let dir = TempDir::new().await.unwrap();
    let path = dir.path().join("meanwhile");
    let mut f = File::create(&path).await.unwrap();
    f.write_all(b"written meanwhile").await.unwrap();
    let p = path.clone();
    wait_until("the write reaches the file", move || {
        std::fs::read(&p).is_ok_and(|b| b == b"written meanwhile")
    })
    .await;
    f.close().await.unwrap();
    dir.close().await.unwrap();
}
