use std::error::Error;
use std::fmt;

use super::{AsyncClose, Scoped};

/// Runs `body` with `res` and closes `res` after: Python's `async with res: body`.
///
/// Returns the body's value once the close succeeded. If the body fails, the close still runs,
/// and a close error never hides the body's error: both are reported, the body's first.
///
/// # Errors
///
/// [`UsingError::Body`], [`UsingError::Close`], or [`UsingError::Both`].
///
/// # Cancel safety
///
/// If the returned future is dropped (cancelled) while the body runs, the resource's guard is
/// dropped with it and its close is adopted by the enclosing frame: it still runs, shielded,
/// before that frame completes. The close itself is not shielded while `using` awaits it: a
/// cancellation cuts the caller off at one of its suspension points, and the rest of the
/// close is handed over the same way and runs to its end. A close error the cut-off caller
/// can no longer receive is counted in the [`tracker`](crate::tracker) (`close_failed`).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{using, AsyncClose};
///
/// struct File(Vec<u8>);
/// impl AsyncClose for File {
///     type Error = std::io::Error;
///     async fn close(self) -> Result<(), std::io::Error> { Ok(()) }
/// }
///
/// let n = using(File(vec![1, 2, 3]), async |f: &mut File| {
///     f.0.push(4);
///     Ok::<_, std::io::Error>(f.0.len())
/// })
/// .await
/// .unwrap();
/// assert_eq!(n, 4);
/// # });
/// ```
pub async fn using<R, T, E, F>(res: R, body: F) -> Result<T, UsingError<E, R::Error>>
where
    R: AsyncClose,
    F: AsyncFnOnce(&mut R) -> Result<T, E>,
{
    let mut guard = Scoped::new(res);
    let out = body(&mut guard).await;
    let closed = guard.close().await;
    match (out, closed) {
        (Ok(v), Ok(())) => Ok(v),
        (Err(body), Ok(())) => Err(UsingError::Body(body)),
        (Ok(_), Err(close)) => Err(UsingError::Close(close)),
        (Err(body), Err(close)) => Err(UsingError::Both { body, close }),
    }
}

/// The error of [`using`]: the body failed, the close failed, or both did.
///
/// [`UsingError::Body`] is transparent (the body's own message and `source()`); the others
/// say what failed at this level and lead to the cause through `source()`, never repeating
/// it in their message.
#[derive(Debug)]
#[non_exhaustive]
pub enum UsingError<E, C> {
    /// The body failed; the close succeeded.
    Body(E),
    /// The body succeeded (its value is dropped); the close failed.
    Close(C),
    /// Both failed. The body's error comes first and is the `source()`; the close's is
    /// [`close_error`](UsingError::close_error).
    Both {
        /// The body's error.
        body: E,
        /// The close's error.
        close: C,
    },
}

impl<E, C> UsingError<E, C> {
    /// The body's error, if the body failed.
    pub fn body_error(&self) -> Option<&E> {
        match self {
            UsingError::Body(e) | UsingError::Both { body: e, .. } => Some(e),
            UsingError::Close(_) => None,
        }
    }

    /// The close's error, if the close failed.
    pub fn close_error(&self) -> Option<&C> {
        match self {
            UsingError::Close(c) | UsingError::Both { close: c, .. } => Some(c),
            UsingError::Body(_) => None,
        }
    }
}

impl<E: fmt::Display, C: fmt::Display> fmt::Display for UsingError<E, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsingError::Body(e) => fmt::Display::fmt(e, f),
            UsingError::Close(_) => f.write_str("closing the resource failed"),
            UsingError::Both { .. } => f.write_str("closing the resource failed after the body failed"),
        }
    }
}

impl<E, C> Error for UsingError<E, C>
where
    E: Error + 'static,
    C: Error + 'static,
{
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            UsingError::Body(e) => e.source(),
            UsingError::Both { body, .. } => Some(body),
            UsingError::Close(c) => Some(c),
        }
    }
}
