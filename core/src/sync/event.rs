//! A one-shot event: set once, wakes every waiter.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use event_listener::EventListener;

use crate::frame;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// An event (AnyIO's `Event`): starts unset, [`set`](Event::set) once, and every task waiting
/// in [`wait`](Event::wait) — now or later — goes through. It cannot be cleared.
///
/// Built on `event-listener`, whose broadcast semantics match exactly (no fairness question
/// arises: every waiter is released).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::sync::Event;
/// use std::sync::Arc;
/// let ev = Arc::new(Event::new());
/// let ev2 = Arc::clone(&ev);
/// let waiter = anyscope_core::spawn(async move { ev2.wait().await; "through" });
/// ev.set();
/// assert_eq!(waiter.await.unwrap(), "through");
/// # });
/// ```
pub struct Event {
    // Ordering: `set` stores with `Release` before notifying, `wait` loads with `Acquire` after
    // registering its listener, so a waiter either sees the flag or gets the notification.
    set: AtomicBool,
    waiting: AtomicUsize,
    event: event_listener::Event,
}

/// A snapshot of an [`Event`]'s state.
///
/// # Examples
///
/// ```
/// let ev = anyscope_core::sync::Event::new();
/// assert_eq!(ev.statistics().tasks_waiting, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventStatistics {
    /// Tasks blocked in [`Event::wait`].
    pub tasks_waiting: usize,
}

impl Event {
    /// An unset event.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!anyscope_core::sync::Event::new().is_set());
    /// ```
    pub fn new() -> Self {
        Event {
            set: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            event: event_listener::Event::new(),
        }
    }

    /// Sets the event and wakes every waiter. Setting it again does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = anyscope_core::sync::Event::new();
    /// ev.set();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        if !self.set.swap(true, Ordering::Release) {
            self.event.notify(usize::MAX);
        }
    }

    /// Whether the event has been set.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = anyscope_core::sync::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Waits until the event is set (at once if it already is).
    ///
    /// # Cancel safety
    ///
    /// A checkpoint: inside a cancelled scope it does not complete, even if the event is set
    /// meanwhile, so a cancelled waiter never goes through. Nothing is lost by dropping it.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let ev = anyscope_core::sync::Event::new();
    /// ev.set();
    /// ev.wait().await;
    /// # });
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait { event: self, listener: None }
    }

    /// A snapshot of the state.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = anyscope_core::sync::Event::new();
    /// assert_eq!(ev.statistics().tasks_waiting, 0);
    /// ```
    pub fn statistics(&self) -> EventStatistics {
        EventStatistics { tasks_waiting: self.waiting.load(Ordering::Relaxed) }
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("is_set", &self.is_set()).finish()
    }
}

/// The future of [`Event::wait`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let ev = anyscope_core::sync::Event::new();
/// ev.set();
/// let fut: anyscope_core::sync::Wait<'_> = ev.wait();
/// fut.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Wait<'a> {
    event: &'a Event,
    listener: Option<EventListener>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let this = &mut *self;
        loop {
            if this.event.is_set() {
                this.stop_listening();
                return Poll::Ready(());
            }
            match &mut this.listener {
                None => {
                    // Register, then re-check the flag at the top of the loop.
                    this.listener = Some(this.event.event.listen());
                    this.event.waiting.fetch_add(1, Ordering::Relaxed);
                }
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.stop_listening();
                }
            }
        }
    }
}

impl Wait<'_> {
    fn stop_listening(&mut self) {
        if self.listener.take().is_some() {
            self.event.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.stop_listening();
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").field("event", self.event).finish()
    }
}
