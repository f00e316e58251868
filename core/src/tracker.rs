//! The resource tracker: what was opened, how it was closed, and what was lost.
//!
//! Every [`Scoped`](crate::Scoped) guard counts, under its resource's
//! [`kind`](crate::AsyncClose::kind), one *opened*, then exactly one of *closed explicitly*
//! (`guard.close().await`), *closed by adoption* (dropped unclosed, closed by a frame),
//! *closed detached* (dropped outside any frame, closed by a detached task) or *lost* (no runtime
//! could run the close). Tests assert that a scenario leaves `open() == 0` and `lost == 0` for
//! the kinds it used; kinds are per resource type by default, and test resources give each
//! scenario its own so that tests running in parallel do not see each other.
//!
//! Close errors and panics in cleanups are counted too, and reported on standard error: a
//! cleanup that fails after its owner has gone has nobody else to tell.
//!
//! `run` waits for detached cleanups ([`wait_detached`]) before it returns.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use event_listener::Event;

use crate::frame::{CLEANING, Cleanup, DETACHED, FrameState, TASK_ROOT, Via};
use crate::runtime::{Handle, TaskOutput};
use crate::sync_shim::{AtomicUsize, Ordering};

/// Counters of one resource kind. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KindStats {
    /// Guards created.
    pub opened: u64,
    /// Closed by `guard.close().await` (or given up with `into_inner`).
    pub closed_explicitly: u64,
    /// Dropped unclosed and closed by the frame that adopted the close.
    pub closed_adopted: u64,
    /// Dropped outside any frame and closed by a detached task.
    pub closed_detached: u64,
    /// Dropped with no runtime to close them, or whose close was dropped unfinished (the
    /// runtime shut down under it).
    pub lost: u64,
    /// Closes cut off on purpose: by the deadline of a shielded scope that bounds its cleanups.
    pub abandoned: u64,
    /// Closes that returned an error (the resource counts as closed).
    pub close_failed: u64,
    /// Cleanups that panicked (the resource counts as closed).
    pub cleanup_panicked: u64,
}

impl KindStats {
    /// Resources opened and not yet closed or lost.
    pub fn open(&self) -> u64 {
        self.opened.saturating_sub(
            self.closed_explicitly + self.closed_adopted + self.closed_detached + self.lost + self.abandoned,
        )
    }

    /// Resources closed one way or another.
    pub fn closed(&self) -> u64 {
        self.closed_explicitly + self.closed_adopted + self.closed_detached
    }
}

/// Counters per kind. A map, not a list: tests use thousands of kinds (one per run).
static KINDS: Mutex<BTreeMap<&'static str, KindStats>> = Mutex::new(BTreeMap::new());
static DETACHED_RUNNING: AtomicUsize = AtomicUsize::new(0);
static DETACHED_DONE: Event = Event::new();

fn update(kind: &'static str, f: impl FnOnce(&mut KindStats)) {
    let mut kinds = KINDS.lock().unwrap_or_else(|e| e.into_inner());
    f(kinds.entry(kind).or_default());
}

/// The counters of `kind` (all zero if it was never used).
///
/// # Examples
///
/// ```
/// let stats = anyscope_core::tracker::kind("never-used");
/// assert_eq!(stats.open(), 0);
/// ```
pub fn kind(kind: &str) -> KindStats {
    let kinds = KINDS.lock().unwrap_or_else(|e| e.into_inner());
    kinds.get(kind).copied().unwrap_or_default()
}

/// A snapshot of every kind's counters, and the number of detached cleanup tasks running.
///
/// # Examples
///
/// ```
/// let snap = anyscope_core::tracker::snapshot();
/// println!("{snap}");
/// ```
pub fn snapshot() -> Snapshot {
    let kinds = KINDS.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, s)| (*k, *s)).collect();
    Snapshot {
        kinds,
        detached_running: DETACHED_RUNNING.load(Ordering::Acquire),
        cleanups_lost: CLEANUPS_LOST.load(Ordering::Acquire),
    }
}

/// What [`snapshot`] returns.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    kinds: Vec<(&'static str, KindStats)>,
    detached_running: usize,
    cleanups_lost: usize,
}

impl Snapshot {
    /// Each kind with its counters.
    pub fn kinds(&self) -> impl Iterator<Item = (&'static str, KindStats)> + '_ {
        self.kinds.iter().copied()
    }

    /// Resources open, over all kinds.
    pub fn open(&self) -> u64 {
        self.kinds.iter().map(|(_, s)| s.open()).sum()
    }

    /// Resources lost, over all kinds.
    pub fn lost(&self) -> u64 {
        self.kinds.iter().map(|(_, s)| s.lost).sum()
    }

    /// Cleanup futures (of any kind, tracked or not) dropped before they finished, since the
    /// process started.
    pub fn cleanups_lost(&self) -> usize {
        self.cleanups_lost
    }

    /// Detached cleanup tasks still running.
    pub fn detached_running(&self) -> usize {
        self.detached_running
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<32} {:>7} {:>9} {:>8} {:>9} {:>5} {:>6} {:>7}",
            "kind", "opened", "explicit", "adopted", "detached", "lost", "failed", "panics"
        )?;
        for (kind, s) in &self.kinds {
            writeln!(
                f,
                "{:<32} {:>7} {:>9} {:>8} {:>9} {:>5} {:>6} {:>7}",
                kind,
                s.opened,
                s.closed_explicitly,
                s.closed_adopted,
                s.closed_detached,
                s.lost,
                s.close_failed,
                s.cleanup_panicked
            )?;
        }
        write!(
            f,
            "detached cleanup tasks running: {}, cleanups lost: {}",
            self.detached_running, self.cleanups_lost
        )
    }
}

