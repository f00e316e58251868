use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// Why a scope was cancelled: AnyIO users ask "why was I cancelled?", and this answers.
///
/// # Examples
///
/// ```
/// use anyscope_core::{CancelReason, CancelScope};
///
/// let scope = CancelScope::new();
/// scope.cancel_with("shutting down");
/// assert_eq!(scope.cancel_reason(), Some(CancelReason::Explicit(Some("shutting down".into()))));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelReason {
    /// The scope's deadline passed.
    Deadline,
    /// [`cancel`](crate::CancelScope::cancel) or [`cancel_with`](crate::CancelScope::cancel_with)
    /// was called, with the message given to the latter.
    Explicit(Option<Arc<str>>),
    /// An enclosing scope was cancelled, for the reason inside.
    Parent(Box<CancelReason>),
}

impl CancelReason {
    /// Whether a deadline caused the cancellation (directly, or through a parent).
    pub fn is_deadline(&self) -> bool {
        match self {
            CancelReason::Deadline => true,
            CancelReason::Explicit(_) => false,
            CancelReason::Parent(r) => r.is_deadline(),
        }
    }

    /// The message given to `cancel_with`, if any (directly, or through a parent).
    pub fn message(&self) -> Option<&str> {
        match self {
            CancelReason::Explicit(m) => m.as_deref(),
            CancelReason::Deadline => None,
            CancelReason::Parent(r) => r.message(),
        }
    }
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelReason::Deadline => f.write_str("deadline exceeded"),
            CancelReason::Explicit(None) => f.write_str("cancelled"),
            CancelReason::Explicit(Some(m)) => write!(f, "cancelled: {m}"),
            CancelReason::Parent(r) => write!(f, "enclosing scope {r}"),
        }
    }
}

/// A cancel scope caught its own cancellation: returned by
/// [`CancelScope::try_run`](crate::CancelScope::try_run).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{checkpoint, CancelScope};
///
/// let scope = CancelScope::new();
/// scope.cancel_with("not needed");
/// let err = scope.try_run(checkpoint()).await.unwrap_err();
/// assert_eq!(err.reason().message(), Some("not needed"));
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancelled {
    reason: CancelReason,
}

impl Cancelled {
    pub(crate) fn new(reason: CancelReason) -> Self {
        Cancelled { reason }
    }

    /// Why the scope was cancelled.
    pub fn reason(&self) -> &CancelReason {
        &self.reason
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scope {}", self.reason)
    }
}

impl std::error::Error for Cancelled {}

/// A [`fail_after`](crate::fail_after) or [`fail_at`](crate::fail_at) deadline passed.
///
/// Only returned when the scope's own deadline caused the cancellation: an explicit cancel, or a
/// cancellation of an enclosing scope, is not a timeout.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use std::time::Duration;
/// let res = anyscope_core::fail_after(Duration::from_millis(1), std::future::pending::<()>()).await;
/// assert!(res.is_err());
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    deadline: Instant,
}

impl Elapsed {
    pub(crate) fn new(deadline: Instant) -> Self {
        Elapsed { deadline }
    }

    /// The deadline that passed.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}
