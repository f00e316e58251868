//! `connect_tcp`: name resolution on the blocking offload, then Happy Eyeballs (RFC 8305).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::ConnectError;
use super::raw::RawStream;
use super::tcp::TcpStream;
use crate::blocking::RunBlocking;
use crate::runtime::{self, BoxFuture, Handle, Timer};

/// How long an attempt has before the next address is tried beside it (RFC 8305's
/// "connection attempt delay", AnyIO's 250 ms).
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Connects to `host` (a name or an IP address) on `port`, on the ambient runtime.
///
/// A name is resolved on the blocking offload (as AnyIO's `getaddrinfo`), never on a runtime
/// thread. The addresses are then tried with Happy Eyeballs (RFC 8305): IPv6 and IPv4
/// interleaved, the next one started when the previous failed or after 250 ms without an
/// answer; the first connection made wins and the other attempts are closed.
///
/// # Errors
///
/// [`ConnectError`], naming every address tried and why it failed (or the resolution
/// failure).
///
/// # Panics
///
/// When first polled, if no runtime is available.
///
/// # Cancel safety
///
/// Dropping the future closes every attempt's socket at once: no descriptor is left open. A
/// resolution already running on its thread finishes there and its result is dropped.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::net::{TcpListener, connect_tcp};
///
/// let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let port = listener.local_addr().unwrap().port();
/// let stream = connect_tcp("localhost", port).await;
/// # let _ = stream;
/// # });
/// ```
pub fn connect_tcp(host: &str, port: u16) -> ConnectTcp {
    let host = host.to_owned();
    let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    let state = match literal {
        Some(ip) => State::Start(vec![SocketAddr::new(ip, port)]),
        None => {
            let name = host.clone();
            State::Resolving(crate::blocking::run_blocking_abandoning(move || {
                (name.as_str(), port).to_socket_addrs().map(Iterator::collect)
            }))
        }
    };
    ConnectTcp { host, port, state }
}

/// The future of [`connect_tcp`].
///
/// # Cancel safety
///
/// See [`connect_tcp`].
#[must_use = "futures do nothing unless polled"]
pub struct ConnectTcp {
    host: String,
    port: u16,
    state: State,
}

enum State {
    Resolving(RunBlocking<io::Result<Vec<SocketAddr>>>),
    Start(Vec<SocketAddr>),
    Racing(Race),
    Done,
}

impl Future for ConnectTcp {
    type Output = Result<TcpStream, ConnectError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Resolving(fut) => {
                    let res = std::task::ready!(Pin::new(fut).poll(cx));
                    this.state = match res {
                        Ok(addrs) => State::Start(addrs),
                        Err(e) => {
                            this.state = State::Done;
                            return Poll::Ready(Err(ConnectError::resolve(&this.host, this.port, e)));
                        }
                    };
                }
                State::Start(addrs) => {
                    if addrs.is_empty() {
                        this.state = State::Done;
                        return Poll::Ready(Err(ConnectError::no_address(&this.host, this.port)));
                    }
                    this.state = State::Racing(Race::new(interleave(std::mem::take(addrs))));
                }
                State::Racing(race) => {
                    let res = std::task::ready!(race.poll(cx));
                    this.state = State::Done;
                    return Poll::Ready(match res {
                        Ok(raw) => Ok(TcpStream::from_raw(raw)),
                        Err(failed) => Err(ConnectError::attempts_failed(&this.host, this.port, failed)),
                    });
                }
                State::Done => panic!("anyscope: ConnectTcp polled after completion"),
            }
        }
    }
}

impl fmt::Debug for ConnectTcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectTcp")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Orders addresses as RFC 8305 §4 asks: the family of the first one first, then alternating.
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs[0].is_ipv6();
    let (mut a, mut b): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|s| s.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(a.len() + b.len());
    a.reverse();
    b.reverse();
    while !a.is_empty() || !b.is_empty() {
        out.extend(a.pop());
        out.extend(b.pop());
    }
    out
}

/// A connection attempt in flight.
type Attempt = BoxFuture<io::Result<Box<dyn RawStream>>>;

/// The addresses that failed, with their errors.
type Failures = Vec<(SocketAddr, io::Error)>;

/// The attempts in flight.
struct Race {
    rt: Handle,
    addrs: Vec<SocketAddr>,
    next: usize,
    pending: Vec<(SocketAddr, Attempt)>,
    failed: Failures,
    timer: Option<Pin<Box<dyn Timer>>>,
}

impl Race {
    fn new(addrs: Vec<SocketAddr>) -> Self {
        Race { rt: runtime::current(), addrs, next: 0, pending: Vec::new(), failed: Vec::new(), timer: None }
    }

