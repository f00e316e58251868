//! [`wait_all_tasks_blocked`]: AnyIO's testing helper, exact on this runtime.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use crate::current;

/// Waits until every other task of the run is blocked: none is ready to run, no blocking call
/// is running, and the clock would have to move for anything to happen.
///
/// AnyIO's `wait_all_tasks_blocked` (Trio's): a test spawns tasks, awaits this, then checks
/// what they did up to their first wait. It resolves *before* the virtual clock jumps to the
/// next timer, so no deadline has passed meanwhile.
///
/// # Panics
///
/// When polled outside a run of this runtime ([`run`](crate::run)), with a message that says so.
///
/// # Cancel safety
///
/// Cancel-safe: it only observes. Dropped before it resolved, it leaves a registration that
/// wakes nobody useful once and is then forgotten.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// anyscope_sim::run(async {
///     let reached = Arc::new(AtomicBool::new(false));
///     let r = reached.clone();
///     let _task = anyscope_core::spawn(async move {
///         r.store(true, Ordering::SeqCst);
///         anyscope_core::sleep(std::time::Duration::from_secs(60)).await;
///     });
///     anyscope_sim::wait_all_tasks_blocked().await;
///     assert!(reached.load(Ordering::SeqCst)); // the task ran up to its sleep
/// });
/// ```
pub fn wait_all_tasks_blocked() -> WaitAllTasksBlocked {
    WaitAllTasksBlocked { flag: Arc::new(AtomicBool::new(false)) }
}

/// The future of [`wait_all_tasks_blocked`].
///
/// # Cancel safety
///
/// See [`wait_all_tasks_blocked`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitAllTasksBlocked {
    flag: Arc<AtomicBool>,
}

impl Future for WaitAllTasksBlocked {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let Some(shared) = current::current() else {
            panic!(
                "anyscope-sim: wait_all_tasks_blocked() was awaited outside anyscope_sim::run; \
                 on other runtimes use anyscope::test_util::wait_all_tasks_blocked()"
            )
        };
        shared.add_idle_waiter(&self.flag, cx.waker());
        Poll::Pending
    }
}

impl fmt::Debug for WaitAllTasksBlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitAllTasksBlocked").field("done", &self.flag.load(Ordering::Relaxed)).finish()
    }
}
