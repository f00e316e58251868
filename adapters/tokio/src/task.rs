use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyscope_core::runtime::{JoinError, RawTask, TaskOutput};

/// A tokio task as anyscope sees it. Dropping a tokio `JoinHandle` detaches, as the contract asks.
#[derive(Debug)]
pub(crate) struct TokioTask(tokio::task::JoinHandle<TaskOutput>);

impl TokioTask {
    pub(crate) fn new(handle: tokio::task::JoinHandle<TaskOutput>) -> Self {
        TokioTask(handle)
    }
}

impl RawTask for TokioTask {
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<TaskOutput, JoinError>> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.map_err(|e| match e.try_into_panic() {
                Ok(payload) => JoinError::panicked(payload),
                Err(_) => JoinError::cancelled(),
            })
        })
    }

    fn abort(&mut self) {
        self.0.abort();
    }

    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}
