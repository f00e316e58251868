//! Process signals on tokio's signal driver.

use std::io;
use std::task::{Context, Poll};

use anyscope_core::signal::{RawSignal, Signal};

#[derive(Debug)]
struct TokioSignal(tokio::signal::unix::Signal);

impl RawSignal for TokioSignal {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0
            .poll_recv(cx)
            .map(|got| got.ok_or_else(|| io::Error::other("tokio's signal driver has shut down")))
    }
}

pub(crate) fn signal(handle: &tokio::runtime::Handle, sig: Signal) -> io::Result<Box<dyn RawSignal>> {
    use tokio::signal::unix::SignalKind;
    let kind = match sig {
        Signal::Interrupt => SignalKind::interrupt(),
        Signal::Terminate => SignalKind::terminate(),
        Signal::Hangup => SignalKind::hangup(),
        Signal::Quit => SignalKind::quit(),
        Signal::User1 => SignalKind::user_defined1(),
        Signal::User2 => SignalKind::user_defined2(),
        other => return Err(io::Error::new(io::ErrorKind::Unsupported, format!("signal {other:?}"))),
    };
    let _in_context = handle.enter();
    Ok(Box::new(TokioSignal(tokio::signal::unix::signal(kind)?)))
}
