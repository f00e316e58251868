//! `File`: a file read, written and seeked on the blocking offload.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use super::error::at;
use crate::blocking::{RunBlocking, run_blocking};

/// The most one blocking call reads or writes (tokio's figure).
const MAX_BUF: usize = 2 * 1024 * 1024;

/// The most a run of sequential reads reads ahead of the caller.
const MAX_READAHEAD: usize = 1024 * 1024;

/// How much `poll_fill_buf` reads at least.
const FILL_BUF: usize = 64 * 1024;

/// The most bytes accepted while a write is in flight, written by the next one.
const MAX_PENDING: usize = 1024 * 1024;

/// Opens the file at `path` with `options` (`std`'s [`OpenOptions`](std::fs::OpenOptions)), on
/// the blocking offload.
///
/// # Errors
///
/// The OS's error, naming the path.
///
/// # Cancel safety
///
/// Before the open started, nothing happens; after, a cancelled caller waits for it and the
/// file is closed at once.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::fs::{self, open_file};
/// use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
///
/// let dir = fs::TempDir::new().await.unwrap();
/// let path = dir.path().join("f");
/// let mut opts = std::fs::OpenOptions::new();
/// opts.read(true).write(true).create(true);
/// let mut f = open_file(&path, &opts).await.unwrap();
/// f.write_all(b"hello world").await.unwrap();
/// f.seek(std::io::SeekFrom::Start(6)).await.unwrap();
/// let mut s = String::new();
/// f.read_to_string(&mut s).await.unwrap();
/// assert_eq!(s, "world");
/// # });
/// ```
pub async fn open_file(path: impl AsRef<Path>, options: &std::fs::OpenOptions) -> io::Result<File> {
    let (path, opts) = (path.as_ref().to_owned(), options.clone());
    run_blocking(move || open_blocking(path, &opts)).await
}

/// Opens the file at `path` on the calling (blocking) thread: the error names the path.
pub(crate) fn open_blocking(path: PathBuf, options: &std::fs::OpenOptions) -> io::Result<File> {
    let file = options.open(&path).map_err(|e| at("opening", &path, e))?;
    Ok(File::from_std(file, path))
}

/// A file on the blocking offload: [`AsyncRead`], [`AsyncBufRead`], [`AsyncWrite`],
/// [`AsyncSeek`], and
/// [`AsyncClose`](crate::AsyncClose) (flush, then sync if asked, then close).
///
/// Each read, write or seek runs the `std` call on a thread ([`run_blocking`], with its
/// limiter). Reads are buffered: a run of sequential reads reads ahead, growing fourfold up to
/// 1 MiB. A write copies the bytes and returns at once, the copy written by a thread meanwhile
/// (as tokio's `File`); writes made while one is in flight are queued (up to 1 MiB) and written
/// together by the next. A failed write is reported by the next operation, at the latest by
/// `flush` or `close`; what was queued behind it is not written.
///
/// # Cancel safety
///
/// Reads, writes and seeks are checkpoints, as a socket's are: in an effectively cancelled
/// scope they do not complete (no byte is read or accepted; the scope drops its body there), and
/// a ready one spends from the task's cooperative budget. Flushing and closing finish what was
/// accepted, cancelled or not.
///
/// A read cut off loses no byte: what the thread read stays buffered for the next read. A write
/// has been accepted whole when it returns. Dropping the file (or cutting its owner off) while
/// a write is in flight hands the wait for it to the enclosing scope: the bytes are written and
/// the file closed before that scope returns.
pub struct File {
    state: State,
    path: PathBuf,
    last_err: Option<io::Error>,
    sync_on_close: bool,
    /// How much the next read asks for at least: quadrupled by each sequential read that filled
    /// its buffer (up to [`MAX_READAHEAD`]), reset by a seek or a write. Fewer thread hops for
    /// a file read in small pieces, as async-fs's read-ahead gives.
    readahead: usize,
    /// Bytes accepted while a write was in flight, not yet handed to a thread.
    pending: Vec<u8>,
    /// Whether the operation in flight is a write.
    writing: bool,
}

struct Inner {
    file: std::fs::File,
    /// Read-ahead (`buf[pos..]` unread) or the bytes of the write in flight.
    buf: Vec<u8>,
    pos: usize,
}

