use std::error::Error;
use std::fmt;

/// A boxed error, what exit callbacks return.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// The error an [`ExitStack`](crate::ExitStack) close ends with, unwound exactly as CPython's
/// `AsyncExitStack`: the *last* unsuppressed failure; [`source`](Error::source) leads to the
/// failure it replaced (Python's `__context__`: the error that was propagating when it was
/// raised — the body's, or an earlier callback's), and so on. A callback that suppresses the
/// error propagating clears the chain: what failed before it is not reported.
///
/// Its `Display` is the last failure's own message; walk [`source`](Error::source) (or
/// [`errors`](ExitError::errors), oldest first) for the rest: nothing is printed twice.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::ExitStack;
/// let mut stack = ExitStack::new();
/// stack.push_callback(async || Err::<(), _>("first registered, runs last"));
/// stack.push_callback(async || Err::<(), _>("runs first"));
/// let err = stack.close().await.unwrap_err();
/// let msgs: Vec<String> = err.errors().map(|e| e.to_string()).collect();
/// assert_eq!(msgs, ["runs first", "first registered, runs last"]);
/// # });
/// ```
pub struct ExitError {
    error: BoxError,
    is_body: bool,
    earlier: Option<Box<ExitError>>,
}

impl ExitError {
    pub(crate) fn chain(earlier: Option<ExitError>, error: BoxError, is_body: bool) -> ExitError {
        ExitError { error, is_body, earlier: earlier.map(Box::new) }
    }

    /// The last failure itself (the one `Display` shows), to downcast it; its own `source()`
    /// is its cause, while this error's `source()` is its context.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let mut stack = anyscope_core::ExitStack::new();
    /// stack.push_callback(async || Err::<(), _>(std::io::Error::other("flush failed")));
    /// let err = stack.close().await.unwrap_err();
    /// assert!(err.last().downcast_ref::<std::io::Error>().is_some());
    /// # });
    /// ```
    pub fn last(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.error
    }

    /// Every failure still in the chain, oldest first (the body's error, if kept, comes first).
    pub fn errors(&self) -> impl Iterator<Item = &(dyn Error + Send + Sync + 'static)> {
        let all: Vec<_> = self.links().map(|l| &*l.error).collect();
        all.into_iter().rev()
    }

    /// How many failures there are.
    pub fn len(&self) -> usize {
        self.links().count()
    }

    /// This error, then its context, and so on (iterative: a chain of any length).
    fn links(&self) -> impl Iterator<Item = &ExitError> {
        std::iter::successors(Some(self), |l| l.earlier.as_deref())
    }

    /// Always false: an `ExitError` holds at least one failure.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The body's error, if it was passed to
    /// [`close_with_error`](crate::ExitStack::close_with_error) and no callback suppressed it.
    pub fn body_error(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        self.links().find(|l| l.is_body).map(|l| &*l.error)
    }

    /// Whether any exit callback or close failed (as opposed to only the body).
    pub fn has_exit_failures(&self) -> bool {
        self.links().any(|l| !l.is_body)
    }
}

impl Drop for ExitError {
    fn drop(&mut self) {
        // Unlinks the chain one link at a time: dropping a long chain never recurses deeply.
        let mut next = self.earlier.take();
        while let Some(mut link) = next {
            next = link.earlier.take();
        }
    }
}

impl fmt::Debug for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.errors()).finish()
    }
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // This level only: the earlier failures are reached through `source()`.
        fmt::Display::fmt(&self.error, f)
    }
}

impl Error for ExitError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.earlier {
            Some(e) => Some(&**e),
            None => self.error.source(),
        }
    }
}