    /// Starts the next attempt and restarts the delay before the one after.
    fn start_next(&mut self) {
        let addr = self.addrs[self.next];
        self.next += 1;
        self.pending.push((addr, self.rt.connect_tcp(addr)));
        let deadline = self.rt.now() + ATTEMPT_DELAY;
        match &mut self.timer {
            Some(t) => t.as_mut().reset(deadline),
            None => self.timer = Some(self.rt.timer(deadline)),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Box<dyn RawStream>, Failures>> {
        loop {
            if self.pending.is_empty() {
                if self.next == self.addrs.len() {
                    return Poll::Ready(Err(std::mem::take(&mut self.failed)));
                }
                self.start_next();
            }
            let mut changed = false;
            let mut i = 0;
            while i < self.pending.len() {
                match self.pending[i].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(raw)) => {
                        // The losers' sockets are closed here.
                        self.pending.clear();
                        return Poll::Ready(Ok(raw));
                    }
                    Poll::Ready(Err(e)) => {
                        let (addr, _) = self.pending.remove(i);
                        self.failed.push((addr, e));
                        // A failure starts the next attempt at once.
                        if self.next < self.addrs.len() {
                            self.start_next();
                        }
                        changed = true;
                    }
                    Poll::Pending => i += 1,
                }
            }
            if changed {
                continue;
            }
            let more = self.next < self.addrs.len();
            if more && self.timer.as_mut().is_some_and(|t| t.as_mut().poll_expired(cx).is_ready()) {
                self.start_next();
                continue;
            }
            return Poll::Pending;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{RawTask, Runtime, TaskOutput, with_runtime};
    use crate::testing::{Log, MockRuntime, poll_with, waker};
    use std::net::Shutdown;

    #[test]
    fn interleaves_families_starting_with_the_first() {
        let v4: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        let v4b: SocketAddr = "127.0.0.2:1".parse().unwrap();
        assert_eq!(interleave(vec![v6, v4, v4b]), vec![v6, v4, v4b]);
        assert_eq!(interleave(vec![v4, v4b, v6]), vec![v4, v6, v4b]);
    }

    /// A connected stream that does nothing.
    #[derive(Debug)]
    struct Dummy;

    impl RawStream for Dummy {
        fn poll_read(&self, _: &mut Context<'_>, _: &mut [u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
        fn poll_write(&self, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn shutdown(&self, _: Shutdown) -> io::Result<()> {
            Ok(())
        }
    }

    /// Logs its drop.
    struct OnDrop(Log, String);

    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.push(format!("drop {}", self.1));
        }
    }

    /// The mock runtime, whose connects behave by address: `127.0.0.1` never answers,
    /// `127.0.0.2` is refused, `127.0.0.3` connects.
    #[derive(Debug, Clone)]
    struct Net {
        mock: MockRuntime,
        log: Log,
        base: std::time::Instant,
    }

    impl Net {
        fn new() -> Self {
            let mock = MockRuntime::new();
            let base = mock.now();
            Net { mock, log: Log::new(), base }
        }
    }

    impl Runtime for Net {
        fn name(&self) -> &'static str {
            "mock-net"
        }
        fn spawn(&self, task: BoxFuture<TaskOutput>) -> Box<dyn RawTask> {
            self.mock.spawn(task)
        }
        fn spawn_blocking(&self, f: Box<dyn FnOnce() -> TaskOutput + Send + 'static>) -> Box<dyn RawTask> {
            self.mock.spawn_blocking(f)
        }
        fn now(&self) -> std::time::Instant {
            self.mock.now()
        }
        fn timer(&self, deadline: std::time::Instant) -> Pin<Box<dyn Timer>> {
            self.mock.timer(deadline)
        }
        fn connect_tcp(&self, addr: SocketAddr) -> BoxFuture<io::Result<Box<dyn RawStream>>> {
            let log = self.log.clone();
            log.push(format!("start {} at {:?}", addr.ip(), self.mock.now() - self.base));
            let last = addr.ip().to_string().rsplit('.').next().unwrap().to_owned();
            Box::pin(async move {
                let _d = OnDrop(log, addr.ip().to_string());
                match last.as_str() {
                    "1" => std::future::pending().await,
                    "2" => Err(io::Error::from(io::ErrorKind::ConnectionRefused)),
                    _ => Ok(Box::new(Dummy) as Box<dyn RawStream>),
                }
            })
        }
    }

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 80))
    }

    type Raced = Pin<Box<dyn Future<Output = Result<Box<dyn RawStream>, Failures>>>>;

    fn race(net: &Net, addrs: Vec<SocketAddr>) -> Raced {
        Box::pin(with_runtime(Handle::new(net.clone()), async move {
            let mut race = Race::new(addrs);
            std::future::poll_fn(move |cx| race.poll(cx)).await
        }))
    }

    #[test]
    fn next_address_starts_after_250ms_without_an_answer_and_the_loser_is_closed() {
        let net = Net::new();
        let (_, w) = waker();
        let mut fut = race(&net, vec![addr(1), addr(3)]);
        assert!(poll_with(fut.as_mut(), &w).is_pending());
        net.mock.advance(Duration::from_millis(249));
        assert!(poll_with(fut.as_mut(), &w).is_pending());
        assert_eq!(net.log.events(), ["start 127.0.0.1 at 0ns"]);
        net.mock.advance(Duration::from_millis(1));
        assert!(matches!(poll_with(fut.as_mut(), &w), Poll::Ready(Ok(_))));
        assert_eq!(
            net.log.events(),
            ["start 127.0.0.1 at 0ns", "start 127.0.0.3 at 250ms", "drop 127.0.0.3", "drop 127.0.0.1"]
        );
    }

    #[test]
    fn a_failure_starts_the_next_address_at_once_and_every_failure_is_kept() {
        let net = Net::new();
        let (_, w) = waker();
        let mut fut = race(&net, vec![addr(2), addr(2), addr(1)]);
        assert!(poll_with(fut.as_mut(), &w).is_pending());
        assert_eq!(
            net.log.events(),
            [
                "start 127.0.0.2 at 0ns",
                "drop 127.0.0.2",
                "start 127.0.0.2 at 0ns",
                "drop 127.0.0.2",
                "start 127.0.0.1 at 0ns"
            ]
        );
        // Cut off: the attempt in flight is closed.
        drop(fut);
        assert_eq!(net.log.events().last().unwrap(), "drop 127.0.0.1");

        let mut fut = race(&net, vec![addr(2), addr(2)]);
        let Poll::Ready(Err(failed)) = poll_with(fut.as_mut(), &w) else {
            panic!("expected every address to fail")
        };
        assert_eq!(failed.len(), 2);
        assert!(failed.iter().all(|(a, e)| *a == addr(2) && e.kind() == io::ErrorKind::ConnectionRefused));
    }
}
