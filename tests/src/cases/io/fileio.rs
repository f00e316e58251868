//! AnyIO's `tests/test_fileio.py`, the subset `fs` documents and the earlier cases left out:
//! a write accepted is written by a thread meanwhile, and survives the file being dropped right
//! after (no flush, no close), in a scope, at a task's root, and in a scope already cancelled;
//! temporary files and directories whose creation or close is cut off are still removed.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use anyscope_core::fs::{self, File, TempDir, TempFile};
use anyscope_core::{AsyncClose, CancelScope, checkpoint, spawn};
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

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

/// This process's entries in the temporary directory made by `TempDir`/`TempFile`.
fn temp_entries() -> HashSet<PathBuf> {
    let prefix = format!("anyscope-tmp-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `fut` once (a blocking creation then runs on its thread), cancels `scope`, then
/// finishes it (the body is dropped at its next suspension point) and gets rid of what it
/// made: a close in the cancelled scope, or a drop.
async fn create_then_cancel<R, F>(scope: &CancelScope, fut: F)
where
    R: AsyncClose<Error = std::io::Error>,
    F: Future<Output = std::io::Result<R>>,
{
    let mut fut = std::pin::pin!(fut);
    let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
    scope.cancel();
    match first {
        Poll::Ready(made) => {
            let _ = made.unwrap().close().await;
        }
        Poll::Pending => drop(fut.await.unwrap()),
    }
}

/// A `TempDir::new`/`TempFile::new` cancelled after the creation started (its caller waits for
/// it, as documented) leaves nothing behind, and so does a `close` in a cancelled scope: what
/// was created is removed before the scope returns.
pub async fn temp_creation_cancelled_midway_leaves_nothing_behind() {
    let before = temp_entries();
    for round in 0..40u32 {
        let scope = CancelScope::new();
        let s2 = scope.clone();
        let out = scope
            .run(async move {
                if round % 2 == 0 {
                    create_then_cancel(&s2, TempDir::new()).await;
                } else {
                    create_then_cancel(&s2, TempFile::new()).await;
                }
            })
            .await;
        assert!(out.is_none(), "the scope was cancelled");
    }
    wait_until("nothing is left in the temporary directory", || {
        temp_entries().difference(&before).next().is_none()
    })
    .await;
}

/// A `close` of a temporary directory or file inside a scope already cancelled removes it all
/// the same (the close cannot start there; the drop of the resource does it) before the scope
/// returns.
pub async fn temp_closed_in_a_cancelled_scope_is_removed() {
    let dir = TempDir::new().await.unwrap();
    let file = TempFile::new().await.unwrap();
    let (dir_path, file_path) = (dir.path().to_owned(), file.path().to_owned());
    let scope = CancelScope::new();
    scope.cancel();
    // Nothing to flush: each close reaches its removal at once, in the cancelled scope.
    let out = scope.run(async move { dir.close().await }).await;
    assert!(out.is_none());
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope.run(async move { file.close().await }).await;
    assert!(out.is_none());
    assert!(!dir_path.exists(), "the directory is left behind");
    assert!(!file_path.exists(), "the file is left behind");
}

/// A file closed inside a scope already cancelled (the close cannot start a write there) still
/// has every byte a write accepted once the scope returns: the drop of the file writes them.
pub async fn file_closed_in_a_cancelled_scope_keeps_accepted_bytes() {
    let dir = TempDir::new().await.unwrap();
    let path = dir.path().join("closed-cancelled");
    let mut f = File::create(&path).await.unwrap();
    f.write_all(b"before,").await.unwrap();
    let accepted = Arc::new(AtomicBool::new(false));
    let acc = Arc::clone(&accepted);
    let scope = CancelScope::new();
    scope.cancel();
    let out = scope
        .run(async move {
            if f.write_all(b"inside").await.is_ok() {
                acc.store(true, Ordering::SeqCst);
            }
            let _ = f.close().await;
        })
        .await;
    assert!(out.is_none());
    let expect: &[u8] = if accepted.load(Ordering::SeqCst) { b"before,inside" } else { b"before," };
    assert_eq!(fs::read(&path).await.unwrap(), expect);
    dir.close().await.unwrap();
}

/// A file's reads, writes and seeks are checkpoints (its docs; DESIGN: every awaitable is): in
/// a scope already cancelled none of them completes — no byte is accepted or read, the position
/// does not move — and the scope drops its body there. The file dropped with the body keeps
/// what it had accepted before.
pub async fn file_reads_writes_and_seeks_are_checkpoints() {
    let dir = TempDir::new().await.unwrap();
    let path = dir.path().join("checkpoints");
    let mut f = File::create(&path).await.unwrap();
    f.write_all(b"before,").await.unwrap();
    let ran_past = Arc::new(AtomicBool::new(false));
    let scope = CancelScope::new();
    scope.cancel();
    let r = Arc::clone(&ran_past);
    let out = scope
        .run(async move {
            let _ = f.write_all(b"inside").await;
            r.store(true, Ordering::SeqCst);
        })
        .await;
    assert!(out.is_none());
    assert!(!ran_past.load(Ordering::SeqCst), "a write completed in a cancelled scope");
    assert_eq!(fs::read(&path).await.unwrap(), b"before,");

    let mut f = File::open(&path).await.unwrap();
    for op in 0..2 {
        let r = Arc::clone(&ran_past);
        let scope = CancelScope::new();
        scope.cancel();
        let f = &mut f;
        let out = scope
            .run(async move {
                if op == 0 {
                    let mut buf = [0u8; 4];
                    let _ = f.read(&mut buf).await;
                } else {
                    let _ = f.seek(std::io::SeekFrom::Start(3)).await;
                }
                r.store(true, Ordering::SeqCst);
            })
            .await;
        assert!(out.is_none());
        assert!(!ran_past.load(Ordering::SeqCst), "operation {op} completed in a cancelled scope");
    }
    // Outside the cancelled scopes the file reads from the start: nothing was read or moved.
    let mut all = Vec::new();
    f.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, b"before,");
    drop(f);
    dir.close().await.unwrap();
}
