//! anyscope: structured async resource management for Rust, on tokio or smol.
//!
//! Python's AnyIO and Trio made async resource management safe: cleanup is guaranteed even when
//! a task is cancelled or crashes, cancel scopes give deadlines and shielding, task groups keep
//! every child inside its parent's lifetime. anyscope brings these to Rust, on any runtime.
//!
//! This facade re-exports [`anyscope_core`] (every item at the same path: `anyscope::sleep`,
//! `anyscope::pool::Pool`, ...) and adds [`run`] on the runtime chosen by a feature: `tokio`
//! (the default) or `smol`. Features are additive: with both, [`run`] uses tokio and
//! [`run_with`] picks per call. Library authors depend on `anyscope-core` only, and its item
//! docs are written for them (`anyscope_core::...`); in an application, write `anyscope::`
//! instead. The examples on this page are the application's view, compiled as this crate's
//! doctests.
//!
//! # Cancel scopes
//!
//! ```
//! use std::time::Duration;
//!
//! let out = anyscope::run(async {
//!     anyscope::move_on_after(Duration::from_millis(10), anyscope::sleep(Duration::from_secs(60))).await
//! });
//! assert_eq!(out, None); // the deadline cut the sleep off
//!
//! let err = anyscope::run(anyscope::fail_after(Duration::from_millis(1), std::future::pending::<()>()));
//! assert_eq!(err.unwrap_err().to_string(), "deadline has elapsed");
//! ```
//!
//! # Structured async drop
//!
//! A [`Scoped`] guard dropped unclosed — here because a deadline cut the body off — is closed
//! by the enclosing scope before that scope returns.
//!
//! ```
//! use anyscope::{move_on_after, sleep, AsyncClose, Scoped};
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! struct Conn(Arc<Mutex<Vec<&'static str>>>);
//! impl AsyncClose for Conn {
//!     type Error = std::convert::Infallible;
//!     async fn close(self) -> Result<(), Self::Error> {
//!         sleep(Duration::from_millis(1)).await; // a goodbye message
//!         self.0.lock().unwrap().push("closed");
//!         Ok(())
//!     }
//! }
//!
//! let log = Arc::new(Mutex::new(Vec::new()));
//! let l = log.clone();
//! let out = anyscope::run(move_on_after(Duration::from_millis(5), async move {
//!     let _conn = Scoped::new(Conn(l));
//!     sleep(Duration::from_secs(60)).await;
//! }));
//! assert_eq!((out, log.lock().unwrap().clone()), (None, vec!["closed"]));
//! ```
//!
//! # Resources that learn how their holder ended
//!
//! ```
//! use anyscope::resource::{resource, Exit};
//!
//! let ended = anyscope::run(async {
//!     let begin = async { Ok::<_, std::io::Error>(Vec::<&str>::new()) };
//!     let end = |_tx: Vec<&str>, exit: Exit| async move { Ok(println!("{}", if exit.is_ok() { "COMMIT" } else { "ROLLBACK" })) };
//!     resource(begin, end).run(async |tx: &mut Vec<&str>| {
//!         tx.push("UPDATE accounts ...");
//!         Ok(tx.len())
//!     }).await
//! });
//! assert_eq!(ended.unwrap(), 1);
//! ```
//!
//! # Task groups
//!
//! ```
//! use anyscope::group::task_group;
//!
//! let total = anyscope::run(task_group(|tg| async move {
//!     let child = tg.start(|status: anyscope::TaskStatus<u32>| async move {
//!         status.started(40);
//!         Ok::<(), std::io::Error>(())
//!     });
//!     Ok(child.await.map_err(|_| std::io::Error::other("the child failed before it started"))? + 2)
//! }));
//! assert_eq!(total.unwrap(), 42);
//! ```
//!
//! # Exit stacks, pools, primitives
//!
//! ```
//! use anyscope::pool::{Manager, Pool, PoolConfig};
//! use anyscope::sync::Semaphore;
//! use anyscope::ExitStack;
//!
//! struct Ids;
//! impl Manager for Ids {
//!     type Object = u32;
//!     type Error = std::io::Error;
//!     async fn create(&self) -> Result<u32, std::io::Error> { Ok(1) }
//! }
//!
//! anyscope::run(async {
//!     let mut stack = ExitStack::new();
//!     let pool = stack.enter(Pool::open(Ids, PoolConfig::builder().max_size(2).build().unwrap()).await.into_resource());
//!     let sem = Semaphore::new(1);
//!     let _permit = sem.acquire().await.unwrap();
//!     assert_eq!(*stack.get(pool).acquire().await.unwrap(), 1);
//!     stack.close().await.unwrap(); // closes the pool
//! });
//! ```
//!
//! # On a runtime you already run
//!
//! `anyscope::anyscope_tokio::bind(fut)` (or `anyscope_smol::bind`) wraps one future;
//! `anyscope::anyscope_tokio::install()` makes every plain tokio context
//! (`#[tokio::main]`, `#[tokio::test]`, `tokio::spawn`) an ambient runtime.
#![forbid(unsafe_code)]

/// Every item of `anyscope-core`, at the same path (`anyscope::sleep`, `anyscope::pool::Pool`).
#[doc(no_inline)]
pub use anyscope_core::*;

#[cfg(feature = "macros")]
pub use anyscope_macros::{main, test};
#[cfg(feature = "sim")]
pub use anyscope_sim;
#[cfg(feature = "smol")]
pub use anyscope_smol;
#[cfg(feature = "tokio")]
pub use anyscope_tokio;

#[doc(hidden)]
pub mod test_runner;
pub mod test_util;

use std::future::Future;

/// The runtimes this build can run on, for [`run_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeKind {
    /// A multi-thread tokio runtime.
    #[cfg(feature = "tokio")]
    Tokio,
    /// A current-thread tokio runtime.
    #[cfg(feature = "tokio")]
    TokioCurrentThread,
    /// anyscope's smol executor (async-executor, async-io, blocking).
    #[cfg(feature = "smol")]
    Smol,
    /// The deterministic runtime: one thread, a virtual clock, a seeded order (for tests).
    #[cfg(feature = "sim")]
    Sim,
    /// A current-thread tokio runtime on tokio's paused test clock (for tests): time moves only
    /// when every task is idle, then jumps to the next timer.
    #[cfg(feature = "tokio-paused")]
    TokioPaused,
}

