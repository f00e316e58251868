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
//! Close errors and panics in cleanups are counted too, as are errors and panics that nobody can
//! receive any more (an error of a task group dropped with the group, an `ExitStack` closed after
//! its owner had gone). The library never writes to standard error: the counters are the record,
//! and with the `tracing` feature each counted event is also a `tracing` event (target
//! `anyscope`, a field `event` naming it), as is each cancellation a scope catches, with its
//! reason.
//!
//! `run` waits for the detached cleanups of its own run ([`wait_detached_for`]) before it
//! returns, never for another run's.

mod event;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use event_listener::{Event, EventListener};

use crate::runtime::Handle;
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
    /// Closes cut off on purpose: by an expired grace period of the scope that ran them
    /// ([`CancelScope::set_cleanup_grace`](crate::CancelScope::set_cleanup_grace)).
    pub abandoned: u64,
    /// Closes that returned an error (the resource counts as closed).
    pub close_failed: u64,
    /// Closes (and other cleanups) that panicked, each counted once: the resource counts as
    /// neither closed nor lost, and no longer as [`open`](KindStats::open).
    pub cleanup_panicked: u64,
    /// Errors that nobody could receive any more and were dropped: an error of a task group
    /// dropped with the group, the error of a close whose caller was cut off.
    pub errors_unreceived: u64,
    /// Panics that nobody could resume and were dropped: a second panic in a task group, a
    /// panic of a task whose group was dropped.
    pub panics_unreceived: u64,
}

