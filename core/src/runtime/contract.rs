use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::{JoinError, Task};
use crate::net::raw::{RawDatagram, RawListener, RawStream, unsupported};
use crate::signal::{RawSignal, Signal};

/// A boxed, sendable future, the currency of the object-safe [`Runtime`] trait.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The type-erased output of a spawned task.
///
/// anyscope boxes a task's output as `Box<dyn Any + Send>` so that the runtime trait stays
/// object-safe. A zero-sized output (the common `()`) is boxed without allocating.
pub type TaskOutput = Box<dyn Any + Send>;

/// What anyscope needs from an async runtime.
///
/// One object-safe trait, implemented by each adapter (`anyscope-tokio`, `anyscope-smol`).
/// Nothing else in anyscope-core touches a runtime. Implementations must be cheap to call: the
/// methods sit on the hot paths of spawning, sleeping and timeouts.
///
/// # Contract
///
/// - [`spawn`](Runtime::spawn) starts `task` on the runtime's worker threads and returns a
///   [`RawTask`]. Dropping the `RawTask` **detaches** the task: it keeps running.
///   [`RawTask::abort`] cancels it (the future is dropped at its next suspension, or before its
///   first poll), and [`RawTask::poll_join`] then reports [`JoinError::is_cancelled`] once the future
///   has been dropped. A task whose future panicked reports [`JoinError::is_panic`] with the
///   payload; the panic must not tear down the runtime.
///   [`spawn_detached`](Runtime::spawn_detached) starts a task the same way with no handle
///   (its default drops `spawn`'s).
/// - [`spawn_blocking`](Runtime::spawn_blocking) runs `f` on a thread where blocking is allowed,
///   never on an async worker thread. Its handle has the same shape; `abort` only prevents a call
///   that has not started yet.
/// - [`now`](Runtime::now) is the runtime's clock (tokio's paused test clock must be honoured) and
///   [`timer`](Runtime::timer) returns a timer on that clock.
/// - [`yield_now`](Runtime::yield_now) arranges for the current task to be polled again soon,
///   after other ready tasks have had a turn.
/// - I/O, on the runtime's own reactor (no second reactor thread): [`connect_tcp`](Runtime::connect_tcp),
///   [`bind_tcp`](Runtime::bind_tcp), [`bind_udp`](Runtime::bind_udp), Unix sockets on unix, and
///   [`signal`](Runtime::signal). Each returns a boxed poll-based object of
///   [`net::raw`](crate::net::raw) or [`signal`](crate::signal); core builds the public types
///   ([`TcpStream`](crate::net::TcpStream), ...) on them. Every I/O method has a default that
///   fails with [`io::ErrorKind::Unsupported`], so an adapter without I/O still compiles and
///   runs everything else. Name resolution and files are not part of the contract: core does
///   them on the blocking offload, as AnyIO does.
///   A connect future dropped before it completed closes its socket at once.
///
/// # Examples
///
/// Adapters implement this trait; users reach it through [`current`](super::current):
///
/// ```
/// use anyscope_core::runtime;
///
/// // Outside any runtime there is none, and the error says how to get one.
/// let err = runtime::try_current().unwrap_err();
/// assert!(err.to_string().contains("anyscope::run"));
/// ```
pub trait Runtime: Send + Sync + fmt::Debug + 'static {
    /// A short name for messages and test output, such as `"tokio"` or `"smol"`.
    fn name(&self) -> &'static str;

    /// Spawns `task` onto the runtime. See the trait docs for the handle's contract.
    fn spawn(&self, task: BoxFuture<TaskOutput>) -> Box<dyn RawTask>;

    /// Spawns `task` with no handle: nobody joins or aborts it, it runs to its end (or until
    /// the runtime drops it). anyscope uses it for tasks that report their end themselves (a
    /// task group's children), so an adapter can skip boxing a [`RawTask`].
    ///
    /// The default drops [`spawn`](Runtime::spawn)'s handle, which detaches the task; the
    /// rest of the contract is `spawn`'s (a panic of `task` must not tear down the runtime).
    fn spawn_detached(&self, task: BoxFuture<TaskOutput>) {
        drop(self.spawn(task));
    }

    /// Spawns a [`Task`] with no handle: anyscope's own spawns ([`spawn`](crate::spawn)) come
    /// this way, their join state in the task. `Task` is sized, `Unpin` and never panics in
    /// `poll`, so an adapter spawns it as it is (`tokio::spawn(task)`), with no box: the task
    /// then costs the runtime's cell and anyscope's one allocation.
    ///
    /// Dropping the `Task` unpolled or unfinished cancels it (its handle reports a cancellation);
    /// the rest of the contract is [`spawn_detached`](Runtime::spawn_detached)'s. The default
    /// boxes the task for `spawn_detached` (one allocation more).
    fn spawn_task(&self, task: Task) {
        self.spawn_detached(Box::pin(async move {
            task.await;
            Box::new(()) as TaskOutput
        }));
    }

    /// Runs `f` on a thread where blocking is allowed.
    fn spawn_blocking(&self, f: Box<dyn FnOnce() -> TaskOutput + Send + 'static>) -> Box<dyn RawTask>;

    /// The runtime's current time.
    fn now(&self) -> Instant;

    /// A timer that fires at `deadline` on the runtime's clock.
    fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>>;

    /// Arranges for the task polled with `cx` to be polled again after other ready tasks.
    ///
    /// The caller returns `Poll::Pending` right after. The default wakes the task at once, which
    /// both tokio and async-executor treat as "reschedule at the back of the queue".
    fn yield_now(&self, cx: &mut Context<'_>) {
        cx.waker().wake_by_ref();
    }

    /// Connects a TCP stream to `addr` (one address: core does resolution and Happy Eyeballs).
    fn connect_tcp(&self, addr: SocketAddr) -> BoxFuture<io::Result<Box<dyn RawStream>>> {
        let _ = addr;
        Box::pin(std::future::ready(Err(unsupported("TCP"))))
    }

    /// Binds a TCP listener to `addr` and listens.
    fn bind_tcp(&self, addr: SocketAddr) -> io::Result<Box<dyn RawListener>> {
        let _ = addr;
        Err(unsupported("TCP"))
    }

    /// Binds a UDP socket to `addr`.
    fn bind_udp(&self, addr: SocketAddr) -> io::Result<Box<dyn RawDatagram>> {
        let _ = addr;
        Err(unsupported("UDP"))
    }

    /// Connects a Unix stream socket to the socket at `path`.
    #[cfg(unix)]
    fn connect_unix(&self, path: std::path::PathBuf) -> BoxFuture<io::Result<Box<dyn RawStream>>> {
        let _ = path;
        Box::pin(std::future::ready(Err(unsupported("Unix sockets"))))
    }

    /// Binds a Unix stream listener at `path` and listens.
    #[cfg(unix)]
    fn bind_unix(&self, path: &std::path::Path) -> io::Result<Box<dyn RawListener>> {
        let _ = path;
        Err(unsupported("Unix sockets"))
    }

    /// Starts receiving the process signal `signal`. Every receiver created for a signal sees
    /// each delivery made after it was created (deliveries close together may coalesce).
    fn signal(&self, signal: Signal) -> io::Result<Box<dyn RawSignal>> {
        let _ = signal;
        Err(unsupported("signals"))
    }
}

/// A spawned task, as seen by anyscope. Dropping it detaches the task.
pub trait RawTask: Send + fmt::Debug + 'static {
    /// Polls for the task's completion.
    ///
    /// Returns the task's output, [`JoinError::is_cancelled`] if it was aborted (after its future was
    /// dropped), or [`JoinError::is_panic`] with the panic's payload. Called again after it
    /// returned `Ready`, it may panic.
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<TaskOutput, JoinError>>;

    /// Requests cancellation of the task. Idempotent; a finished task is unaffected.
    fn abort(&mut self);

    /// Whether the task has finished (completed, panicked or been cancelled).
    fn is_finished(&self) -> bool;
}

/// A timer on the runtime's clock, which can be moved.
pub trait Timer: Send + fmt::Debug {
    /// Resolves once the deadline has passed. May be polled again after it resolved; it then
    /// resolves again until reset to a later deadline.
    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;

    /// Moves the deadline, earlier or later.
    fn reset(self: Pin<&mut Self>, deadline: Instant);
}
