use std::error::Error;
use std::fmt;
use std::future::Future;

use super::{Completing, DropCause, Ending, dispose_close, drop_cause, settle};
use crate::tracker::Token;

/// How the body of a [`resource`] ended, as its teardown is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The body returned `Ok`.
    Ok,
    /// The body returned `Err`.
    Error,
    /// The body was cancelled (dropped by a cancel scope, or its future dropped from outside).
    Cancelled,
    /// The body panicked.
    Panicked,
}

/// A resource built from an async setup and an async teardown that is told how the body ended:
/// AnyIO's `@asynccontextmanager`. A transaction commits on [`Exit::Ok`] and rolls back otherwise.
///
/// A setup that fails opens nothing and tears nothing down.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::resource::{resource, Exit};
///
/// let res = resource(
///     async { Ok::<_, std::io::Error>(Vec::<&str>::new()) }, // BEGIN
///     |tx: Vec<&str>, exit: Exit| async move {
///         match exit {
///             Exit::Ok => println!("COMMIT {tx:?}"),
///             _ => println!("ROLLBACK"),
///         }
///         Ok::<_, std::io::Error>(())
///     },
/// );
/// let n = res
///     .run(async |tx: &mut Vec<&str>| {
///         tx.push("UPDATE accounts ...");
///         Ok::<_, std::io::Error>(tx.len())
///     })
///     .await
///     .unwrap();
/// assert_eq!(n, 1);
/// # });
/// ```
pub fn resource<S, T, SE, TD, TF, TE>(setup: S, teardown: TD) -> Resource<S, TD>
where
    S: Future<Output = Result<T, SE>>,
    T: Send + 'static,
    TD: FnOnce(T, Exit) -> TF + Send + 'static,
    TF: Future<Output = Result<(), TE>> + Send + 'static,
    TE: fmt::Display + Send + 'static,
{
    Resource { setup, teardown, kind: std::any::type_name::<T>() }
}

/// A resource made by [`resource`]: run a body with it.
#[must_use = "a resource does nothing until `run`"]
pub struct Resource<S, TD> {
    setup: S,
    teardown: TD,
    kind: &'static str,
}

impl<S, TD> fmt::Debug for Resource<S, TD> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl<S, TD> Resource<S, TD> {
    /// Counts the resource in the tracker under `kind` (default: the value's type name).
    pub fn with_kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the resource up, runs `body` with it, and tears it down, telling the teardown how the
    /// body ended.
    ///
    /// # Errors
    ///
    /// [`ResourceError::Setup`] if the setup failed (nothing else ran); otherwise the body's
    /// and the teardown's errors, the body's first.
    ///
    /// # Cancel safety
    ///
    /// If the returned future is dropped while the body runs, the teardown is adopted by the
    /// enclosing frame with [`Exit::Cancelled`] (or [`Exit::Panicked`] if the body panicked),
    /// and runs shielded before that frame completes. Dropped during the setup, nothing was
    /// opened and nothing is torn down. Dropped during the teardown, the rest of the teardown is
    /// handed over and still runs.
    pub async fn run<T, SE, TF, TE, R, E, B>(self, body: B) -> Result<R, ResourceError<SE, E, TE>>
    where
        S: Future<Output = Result<T, SE>>,
        T: Send + 'static,
        TD: FnOnce(T, Exit) -> TF + Send + 'static,
        TF: Future<Output = Result<(), TE>> + Send + 'static,
        TE: fmt::Display + Send + 'static,
        B: AsyncFnOnce(&mut T) -> Result<R, E>,
    {
        let value = self.setup.await.map_err(ResourceError::Setup)?;
        let mut open = Open { inner: Some((value, self.teardown, Token::open(self.kind))) };
        let out = body(open.value()).await;
        let (value, teardown, token) = open.inner.take().expect("taken once");
        let exit = if out.is_ok() { Exit::Ok } else { Exit::Error };
        let kind = token.kind();
        let done = move |r: &Result<(), TE>, ending: Ending| settle(token, r, ending);
        let torn = Completing::new(kind, teardown(value, exit), done).await;
        match (out, torn) {
            (Ok(v), Ok(())) => Ok(v),
            (Err(body), Ok(())) => Err(ResourceError::Body(body)),
            (Ok(_), Err(teardown)) => Err(ResourceError::Teardown(teardown)),
            (Err(body), Err(teardown)) => Err(ResourceError::Both { body, teardown }),
        }
    }
}

/// The value between setup and teardown; dropped with the body (cancelled or panicked), it hands
/// the teardown to the innermost frame.
struct Open<T, TD, TF, TE>
where
    T: Send + 'static,
    TD: FnOnce(T, Exit) -> TF + Send + 'static,
    TF: Future<Output = Result<(), TE>> + Send + 'static,
    TE: fmt::Display + Send + 'static,
{
    inner: Option<(T, TD, Token)>,
}

impl<T, TD, TF, TE> Open<T, TD, TF, TE>
where
    T: Send + 'static,
    TD: FnOnce(T, Exit) -> TF + Send + 'static,
    TF: Future<Output = Result<(), TE>> + Send + 'static,
    TE: fmt::Display + Send + 'static,
{
    fn value(&mut self) -> &mut T {
        &mut self.inner.as_mut().expect("open until torn down").0
    }
}

impl<T, TD, TF, TE> Drop for Open<T, TD, TF, TE>
where
    T: Send + 'static,
    TD: FnOnce(T, Exit) -> TF + Send + 'static,
    TF: Future<Output = Result<(), TE>> + Send + 'static,
    TE: fmt::Display + Send + 'static,
{
    fn drop(&mut self) {
        if let Some((value, teardown, token)) = self.inner.take() {
            let exit = match drop_cause() {
                Some(DropCause::Panicked) => Exit::Panicked,
                _ => Exit::Cancelled,
            };
            dispose_close(token, teardown(value, exit));
        }
    }
}

/// The error of [`Resource::run`].
#[derive(Debug)]
pub enum ResourceError<SE, E, TE> {
    /// The setup failed: nothing was opened, the body did not run.
    Setup(SE),
    /// The body failed; the teardown succeeded.
    Body(E),
    /// The body succeeded (its value is dropped); the teardown failed.
    Teardown(TE),
    /// Both failed; the body's error first.
    Both {
        /// The body's error.
        body: E,
        /// The teardown's error.
        teardown: TE,
    },
}

impl<SE: fmt::Display, E: fmt::Display, TE: fmt::Display> fmt::Display for ResourceError<SE, E, TE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceError::Setup(e) => write!(f, "setting the resource up failed: {e}"),
            ResourceError::Body(e) => write!(f, "{e}"),
            ResourceError::Teardown(e) => write!(f, "tearing the resource down failed: {e}"),
            ResourceError::Both { body, teardown } => {
                write!(f, "{body}; then tearing the resource down failed too: {teardown}")
            }
        }
    }
}

impl<SE, E, TE> Error for ResourceError<SE, E, TE>
where
    SE: Error + 'static,
    E: Error + 'static,
    TE: Error + 'static,
{
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ResourceError::Setup(e) => Some(e),
            ResourceError::Body(e) | ResourceError::Both { body: e, .. } => Some(e),
            ResourceError::Teardown(e) => Some(e),
        }
    }
}
