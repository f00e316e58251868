//! Whole-file helpers and directories.

use std::collections::VecDeque;
use std::fmt;
use std::fs::Metadata;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::error::at;
use crate::blocking::{RunBlocking, run_blocking};

/// Runs `op` on `path` on the blocking offload, naming the path in its error.
async fn on_path<T: Send + 'static>(
    what: &'static str,
    path: &Path,
    op: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let p = path.to_owned();
    run_blocking(move || op(&p).map_err(|e| at(what, &p, e))).await
}

/// Reads a whole file.
///
/// # Errors
///
/// The OS's error, naming the path.
///
/// # Cancel safety
///
/// As [`run_blocking`](crate::run_blocking): once started, a cancelled caller waits for the read
/// to end, and its result is dropped.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    on_path("reading", path.as_ref(), |p| std::fs::read(p)).await
}

/// Reads a whole file as UTF-8.
///
/// # Errors
///
/// The OS's error, or invalid UTF-8 ([`InvalidData`](io::ErrorKind::InvalidData)), naming the
/// path.
///
/// # Cancel safety
///
/// As [`read`].
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    on_path("reading", path.as_ref(), |p| std::fs::read_to_string(p)).await
}

/// Writes `contents` to a file, creating it or truncating it.
///
/// # Errors
///
/// The OS's error, naming the path.
///
/// # Cancel safety
///
/// Once started, a cancelled caller waits for the write to end (the file then holds all of
/// `contents`); before, nothing is written.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let data = contents.as_ref().to_vec();
    on_path("writing", path.as_ref(), move |p| std::fs::write(p, data)).await
}

/// The metadata of a file or directory (following symbolic links).
///
/// # Errors
///
/// The OS's error, naming the path.
///
/// # Cancel safety
///
/// As [`read`].
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("reading the metadata of", path.as_ref(), |p| std::fs::metadata(p)).await
}

/// Creates a directory and every missing parent.
///
/// # Errors
///
/// The OS's error, naming the path.
///
/// # Cancel safety
///
/// As [`read`].
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("creating the directory", path.as_ref(), |p| std::fs::create_dir_all(p)).await
}

/// Removes a file.
///
/// # Errors
///
/// The OS's error, naming the path.
///
/// # Cancel safety
///
/// As [`read`].
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("removing", path.as_ref(), |p| std::fs::remove_file(p)).await
}

/// Removes a directory and everything in it.
///
/// # Errors
///
/// The OS's error, naming the path.
///
/// # Cancel safety
///
/// As [`read`].
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("removing the directory", path.as_ref(), |p| std::fs::remove_dir_all(p)).await
}

/// Renames `from` to `to` (replacing `to` if it is a file).
///
/// # Errors
///
/// The OS's error, naming `from`.
///
/// # Cancel safety
///
/// As [`read`].
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let to = to.as_ref().to_owned();
    on_path("renaming", from.as_ref(), move |p| std::fs::rename(p, to)).await
}

/// How many entries one blocking call reads.
const BATCH: usize = 64;

/// The entries of a directory, as a [`Stream`] of [`std::fs::DirEntry`].
///
/// Entries are read in batches on the blocking offload. A `DirEntry`'s `path` and `file_name`
/// do not block; its `metadata` and `file_type` may (call them through
/// [`run_blocking`](crate::run_blocking) or use [`metadata`]).
///
/// # Errors
///
/// Opening the directory fails with the OS's error naming the path; so does an entry that
/// cannot be read.
///
/// # Cancel safety
///
/// The returned future and the stream's `poll_next` lose no entry when dropped between items:
/// a batch being read is waited for by the enclosing scope.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use futures_lite::StreamExt;
/// let mut entries = anyscope_core::fs::read_dir(".").await.unwrap();
/// while let Some(entry) = entries.next().await {
///     let _name = entry.unwrap().file_name();
/// }
/// # });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let it = on_path("reading the directory", &path, |p| std::fs::read_dir(p)).await?;
    Ok(ReadDir { path, state: State::Idle(Some((it, VecDeque::new()))) })
}

type Batch = (std::fs::ReadDir, VecDeque<io::Result<std::fs::DirEntry>>);

/// The stream of [`read_dir`].
pub struct ReadDir {
    path: PathBuf,
    state: State,
}

enum State {
    Idle(Option<Batch>),
    Busy(RunBlocking<(Batch, bool)>),
}

impl Stream for ReadDir {
    type Item = io::Result<std::fs::DirEntry>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Idle(batch) => {
                    let Some((mut it, mut queue)) = batch.take() else { return Poll::Ready(None) };
                    if let Some(entry) = queue.pop_front() {
                        let path = this.path.clone();
                        this.state = State::Idle(Some((it, queue)));
                        return Poll::Ready(Some(entry.map_err(|e| at("reading the directory", &path, e))));
                    }
                    this.state = State::Busy(run_blocking(move || {
                        queue.extend(it.by_ref().take(BATCH));
                        let more = !queue.is_empty();
                        ((it, queue), more)
                    }));
                }
                State::Busy(fut) => {
                    let (batch, more) = std::task::ready!(Pin::new(fut).poll(cx));
                    this.state = State::Idle(more.then_some(batch));
                }
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("path", &self.path).finish_non_exhaustive()
    }
}
