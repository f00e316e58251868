//! [`TaskGroup`]: the handle a group's body gets, to spawn and start tasks.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::child::{ChildHandle, Joiners, ToGroup, spawn_child, spawn_soon};
use super::error::GroupClosed;
use super::shared::Shared;
use super::start::{Start, TaskStatus};
use crate::cancel::CancelReason;

/// A handle to a task group: spawn tasks into it, start tasks and wait until they are ready,
/// cancel it.
///
/// The body of [`task_group`](super::task_group) receives one. It is cheap to clone (one
/// reference count) and `Send + Sync`, so tasks can spawn siblings. A handle kept after its
/// group finished only gives [`GroupClosed`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::group::task_group;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
///
/// let n = Arc::new(AtomicU32::new(0));
/// let n2 = n.clone();
/// let res = task_group(|tg| async move {
///     let tg2 = tg.clone();
///     tg.spawn(async move {
///         // A task spawns a sibling: the group waits for both.
///         tg2.spawn(async move { n2.fetch_add(1, Ordering::Relaxed); Ok(()) }).unwrap();
///         Ok(())
///     })
///     .unwrap();
///     Ok::<(), String>(())
/// })
/// .await;
/// assert!(res.is_ok());
/// assert_eq!(n.load(Ordering::Relaxed), 1);
/// # });
/// ```
pub struct TaskGroup<E> {
    pub(crate) shared: Arc<Shared<E>>,
}

impl<E> Clone for TaskGroup<E> {
    fn clone(&self) -> Self {
        TaskGroup { shared: Arc::clone(&self.shared) }
    }
}

