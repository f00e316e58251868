//! The errors of task groups: [`GroupError`] (what a group returns), [`GroupClosed`] (spawning
//! too late), [`ChildError`] (what a child's handle reports) and [`StartError`] (what
//! [`TaskGroup::start`](super::TaskGroup::start) reports).

use std::fmt;

use crate::cancel::CancelReason;

/// The errors of a task group, in the order they arrived: what
/// [`task_group`](super::task_group) returns when its body or a task failed.
///
/// The first error cancelled the group; the others are those that arrived while the group was
/// winding down (two tasks failing at once give two errors). Cancellations the group caused are
/// never errors. When the body itself was cancelled before it produced a value — by
/// [`TaskGroup::cancel`](super::TaskGroup::cancel), say — and nothing failed, the list is empty
/// and [`is_cancelled`](GroupError::is_cancelled) is true.
///
/// Most groups fail with one error: [`into_single`](GroupError::into_single) and
/// [`first`](GroupError::first) make that case short. As a [`std::error::Error`], its
/// [`source`](std::error::Error::source) is the first error.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::group::task_group;
///
/// let res: Result<(), _> = task_group(|tg| async move {
///     tg.spawn(async { Err::<(), _>("disk full") }).unwrap();
///     Ok(())
/// })
/// .await;
/// let err = res.unwrap_err();
/// assert_eq!(err.len(), 1);
/// assert_eq!(err.first(), Some(&"disk full"));
/// assert_eq!(err.into_single().unwrap(), "disk full");
/// # });
/// ```
pub struct GroupError<E> {
    errors: Vec<E>,
    cancelled: Option<CancelReason>,
}

impl<E> GroupError<E> {
    pub(crate) fn new(errors: Vec<E>, cancelled: Option<CancelReason>) -> Self {
        GroupError { errors, cancelled }
    }

    /// The number of errors (0 when the group was only cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there is no error: the body was cancelled and nothing failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert!(!err.is_empty());
    /// # });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The first error, the one that cancelled the group.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.first(), Some(&"a"));
    /// # });
    /// ```
    pub fn first(&self) -> Option<&E> {
        self.errors.first()
    }

    /// The first error, the others being dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.into_first(), Some("a"));
    /// # });
    /// ```
    pub fn into_first(self) -> Option<E> {
        self.errors.into_iter().next()
    }

    /// The error, when there is exactly one; the whole group error otherwise.
    ///
    /// # Errors
    ///
    /// Gives `self` back when there are zero or several errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.into_single().unwrap(), "a");
    /// # });
    /// ```
    pub fn into_single(mut self) -> Result<E, Self> {
        if self.errors.len() == 1 { Ok(self.errors.pop().expect("one error")) } else { Err(self) }
    }

    /// The errors, in arrival order.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.iter().collect::<Vec<_>>(), [&"a"]);
    /// # });
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, E> {
        self.errors.iter()
    }

    /// The errors, in arrival order.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.into_errors(), ["a"]);
    /// # });
    /// ```
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }

    /// Whether the body was cancelled before it produced a value (by
    /// [`TaskGroup::cancel`](super::TaskGroup::cancel), by a failure, or by an enclosing scope
    /// the group then outlived).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert!(!err.is_cancelled()); // the body returned Ok before the failure
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_some()
    }

    /// Why the body was cancelled, if it was.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.spawn(async { Err("a") }).unwrap();
    ///     Ok::<(), _>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.cancel_reason(), None); // the body returned before the failure
    /// # });
    /// ```
    pub fn cancel_reason(&self) -> Option<&CancelReason> {
        self.cancelled.as_ref()
    }
}

impl<E> IntoIterator for GroupError<E> {
    type Item = E;
    type IntoIter = std::vec::IntoIter<E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a, E> IntoIterator for &'a GroupError<E> {
    type Item = &'a E;
    type IntoIter = std::slice::Iter<'a, E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("errors", &self.errors)
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

/// Says what failed at this level only: the errors themselves are reached through
/// [`first`](GroupError::first) and [`iter`](GroupError::iter), and as
/// [`source`](std::error::Error::source) (the first one), never repeated in the message.
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::group::task_group;
/// use std::error::Error;
///
/// let err = task_group(|tg| async move {
///     tg.spawn(async { Err(std::io::Error::other("disk full")) }).unwrap();
///     Ok::<(), _>(())
/// })
/// .await
/// .unwrap_err();
/// assert_eq!(err.to_string(), "a task group failed");
/// assert_eq!(err.source().unwrap().to_string(), "disk full");
/// # });
/// ```
impl<E> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.errors.len(), &self.cancelled) {
            (0, Some(reason)) => write!(f, "a task group was cancelled: {reason}"),
            (0 | 1, _) => f.write_str("a task group failed"),
            (n, _) => write!(f, "a task group failed with {n} errors"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.errors.first().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Spawning into a task group that has finished (or was dropped).
///
/// A group stays open while its body runs and while any of its tasks runs (tasks may spawn
/// siblings); once it has returned, spawning is this error.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::group::{task_group, GroupClosed, TaskGroup};
///
/// let kept: TaskGroup<()> = task_group(|tg| async move { Ok(tg) }).await.unwrap();
/// let err = kept.spawn(async { Ok(()) }).unwrap_err();
/// assert_eq!(err, GroupClosed);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupClosed;

impl fmt::Display for GroupClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot spawn into a task group that has finished")
    }
}

