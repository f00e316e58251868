//! Unit tests of the frame's state machine that the cancel module's hand-polled tests do not
//! cover.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::cancel::CancelScope;
use crate::frame::{self, Cleanup};
use crate::runtime::with_runtime;
use crate::testing::{Counter, Log, MockRuntime, poll_with};

/// Adopts a logging cleanup into the innermost frame, then panics.
struct AdoptsThenPanics(Log);

impl Drop for AdoptsThenPanics {
    fn drop(&mut self) {
        let l = self.0.clone();
        let cleanup = Cleanup::new("test cleanup", Box::pin(async move { l.push("cleanup ran") }));
        self.0.push(format!("adopted={}", frame::adopt(cleanup).is_ok()));
        panic!("a drop that panics");
    }
}

/// A body whose drop panics during the delivery leaves no body and no outcome, as a
/// completed frame does; the cleanup it adopted first is still handed on and run.
#[test]
fn a_body_whose_drop_panics_during_delivery_keeps_its_cleanups() {
    let rt = MockRuntime::new();
    let log = Log::new();
    let scope = CancelScope::new();
    let l = log.clone();
    let mut fut = Box::pin(with_runtime(
        rt.handle(),
        scope.run(async move {
            let _adopts = AdoptsThenPanics(l);
            std::future::pending::<()>().await;
        }),
    ));
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    scope.cancel();
    let polled = catch_unwind(AssertUnwindSafe(|| poll_with(fut.as_mut(), &waker)));
    assert!(polled.is_err(), "the drop's panic reaches the caller");
    assert_eq!(log.events(), ["adopted=true", "cleanup ran"]);
}
