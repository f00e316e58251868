use std::error::Error;
use std::fmt;

/// A boxed error, what exit callbacks return.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// The failures of an [`ExitStack`](crate::ExitStack) close: every failing callback's error, in
/// the order they ran, and the body's error if it was not suppressed.
///
/// The error itself is the *last* failure; [`source`](Error::source) leads to the one before, and
/// so on back to the body's error — as Python chains exceptions raised during exits.
/// [`errors`](ExitError::errors) lists them oldest first.
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

    /// Every failure, oldest first (the body's error, if kept, comes first).
    pub fn errors(&self) -> impl Iterator<Item = &(dyn Error + Send + Sync + 'static)> {
        let mut all = Vec::new();
        let mut link = Some(self);
        while let Some(l) = link {
            all.push(&*l.error);
            link = l.earlier.as_deref();
        }
        all.into_iter().rev()
    }

    /// How many failures there are.
    pub fn len(&self) -> usize {
        1 + self.earlier.as_ref().map_or(0, |e| e.len())
    }

    /// Always false: an `ExitError` holds at least one failure.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The body's error, if it was passed to
    /// [`close_with_error`](crate::ExitStack::close_with_error) and no callback suppressed it.
    pub fn body_error(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        let mut link = Some(self);
        while let Some(l) = link {
            if l.is_body {
                return Some(&*l.error);
            }
            link = l.earlier.as_deref();
        }
        None
    }

    /// Whether any exit callback or close failed (as opposed to only the body).
    pub fn has_exit_failures(&self) -> bool {
        !self.is_body || self.earlier.as_ref().is_some_and(|e| e.has_exit_failures())
    }
}

impl fmt::Debug for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.errors()).finish()
    }
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        let n = self.len();
        if n > 1 {
            write!(f, " (and {} earlier failure{})", n - 1, if n > 2 { "s" } else { "" })?;
        }
        Ok(())
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
