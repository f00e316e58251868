//! anyscope: structured async resource management for Rust, on tokio or smol.
//!
//! Python's AnyIO and Trio made async resource management safe: cleanup is guaranteed even when
//! a task is cancelled or crashes, cancel scopes give deadlines and shielding, task groups keep
//! every child inside its parent's lifetime. anyscope brings these to Rust, on any runtime.
//!
//! This facade re-exports [`anyscope_core`] and adds [`run`] on the runtime chosen by a feature:
//! `tokio` (the default) or `smol`. Features are additive: with both, [`run`] uses tokio and
//! [`run_with`] picks per call. Library authors depend on `anyscope-core` only.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! let out = anyscope::run(async {
//!     anyscope::move_on_after(Duration::from_millis(10), anyscope::sleep(Duration::from_secs(60))).await
//! });
//! assert_eq!(out, None);
//! ```
#![forbid(unsafe_code)]

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
