use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use anyscope_core::runtime::Timer;
use async_io::Timer as IoTimer;

/// An `async_io::Timer` behind anyscope's timer trait. async-io's timer fires once; this one
/// keeps reporting expiry until reset, as the contract asks.
#[derive(Debug)]
pub(crate) struct SmolTimer {
    timer: IoTimer,
    fired: bool,
}

impl SmolTimer {
    pub(crate) fn new(deadline: Instant) -> Self {
        SmolTimer { timer: IoTimer::at(deadline), fired: false }
    }
}

impl Timer for SmolTimer {
    fn poll_expired(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired {
            return Poll::Ready(());
        }
        std::task::ready!(Pin::new(&mut self.timer).poll(cx));
        self.fired = true;
        Poll::Ready(())
    }

    fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        self.fired = false;
        self.timer.set_at(deadline);
    }
}
