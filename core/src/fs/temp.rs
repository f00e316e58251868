//! Temporary files and directories, removed when closed.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::error::at;
use super::file::File;
use crate::blocking::run_blocking;
use crate::frame::{self, Cleanup};

/// A fresh path in the system's temporary directory.
fn fresh(prefix: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("{prefix}-{}-{n}-{t:08x}", std::process::id()))
}

/// Removes `path` on the blocking offload, as a cleanup of the enclosing scope: the removal ends
/// before that scope returns.
fn remove_later(path: PathBuf, dir: bool) {
    let fut = async move {
        let _ = run_blocking(
            move || if dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) },
        )
        .await;
    };
    frame::dispose(Cleanup::new(
        if dir { "anyscope::fs::TempDir" } else { "anyscope::fs::TempFile" },
        Box::pin(fut),
    ));
}

/// A temporary directory, removed with its contents by [`close`](crate::AsyncClose::close) or,
/// when dropped, by a cleanup the enclosing scope runs before it returns.
#[must_use = "the directory is removed when this is dropped"]
pub struct TempDir {
    path: Option<PathBuf>,
}

impl TempDir {
    /// Creates a fresh directory in the system's temporary directory.
    ///
    /// # Errors
    ///
    /// The OS's error, naming the path.
    ///
    /// # Cancel safety
    ///
    /// Once the creation started, a cancelled caller waits for it; the directory is then
    /// removed by the drop of its result.
    pub async fn new() -> io::Result<TempDir> {
        let path = fresh("anyscope-tmp");
        // Built on the thread: if the caller is cancelled while the creation runs, the result
        // dropped unread is this `TempDir`, whose drop removes the directory.
        run_blocking(move || {
            std::fs::create_dir(&path).map_err(|e| at("creating the directory", &path, e))?;
            Ok(TempDir { path: Some(path) })
        })
        .await
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }
}

impl crate::AsyncClose for TempDir {
    type Error = io::Error;

    /// Removes the directory and its contents.
    ///
    /// # Cancel safety
    ///
    /// Runs to its end once started. Cut off before it started (inside a cancelled scope), it
    /// leaves the removal to the drop of the directory: done before the scope returns.
    async fn close(mut self) -> io::Result<()> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        // The path stays with `self` until the removal has run: a close cut off before it
        // started (inside a cancelled scope) leaves the removal to the drop.
        let removed = run_blocking(move || {
            std::fs::remove_dir_all(&path).map_err(|e| at("removing the directory", &path, e))
        })
        .await;
        self.path = None;
        removed
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            remove_later(path, true);
        }
    }
}

impl fmt::Debug for TempDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TempDir").field("path", &self.path).finish()
    }
}

/// A temporary file opened for reading and writing, removed by
/// [`close`](crate::AsyncClose::close) (after the file is flushed and closed) or, when dropped,
/// by a cleanup the enclosing scope runs before it returns.
#[must_use = "the file is removed when this is dropped"]
pub struct TempFile {
    file: Option<File>,
    path: PathBuf,
}

impl TempFile {
    /// Creates a fresh file in the system's temporary directory.
    ///
    /// # Errors
    ///
    /// The OS's error, naming the path.
    ///
    /// # Cancel safety
    ///
    /// As [`TempDir::new`].
    pub async fn new() -> io::Result<TempFile> {
        let path = fresh("anyscope-tmp");
        // Built on the thread, as `TempDir::new`: a result dropped unread removes the file.
        run_blocking(move || {
            let file = super::file::open_blocking(
                path.clone(),
                std::fs::OpenOptions::new().read(true).write(true).create_new(true),
            )?;
            Ok(TempFile { file: Some(file), path })
        })
        .await
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file, to read, write and seek.
    ///
    /// # Panics
    ///
    /// Never: the file is only taken by `close`, which consumes `self`.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("the file is open until close")
    }
}

impl crate::AsyncClose for TempFile {
    type Error = io::Error;

    /// Flushes and closes the file, then removes it.
    ///
    /// # Cancel safety
    ///
    /// Runs to its end once started. Cut off before the removal started (inside a cancelled
    /// scope), it leaves the removal to the drop of the file: done before the scope returns.
    async fn close(mut self) -> io::Result<()> {
        let closed = match self.file.take() {
            Some(f) => f.close().await,
            None => Ok(()),
        };
        // The path stays with `self` until the removal has run, as in `TempDir::close`.
        let path = self.path.clone();
        let removed =
            run_blocking(move || std::fs::remove_file(&path).map_err(|e| at("removing", &path, e))).await;
        self.path = PathBuf::new();
        closed.and(removed)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return;
        }
        // The file's own drop waits for its write in flight (a cleanup queued first).
        drop(self.file.take());
        remove_later(std::mem::take(&mut self.path), false);
    }
}

impl fmt::Debug for TempFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TempFile").field("path", &self.path).finish()
    }
}
