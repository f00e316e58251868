//! File errors that name their path.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What an [`io::Error`] of [`fs`](super) carries: the operation and the path; the OS's error
/// is its [`source`](std::error::Error::source). The `io::Error` keeps the OS error's kind.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let err = anyscope_core::fs::read("/no/such/file").await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.to_string().contains("/no/such/file"));
/// # });
/// ```
#[derive(Debug)]
pub struct PathError {
    op: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl PathError {
    /// The path the operation was on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was being done (`"opening"`, `"reading"`, ...).
    pub fn operation(&self) -> &'static str {
        self.op
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}` failed", self.op, self.path.display())
    }
}

impl std::error::Error for PathError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `e` so that it names `op` and `path`, keeping its kind.
pub(crate) fn at(op: &'static str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), PathError { op, path: path.to_owned(), source: e })
}