impl KindStats {
    /// Resources opened and not yet closed or lost.
    pub fn open(&self) -> u64 {
        self.opened.saturating_sub(
            self.closed_explicitly
                + self.closed_adopted
                + self.closed_detached
                + self.lost
                + self.abandoned
                + self.cleanup_panicked,
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
            "{:<32} {:>7} {:>9} {:>8} {:>9} {:>5} {:>9} {:>6} {:>7} {:>11}",
            "kind",
            "opened",
            "explicit",
            "adopted",
            "detached",
            "lost",
            "abandoned",
            "failed",
            "panics",
            "unreceived"
        )?;
        for (kind, s) in &self.kinds {
            writeln!(
                f,
                "{:<32} {:>7} {:>9} {:>8} {:>9} {:>5} {:>9} {:>6} {:>7} {:>11}",
                kind,
                s.opened,
                s.closed_explicitly,
                s.closed_adopted,
                s.closed_detached,
                s.lost,
                s.abandoned,
                s.close_failed,
                s.cleanup_panicked,
                s.errors_unreceived + s.panics_unreceived
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

    /// Counts a failed close nobody could receive (the resource still counts as closed).
    pub(crate) fn close_failed(&self, error: &dyn fmt::Display) {
        update(self.kind, |s| s.close_failed += 1);
        event::close_failed(self.kind, error);
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if !self.done {
            if counted_as_panicked() {
                update(self.kind, |s| s.cleanup_panicked += 1);
            } else if dropping_cancelled() {
                update(self.kind, |s| s.abandoned += 1);
                event::abandoned(self.kind);
            } else {
                update(self.kind, |s| s.lost += 1);
                event::lost(self.kind);
            }
        }
    }
}

static CLEANUPS_LOST: AtomicUsize = AtomicUsize::new(0);

/// A cleanup future was dropped before it finished (no runtime could run it, or the runtime
/// shut down under it).
pub(crate) fn cleanup_lost(kind: &'static str) {
    if dropping_cancelled() {
        return; // cut off on purpose by an expired cleanup grace period; counted per resource
    }
    CLEANUPS_LOST.fetch_add(1, Ordering::AcqRel);
    event::cleanup_lost(kind);
}

std::thread_local! {
    /// While a cleanup is polled ([`poll_cleanup`]) or what remains of a panicked one is dropped
    /// ([`drop_panicked`]): how many tokens counted themselves as panicked so far, and whether
    /// every token dropped unfinished counts so (the remains) or only those dropped while a
    /// panic unwinds (the poll).
    static CLEANUP: Cell<Option<(u64, bool)>> = const { Cell::new(None) };
}

/// Whether a token dropped unfinished now belongs to a cleanup that panicked; if so, notes that
/// it is counted (as panicked, by its caller).
fn counted_as_panicked() -> bool {
    CLEANUP
        .try_with(|c| match c.get() {
            Some((n, all)) if all || std::thread::panicking() => {
                c.set(Some((n + 1, all)));
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}

/// Runs `f` with the cleanup context set to `(0, all)`; returns `f`'s result and how many tokens
/// counted themselves as panicked during it. The count also reaches an enclosing context, so an
/// enclosing cleanup that panics with the same panic does not count it again.
fn in_cleanup<R>(all: bool, f: impl FnOnce() -> R) -> (R, u64) {
    /// Puts the enclosing context back, on unwinding too.
    struct Restore(Option<Option<(u64, bool)>>);
    impl Restore {
        fn restore(&mut self) -> u64 {
            let Some(prev) = self.0.take() else { return 0 };
            CLEANUP
                .try_with(|c| {
                    let n = c.get().map_or(0, |(n, _)| n);
                    c.set(prev.map(|(m, a)| (m + n, a)));
                    n
                })
                .unwrap_or(0)
        }
    }
    impl Drop for Restore {
        fn drop(&mut self) {
            self.restore();
        }
    }
    let mut restore = Restore(CLEANUP.try_with(|c| c.replace(Some((0, all)))).ok());
    let r = f();
    let n = restore.restore();
    (r, n)
}

/// Polls a cleanup (`f` is the poll, panics included): a resource token that a panic unwinding
/// out of the poll drops counts its resource as panicked. Returns the poll's result and how
/// many tokens did so, for [`drop_panicked`].
pub(crate) fn poll_cleanup<R>(f: impl FnOnce() -> R) -> (R, u64) {
    in_cleanup(false, f)
}

/// A cleanup of `kind` panicked with `payload`: `drop_rest` drops what remains of it (the
/// panicked future, never polled again, and what it owns). Each resource token released
/// unfinished — by the unwinding (`tokens`, from [`poll_cleanup`]) or by this drop — counts its
/// resource as panicked: once, and not also as lost. A cleanup that owned no token counts one
/// panic under `kind`. The cleanups after it still run.
///
/// A panic of `drop_rest` itself (a `Drop` of the remains) is swallowed: it is part of the same
/// failed cleanup, already counted.
pub(crate) fn drop_panicked(
    kind: &'static str,
    payload: &(dyn std::any::Any + Send),
    tokens: u64,
    drop_rest: impl FnOnce(),
) {
    let ((), more) = in_cleanup(true, || {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(drop_rest));
    });
    if tokens + more == 0 {
        update(kind, |s| s.cleanup_panicked += 1);
    }
    event::cleanup_panicked(kind, crate::runtime::panic_message(payload));
}

/// An error nobody can receive any more was dropped (counted under `kind` as
/// [`errors_unreceived`](KindStats::errors_unreceived)): the error of a close whose caller was
/// cut off, an error of a task group dropped with the group. Never panics, never prints.
pub(crate) fn unreceived_error(kind: &'static str, error: &dyn fmt::Display) {
    update(kind, |s| s.errors_unreceived += 1);
    event::unreceived_error(kind, error);
}

/// A panic nobody can resume any more was dropped (counted under `kind` as
/// [`panics_unreceived`](KindStats::panics_unreceived)). Never panics, never prints.
pub(crate) fn unreceived_panic(kind: &'static str, payload: &(dyn std::any::Any + Send)) {
    update(kind, |s| s.panics_unreceived += 1);
    event::unreceived_panic(kind, crate::runtime::panic_message(payload));
}

/// A cancel scope caught its cancellation and is dropping its body: with the `tracing` feature,
/// an event with the reason (`reason` is called only then: frames that return no reason do not
/// otherwise compute it); nothing without the feature (no counter: this is the normal path).
#[inline]
pub(crate) fn cancel_delivered(reason: impl FnOnce() -> Option<crate::cancel::CancelReason>) {
    #[cfg(feature = "tracing")]
    event::cancel_delivered(&reason().unwrap_or(crate::cancel::CancelReason::Explicit(None)));
    #[cfg(not(feature = "tracing"))]
    drop(reason);
}

/// Waits until no detached cleanup task is running, whatever run spawned it.
///
/// A `run` waits for its own detached cleanups only ([`wait_detached_for`]); this waits for
/// every run's, for a program that shuts down a runtime it drives itself.
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
pub fn wait_detached() -> WaitDetached {
    WaitDetached { run: None, listener: None }
}

/// Waits until no detached cleanup task spawned for the run of `rt` is running: what an
/// adapter's `run` awaits before it returns.
///
/// A run is identified by its [`Handle`]: the handle `run` gives its root
/// ([`with_runtime`](crate::runtime::with_runtime)) is carried by every frame and task under it,
/// and its clones are the same run. Cleanups detached under another run, or under a handle an
/// adapter's fallback made for code outside any frame, are not waited for.
///
/// # Cancel safety
///
/// Cancel-safe: it only observes.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let rt = anyscope_core::runtime::current();
/// anyscope_core::tracker::wait_detached_for(&rt).await;
/// # });
/// ```
pub fn wait_detached_for(rt: &Handle) -> WaitDetached {
    WaitDetached { run: Some(rt.clone()), listener: None }
}

/// The future of [`wait_detached`] and [`wait_detached_for`].
///
/// # Cancel safety
///
/// Cancel-safe: it only observes.
#[must_use = "futures do nothing unless polled"]
pub struct WaitDetached {
    /// The run waited for (its handle, kept so that its address names no other run meanwhile),
    /// or every run.
    run: Option<Handle>,
    listener: Option<EventListener>,
}

impl Future for WaitDetached {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if detached_running(this.run.as_ref()) == 0 {
                this.listener = None;
                return Poll::Ready(());
            }
            match &mut this.listener {
                // Register, then check the count again at the top of the loop.
                None => this.listener = Some(DETACHED_DONE.listen()),
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.listener = None;
                }
            }
        }
    }
}

impl fmt::Debug for WaitDetached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitDetached").field("all_runs", &self.run.is_none()).finish_non_exhaustive()
    }
}

