//! A spawned task's one allocation of anyscope's own: its future and the state its
//! [`JoinHandle`](super::JoinHandle) shares, in one `Arc`.
//!
//! The runtime holds a [`Task`] (a pointer to the cell; it needs no box) and polls it; the
//! handle holds the same cell. A `spawn` costs the runtime's own task cell and this one: two
//! allocations, as a boxed future spawned raw would (issue 18). Without the cell, the future
//! would be boxed for the object-safe [`Runtime`](super::Runtime) trait and the join state
//! kept in a third block.
//!
//! # Why `unsafe`, and the one thing it promises
//!
//! The future lives inside the shared allocation and is polled through a `&` to it, so safe
//! Rust cannot pin it (`Mutex` offers no pinned access). This module holds the crate's only
//! `unsafe` block, `Pin::new_unchecked` on the future in [`TaskCell::fut`]. Its promise — the
//! future is never moved again once polled — holds because:
//! - the future sits in `Mutex<Option<F>>` inside the `Arc`'s allocation, which never moves;
//! - the `Option` is only ever written with `*slot = None`, which drops the future in place
//!   (no `take`, `replace` or `swap` anywhere: nothing here moves out of the slot);
//! - the allocation is freed only after the cell is dropped, which drops the future in place.
//!
//! Everything concurrent here is safe code (two `Mutex`es and an atomic, through `sync_shim`,
//! modelled by loom in `loom_tests/task_cell.rs`).
//!
//! # What each party does
//!
//! - The runtime polls [`Task`]: an aborted task's future is dropped without a poll; otherwise
//!   it is polled inside `catch_unwind` (a panic becomes the join result and never reaches the
//!   runtime); at its end the future is dropped in place and the result stored for the handle.
//!   A task that suspends leaves its waker for `abort`. The runtime dropping the `Task`
//!   unfinished (shutdown, a closed executor) drops the future and reports a cancellation.
//! - The handle polls for the result (`Ctl`), aborts (sets the flag, wakes the task: the runtime
//!   then drops the future at its next poll, on its own thread, never on the aborter's), or
//!   reads whether it finished. It never takes the future's lock, so a task that aborts or
//!   polls its own handle cannot deadlock, and `abort` never waits for a running poll.
#![allow(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Waker};

use super::JoinError;
use crate::sync_shim::{AtomicU32, Mutex, MutexGuard, Ordering};

/// A task anyscope made, for a runtime to run: poll it to completion, or drop it (the task is
/// then cancelled: its handle reports [`JoinError::is_cancelled`]).
///
/// It is `Send`, `'static`, `Unpin`, panics never escape its `poll` (a panic of the task is
/// caught and reported through its handle), and it is one pointer wide: an adapter spawns it
/// as it is, with no box ([`Runtime::spawn_task`](super::Runtime::spawn_task)).
pub struct Task {
    cell: Arc<dyn Run>,
}

impl Future for Task {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.cell.run(cx)
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.cell.abandon();
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").finish_non_exhaustive()
    }
}

/// The runtime's side of a cell.
trait Run: Send + Sync + 'static {
    fn run(&self, cx: &mut Context<'_>) -> Poll<()>;
    fn abandon(&self);
}

/// The handle's side of a cell.
pub(crate) trait Join<T>: Send + Sync + 'static {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    fn abort(&self);
    fn is_finished(&self) -> bool;
}

/// Makes the cell of `fut`: the [`Task`] for the runtime and the handle's side.
pub(crate) fn new<F, T>(fut: F) -> (Task, Arc<dyn Join<T>>)
where
    F: Future<Output = Result<T, JoinError>> + Send + 'static,
    T: Send + 'static,
{
    let cell = Arc::new(TaskCell {
        fut: Mutex::new(Some(fut)),
        aborted: AtomicU32::new(0),
        dropped: AtomicU32::new(0),
        ctl: Mutex::new(Ctl { out: Out::Running, join: None, task: None }),
    });
    let join: Arc<dyn Join<T>> = cell.clone();
    (Task { cell }, join)
}

struct TaskCell<F, T> {
    /// The future, `None` once it has been dropped. Locked by the runtime's poll and drop
    /// only (one at a time: never contended), never by the handle.
    fut: Mutex<Option<F>>,
    /// 1 once aborted (set under `ctl`'s lock): read before each poll without the lock.
    aborted: AtomicU32,
    /// 1 once the future has been dropped. Written and read by the runtime's side only.
    dropped: AtomicU32,
    ctl: Mutex<Ctl<T>>,
}