enum Op {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
    Sync(io::Result<()>),
}

enum State {
    Idle(Option<Inner>),
    Busy(RunBlocking<(Op, Inner)>),
}

impl File {
    /// Opens a file for reading.
    ///
    /// # Errors
    ///
    /// The OS's error, naming the path.
    ///
    /// # Cancel safety
    ///
    /// As [`open_file`].
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        open_file(path, std::fs::OpenOptions::new().read(true)).await
    }

    /// Creates (or truncates) a file for writing.
    ///
    /// # Errors
    ///
    /// The OS's error, naming the path.
    ///
    /// # Cancel safety
    ///
    /// As [`open_file`].
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        open_file(path, std::fs::OpenOptions::new().write(true).create(true).truncate(true)).await
    }

    /// Wraps an open `std` file; `path` is used in error messages.
    pub fn from_std(file: std::fs::File, path: impl Into<PathBuf>) -> File {
        File {
            state: State::Idle(Some(Inner { file, buf: Vec::new(), pos: 0 })),
            path: path.into(),
            last_err: None,
            sync_on_close: false,
            readahead: 0,
            pending: Vec::new(),
            writing: false,
        }
    }

    /// The path the file was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes [`close`](crate::AsyncClose::close) also sync the file's data and metadata to
    /// the device (`fsync`) before closing it.
    pub fn set_sync_on_close(&mut self, sync: bool) {
        self.sync_on_close = sync;
    }

    /// Waits for the write in flight, then syncs data and metadata to the device (`fsync`).
    ///
    /// # Errors
    ///
    /// A failed earlier write, or the OS's error, naming the path.
    ///
    /// # Cancel safety
    ///
    /// Once started, a cancelled caller's scope waits for the sync to end.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        std::future::poll_fn(|cx| self.poll_sync(cx)).await
    }

    fn err(&self, what: &'static str, e: io::Error) -> io::Error {
        at(what, &self.path, e)
    }

    fn closed(&self) -> io::Error {
        self.err("using", io::Error::new(io::ErrorKind::NotConnected, "the file was closed"))
    }

    /// Waits for the operation in flight; `Ready(Some(op))` with its outcome.
    fn poll_busy(&mut self, cx: &mut Context<'_>) -> Poll<Option<Op>> {
        let State::Busy(fut) = &mut self.state else { return Poll::Ready(None) };
        let (op, inner) = std::task::ready!(Pin::new(fut).poll(cx));
        self.state = State::Idle(Some(inner));
        self.writing = false;
        if matches!(op, Op::Write(Err(_))) {
            // What was queued behind a failed write is not written.
            self.pending.clear();
        }
        Poll::Ready(Some(op))
    }

    /// Hands the pending bytes to a thread (the file is idle).
    fn write_pending(&mut self) -> io::Result<()> {
        let State::Idle(Some(inner)) = &mut self.state else { return Err(self.closed()) };
        // Unread read-ahead: the file's position is past what the caller has seen.
        let back = (inner.buf.len() - inner.pos) as i64;
        inner.buf.clear();
        inner.pos = 0;
        std::mem::swap(&mut inner.buf, &mut self.pending);
        self.start(move |i| {
            let r = (|| {
                if back > 0 {
                    i.file.seek(SeekFrom::Current(-back))?;
                }
                i.file.write_all(&i.buf)
            })();
            i.buf.clear();
            Op::Write(r)
        })?;
        self.writing = true;
        Ok(())
    }

    /// Starts a read of at least `min` bytes (more in a run of sequential reads: the read-ahead
    /// grows ×4 per read up to `MAX_READAHEAD`) into the read buffer (the file is idle).
    fn start_read(&mut self, min: usize) -> io::Result<()> {
        let want = min.max(self.readahead).min(MAX_BUF);
        self.readahead = (want * 4).min(MAX_READAHEAD);
        self.start(move |i| {
            i.buf.clear();
            i.buf.resize(want, 0);
            i.pos = 0;
            let r = i.file.read(&mut i.buf);
            i.buf.truncate(*r.as_ref().unwrap_or(&0));
            Op::Read(r)
        })
    }

    fn start(&mut self, job: impl FnOnce(&mut Inner) -> Op + Send + 'static) -> io::Result<()> {
        let State::Idle(inner) = &mut self.state else { unreachable!("started while busy") };
        let Some(mut inner) = inner.take() else { return Err(self.closed()) };
        self.state = State::Busy(run_blocking(move || {
            let op = job(&mut inner);
            (op, inner)
        }));
        Ok(())
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some(Op::Write(Err(e))) = std::task::ready!(self.poll_busy(cx)) {
                return Poll::Ready(Err(self.err("writing", e)));
            }
            if let Some(e) = self.last_err.take() {
                return Poll::Ready(Err(e));
            }
            if self.pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            self.write_pending()?;
        }
    }

    fn poll_sync(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match std::task::ready!(self.poll_busy(cx)) {
                Some(Op::Sync(r)) => return Poll::Ready(r.map_err(|e| self.err("syncing", e))),
                Some(Op::Write(Err(e))) => return Poll::Ready(Err(self.err("writing", e))),
                _ => self.start(|i| Op::Sync(i.file.sync_all()))?,
            }
        }
    }
}

