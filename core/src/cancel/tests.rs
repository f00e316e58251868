//! Hand-polled unit tests of delivery: which poll delivers, which wake-ups happen, which timers
//! are armed, on the manual runtime of `crate::testing`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Poll, Waker};

use super::checkpoint;
use crate::frame::{self, Cleanup};
use crate::runtime::with_runtime;
use crate::testing::{Log, MockRuntime, poll_with};

mod bounds;
mod delivery;
mod drops;
mod links;
mod shields;
mod wakeups;

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// `fut` as the root future of a task on the mock runtime.
fn rooted<F: Future + 'static>(rt: &MockRuntime, fut: F) -> Boxed<F::Output> {
    Box::pin(with_runtime(rt.handle(), fut))
}

/// Adopts into the innermost frame a cleanup that logs, passes a checkpoint, and logs again.
fn adopt_logging_cleanup(log: &Log, name: &'static str) -> bool {
    let l = log.clone();
    let cleanup = Cleanup::new(
        "test cleanup",
        Box::pin(async move {
            l.push(format!("{name} start"));
            checkpoint().await;
            l.push(format!("{name} end"));
        }),
    );
    frame::adopt(cleanup).is_ok()
}

/// A value in a body whose drop logs whether it is dropped inside a cancelled frame, and
/// adopts a cleanup there.
struct Probe(Log);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.push(format!("probe dropped, cancelled_here={}", frame::cancelled_here()));
        let adopted = adopt_logging_cleanup(&self.0, "cleanup");
        self.0.push(format!("adopted={adopted}"));
    }
}

/// Polls `fut` with `waker` until it is ready, at most `max` times.
fn poll_until_ready<T>(fut: &mut Boxed<T>, waker: &Waker, max: usize) -> Option<T> {
    for _ in 0..max {
        if let Poll::Ready(v) = poll_with(fut.as_mut(), waker) {
            return Some(v);
        }
    }
    None
}