impl<E: fmt::Debug + Send + 'static> TaskGroup<E> {
    /// Spawns `fut` as a task of the group (AnyIO's `start_soon`), on the group's runtime.
    ///
    /// The task runs under the group's cancel scope. If it returns `Err`, the error cancels
    /// the group and is returned by the group. The returned [`ChildHandle`] cancels this task
    /// alone or awaits how it ended; dropping it is fine (the group still waits for the task).
    /// A task spawned into a cancelled group runs until its first suspension point and is
    /// cancelled there. For a task you will not cancel alone or await,
    /// [`start_soon`](TaskGroup::start_soon) is cheaper.
    ///
    /// # Errors
    ///
    /// [`GroupClosed`] if the group has finished (or was dropped); `fut` is then dropped
    /// unpolled. While the body or any task of the group runs, the group is open.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    ///
    /// let res = task_group(|tg| async move {
    ///     let h = tg.spawn(async { Ok(()) }).unwrap();
    ///     assert!(h.await.is_ok());
    ///     Ok::<(), String>(())
    /// })
    /// .await;
    /// assert!(res.is_ok());
    /// # });
    /// ```
    pub fn spawn<F>(&self, fut: F) -> Result<ChildHandle, GroupClosed>
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let node = spawn_child(&self.shared, || fut, ToGroup)?;
        Ok(ChildHandle::new(node, Arc::clone(&self.shared) as Arc<dyn Joiners>))
    }

    /// Spawns `fut` as a task of the group with no handle: [`spawn`](TaskGroup::spawn) for a
    /// task you will not cancel alone or await (AnyIO's `start_soon` returns nothing either).
    ///
    /// Everything else is as for `spawn`: the task runs under the group's cancel scope, its
    /// error cancels the group and is returned by it, the group waits for it. It is cheaper: a
    /// task that completes without suspending allocates only what the runtime needs for any
    /// task (its cell) and the boxed future, where `spawn` adds the task's scope node, which the
    /// handle reaches it through (a task made here gets its node when it first suspends).
    ///
    /// # Errors
    ///
    /// [`GroupClosed`] if the group has finished (or was dropped); `fut` is then dropped
    /// unpolled.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    ///
    /// let n = Arc::new(AtomicU32::new(0));
    /// let res = task_group(|tg| {
    ///     let n = n.clone();
    ///     async move {
    ///         for _ in 0..10 {
    ///             let n = n.clone();
    ///             tg.start_soon(async move {
    ///                 n.fetch_add(1, Ordering::Relaxed);
    ///                 Ok(())
    ///             })
    ///             .unwrap();
    ///         }
    ///         Ok::<(), String>(())
    ///     }
    /// })
    /// .await;
    /// assert!(res.is_ok());
    /// assert_eq!(n.load(Ordering::Relaxed), 10);
    /// # });
    /// ```
    pub fn start_soon<F>(&self, fut: F) -> Result<(), GroupClosed>
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        spawn_soon(&self.shared, fut)
    }

    /// Starts a task and waits until it reports ready (AnyIO's and Trio's `start`): returns
    /// the value the task passed to [`TaskStatus::started`].
    ///
    /// `f` receives the task's [`TaskStatus`] and returns the task's future. Until the task
    /// reports ready, its end belongs to the caller: an error is returned as
    /// [`StartError::Failed`](super::StartError::Failed) (not to the group, which goes on), a
    /// panic is resumed in the caller, finishing without reporting is
    /// [`StartError::NotStarted`](super::StartError::NotStarted). After the report, the task
    /// is an ordinary task of the group.
    ///
    /// # Errors
    ///
    /// The [`StartError`](super::StartError) cases above, and `Closed` if the group has finished.
    ///
    /// # Panics
    ///
    /// Resumes the task's panic if it panicked before it reported ready.
    ///
    /// # Cancel safety
    ///
    /// If the caller is cancelled while the task has not reported ready, the task is cancelled
    /// and the scope that cancelled the caller completes only after the task has finished; see
    /// [`Start`].
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::{task_group, StartError, TaskStatus};
    ///
    /// let res: Result<(), &str> = task_group(|tg| async move {
    ///     let v = tg.start(|s: TaskStatus<&str>| async move { s.started("ready"); Ok(()) }).await;
    ///     assert_eq!(v.unwrap(), "ready");
    ///     let e = tg.start(|_s: TaskStatus<()>| async { Ok(()) }).await.unwrap_err();
    ///     assert!(matches!(e, StartError::NotStarted));
    ///     Ok(())
    /// })
    /// .await
    /// .map_err(|e| e.into_first().unwrap());
    /// assert!(res.is_ok());
    /// # });
    /// ```
    pub fn start<V, F, Fut>(&self, f: F) -> Start<V, E, F>
    where
        F: FnOnce(TaskStatus<V>) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        V: Send + 'static,
    {
        Start::new(Arc::clone(&self.shared), f)
    }

    /// Cancels the group: its body and every task, at their next suspension points. The group
    /// still waits for all of them. If the body is cancelled before it returns, the group
    /// returns a [`GroupError`](super::GroupError) that
    /// [`is_cancelled`](super::GroupError::is_cancelled) (with the errors of tasks, if any).
    ///
    /// To stop a group quietly, run it in a [`CancelScope`](crate::CancelScope) and cancel that:
    /// the scope then returns `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{group::task_group, sleep};
    /// use std::time::Duration;
    ///
    /// let res = task_group(|tg| async move {
    ///     tg.spawn(async { sleep(Duration::from_secs(3600)).await; Ok(()) }).unwrap();
    ///     tg.cancel();
    ///     sleep(Duration::from_secs(3600)).await;
    ///     Ok::<(), String>(())
    /// })
    /// .await;
    /// let err = res.unwrap_err();
    /// assert!(err.is_cancelled() && err.is_empty());
    /// # });
    /// ```
    pub fn cancel(&self) {
        self.shared.scope.node().cancel(CancelReason::Explicit(None));
    }

    /// Like [`cancel`](TaskGroup::cancel), with a message the cancellation carries.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{group::task_group, checkpoint};
    ///
    /// let err = task_group(|tg| async move {
    ///     tg.cancel_with("shutting down");
    ///     checkpoint().await;
    ///     Ok::<(), ()>(())
    /// })
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.cancel_reason().unwrap().message(), Some("shutting down"));
    /// # });
    /// ```
    pub fn cancel_with(&self, reason: impl Into<Arc<str>>) {
        self.shared.scope.node().cancel(CancelReason::Explicit(Some(reason.into())));
    }

    /// Whether the group was cancelled (by [`cancel`](TaskGroup::cancel), a failure, or an
    /// enclosing scope that the group noticed).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let _ = anyscope_core::group::task_group(|tg| async move {
    ///     assert!(!tg.is_cancelled());
    ///     Ok::<(), ()>(())
    /// })
    /// .await;
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.shared.scope.cancel_called()
    }

    /// Whether the group has finished (or was dropped): spawning gives [`GroupClosed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::group::task_group;
    /// let tg = task_group(|tg| async move {
    ///     assert!(!tg.is_closed());
    ///     Ok::<_, ()>(tg)
    /// })
    /// .await
    /// .unwrap();
    /// assert!(tg.is_closed());
    /// # });
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.shared, f)
    }
}
