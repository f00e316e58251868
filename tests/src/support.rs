//! Helpers shared by the cases.

use std::sync::{Arc, Mutex};

/// An ordered log of events, shared between tasks, for asserting the order things happened in.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// An empty log.
    pub fn new() -> Self {
        Log::default()
    }

    /// Appends an event.
    pub fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    /// The events so far.
    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A shared boolean, for observing from outside that a task reached a point (or never did).
#[derive(Clone, Debug, Default)]
pub struct Flag(Arc<std::sync::atomic::AtomicBool>);

impl Flag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Flag::default()
    }

    /// Sets the flag.
    pub fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Sets a [`Flag`] when dropped: tells that a future (or anything owning it) was dropped.
#[derive(Debug)]
pub struct SetOnDrop(pub Flag);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// Waits, with short sleeps on the ambient runtime, until `cond` holds; panics with `what` if it
/// still does not after a generous bound (10 s), so that a broken case fails instead of hanging.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let give_up = anyscope_core::current_time() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(anyscope_core::current_time() < give_up, "gave up waiting until {what}");
        anyscope_core::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// Polls `fut` exactly once, in the current poll (so inside whatever scopes run it now):
/// `Some(output)` if it completed. What a foreign combinator (`futures::poll!`, a `select!` that
/// gives up on a branch) does to a future it does not own.
pub async fn poll_once<F: std::future::Future + ?Sized>(fut: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut fut = Some(fut);
    std::future::poll_fn(move |cx| {
        let out = fut.take().expect("polled once").poll(cx);
        std::task::Poll::Ready(match out {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}