impl AsyncRead for File {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        // A checkpoint (see the type's docs).
        std::task::ready!(crate::frame::poll_proceed(cx));
        let this = &mut *self;
        loop {
            match std::task::ready!(this.poll_busy(cx)) {
                Some(Op::Read(Err(e))) => return Poll::Ready(Err(this.err("reading", e))),
                Some(Op::Write(Err(e))) => this.last_err = Some(this.err("writing", e)),
                Some(Op::Read(Ok(0))) => return Poll::Ready(Ok(0)),
                _ => {}
            }
            if !this.pending.is_empty() {
                this.write_pending()?;
                continue;
            }
            let State::Idle(Some(inner)) = &mut this.state else { return Poll::Ready(Err(this.closed())) };
            if inner.pos < inner.buf.len() {
                let n = dst.len().min(inner.buf.len() - inner.pos);
                dst[..n].copy_from_slice(&inner.buf[inner.pos..inner.pos + n]);
                inner.pos += n;
                return Poll::Ready(Ok(n));
            }
            if let Some(e) = this.last_err.take() {
                return Poll::Ready(Err(e));
            }
            if dst.is_empty() {
                return Poll::Ready(Ok(0));
            }
            this.start_read(dst.len())?;
        }
    }
}

impl AsyncBufRead for File {
    /// The read buffer: what the last read from the file brought in and the caller has not
    /// consumed (64 KiB at least, more in a run of sequential reads).
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        std::task::ready!(crate::frame::poll_proceed(cx)); // a checkpoint
        let this = self.get_mut();
        loop {
            match std::task::ready!(this.poll_busy(cx)) {
                Some(Op::Read(Err(e))) => return Poll::Ready(Err(this.err("reading", e))),
                Some(Op::Write(Err(e))) => this.last_err = Some(this.err("writing", e)),
                Some(Op::Read(Ok(0))) => return Poll::Ready(Ok(&[])),
                _ => {}
            }
            if !this.pending.is_empty() {
                this.write_pending()?;
                continue;
            }
            let State::Idle(Some(inner)) = &mut this.state else { return Poll::Ready(Err(this.closed())) };
            if inner.pos < inner.buf.len() {
                break;
            }
            if let Some(e) = this.last_err.take() {
                return Poll::Ready(Err(e));
            }
            this.start_read(FILL_BUF)?;
        }
        match &this.state {
            State::Idle(Some(inner)) => Poll::Ready(Ok(&inner.buf[inner.pos..])),
            _ => Poll::Ready(Ok(&[])),
        }
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        if let State::Idle(Some(inner)) = &mut self.state {
            inner.pos = (inner.pos + amt).min(inner.buf.len());
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        std::task::ready!(crate::frame::poll_proceed(cx)); // a checkpoint
        let this = &mut *self;
        match this.poll_busy(cx) {
            // A write in flight: queue behind it, up to a bound.
            Poll::Pending if this.writing && this.pending.len() < MAX_PENDING => {
                let n = src.len().min(MAX_PENDING - this.pending.len());
                this.pending.extend_from_slice(&src[..n]);
                return Poll::Ready(Ok(n));
            }
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Op::Write(Err(e)))) => return Poll::Ready(Err(this.err("writing", e))),
            Poll::Ready(_) => {}
        }
        if let Some(e) = this.last_err.take() {
            return Poll::Ready(Err(e));
        }
        this.readahead = 0;
        let n = src.len().min(MAX_BUF.saturating_sub(this.pending.len()).max(1));
        this.pending.extend_from_slice(&src[..n]);
        this.write_pending()?;
        // Start the write now, so a thread writes meanwhile (not at the next operation). A
        // write that cannot start in this poll (a cancelled scope, a spent budget) starts at
        // the next operation, or in the cleanup of a drop.
        if let Poll::Ready(Some(Op::Write(Err(e)))) = this.poll_busy(cx) {
            this.last_err = Some(this.err("writing", e));
        }
        Poll::Ready(Ok(n))
    }

    /// Waits for the write in flight and reports its error.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_inner(cx)
    }

    /// The same as [`poll_flush`](AsyncWrite::poll_flush): the file is closed when dropped, or
    /// by [`AsyncClose::close`](crate::AsyncClose::close).
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_inner(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(mut self: Pin<&mut Self>, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        std::task::ready!(crate::frame::poll_proceed(cx)); // a checkpoint
        let this = &mut *self;
        loop {
            match std::task::ready!(this.poll_busy(cx)) {
                Some(Op::Seek(r)) => return Poll::Ready(r.map_err(|e| this.err("seeking in", e))),
                Some(Op::Write(Err(e))) => return Poll::Ready(Err(this.err("writing", e))),
                _ => {}
            }
            if let Some(e) = this.last_err.take() {
                return Poll::Ready(Err(e));
            }
            if !this.pending.is_empty() {
                this.write_pending()?;
                continue;
            }
            this.readahead = 0;
            let State::Idle(Some(inner)) = &mut this.state else { return Poll::Ready(Err(this.closed())) };
            let unread = (inner.buf.len() - inner.pos) as i64;
            let pos = match pos {
                SeekFrom::Current(off) => SeekFrom::Current(off - unread),
                other => other,
            };
            this.start(move |i| {
                i.buf.clear();
                i.pos = 0;
                Op::Seek(i.file.seek(pos))
            })?;
        }
    }
}