/// Detached cleanup tasks running per run, keyed by [`run_key`]. Entries at zero are removed.
static RUNS: Mutex<BTreeMap<usize, usize>> = Mutex::new(BTreeMap::new());

/// A run's key: the address of its runtime object, shared by every clone of its handle. A
/// detached task and a waiter hold a clone, so no other run can have the address meanwhile.
fn run_key(rt: &Handle) -> usize {
    let runtime: &dyn crate::runtime::Runtime = &**rt;
    (runtime as *const dyn crate::runtime::Runtime).cast::<()>() as usize
}

fn detached_running(run: Option<&Handle>) -> usize {
    match run {
        None => DETACHED_RUNNING.load(Ordering::Acquire),
        Some(rt) => {
            let runs = RUNS.lock().unwrap_or_else(|e| e.into_inner());
            runs.get(&run_key(rt)).copied().unwrap_or(0)
        }
    }
}

/// One detached cleanup task (the frame layer's `frame::detached`), counted in total and for
/// its run until dropped.
pub(crate) struct Running {
    /// Dropped after the count is taken back: the run's key stays its own until then.
    rt: Handle,
}

impl Running {
    /// Counts one detached cleanup task of the run of `rt`, until the `Running` is dropped.
    pub(crate) fn start(rt: &Handle) -> Self {
        DETACHED_RUNNING.fetch_add(1, Ordering::AcqRel);
        let mut runs = RUNS.lock().unwrap_or_else(|e| e.into_inner());
        *runs.entry(run_key(rt)).or_insert(0) += 1;
        Running { rt: rt.clone() }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        {
            let mut runs = RUNS.lock().unwrap_or_else(|e| e.into_inner());
            let key = run_key(&self.rt);
            if let Some(n) = runs.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    runs.remove(&key);
                }
            }
        }
        DETACHED_RUNNING.fetch_sub(1, Ordering::AcqRel);
        DETACHED_DONE.notify(usize::MAX);
    }
}

/// How an adopted cleanup ended up being run, for the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// Polled by the frame that adopted it.
    Adopted,
    /// Run by a detached task on the ambient runtime.
    Detached,
}

std::thread_local! {
    /// Set while a frame drops what it holds because of a cancellation ([`dropping_for_cancel`]):
    /// a resource token dropped unfinished then was cut off on purpose (abandoned), not lost.
    static CANCEL_DROP: Cell<bool> = const { Cell::new(false) };
}

fn dropping_cancelled() -> bool {
    CANCEL_DROP.try_with(Cell::get).unwrap_or(false)
}

/// Runs `f`, which drops a body or cleanups because of a cancellation (a scope's delivery, an
/// expired cleanup grace period): a resource token `f` drops unfinished counts as abandoned,
/// not lost. The frame layer says so when it drops; the tracker never reads the frames.
pub(crate) fn dropping_for_cancel<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<bool>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(prev) = self.0 {
                let _ = CANCEL_DROP.try_with(|c| c.set(prev));
            }
        }
    }
    let _restore = Restore(CANCEL_DROP.try_with(|c| c.replace(true)).ok());
    f()
}
