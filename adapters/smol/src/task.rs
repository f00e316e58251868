use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyscope_core::runtime::{JoinError, RawTask, TaskOutput};
use async_task::Task;

type Output = Result<TaskOutput, Box<dyn Any + Send>>;

/// An async-executor (or blocking) task as anyscope sees it: dropping detaches, `abort` cancels
/// and waits for the future to be dropped.
pub(crate) struct SmolTask {
    state: State,
}

enum State {
    Running(Task<Output>),
    /// Aborting: the cancel future, and whether the task had already finished (aborting a
    /// finished task keeps it finished).
    Aborting(Pin<Box<dyn Future<Output = Option<Output>> + Send>>, bool),
    Dropped,
    Done,
}

impl SmolTask {
    pub(crate) fn new(task: Task<Output>) -> Self {
        SmolTask { state: State::Running(task) }
    }

    /// A task that could not be spawned because its executor is gone: its future is dropped at
    /// once, and joining it reports a cancellation.
    pub(crate) fn dropped(fut: impl Future) -> Self {
        drop(fut);
        SmolTask { state: State::Dropped }
    }
}

fn into_result(out: Output) -> Result<TaskOutput, JoinError> {
    out.map_err(JoinError::panicked)
}

impl RawTask for SmolTask {
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<TaskOutput, JoinError>> {
        let res = match &mut self.state {
            State::Running(task) => into_result(std::task::ready!(Pin::new(task).poll(cx))),
            State::Aborting(cancel, _) => match std::task::ready!(cancel.as_mut().poll(cx)) {
                Some(out) => into_result(out),
                None => Err(JoinError::cancelled()),
            },
            State::Dropped => Err(JoinError::cancelled()),
            State::Done => panic!("anyscope-smol: task polled after it completed"),
        };
        self.state = State::Done;
        Poll::Ready(res)
    }

    fn abort(&mut self) {
        if let State::Running(_) = self.state {
            let State::Running(task) = std::mem::replace(&mut self.state, State::Done) else {
                return;
            };
            let finished = task.is_finished();
            self.state = State::Aborting(Box::pin(task.cancel()), finished);
        }
    }

    fn is_finished(&self) -> bool {
        match &self.state {
            State::Running(task) => task.is_finished(),
            State::Aborting(_, finished) => *finished,
            State::Dropped | State::Done => true,
        }
    }
}

impl Drop for SmolTask {
    fn drop(&mut self) {
        if let State::Running(task) = std::mem::replace(&mut self.state, State::Done) {
            task.detach();
        }
    }
}

impl fmt::Debug for SmolTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Running(_) => "running",
            State::Aborting(..) => "aborting",
            State::Dropped => "dropped",
            State::Done => "done",
        };
        f.debug_struct("SmolTask").field("state", &state).finish()
    }
}
