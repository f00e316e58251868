//! Spawning tasks that carry the ambient runtime and hang in the scope tree.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::frame::{self, FrameState, Outcome, PLAIN_TASK, RootFramed, SKIP_REASON, TASK_ROOT};
use std::sync::Arc;

use crate::cancel::node::Node;
use crate::runtime::{self, Handle, JoinError, JoinHandle};

/// Spawns `fut` as a task on the ambient runtime.
///
/// The task carries the runtime (core functions work inside it) and is a child of the current
/// cancel scope: cancelling that scope cancels the task at its next suspension point, and the
/// handle then reports [`JoinError::is_cancelled`](crate::runtime::JoinError::is_cancelled).
/// Cleanups adopted by the task run before it completes. Dropping the handle detaches the task.
///
/// For tasks that must not outlive their parent, use a task group instead.
///
/// # Panics
///
/// If no runtime is available (see [`NoRuntime`](crate::runtime::NoRuntime)).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let h = anyscope_core::spawn(async { "done" });
/// assert_eq!(h.await.unwrap(), "done");
/// # });
/// ```
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_under(&runtime::current(), frame::spawn_parent(), fut)
}

/// Spawns `fut` on `rt` as a task whose root frame hangs under `parent` in the scope tree.
pub(crate) fn spawn_under<F>(rt: &Handle, parent: Option<Arc<Node>>, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let state = FrameState {
        // The task's handle reports a cancellation without its reason.
        flags: TASK_ROOT | SKIP_REASON | PLAIN_TASK,
        remote_parent: parent,
        runtime: Some(rt.clone()),
        ..FrameState::default()
    };
    let (task, join) = runtime::task_cell(TaskRoot { inner: RootFramed::new(state, None, fut) });
    rt.spawn_task(task);
    JoinHandle::new(join)
}

pin_project! {
    /// The root frame of a spawned task.
    pub(crate) struct TaskRoot<F: Future> {
        #[pin]
        inner: RootFramed<F>,
    }
}

impl<F: Future> Future for TaskRoot<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(|o| match o {
            Outcome::Done(v) => Ok(v),
            // The task's handle reports a cancellation without its reason.
            Outcome::Caught(_) => Err(JoinError::cancelled()),
        })
    }
}

impl<F: Future> fmt::Debug for TaskRoot<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRoot").finish_non_exhaustive()
    }
}
