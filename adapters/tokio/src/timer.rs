use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use anyscope_core::runtime::Timer;
use pin_project_lite::pin_project;

pin_project! {
    /// A tokio `Sleep` behind anyscope's timer trait. Polled again after it fired, it fires
    /// again, as the contract asks.
    #[derive(Debug)]
    pub(crate) struct TokioTimer {
        #[pin]
        sleep: tokio::time::Sleep,
    }
}

impl TokioTimer {
    pub(crate) fn new(deadline: Instant) -> Self {
        TokioTimer { sleep: tokio::time::sleep_until(deadline.into()) }
    }
}

impl Timer for TokioTimer {
    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().sleep.poll(cx)
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project().sleep.reset(deadline.into());
    }
}
