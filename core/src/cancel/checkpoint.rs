use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::frame::{self, RegionTicket};

/// Whether the current scope is effectively cancelled, without yielding.
///
/// True when the innermost scope, or an enclosing one up to the nearest shield, has been
/// cancelled and the cancellation is waiting to be delivered at the next suspension point.
/// Outside any anyscope frame it is `false`.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{is_cancelled, CancelScope};
/// let scope = CancelScope::new();
/// scope.cancel();
/// let seen = scope.run(async { is_cancelled() }).await;
/// assert_eq!(seen, Some(true));
/// # });
/// ```
pub fn is_cancelled() -> bool {
    frame::cancelled_here()
}

/// A checkpoint: yields to the runtime once, and is a point where a pending cancellation is
/// delivered.
///
/// A CPU-bound loop that calls it is cancellable; one that never suspends cannot be, as no
/// future can be dropped while it runs.
///
/// # Cancel safety
///
/// Nothing to lose: inside an effectively cancelled scope it never completes, and the scope
/// drops it.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{checkpoint, move_on_after};
/// use std::time::Duration;
/// let out = move_on_after(Duration::from_millis(5), async {
///     loop {
///         std::hint::black_box(0u64.wrapping_add(1)); // some CPU work
///         checkpoint().await;
///     }
/// })
/// .await;
/// assert_eq!(out, None::<()>);
/// # });
/// ```
pub fn checkpoint() -> Checkpoint {
    Checkpoint { yielded: false }
}

/// A delivery point that does not yield unless cancelled (Trio's
/// `checkpoint_if_cancelled`): resolves at once when the scope is not cancelled.
///
/// # Cancel safety
///
/// As [`checkpoint`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// anyscope_core::checkpoint_if_cancelled().await;
/// # });
/// ```
pub fn checkpoint_if_cancelled() -> CheckpointIfCancelled {
    CheckpointIfCancelled { _priv: () }
}

/// Yields once and is never a delivery point, even inside a cancelled scope (Trio's
/// `cancel_shielded_checkpoint`): while it waits for its turn it counts as an active shield, so
/// enclosing scopes of the task defer delivery until it has resumed.
///
/// # Cancel safety
///
/// Nothing to lose. Only a cancel scope can no longer drop it; something else (a `select!`
/// that picks another branch) still can, and then it simply ends its shielded region.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// anyscope_core::cancel_shielded_checkpoint().await;
/// # });
/// ```
pub fn cancel_shielded_checkpoint() -> CancelShieldedCheckpoint {
    CancelShieldedCheckpoint { yielded: false, region: RegionTicket::default() }
}

/// The earliest deadline that applies to the current code: the minimum of the deadlines of the
/// enclosing scopes up to the nearest shield (including the shield's own), `None` if there is
/// none.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{current_effective_deadline, move_on_after};
/// use std::time::Duration;
/// assert_eq!(current_effective_deadline(), None);
/// let inside = move_on_after(Duration::from_secs(5), async { current_effective_deadline() }).await;
/// assert!(inside.unwrap().is_some());
/// # });
/// ```
pub fn current_effective_deadline() -> Option<Instant> {
    frame::effective_deadline()
}

/// The future of [`checkpoint`].
///
/// # Cancel safety
///
/// Nothing to lose: see [`checkpoint`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Checkpoint {
    yielded: bool,
}

impl Future for Checkpoint {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if frame::cancelled_for(cx) {
            // The cancelled scope sees this `Pending` and drops us: no wake-up needed (a poll
            // through a foreign `Context` was woken by `cancelled_for`).
            return Poll::Pending;
        }
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        frame::yield_now(cx);
        Poll::Pending
    }
}

/// The future of [`checkpoint_if_cancelled`].
///
/// # Cancel safety
///
/// Nothing to lose: see [`checkpoint`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct CheckpointIfCancelled {
    _priv: (),
}

impl Future for CheckpointIfCancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if frame::cancelled_for(cx) { Poll::Pending } else { Poll::Ready(()) }
    }
}

/// The future of [`cancel_shielded_checkpoint`].
///
/// # Cancel safety
///
/// See [`cancel_shielded_checkpoint`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct CancelShieldedCheckpoint {
    yielded: bool,
    /// Counts as an active region in the frames of the poll that yielded, from the yield until
    /// it resumes or is dropped (wherever that happens), so that no enclosing scope delivers
    /// at this suspension point. Polled outside any frame, it counts nowhere.
    region: RegionTicket,
}

impl Future for CancelShieldedCheckpoint {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            self.region.lower();
            return Poll::Ready(());
        }
        self.yielded = true;
        // Counting now reaches the innermost frame and every enclosing one of the task, which
        // check the count when they see our `Pending`. The ticket lowers exactly these counts
        // when it resumes or is dropped, wherever that happens.
        self.region.raise();
        frame::yield_now(cx);
        Poll::Pending
    }
}
