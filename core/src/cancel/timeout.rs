use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::Elapsed;
use super::node::SHIELD;
use crate::frame::{FrameState, Framed, Outcome, SKIP_REASON};

fn deadline_scope<F: Future>(after: Option<Duration>, at: Option<Instant>, body: F) -> Framed<F> {
    // `MoveOn` and `FailAt` report no reason.
    Framed::new(FrameState { deadline: at, flags: SKIP_REASON, ..FrameState::default() }, after, body)
}

/// Runs `body`, giving up on it after `duration`: `Some(value)`, or `None` if the deadline passed
/// first (the body was dropped at a suspension point and its cleanups ran).
///
/// The deadline counts from the first poll. Allocates nothing and arms no timer unless the body
/// suspends. Timeouts in a loop re-arm one timer: a deadline scope that ends leaves its timer to
/// the next one on the same thread and runtime, which resets it instead of making a new one.
///
/// # Panics
///
/// On its first poll, if no runtime is available (see [`NoRuntime`](crate::runtime::NoRuntime)).
///
/// # Cancel safety
///
/// Dropping the future drops the body inside the scope's frame and hands its pending cleanups
/// to the enclosing frame; nothing is lost.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{move_on_after, sleep};
/// use std::time::Duration;
/// assert_eq!(move_on_after(Duration::from_millis(5), sleep(Duration::from_secs(60))).await, None);
/// assert_eq!(move_on_after(Duration::from_secs(60), async { 7 }).await, Some(7));
/// # });
/// ```
pub fn move_on_after<F: Future>(duration: Duration, body: F) -> MoveOn<F> {
    MoveOn { inner: deadline_scope(Some(duration), None, body) }
}

/// Runs `body`, giving up on it at `deadline`. See [`move_on_after`].
///
/// # Panics
///
/// On its first poll, if no runtime is available.
///
/// # Cancel safety
///
/// As [`move_on_after`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{current_time, move_on_at, checkpoint};
/// // A deadline already past: the body runs to its first checkpoint.
/// assert_eq!(move_on_at(current_time(), checkpoint()).await, None);
/// # });
/// ```
pub fn move_on_at<F: Future>(deadline: Instant, body: F) -> MoveOn<F> {
    MoveOn { inner: deadline_scope(None, Some(deadline), body) }
}

/// Runs `body` with a timeout: `Ok(value)`, or `Err(Elapsed)` if the deadline passed first.
///
/// `Elapsed` is returned only when this scope's deadline caused the cancellation; if an
/// enclosing scope is cancelled too, that scope catches and this one is dropped with its body.
///
/// # Panics
///
/// On its first poll, if no runtime is available.
///
/// # Cancel safety
///
/// As [`move_on_after`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{fail_after, sleep};
/// use std::time::Duration;
/// let err = fail_after(Duration::from_millis(5), sleep(Duration::from_secs(60))).await.unwrap_err();
/// println!("{err}");
/// # });
/// ```
pub fn fail_after<F: Future>(duration: Duration, body: F) -> FailAt<F> {
    FailAt { inner: deadline_scope(Some(duration), None, body) }
}

/// Runs `body` with a deadline. See [`fail_after`].
///
/// # Panics
///
/// On its first poll, if no runtime is available.
///
/// # Cancel safety
///
/// As [`move_on_after`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{current_time, fail_at};
/// use std::time::Duration;
/// assert_eq!(fail_at(current_time() + Duration::from_secs(1), async { 3 }).await, Ok(3));
/// # });
/// ```
pub fn fail_at<F: Future>(deadline: Instant, body: F) -> FailAt<F> {
    FailAt { inner: deadline_scope(None, Some(deadline), body) }
}

/// Runs `body` shielded from the cancellation of enclosing scopes: it runs to completion, and
/// enclosing scopes deliver their cancellation at the first suspension point after it.
///
/// Allocates nothing. For a shield with a deadline of its own, use
/// [`CancelScope::shielded`](crate::CancelScope::shielded) with
/// [`set_deadline`](crate::CancelScope::set_deadline).
///
/// # Cancel safety
///
/// The shield protects against cancel scopes, not against the future being dropped by other
/// means (a `select!` that picks another branch): then the body is dropped and its cleanups are
/// handed to the enclosing frame, as for any scope.
///
/// While it is pending, the shield defers the delivery of the scope whose poll last polled it
/// (and, through it, of the scopes of that task around it), and of no other: polled once under
/// one scope and finished under another, or moved to another task, it defers the scope it is
/// polled in now, and the first one is released at that poll. A shield that a body left
/// pending and returned defers nothing around that body. Dropped anywhere, it releases what it
/// deferred.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{move_on_after, shield, sleep};
/// use std::time::Duration;
/// let out = move_on_after(Duration::from_millis(1), async {
///     shield(sleep(Duration::from_millis(20))).await;
///     "reached"
/// })
/// .await;
/// // The shielded sleep finished; the deadline was delivered at the next suspension point,
/// // which here is none: the body completed.
/// assert_eq!(out, Some("reached"));
/// # });
/// ```
pub fn shield<F: Future>(body: F) -> Shield<F> {
    Shield { inner: Framed::new(FrameState { flags: SHIELD, ..FrameState::default() }, None, body) }
}

pin_project! {
    /// The future of [`move_on_after`] and [`move_on_at`].
    ///
    /// # Cancel safety
    ///
    /// See [`move_on_after`].
    #[must_use = "futures do nothing unless polled"]
    pub struct MoveOn<F: Future> {
        #[pin]
        inner: Framed<F>,
    }
}

impl<F: Future> Future for MoveOn<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(|o| match o {
            Outcome::Done(v) => Some(v),
            Outcome::Caught(_) => None,
        })
    }
}

pin_project! {
    /// The future of [`fail_after`] and [`fail_at`].
    ///
    /// # Cancel safety
    ///
    /// See [`move_on_after`].
    #[must_use = "futures do nothing unless polled"]
    pub struct FailAt<F: Future> {
        #[pin]
        inner: Framed<F>,
    }
}

impl<F: Future> Future for FailAt<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let out = std::task::ready!(this.inner.as_mut().poll(cx));
        Poll::Ready(match out {
            Outcome::Done(v) => Ok(v),
            // Nothing but its own deadline can cancel a `fail_after` scope: it has no handle.
            Outcome::Caught(_) => Err(Elapsed::new(this.inner.deadline().unwrap_or_else(Instant::now))),
        })
    }
}

pin_project! {
    /// The future of [`shield`].
    ///
    /// # Cancel safety
    ///
    /// See [`shield`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Shield<F: Future> {
        #[pin]
        inner: Framed<F>,
    }
}

impl<F: Future> Future for Shield<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx).map(|o| match o {
            Outcome::Done(v) => v,
            // A shield without a handle or deadline has nothing that could cancel it.
            Outcome::Caught(_) => unreachable!("anyscope: a handle-less shield was cancelled"),
        })
    }
}

macro_rules! debug_named {
    ($($name:ident),*) => {$(
        impl<F: Future> fmt::Debug for $name<F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    )*};
}
debug_named!(MoveOn, FailAt, Shield);
