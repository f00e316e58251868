//! Testing helpers that work on every runtime: AnyIO's `wait_all_tasks_blocked`, and one-line
//! assertions on the [`tracker`] that a test left nothing open and lost nothing.
//!
//! `#[anyscope::test]` (feature `macros`) runs a [`LeakCheck`] around every test it generates.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyscope_core::tracker;

/// Panics unless the resources of `kind` (an [`AsyncClose::kind`](crate::AsyncClose::kind))
/// are all closed: none open, none lost.
///
/// # Panics
///
/// When a resource of `kind` is open or was lost, with a message that gives the counters.
///
/// # Examples
///
/// ```
/// anyscope::test_util::assert_closed("a-kind-this-test-never-opened");
/// ```
#[track_caller]
pub fn assert_closed(kind: &str) {
    let s = tracker::kind(kind);
    assert!(
        s.open() == 0 && s.lost == 0,
        "anyscope: resources of kind `{kind}` are not all closed: {} open, {} lost \
         (opened {}, closed explicitly {}, by adoption {}, detached {}, abandoned {})",
        s.open(),
        s.lost,
        s.opened,
        s.closed_explicitly,
        s.closed_adopted,
        s.closed_detached,
        s.abandoned
    );
}

/// The tracker's counters at a point in time, to tell afterwards what was left open or lost
/// since then.
///
/// The tracker is process-wide: resources that tests running in parallel open are seen too. A
/// check is exact when no other test uses the same kinds at the same time (`#[anyscope::test]`
/// runs its checked tests one at a time for that reason).
///
/// # Examples
///
/// ```
/// let check = anyscope::test_util::LeakCheck::start();
/// // ... run a scenario ...
/// check.finish().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct LeakCheck {
    before: BTreeMap<&'static str, (u64, u64)>,
}

impl LeakCheck {
    /// Takes the counters now.
    pub fn start() -> Self {
        LeakCheck { before: counters() }
    }

    /// Compares with the counters now.
    ///
    /// # Errors
    ///
    /// [`Leaks`] when a kind has more resources open, or more lost, than at [`start`](Self::start).
    pub fn finish(self) -> Result<(), Leaks> {
        let kinds: Vec<_> = counters()
            .into_iter()
            .filter_map(|(kind, (open, lost))| {
                let (open0, lost0) = self.before.get(kind).copied().unwrap_or_default();
                let (open, lost) = (open.saturating_sub(open0), lost.saturating_sub(lost0));
                (open > 0 || lost > 0).then_some((kind, open, lost))
            })
            .collect();
        if kinds.is_empty() { Ok(()) } else { Err(Leaks { kinds }) }
    }
}

fn counters() -> BTreeMap<&'static str, (u64, u64)> {
    tracker::snapshot().kinds().map(|(kind, s)| (kind, (s.open(), s.lost))).collect()
}

/// What a [`LeakCheck`] found: per kind, how many more resources are open and lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaks {
    kinds: Vec<(&'static str, u64, u64)>,
}

impl Leaks {
    /// Each kind with the resources it left open and those it lost.
    pub fn kinds(&self) -> impl Iterator<Item = (&'static str, u64, u64)> + '_ {
        self.kinds.iter().copied()
    }
}

impl fmt::Display for Leaks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("resources left behind:")?;
        for (kind, open, lost) in &self.kinds {
            write!(f, " `{kind}`: {open} open, {lost} lost;")?;
        }
        f.write_str(" a resource is open when its guard was never closed nor dropped (leaked), lost when no runtime could close it")
    }
}

impl std::error::Error for Leaks {}

/// Waits until every other task is blocked (AnyIO's `wait_all_tasks_blocked`).
///
/// - On the deterministic runtime (`sim` feature): exact, see
///   [`anyscope_sim::wait_all_tasks_blocked`]; it resolves before the virtual clock moves.
/// - On tokio and smol: **a best effort**. The runtimes do not say whether their tasks are
///   blocked, so it yields to the scheduler 64 times, three times over, with a 1 ms sleep in
///   between. That is enough for tasks that only need a few turns to reach their wait, on an idle
///   machine; it proves nothing. Prefer an explicit signal (an [`Event`](crate::Event)) there.
///
/// # Panics
///
/// Outside a runtime.
///
/// # Cancel safety
///
/// Cancel-safe: it only waits. It is not a checkpoint (a cancelled scope is not delivered here).
///
/// # Examples
///
/// ```
/// # anyscope::run(async {
/// let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
/// let f = flag.clone();
/// let task = anyscope::spawn(async move { f.store(true, std::sync::atomic::Ordering::SeqCst) });
/// anyscope::test_util::wait_all_tasks_blocked().await;
/// task.await.unwrap();
/// # });
/// ```
pub fn wait_all_tasks_blocked() -> WaitAllTasksBlocked {
    let rt = anyscope_core::runtime::current();
    #[cfg(feature = "sim")]
    if rt.name() == "sim" {
        return WaitAllTasksBlocked(Box::pin(anyscope_sim::wait_all_tasks_blocked()));
    }
    let _ = rt;
    WaitAllTasksBlocked(Box::pin(async {
        for round in 0..3 {
            for _ in 0..64 {
                YieldNow(false).await;
            }
            if round < 2 {
                anyscope_core::sleep(Duration::from_millis(1)).await;
            }
        }
    }))
}

/// The future of [`wait_all_tasks_blocked`].
///
/// # Cancel safety
///
/// See [`wait_all_tasks_blocked`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitAllTasksBlocked(Pin<Box<dyn Future<Output = ()> + Send>>);

impl Future for WaitAllTasksBlocked {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for WaitAllTasksBlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitAllTasksBlocked").finish_non_exhaustive()
    }
}

/// Pending once (after asking to be polled again), then ready: a yield that is not a checkpoint.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