/// One tracked resource: counted as opened when created, and exactly once as closed (one way
/// or another) or, if dropped before that, as lost.
#[derive(Debug)]
pub(crate) struct Token {
    kind: &'static str,
    done: bool,
}

impl Token {
    pub(crate) fn open(kind: &'static str) -> Self {
        update(kind, |s| s.opened += 1);
        Token { kind, done: false }
    }

    pub(crate) fn kind(&self) -> &'static str {
        self.kind
    }

    /// Counts the resource as closed by its owner.
    pub(crate) fn closed_explicitly(mut self) {
        self.done = true;
        update(self.kind, |s| s.closed_explicitly += 1);
    }

    /// Counts the resource as closed by the cleanup machinery (`via` says which).
    pub(crate) fn closed_via(mut self, via: Via) {
        self.done = true;
        update(self.kind, |s| match via {
            Via::Adopted => s.closed_adopted += 1,
            Via::Detached => s.closed_detached += 1,
        });
    }

    /// Counts a failed close (the resource still counts as closed, by `finish`).
    pub(crate) fn close_failed(&self, error: &dyn fmt::Display) {
        update(self.kind, |s| s.close_failed += 1);
        eprintln!("anyscope: closing a `{}` after its owner had gone failed: {error}", self.kind);
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if !self.done {
            if crate::frame::drop_cause() == Some(crate::resource::DropCause::Cancelled) {
                update(self.kind, |s| s.abandoned += 1);
            } else {
                update(self.kind, |s| s.lost += 1);
                eprintln!("anyscope: a `{}` was lost: no runtime could close it", self.kind);
            }
        }
    }
}

static CLEANUPS_LOST: AtomicUsize = AtomicUsize::new(0);

/// A cleanup future was dropped before it finished (no runtime could run it, or the runtime
/// shut down under it).
pub(crate) fn cleanup_lost(kind: &'static str) {
    if crate::frame::drop_cause() == Some(crate::resource::DropCause::Cancelled) {
        return; // abandoned on purpose by a bounding scope; counted per resource
    }
    CLEANUPS_LOST.fetch_add(1, Ordering::AcqRel);
    eprintln!("anyscope: a cleanup ({kind}) was dropped unfinished: no runtime could run it to its end");
}

pub(crate) fn cleanup_panicked(kind: &'static str, payload: &(dyn std::any::Any + Send)) {
    update(kind, |s| s.cleanup_panicked += 1);
    let msg = crate::runtime::panic_message(payload);
    eprintln!("anyscope: a cleanup ({kind}) panicked: {msg}; the other cleanups still run");
}

/// Waits until no detached cleanup task is running. `run` awaits this before it returns.
///
/// # Cancel safety
///
/// Cancel-safe: it only observes.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// anyscope_core::tracker::wait_detached().await;
/// # });
/// ```
pub async fn wait_detached() {
    loop {
        if DETACHED_RUNNING.load(Ordering::Acquire) == 0 {
            return;
        }
        let listener = DETACHED_DONE.listen();
        if DETACHED_RUNNING.load(Ordering::Acquire) == 0 {
            return;
        }
        listener.await;
    }
}

/// Runs `queue` in order on one detached task.
pub(crate) fn spawn_detached_cleanups(rt: &Handle, queue: Vec<Cleanup>) {
    DETACHED_RUNNING.fetch_add(1, Ordering::AcqRel);
    let state = FrameState {
        flags: TASK_ROOT | CLEANING | DETACHED,
        runtime: Some(rt.clone()),
        cleanups: queue.into(),
        ..FrameState::default()
    };
    let task = DetachedCleanups { state, _running: Running };
    drop(rt.spawn(Box::pin(task)));
}

struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        DETACHED_RUNNING.fetch_sub(1, Ordering::AcqRel);
        DETACHED_DONE.notify(usize::MAX);
    }
}

struct DetachedCleanups {
    state: FrameState,
    _running: Running,
}

impl Future for DetachedCleanups {
    type Output = TaskOutput;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<TaskOutput> {
        match crate::frame::drain(&mut self.state, cx) {
            Poll::Ready(()) => Poll::Ready(Box::new(())),
            Poll::Pending => Poll::Pending,
        }
    }
}