impl RuntimeKind {
    /// The runtime [`run`] uses: tokio when the `tokio` feature is on, else smol.
    #[cfg(any(feature = "tokio", feature = "smol"))]
    pub const DEFAULT: RuntimeKind = {
        #[cfg(feature = "tokio")]
        {
            RuntimeKind::Tokio
        }
        #[cfg(not(feature = "tokio"))]
        {
            RuntimeKind::Smol
        }
    };
}

/// Runs `fut` to completion on the default runtime ([`RuntimeKind::DEFAULT`]) and returns its
/// output, after the cleanups it detached have finished.
///
/// # Panics
///
/// A panic of `fut` is resumed.
///
/// # Examples
///
/// ```
/// assert_eq!(anyscope::run(async { anyscope::spawn(async { 3 }).await.unwrap() }), 3);
/// ```
#[cfg(any(feature = "tokio", feature = "smol"))]
pub fn run<F: Future>(fut: F) -> F::Output {
    run_with(RuntimeKind::DEFAULT, fut)
}

/// Runs `fut` to completion on the runtime `kind`.
///
/// # Panics
///
/// A panic of `fut` is resumed.
///
/// # Examples
///
/// ```
/// let rt = anyscope::RuntimeKind::DEFAULT;
/// assert_eq!(anyscope::run_with(rt, async { anyscope::runtime::current().name() }), format!("{rt:?}").to_lowercase());
/// ```
#[cfg(any(feature = "tokio", feature = "smol"))]
pub fn run_with<F: Future>(kind: RuntimeKind, fut: F) -> F::Output {
    match kind {
        #[cfg(feature = "tokio")]
        RuntimeKind::Tokio => anyscope_tokio::run(fut),
        #[cfg(feature = "tokio")]
        RuntimeKind::TokioCurrentThread => anyscope_tokio::run_current_thread(fut),
        #[cfg(feature = "smol")]
        RuntimeKind::Smol => anyscope_smol::run(fut),
        #[cfg(feature = "sim")]
        RuntimeKind::Sim => anyscope_sim::run(fut),
        #[cfg(feature = "tokio-paused")]
        RuntimeKind::TokioPaused => anyscope_tokio::run_on(
            &tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("anyscope: failed to build a paused tokio runtime"),
            fut,
        ),
    }
}

/// Another name for [`run`], for those used to `block_on`.
///
/// # Panics
///
/// A panic of `fut` is resumed.
///
/// # Examples
///
/// ```
/// assert_eq!(anyscope::block_on(async { 1 }), 1);
/// ```
#[cfg(any(feature = "tokio", feature = "smol"))]
pub fn block_on<F: Future>(fut: F) -> F::Output {
    run(fut)
}

/// Another name for [`run_with`].
///
/// # Panics
///
/// A panic of `fut` is resumed.
///
/// # Examples
///
/// ```
/// assert_eq!(anyscope::block_on_with(anyscope::RuntimeKind::DEFAULT, async { 1 }), 1);
/// ```
#[cfg(any(feature = "tokio", feature = "smol"))]
pub fn block_on_with<F: Future>(kind: RuntimeKind, fut: F) -> F::Output {
    run_with(kind, fut)
}