impl std::error::Error for GroupClosed {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChildEnd {
    Failed,
    Cancelled,
    Panicked,
}

/// Why a task of a group produced no value: what awaiting its
/// [`ChildHandle`](super::ChildHandle) reports.
///
/// The task's error or panic itself belongs to the group (which returns the error, or resumes
/// the panic): awaiting a handle does not take it away.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::group::task_group;
///
/// let res: Result<(), _> = task_group(|tg| async move {
///     let h = tg.spawn(async { Err::<(), _>("boom") }).unwrap();
///     assert!(h.await.unwrap_err().is_failed());
///     Ok(())
/// })
/// .await;
/// assert_eq!(res.unwrap_err().into_single().unwrap(), "boom");
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChildError {
    end: ChildEnd,
}

impl ChildError {
    pub(crate) fn new(end: ChildEnd) -> Self {
        ChildError { end }
    }

    /// The task returned an error (which the group reports).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let _ = task_group(|tg| async move {
    ///     let h = tg.spawn(async { Err("x") }).unwrap();
    ///     assert!(h.await.unwrap_err().is_failed());
    ///     Ok::<(), &str>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn is_failed(&self) -> bool {
        self.end == ChildEnd::Failed
    }

    /// The task was cancelled (through its handle, the group, or an enclosing scope).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let _ = task_group(|tg| async move {
    ///     let h = tg.spawn(std::future::pending()).unwrap();
    ///     h.cancel();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    ///     Ok::<(), &str>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.end == ChildEnd::Cancelled
    }

    /// The task panicked (the group resumes the panic).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let _ = task_group(|tg| async move {
    ///     let h = tg.spawn(async { Ok(()) }).unwrap();
    ///     assert!(!h.await.is_err_and(|e| e.is_panic()));
    ///     Ok::<(), &str>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn is_panic(&self) -> bool {
        self.end == ChildEnd::Panicked
    }
}

impl fmt::Debug for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChildError::{:?}", self.end)
    }
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.end {
            ChildEnd::Failed => "the task failed; its task group reports the error",
            ChildEnd::Cancelled => "the task was cancelled",
            ChildEnd::Panicked => "the task panicked; its task group resumes the panic",
        })
    }
}

impl std::error::Error for ChildError {}

/// Why [`TaskGroup::start`](super::TaskGroup::start) returned no value.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::group::{task_group, StartError, TaskStatus};
///
/// let res: Result<(), _> = task_group(|tg| async move {
///     let err = tg.start(|_status: TaskStatus<u16>| async { Err("no port") }).await.unwrap_err();
///     assert!(matches!(err, StartError::Failed("no port")));
///     Ok(())
/// })
/// .await;
/// assert!(res.is_ok()); // the error went to the caller of `start`, not to the group
/// # });
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError<E> {
    /// The task returned this error before it reported ready.
    Failed(E),
    /// The task finished without reporting ready.
    NotStarted,
    /// The task was cancelled (by its group) before it reported ready.
    Cancelled,
    /// The group had finished: the task was not started.
    Closed,
}

impl<E> StartError<E> {
    /// The task's error, if it failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::{task_group, TaskStatus};
    ///
    /// let _ = task_group(|tg| async move {
    ///     let err = tg.start(|_s: TaskStatus<()>| async { Err("no") }).await.unwrap_err();
    ///     assert_eq!(err.into_inner(), Some("no"));
    ///     Ok::<(), &str>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            StartError::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the task returned an error before it reported ready.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::{task_group, TaskStatus};
    ///
    /// let _ = task_group(|tg| async move {
    ///     let err = tg.start(|_s: TaskStatus<()>| async { Err("no") }).await.unwrap_err();
    ///     assert!(err.is_failed());
    ///     Ok::<(), &str>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn is_failed(&self) -> bool {
        matches!(self, StartError::Failed(_))
    }
}

/// Says what failed at this level only: the task's error is the
/// [`source`](std::error::Error::source) (and [`into_inner`](StartError::into_inner)), never
/// repeated in the message.
impl<E> fmt::Display for StartError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Failed(_) => f.write_str("the task failed before it reported ready"),
            StartError::NotStarted => f.write_str("the task finished without reporting ready"),
            StartError::Cancelled => f.write_str("the task was cancelled before it reported ready"),
            StartError::Closed => f.write_str("cannot start a task in a task group that has finished"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for StartError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Failed(e) => Some(e),
            _ => None,
        }
    }
}
