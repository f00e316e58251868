use std::fmt;
use std::future::Future;

use super::{Completing, DropCause, Ending, dispose_close, drop_cause, settle};
use crate::tracker::Token;

/// How the body of a [`resource`] ended, as its teardown is told (Python's `__aexit__`
/// arguments, reduced to what a teardown decides on).
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

impl Exit {
    /// Whether the body returned `Ok`: the one case where a transaction commits.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::resource::Exit;
    /// assert!(Exit::Ok.is_ok());
    /// assert!(!Exit::Cancelled.is_ok());
    /// ```
    pub fn is_ok(self) -> bool {
        self == Exit::Ok
    }
}

/// A resource built from an async setup and an async teardown that is told how the body ended:
/// AnyIO's `@asynccontextmanager`, Python's `__aexit__`. A transaction commits on [`Exit::Ok`]
/// and rolls back otherwise — on an error, a cancellation or a panic — with no code in the body.
///
/// Setup, body and teardown share one error type `E` (your application's error, with `From`
/// impls so that `?` works in each): [`Resource::run`] returns `Result<R, E>`, not a nested
/// or three-parameter error. A setup that fails opens nothing and tears nothing down; its
/// error is returned as it is.
///
/// # Examples
///
/// asyncpg's `transfer_funds`, on a pool of connections (`Tx` stands for a connection type):
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::resource::{resource, Exit};
///
/// #[derive(Debug, Default)]
/// struct Tx(Vec<String>);
/// impl Tx {
///     async fn execute(&mut self, sql: &str) -> Result<(), std::io::Error> {
///         Ok(self.0.push(sql.to_owned()))
///     }
/// }
///
/// async fn transfer_funds(src: u32, dst: u32, amount: u32) -> Result<usize, std::io::Error> {
///     let begin = async { let mut tx = Tx::default(); tx.execute("BEGIN").await?; Ok(tx) };
///     let end = |mut tx: Tx, exit: Exit| async move {
///         tx.execute(if exit.is_ok() { "COMMIT" } else { "ROLLBACK" }).await
///     };
///     resource(begin, end).run(async |tx: &mut Tx| {
///         tx.execute(&format!("UPDATE accounts SET balance = balance - {amount} WHERE id = {src}")).await?;
///         tx.execute(&format!("UPDATE accounts SET balance = balance + {amount} WHERE id = {dst}")).await?;
///         Ok(tx.0.len())
///     }).await
/// }
///
/// assert_eq!(transfer_funds(1, 2, 100).await.unwrap(), 3); // BEGIN, two UPDATEs; then COMMIT
/// # });
/// ```
pub fn resource<S, T, E, TD, TF>(setup: S, teardown: TD) -> Resource<S, TD>
where
    S: Future<Output = Result<T, E>>,
    T: Send + 'static,
    TD: FnOnce(T, Exit) -> TF + Send + 'static,
    TF: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
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
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::resource::{resource, Exit};
    /// let res = resource(async { Ok::<u8, std::io::Error>(1) }, |_v: u8, _e: Exit| async { Ok(()) })
    ///     .with_kind("my-resource");
    /// # drop(res);
    /// ```
    pub fn with_kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the resource up, runs `body` with it, and tears it down, telling the teardown how the
    /// body ended.
    ///
    /// # Errors
    ///
    /// The setup's error (nothing else ran), else the body's error, else the teardown's. When
    /// both the body and the teardown fail, the body's error is returned and the teardown's is
    /// reported to the [`tracker`](crate::tracker) as a failed close (as for a teardown that
    /// runs after a cancellation, which no caller can receive).
    ///
    /// # Cancel safety
    ///
    /// If the returned future is dropped while the body runs, the teardown is adopted by the
    /// enclosing frame with [`Exit::Cancelled`] (or [`Exit::Panicked`] if the body panicked),
    /// and runs shielded before that frame completes; its error goes to the tracker. Dropped
    /// during the setup, nothing was opened and nothing is torn down. Dropped during the
    /// teardown, the rest of the teardown is handed over and still runs.
    pub async fn run<T, E, TF, R, B>(self, body: B) -> Result<R, E>
    where
        S: Future<Output = Result<T, E>>,
        T: Send + 'static,
        TD: FnOnce(T, Exit) -> TF + Send + 'static,
        TF: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
        B: AsyncFnOnce(&mut T) -> Result<R, E>,
    {
        let value = self.setup.await?;
        let mut open = Open { inner: Some((value, self.teardown, Token::open(self.kind))) };
        let out = body(open.value()).await;
        let (value, teardown, token) = open.inner.take().expect("taken once");
        let exit = if out.is_ok() { Exit::Ok } else { Exit::Error };
        let kind = token.kind();
        let body_failed = out.is_err();
        let done = move |r: &Result<(), E>, ending: Ending| match (r, ending) {
            // The caller receives the body's error; the teardown's is reported, not lost.
            (Err(e), Ending::Awaited) if body_failed => {
                token.close_failed(e);
                token.closed_explicitly();
            }
            _ => settle(token, r, ending),
        };
        let torn = Completing::new(kind, teardown(value, exit), done).await;
        match (out, torn) {
            (Ok(v), Ok(())) => Ok(v),
            (Err(body), _) => Err(body),
            (Ok(_), Err(teardown)) => Err(teardown),
        }
    }
}

/// The value between setup and teardown; dropped with the body (cancelled or panicked), it hands
/// the teardown to the innermost frame.
struct Open<T, TD, TF, E>
where
    T: Send + 'static,
    TD: FnOnce(T, Exit) -> TF + Send + 'static,
    TF: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    inner: Option<(T, TD, Token)>,
}

impl<T, TD, TF, E> Open<T, TD, TF, E>
where
    T: Send + 'static,
    TD: FnOnce(T, Exit) -> TF + Send + 'static,
    TF: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn value(&mut self) -> &mut T {
        &mut self.inner.as_mut().expect("open until torn down").0
    }
}

impl<T, TD, TF, E> Drop for Open<T, TD, TF, E>
where
    T: Send + 'static,
    TD: FnOnce(T, Exit) -> TF + Send + 'static,
    TF: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
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
