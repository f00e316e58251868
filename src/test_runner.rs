//! What `#[anyscope::test]` expands to calls: not a public API (hidden, may change).
//!
//! The attribute cannot see which runtimes this crate was built with, so it wraps each
//! generated test in `anyscope::__if_<runtime>! { ... }`, a macro that keeps its input when the
//! runtime's feature is on and drops it otherwise.

use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use crate::RuntimeKind;
use crate::test_util::LeakCheck;

/// Tests checked for leaks run one at a time: the tracker is process-wide.
static CHECKED: Mutex<()> = Mutex::new(());

/// A test's options, as the attribute gives them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// The deterministic runtime's seed (else `ANYSCOPE_SEED`, else random).
    pub seed: Option<u64>,
    /// A deadline on the runtime's clock for the whole test.
    pub time_limit: Option<Duration>,
    /// Whether to fail the test when it leaves resources open or lost.
    pub leak_check: bool,
}

/// What a test function may return: `()` or a `Result` whose error is `Debug`.
pub trait TestOutput {
    /// `Err` with a message when the test failed.
    fn into_failure(self) -> Option<String>;
}

impl TestOutput for () {
    fn into_failure(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Debug> TestOutput for Result<(), E> {
    fn into_failure(self) -> Option<String> {
        self.err().map(|e| format!("the test returned an error: {e:?}"))
    }
}

/// Runs one generated test (`name` is its module path): `body()` on `kind`, under the options.
///
/// # Panics
///
/// When the test panics (resumed), returns an error, exceeds its time limit, or leaves resources
/// open or lost.
pub fn run_test<F, Fut>(name: &str, kind: RuntimeKind, opts: Options, body: F)
where
    F: FnOnce() -> Fut,
    Fut: Future,
    Fut::Output: TestOutput,
{
    let _one_at_a_time = opts.leak_check.then(|| CHECKED.lock().unwrap_or_else(|e| e.into_inner()));
    let check = LeakCheck::start();
    let fut = async move {
        let out = match opts.time_limit {
            Some(limit) => match anyscope_core::fail_after(limit, body()).await {
                Ok(out) => out,
                Err(_) => panic!("anyscope::test `{name}` did not finish within its time limit of {limit:?}"),
            },
            None => body().await,
        };
        out.into_failure()
    };
    let failure = run_on(kind, opts.seed, fut);
    let on = runtime_name(kind);
    if let Some(msg) = failure {
        panic!("anyscope::test `{name}` failed on {on}: {msg}");
    }
    if opts.leak_check {
        if let Err(leaks) = check.finish() {
            panic!("anyscope::test `{name}` failed on {on}: {leaks}");
        }
    }
}

fn runtime_name(kind: RuntimeKind) -> &'static str {
    match kind {
        #[cfg(feature = "tokio")]
        RuntimeKind::Tokio => "tokio",
        #[cfg(feature = "tokio")]
        RuntimeKind::TokioCurrentThread => "tokio_current_thread",
        #[cfg(feature = "smol")]
        RuntimeKind::Smol => "smol",
        #[cfg(feature = "sim")]
        RuntimeKind::Sim => "sim",
        #[cfg(feature = "tokio-paused")]
        RuntimeKind::TokioPaused => "tokio_paused",
    }
}

// With no runtime feature, `RuntimeKind` has no variant and nothing is run.
#[cfg_attr(not(any(feature = "tokio", feature = "smol", feature = "sim")), allow(unused_variables))]
fn run_on<Fut: Future>(kind: RuntimeKind, seed: Option<u64>, fut: Fut) -> Fut::Output {
    let _ = seed;
    match kind {
        #[cfg(feature = "sim")]
        RuntimeKind::Sim => {
            let builder = anyscope_sim::Builder::new();
            match seed {
                Some(seed) => builder.seed(seed).run(fut),
                None => builder.run(fut),
            }
        }
        #[cfg(any(feature = "tokio", feature = "smol"))]
        #[allow(unreachable_patterns)]
        other => crate::run_with(other, fut),
    }
}

/// Keeps its input: the `tokio` feature is on.
#[cfg(feature = "tokio")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_tokio {
    ($($t:tt)*) => { $($t)* };
}

/// Drops its input: the `tokio` feature is off.
#[cfg(not(feature = "tokio"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_tokio {
    ($($t:tt)*) => {};
}

/// Keeps its input: the `smol` feature is on.
#[cfg(feature = "smol")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_smol {
    ($($t:tt)*) => { $($t)* };
}

/// Drops its input: the `smol` feature is off.
#[cfg(not(feature = "smol"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_smol {
    ($($t:tt)*) => {};
}

/// Keeps its input: the `sim` feature is on.
#[cfg(feature = "sim")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_sim {
    ($($t:tt)*) => { $($t)* };
}

/// Drops its input: the `sim` feature is off.
#[cfg(not(feature = "sim"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_sim {
    ($($t:tt)*) => {};
}

/// Keeps its input: the `tokio-paused` feature is on.
#[cfg(feature = "tokio-paused")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_tokio_paused {
    ($($t:tt)*) => { $($t)* };
}

/// Drops its input: the `tokio-paused` feature is off.
#[cfg(not(feature = "tokio-paused"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_tokio_paused {
    ($($t:tt)*) => {};
}
