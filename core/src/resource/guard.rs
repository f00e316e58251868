use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{AsyncClose, Completing, dispose_close, settle};
use crate::tracker::Token;

/// A guard that owns a resource with an async close, derefs to it, and guarantees the close.
///
/// - `guard.close().await` closes it now and returns the close's result (the preferred path).
/// - Dropped unclosed — because the body was cancelled, panicked, returned early, or just went
///   past it — the guard hands its close to the innermost frame, which runs it shielded, in drop
///   order, before the frame completes. Errors of such a close are reported to the
///   [`tracker`](crate::tracker) (and, with the `tracing` feature, as `tracing` events), since
///   no caller is left to receive them.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{move_on_after, sleep, AsyncClose, Scoped};
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// struct Conn(Arc<Mutex<Vec<&'static str>>>);
/// impl AsyncClose for Conn {
///     type Error = std::convert::Infallible;
///     async fn close(self) -> Result<(), Self::Error> {
///         sleep(Duration::from_millis(5)).await; // an awaited close
///         self.0.lock().unwrap().push("closed");
///         Ok(())
///     }
/// }
///
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let l = log.clone();
/// let out = move_on_after(Duration::from_millis(10), async move {
///     let _conn = Scoped::new(Conn(l));
///     sleep(Duration::from_secs(60)).await; // cut off by the deadline
/// })
/// .await;
/// assert_eq!(out, None);
/// // The scope returned only after the close had run.
/// assert_eq!(*log.lock().unwrap(), ["closed"]);
/// # });
/// ```
pub struct Scoped<R: AsyncClose> {
    inner: Option<(R, Token)>,
}

impl<R: AsyncClose> Scoped<R> {
    /// Takes ownership of `res`, counted as opened in the tracker under `res.kind()`.
    pub fn new(res: R) -> Self {
        let token = Token::open(res.kind());
        Scoped { inner: Some((res, token)) }
    }

    /// Closes the resource now.
    ///
    /// # Errors
    ///
    /// The close's error.
    ///
    /// # Cancel safety
    ///
    /// If the returned future is dropped before the close finished — a cancellation delivered
    /// at one of its suspension points, a `select!`, its whole task dropped — the rest of the
    /// close is handed to the innermost frame, which finishes it shielded; its error, if any, is
    /// then reported to the tracker. A deadline alone does not shorten the close: it cuts the
    /// caller off, and the scope finishes the close before it returns. To *bound* a slow close,
    /// run it in a shielded [`CancelScope`](crate::CancelScope) with a deadline and a cleanup
    /// grace period ([`set_cleanup_grace`](crate::CancelScope::set_cleanup_grace)): what is
    /// left of the close when the grace period ends is abandoned (counted as `abandoned` in the
    /// tracker).
    pub fn close(mut self) -> Close<R> {
        let (res, token) = self.inner.take().expect("a Scoped guard holds its resource until consumed");
        let kind = token.kind();
        Close {
            inner: Completing::new(kind, res.close(), move |result: &Result<(), R::Error>, ending| {
                settle(token, result, ending)
            }),
            kind,
        }
    }

    /// Gives the resource up without closing it; the tracker counts it as closed explicitly
    /// (the caller takes over).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::{AsyncClose, Scoped};
    /// struct R;
    /// impl AsyncClose for R {
    ///     type Error = std::convert::Infallible;
    ///     async fn close(self) -> Result<(), Self::Error> { Ok(()) }
    /// }
    /// let r: R = Scoped::new(R).into_inner();
    /// # let _ = r;
    /// ```
    pub fn into_inner(mut self) -> R {
        let (res, token) = self.inner.take().expect("a Scoped guard holds its resource until consumed");
        token.closed_explicitly();
        res
    }
}

impl<R: AsyncClose> Deref for Scoped<R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.inner.as_ref().expect("a Scoped guard holds its resource until consumed").0
    }
}

impl<R: AsyncClose> DerefMut for Scoped<R> {
    fn deref_mut(&mut self) -> &mut R {
        &mut self.inner.as_mut().expect("a Scoped guard holds its resource until consumed").0
    }
}

impl<R: AsyncClose> Drop for Scoped<R> {
    fn drop(&mut self) {
        if let Some((res, token)) = self.inner.take() {
            dispose_close(token, res.close());
        }
    }
}

impl<R: AsyncClose> fmt::Debug for Scoped<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.inner.as_ref().map(|(_, t)| t.kind());
        f.debug_struct("Scoped").field("kind", &kind).finish_non_exhaustive()
    }
}

/// The future of [`Scoped::close`].
///
/// # Cancel safety
///
/// See [`Scoped::close`]: dropping it never abandons the close.
#[must_use = "futures do nothing unless polled"]
pub struct Close<R: AsyncClose> {
    inner: Completing<Result<(), R::Error>>,
    kind: &'static str,
}

impl<R: AsyncClose> Future for Close<R> {
    type Output = Result<(), R::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = std::task::ready!(Pin::new(&mut self.inner).poll(cx));
        Poll::Ready(out)
    }
}

impl<R: AsyncClose> fmt::Debug for Close<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Close").field("kind", &self.kind).finish_non_exhaustive()
    }
}
