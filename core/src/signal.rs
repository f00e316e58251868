//! Process signals as a [`Stream`], and [`ctrl_c`], for graceful shutdown (AnyIO's
//! `open_signal_receiver`).
//!
//! The runtime adapter installs the handlers on its own machinery (tokio's signal driver,
//! `async-signal` on smol); core only names the signals.
//!
//! # Examples
//!
//! ```no_run
//! # anyscope_tokio::run(async {
//! use anyscope_core::signal::{self, Signal};
//! use futures_core::Stream;
//!
//! let mut signals = signal::signals(&[Signal::Interrupt, Signal::Terminate]).unwrap();
//! let first = std::future::poll_fn(|cx| std::pin::Pin::new(&mut signals).poll_next(cx)).await;
//! println!("got {first:?}, shutting down");
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::runtime;

/// A process signal anyscope can receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// `SIGINT` (Ctrl-C in a terminal).
    Interrupt,
    /// `SIGTERM`.
    Terminate,
    /// `SIGHUP`.
    Hangup,
    /// `SIGQUIT`.
    Quit,
    /// `SIGUSR1`.
    User1,
    /// `SIGUSR2`.
    User2,
}

/// A runtime's receiver of one signal: what [`Runtime::signal`](runtime::Runtime::signal)
/// returns.
pub trait RawSignal: Send + fmt::Debug + 'static {
    /// Resolves once per delivery (deliveries close together may coalesce into one).
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A receiver of process signals: a [`Stream`] of the signals delivered since it was created.
///
/// Created by [`signals`]. While it exists, the signals it names no longer have their default
/// effect (a `SIGINT` does not end the process); drop it to stop listening (the runtime may keep
/// its handler installed).
pub struct Signals {
    receivers: Vec<(Signal, Box<dyn RawSignal>)>,
    next: usize,
}

/// Starts receiving the signals in `which`, on the ambient runtime.
///
/// # Errors
///
/// The runtime's error if it cannot install a handler (or does not support signals).
///
/// # Panics
///
/// If no runtime is available.
pub fn signals(which: &[Signal]) -> io::Result<Signals> {
    let rt = runtime::current();
    let receivers = which.iter().map(|&s| rt.signal(s).map(|r| (s, r))).collect::<io::Result<_>>()?;
    Ok(Signals { receivers, next: 0 })
}

impl Stream for Signals {
    type Item = Signal;

    /// # Cancel safety
    ///
    /// A delivery is only taken when it is returned.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        let n = self.receivers.len();
        if n == 0 {
            return Poll::Ready(None);
        }
        // Round robin, so that one busy signal cannot starve the others.
        for i in 0..n {
            let at = (self.next + i) % n;
            let (sig, raw) = &mut self.receivers[at];
            match raw.poll_recv(cx) {
                Poll::Ready(Ok(())) => {
                    let sig = *sig;
                    self.next = (at + 1) % n;
                    return Poll::Ready(Some(sig));
                }
                // A broken receiver ends its signal's deliveries, not the others'.
                Poll::Ready(Err(_)) => {
                    self.receivers.remove(at);
                    return self.poll_next(cx);
                }
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<Signal> = self.receivers.iter().map(|(s, _)| *s).collect();
        f.debug_struct("Signals").field("signals", &names).finish()
    }
}

/// Waits for the next `SIGINT` (Ctrl-C).
///
/// The handler is installed when the future is first polled.
///
/// # Errors
///
/// The runtime's error if it cannot install a handler.
///
/// # Cancel safety
///
/// Dropping it stops listening; a Ctrl-C pressed after that is not seen by it.
///
/// # Examples
///
/// ```no_run
/// # anyscope_tokio::run(async {
/// anyscope_core::signal::ctrl_c().await.unwrap();
/// println!("shutting down");
/// # });
/// ```
pub fn ctrl_c() -> impl Future<Output = io::Result<()>> + Send {
    let mut rx: Option<Box<dyn RawSignal>> = None;
    std::future::poll_fn(move |cx| {
        if rx.is_none() {
            rx = Some(runtime::current().signal(Signal::Interrupt)?);
        }
        match rx.as_mut() {
            Some(r) => r.poll_recv(cx),
            None => Poll::Pending,
        }
    })
}