struct Ctl<T> {
    out: Out<T>,
    /// The waker of the handle's last pending poll.
    join: Option<Waker>,
    /// The waker of the task's last pending poll, for `abort`.
    task: Option<Waker>,
}

enum Out<T> {
    Running,
    Ready(Result<T, JoinError>),
    Taken,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Replaces `slot` with `waker` unless it already wakes the same task; returns the old one,
/// to be dropped after the lock is released.
fn store(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(w) if w.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

impl<F, T> TaskCell<F, T>
where
    F: Future<Output = Result<T, JoinError>> + Send + 'static,
    T: Send + 'static,
{
    /// Drops the future in place (the only way the slot is ever emptied) and turns a panic of
    /// its drop into the result `otherwise` would have been replaced by.
    fn drop_future(
        &self,
        slot: &mut MutexGuard<'_, Option<F>>,
        otherwise: Result<T, JoinError>,
    ) -> Result<T, JoinError> {
        let dropped = catch_unwind(AssertUnwindSafe(|| **slot = None));
        self.dropped.store(1, Ordering::Relaxed);
        match dropped {
            Ok(()) => otherwise,
            Err(payload) => Err(JoinError::panicked(payload)),
        }
    }

    /// Stores the result and wakes the handle.
    fn finish(&self, out: Result<T, JoinError>) {
        let mut ctl = lock(&self.ctl);
        ctl.out = Out::Ready(out);
        let join = ctl.join.take();
        let task = ctl.task.take();
        drop(ctl);
        drop(task);
        if let Some(w) = join {
            w.wake();
        }
    }
}

impl<F, T> Run for TaskCell<F, T>
where
    F: Future<Output = Result<T, JoinError>> + Send + 'static,
    T: Send + 'static,
{
    fn run(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut slot = lock(&self.fut);
        let Some(fut) = slot.as_mut() else { return Poll::Ready(()) };
        if self.aborted.load(Ordering::Acquire) != 0 {
            let out = self.drop_future(&mut slot, Err(JoinError::cancelled()));
            drop(slot);
            self.finish(out);
            return Poll::Ready(());
        }
        // SAFETY: the future is never moved out of its slot (see the module docs): the slot is
        // inside the `Arc`'s allocation and is only ever emptied by dropping in place.
        let fut = unsafe { Pin::new_unchecked(fut) };
        let out = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => {
                let mut ctl = lock(&self.ctl);
                // An abort that came during the poll found no waker (or the last one): it is
                // seen here, under the same lock that it set the flag under.
                if self.aborted.load(Ordering::Relaxed) == 0 {
                    let old = store(&mut ctl.task, cx.waker());
                    drop(ctl);
                    drop(old);
                    return Poll::Pending;
                }
                drop(ctl);
                self.drop_future(&mut slot, Err(JoinError::cancelled()))
            }
            Ok(Poll::Ready(out)) => self.drop_future(&mut slot, out),
            Err(payload) => {
                // The payload of the poll's panic is reported, not the drop's.
                let _ = self.drop_future(&mut slot, Err(JoinError::cancelled()));
                Err(JoinError::panicked(payload))
            }
        };
        drop(slot);
        self.finish(out);
        Poll::Ready(())
    }

    fn abandon(&self) {
        // The common case, a task that ended: its future is gone, no lock is needed.
        if self.dropped.load(Ordering::Relaxed) != 0 {
            return;
        }
        let mut slot = lock(&self.fut);
        if slot.is_none() {
            return;
        }
        let out = self.drop_future(&mut slot, Err(JoinError::cancelled()));
        drop(slot);
        self.finish(out);
    }
}

impl<F, T> Join<T> for TaskCell<F, T>
where
    F: Future<Output = Result<T, JoinError>> + Send + 'static,
    T: Send + 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let mut ctl = lock(&self.ctl);
        match mem::replace(&mut ctl.out, Out::Taken) {
            Out::Ready(out) => Poll::Ready(out),
            Out::Running => {
                ctl.out = Out::Running;
                let old = store(&mut ctl.join, cx.waker());
                drop(ctl);
                drop(old);
                Poll::Pending
            }
            Out::Taken => {
                drop(ctl);
                panic!("anyscope: a JoinHandle was polled after it returned the task's result")
            }
        }
    }

    fn abort(&self) {
        let mut ctl = lock(&self.ctl);
        if !matches!(ctl.out, Out::Running) {
            return;
        }
        self.aborted.store(1, Ordering::Release);
        let task = ctl.task.take();
        drop(ctl);
        if let Some(w) = task {
            w.wake();
        }
    }

    fn is_finished(&self) -> bool {
        !matches!(lock(&self.ctl).out, Out::Running)
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