impl crate::AsyncClose for File {
    type Error = io::Error;

    /// Waits for the write in flight, syncs if [`set_sync_on_close`](File::set_sync_on_close)
    /// asked, and closes the file.
    ///
    /// # Cancel safety
    ///
    /// Runs to its end once started (see [`AsyncClose`](crate::AsyncClose)).
    async fn close(mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        if self.sync_on_close {
            std::future::poll_fn(|cx| self.poll_sync(cx)).await?;
        }
        self.state = State::Idle(None);
        Ok(())
    }
}

impl Drop for File {
    /// Bytes accepted and not yet written are written by a cleanup of the enclosing scope (after
    /// the write in flight), which returns only once they are; a failure there has no one to
    /// report to: use [`close`](crate::AsyncClose::close) to see it.
    fn drop(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let state = std::mem::replace(&mut self.state, State::Idle(None));
        if pending.is_empty() && !self.writing {
            // Nothing accepted is unwritten (a read in flight is waited for by the drop of its
            // `RunBlocking`).
            return;
        }
        // A write in flight may not have started yet (its `RunBlocking` not polled): awaiting
        // it starts it; dropping it would drop the accepted bytes with the job.
        let wait = async move {
            let inner = match state {
                // What was queued behind a failed write is not written.
                State::Busy(fut) => match fut.await {
                    (Op::Write(Err(_)), _) => None,
                    (_, inner) => Some(inner),
                },
                State::Idle(inner) => inner,
            };
            if let Some(mut inner) = inner.filter(|_| !pending.is_empty()) {
                let _ = run_blocking(move || inner.file.write_all(&pending)).await;
            }
        };
        crate::frame::dispose(crate::frame::Cleanup::new("anyscope::fs::File", Box::pin(wait)));
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("busy", &matches!(self.state, State::Busy(_)))
            .finish_non_exhaustive()
    }
}
