//! Tasks: the shared cell of one spawned task (its future, its outcome, its joiner) and the
//! handle anyscope holds ([`SimTask`]).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};

use anyscope_core::runtime::{BoxFuture, JoinError, RawTask, TaskOutput};

use crate::executor::Shared;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One task (async or blocking). The future is touched only by the executor thread (polled,
/// or dropped when aborted or at shutdown); the outcome by whoever finishes the task and by
/// the handle.
pub(crate) struct TaskCell {
    pub(crate) id: u64,
    pub(crate) fut: Mutex<Option<BoxFuture<TaskOutput>>>,
    join: Mutex<Join>,
}

#[derive(Default)]
struct Join {
    out: Option<Result<TaskOutput, JoinError>>,
    finished: bool,
    taken: bool,
    abort: bool,
    waker: Option<Waker>,
}

impl TaskCell {
    pub(crate) fn new(id: u64, fut: Option<BoxFuture<TaskOutput>>) -> Arc<Self> {
        Arc::new(TaskCell { id, fut: Mutex::new(fut), join: Mutex::new(Join::default()) })
    }

    /// Whether `abort` was called before the task finished.
    pub(crate) fn abort_requested(&self) -> bool {
        lock(&self.join).abort
    }

    /// Records the outcome (the first one wins) and wakes the joiner.
    pub(crate) fn finish(&self, out: Result<TaskOutput, JoinError>) {
        let waker = {
            let mut j = lock(&self.join);
            if j.finished {
                return;
            }
            j.finished = true;
            j.out = Some(out);
            j.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A task as anyscope sees it. Dropping it detaches the task; `abort` has the executor drop the
/// future at its next turn (never while it is being polled, never inside the caller's poll).
pub(crate) struct SimTask {
    cell: Arc<TaskCell>,
    shared: Weak<Shared>,
}

impl SimTask {
    pub(crate) fn new(cell: Arc<TaskCell>, shared: Weak<Shared>) -> Self {
        SimTask { cell, shared }
    }

    /// A task that could not start (its runtime is gone): it reports a cancellation.
    pub(crate) fn cancelled() -> Self {
        let cell = TaskCell::new(0, None);
        cell.finish(Err(JoinError::cancelled()));
        SimTask { cell, shared: Weak::new() }
    }
}

impl RawTask for SimTask {
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<TaskOutput, JoinError>> {
        let mut j = lock(&self.cell.join);
        match j.out.take() {
            Some(out) => {
                j.taken = true;
                Poll::Ready(out)
            }
            None if j.taken => panic!("anyscope-sim: task polled after it completed"),
            None => {
                if !j.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    j.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    fn abort(&mut self) {
        {
            let mut j = lock(&self.cell.join);
            if j.finished || j.abort {
                return;
            }
            j.abort = true;
        }
        // The executor drops the future at the task's next turn; a blocking call not yet started
        // sees the flag and does not run.
        if let Some(shared) = self.shared.upgrade() {
            shared.schedule(self.cell.id);
        }
    }

    fn is_finished(&self) -> bool {
        lock(&self.cell.join).finished
    }
}

impl fmt::Debug for SimTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimTask").field("id", &self.cell.id).field("finished", &self.is_finished()).finish()
    }
}
