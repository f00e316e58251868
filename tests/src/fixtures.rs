//! Test resources for the `resource`, `exit_stack`, `task_group` and `pool` areas.

use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::{AsyncClose, sleep, tracker};

use crate::support::Log;

/// A tracker kind unique to this call: the same case runs on several runners at once, and each
/// run must see only its own counts.
pub fn unique_kind(name: &str) -> &'static str {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Box::leak(format!("{name}#{n}").into_boxed_str())
}

/// The error a failing [`TestRes`] close returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseError(pub String);

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "close of {} failed", self.0)
    }
}

impl Error for CloseError {}

/// A resource whose close is logged (`closing x`, then `closed x`), can take time, fail or panic.
#[derive(Debug)]
pub struct TestRes {
    /// The name used in the log.
    pub name: String,
    kind: &'static str,
    log: Log,
    delay: Duration,
    fail: bool,
    panic: bool,
}

impl TestRes {
    /// Opens a resource named `name` (logged as `open name`).
    pub fn open(kind: &'static str, name: &str, log: &Log) -> Self {
        log.push(format!("open {name}"));
        TestRes {
            name: name.to_string(),
            kind,
            log: log.clone(),
            delay: Duration::ZERO,
            fail: false,
            panic: false,
        }
    }

    /// Its close sleeps `delay` first (an awaited close).
    pub fn slow(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Its close fails.
    pub fn failing(mut self) -> Self {
        self.fail = true;
        self
    }

    /// Its close panics.
    pub fn panicking(mut self) -> Self {
        self.panic = true;
        self
    }
}

impl AsyncClose for TestRes {
    type Error = CloseError;

    async fn close(self) -> Result<(), CloseError> {
        self.log.push(format!("closing {}", self.name));
        if !self.delay.is_zero() {
            sleep(self.delay).await;
        }
        if self.panic {
            panic!("close of {} panicked", self.name);
        }
        self.log.push(format!("closed {}", self.name));
        if self.fail { Err(CloseError(self.name.clone())) } else { Ok(()) }
    }

    fn kind(&self) -> &'static str {
        self.kind
    }
}

/// Waits (up to a generous bound) for `kind` to have nothing open, then asserts that nothing
/// was opened and left open or lost.
pub async fn assert_clean(kind: &str) {
    for _ in 0..2000 {
        if tracker::kind(kind).open() == 0 {
            break;
        }
        sleep(Duration::from_millis(5)).await;
    }
    let stats = tracker::kind(kind);
    assert_eq!(stats.open(), 0, "{kind}: resources left open: {stats:?}");
    assert_eq!(stats.lost, 0, "{kind}: resources lost: {stats:?}");
}

/// The `closed x` entries of the log, in order.
pub fn closes(log: &Log) -> Vec<String> {
    log.events().into_iter().filter(|e| e.starts_with("closed ")).collect()
}

/// Awaits a task with a generous bound (60 s), so that a lost wake-up fails instead of hanging.
pub async fn join<T: Send + 'static>(h: anyscope_core::JoinHandle<T>) -> T {
    anyscope_core::fail_after(Duration::from_secs(60), h)
        .await
        .expect("task did not finish")
        .expect("task failed")
}
