//! The detached cleanup task: cleanups that no frame could adopt, run in order on one task of
//! the ambient runtime, counted for that run in the [`tracker`](crate::tracker) until it ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{CLEANING, Cleanup, DETACHED, FrameState, TASK_ROOT};
use crate::runtime::{Handle, TaskOutput};
use crate::tracker::Running;

/// Runs `queue` in order on one detached task, counted for the run of `rt`.
pub(crate) fn spawn_detached_cleanups(rt: &Handle, queue: Vec<Cleanup>) {
    let running = Running::start(rt);
    let state = FrameState {
        flags: TASK_ROOT | CLEANING | DETACHED,
        runtime: Some(rt.clone()),
        cleanups: queue.into(),
        ..FrameState::default()
    };
    let task = DetachedCleanups { state, _running: running };
    rt.spawn_detached(Box::pin(task));
}

struct DetachedCleanups {
    state: FrameState,
    _running: Running,
}

impl Future for DetachedCleanups {
    type Output = TaskOutput;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<TaskOutput> {
        match super::drain(&mut self.state, cx) {
            Poll::Ready(()) => Poll::Ready(Box::new(())),
            Poll::Pending => Poll::Pending,
        }
    }
}
