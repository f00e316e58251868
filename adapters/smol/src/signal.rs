//! Process signals through `async-signal` (on async-io's reactor).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyscope_core::signal::{RawSignal, Signal};
use futures_lite::Stream;

#[derive(Debug)]
struct SmolSignal(async_signal::Signals);

impl RawSignal for SmolSignal {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.0).poll_next(cx) {
            Poll::Ready(Some(Ok(_))) => Poll::Ready(Ok(())),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(e)),
            Poll::Ready(None) => Poll::Ready(Err(io::Error::other("the signal receiver has shut down"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

pub(crate) fn signal(sig: Signal) -> io::Result<Box<dyn RawSignal>> {
    use async_signal::Signal as S;
    let s = match sig {
        Signal::Interrupt => S::Int,
        Signal::Terminate => S::Term,
        Signal::Hangup => S::Hup,
        Signal::Quit => S::Quit,
        Signal::User1 => S::Usr1,
        Signal::User2 => S::Usr2,
        other => return Err(io::Error::new(io::ErrorKind::Unsupported, format!("signal {other:?}"))),
    };
    Ok(Box::new(SmolSignal(async_signal::Signals::new([s])?)))
}
