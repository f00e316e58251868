//! Time on the ambient runtime's clock: [`sleep`], [`sleep_until`], [`current_time`].
//!
//! The clock is the runtime's: under tokio's paused test clock, time is virtual.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::frame;
use crate::runtime::{self, Handle, Timer};

/// The ambient runtime's current time.
///
/// # Panics
///
/// If no runtime is available (see [`NoRuntime`](crate::runtime::NoRuntime)).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let a = anyscope_core::current_time();
/// let b = anyscope_core::current_time();
/// assert!(b >= a);
/// # });
/// ```
pub fn current_time() -> Instant {
    runtime::current().now()
}

/// Sleeps for `duration`. A checkpoint: inside a cancelled scope it does not complete.
///
/// # Panics
///
/// If no runtime is available.
///
/// # Cancel safety
///
/// Nothing to lose: dropping it only drops the timer.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// anyscope_core::sleep(std::time::Duration::from_millis(1)).await;
/// # });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let rt = runtime::current();
    let deadline = rt.now().checked_add(duration);
    Sleep { rt, deadline, timer: None }
}

/// Sleeps until `deadline`. A checkpoint: inside a cancelled scope it does not complete.
///
/// # Panics
///
/// If no runtime is available.
///
/// # Cancel safety
///
/// Nothing to lose: dropping it only drops the timer.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{current_time, sleep_until};
/// sleep_until(current_time() + std::time::Duration::from_millis(1)).await;
/// # });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { rt: runtime::current(), deadline: Some(deadline), timer: None }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// # Cancel safety
///
/// Nothing to lose.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    rt: Handle,
    /// `None`: too far in the future to represent; never fires.
    deadline: Option<Instant>,
    timer: Option<Pin<Box<dyn Timer>>>,
}

impl Sleep {
    /// When the sleep ends (`None` if too far in the future to represent).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        let this = &mut *self;
        let timer = this.timer.get_or_insert_with(|| this.rt.timer(deadline));
        std::task::ready!(timer.as_mut().poll_expired(cx));
        // An enclosing deadline of this task at or before ours has passed as well: its scope
        // is cancelled in this poll (its frame looks at its timer once we return `Pending`),
        // and we do not complete first.
        if frame::own_deadline_passed_by(cx, deadline) {
            return Poll::Pending;
        }
        Poll::Ready(())
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).finish_non_exhaustive()
    }
}
