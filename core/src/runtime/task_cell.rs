//! A spawned task's one allocation of anyscope's own: its future and the state its
//! [`JoinHandle`](super::JoinHandle) shares, in one `Arc`.
//!
//! The runtime holds a [`Task`] (a pointer to the cell; it needs no box) and polls it; the
//! handle holds the same cell. A `spawn` costs the runtime's own task cell and this one: two
//! allocations, as a boxed future spawned raw would (issue 18). Without the cell, the future
//! would be boxed for the object-safe [`Runtime`](super::Runtime) trait and the join state
//! kept in a third block.
//!
//! # Why `unsafe`, and what it promises
//!
//! The future lives inside the shared allocation, so safe Rust can neither pin it nor reach it
//! mutably without a lock on every poll. The cell is split by owner instead:
//!
//! - **The runtime's side**, [`Slot`] (the future and the last waker stored for `abort`), sits
//!   in an `UnsafeCell` that only the one [`Task`] touches: [`Run::run`] and [`Run::abandon`]
//!   are `unsafe fn`s whose callers promise exclusive access, and their only callers are
//!   `Task::poll` (`Pin<&mut Task>`) and `Task::drop` (`&mut Task`). `Task` is not `Clone` and
//!   [`new`] makes one per cell, so these calls are serialized by the ownership of the `Task`.
//!   The handle's side never touches the slot. Hence `TaskCell: Sync` (`unsafe impl`, below).
//! - **The shared side**, [`Ctl`] (the result, the wakers, the abort flag), is safe code: a
//!   `Mutex` and an atomic. No foreign code runs under its lock: a waker is cloned before it
//!   and woken or dropped after it, so a waker whose `clone`, `wake` or `drop` looks at the
//!   handle cannot deadlock.
//!
//! The future is pinned with `Pin::new_unchecked`. It is never moved again once polled:
//! the slot is inside the `Arc`'s allocation, which never moves; `Slot::fut` is only ever
//! written with `= None`, which drops the future in place (no `take`, `replace` or `swap`); the
//! allocation is freed only after the cell is dropped, which drops the future in place.
//!
//! Under `cfg(loom)` the `UnsafeCell` is loom's, which fails a model if two threads touch the
//! slot at once: `loom_tests/task_cell.rs` models the poll, abort, join and drop races.
//!
//! # What each party does
//!
//! - The runtime polls [`Task`]: an aborted task's future is dropped without a poll; otherwise
//!   it is polled inside `catch_unwind` (a panic becomes the join result and never reaches the
//!   runtime); at its end the future is dropped in place and the result stored for the handle.
//!   A task that suspends leaves its waker for `abort` (taking `Ctl`'s lock only when the waker
//!   changed). The runtime dropping the `Task` unfinished (shutdown, a closed executor) drops the
//!   future and reports a cancellation. The output nobody took (a detached task's, or one
//!   whose handle was dropped unawaited) is dropped with the cell; a panic of that drop (or of
//!   a panic payload's drop) stays inside the cell's drop, as tokio contains it: it never
//!   reaches the runtime, nor the code that drops the handle.
//! - The handle polls for the result (`Ctl`), aborts (sets the flag, wakes the task: the runtime
//!   then drops the future at its next poll, on its own thread, never on the aborter's), or
//!   reads whether it finished. It never waits for a poll, so a task that aborts or polls its
//!   own handle cannot deadlock, and `abort` returns at once while the task runs.
#![allow(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Waker};

use super::JoinError;
use crate::sync_shim::{AtomicU32, Mutex, MutexGuard, Ordering, UnsafeCell};

/// A task anyscope made, for a runtime to run: poll it to completion, or drop it (the task is
/// then cancelled: its handle reports [`JoinError::is_cancelled`]).
///
/// It is `Send`, `'static`, `Unpin`, panics never escape its `poll` (a panic of the task is
/// caught and reported through its handle), and it is two words wide (an `Arc` of a trait
/// object): an adapter spawns it as it is, with no box
/// ([`Runtime::spawn_task`](super::Runtime::spawn_task)).
pub struct Task {
    /// The only reference to the cell's runtime side (see the module docs).
    cell: Arc<dyn Run>,
}

impl Future for Task {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `&mut Task`, and this `Task` is the only one of its cell.
        unsafe { self.cell.run(cx) }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: as in `poll`.
        unsafe { self.cell.abandon() }
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").finish_non_exhaustive()
    }
}

/// The runtime's side of a cell.
trait Run: Send + Sync + 'static {
    /// Polls the task.
    ///
    /// # Safety
    ///
    /// No other call of `run` or `abandon` on the same cell may run at the same time: only
    /// the cell's one [`Task`] calls them.
    unsafe fn run(&self, cx: &mut Context<'_>) -> Poll<()>;

    /// Drops the future if it is still there, and reports a cancellation.
    ///
    /// # Safety
    ///
    /// As [`run`](Run::run).
    unsafe fn abandon(&self);
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
        slot: UnsafeCell::new(Slot { fut: Some(fut), waker: None }),
        aborted: AtomicU32::new(0),
        ctl: Mutex::new(Ctl { out: Out::Running, join: None, task: None }),
    });
    let join: Arc<dyn Join<T>> = cell.clone();
    (Task { cell }, join)
}

struct TaskCell<F, T> {
    /// The runtime's side: touched only through `Run`'s `unsafe fn`s (see the module docs).
    slot: UnsafeCell<Slot<F>>,
    /// 1 once aborted (set under `ctl`'s lock): read before each poll without the lock.
    aborted: AtomicU32,
    ctl: Mutex<Ctl<T>>,
}

impl<F, T> Drop for TaskCell<F, T> {
    fn drop(&mut self) {
        // The output nobody took (a detached task's, or a handle dropped unawaited): a panic of
        // its drop (or of a panic payload's) stays here, as tokio contains it, on whichever
        // side drops the cell last (the runtime's, or the handle's).
        let ctl = self.ctl.get_mut().unwrap_or_else(PoisonError::into_inner);
        let out = mem::replace(&mut ctl.out, Out::Taken);
        if let Out::Ready(out) = out {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(out)));
        }
    }
}

// SAFETY: the slot, the only part that is not `Sync` by itself, is touched by the cell's one
// `Task` alone, one call at a time (`Run`'s contract); moving it between threads needs
// `F: Send`. The rest is a `Mutex` and an atomic over `T: Send`.
unsafe impl<F: Send, T: Send> Sync for TaskCell<F, T> {}

struct Slot<F> {
    /// `None` once the future has been dropped (in place: see the module docs).
    fut: Option<F>,
    /// A copy of the waker stored in `Ctl::task` by the last pending poll that stored one: a
    /// pending poll with a waker that `will_wake` the same task takes no lock. (`abort` may
    /// have taken `Ctl::task` since: it then woke that waker, and the next poll sees the flag.)
    waker: Option<Waker>,
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

impl<F, T> TaskCell<F, T>
where
    F: Future<Output = Result<T, JoinError>> + Send + 'static,
    T: Send + 'static,
{
    /// Drops the future in place (the only way it ever leaves the slot) and turns a panic of
    /// its drop into the result `otherwise` would have been replaced by.
    fn drop_future(slot: &mut Slot<F>, otherwise: Result<T, JoinError>) -> Result<T, JoinError> {
        let dropped = catch_unwind(AssertUnwindSafe(|| slot.fut = None));
        slot.waker = None;
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

    /// One poll, with the slot borrowed exclusively: `Ready(Some(result))` when the future ends
    /// (and is dropped) in it, `Ready(None)` if it had ended before.
    fn poll_slot(&self, slot: &mut Slot<F>, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        let Some(fut) = slot.fut.as_mut() else { return Poll::Ready(None) };
        if self.aborted.load(Ordering::Acquire) != 0 {
            return Poll::Ready(Some(Self::drop_future(slot, Err(JoinError::cancelled()))));
        }
        // SAFETY: the future is never moved out of its slot (see the module docs): the slot is
        // inside the `Arc`'s allocation and the future only ever leaves it by being dropped in
        // place.
        let fut = unsafe { Pin::new_unchecked(fut) };
        Poll::Ready(Some(match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => {
                if slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    // `ctl` has this waker, or an abort took it and woke it.
                    return Poll::Pending;
                }
                // Cloned before the lock: a waker's `clone` is foreign code that may look at
                // the handle (no foreign code runs under `ctl`'s lock).
                let (waker, copy) = (cx.waker().clone(), cx.waker().clone());
                let mut ctl = lock(&self.ctl);
                // An abort that came during the poll found no waker (or an old one): it is
                // seen here, under the same lock that it set the flag under.
                if self.aborted.load(Ordering::Relaxed) == 0 {
                    let old = ctl.task.replace(waker);
                    drop(ctl);
                    drop(old);
                    slot.waker = Some(copy);
                    return Poll::Pending;
                }
                drop(ctl);
                drop((waker, copy));
                Self::drop_future(slot, Err(JoinError::cancelled()))
            }
            Ok(Poll::Ready(out)) => Self::drop_future(slot, out),
            Err(payload) => {
                // The payload of the poll's panic is reported, not the drop's, which is dropped
                // here: a panic of its own drop stays here too.
                let dropped = Self::drop_future(slot, Err(JoinError::cancelled()));
                let _ = catch_unwind(AssertUnwindSafe(move || drop(dropped)));
                Err(JoinError::panicked(payload))
            }
        }))
    }
}

impl<F, T> Run for TaskCell<F, T>
where
    F: Future<Output = Result<T, JoinError>> + Send + 'static,
    T: Send + 'static,
{
    unsafe fn run(&self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the caller promises that no other `run` or `abandon` of this cell runs, and
        // nothing else touches the slot (see the module docs).
        let out = std::task::ready!(self.slot.with_mut(|slot| self.poll_slot(unsafe { &mut *slot }, cx)));
        // `None`: polled after it ended, nothing to do.
        if let Some(out) = out {
            self.finish(out);
        }
        Poll::Ready(())
    }

    unsafe fn abandon(&self) {
        let out = self.slot.with_mut(|slot| {
            // SAFETY: as in `run`.
            let slot = unsafe { &mut *slot };
            slot.fut.is_some().then(|| Self::drop_future(slot, Err(JoinError::cancelled())))
        });
        if let Some(out) = out {
            self.finish(out);
        }
    }
}

impl<F, T> Join<T> for TaskCell<F, T>
where
    F: Future<Output = Result<T, JoinError>> + Send + 'static,
    T: Send + 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        // A new waker is cloned with the lock released (a waker's `clone` is foreign code that
        // may look at this handle), then the state is read again.
        let mut new = None;
        loop {
            let mut ctl = lock(&self.ctl);
            match mem::replace(&mut ctl.out, Out::Taken) {
                Out::Ready(out) => {
                    drop(ctl);
                    drop(new);
                    return Poll::Ready(out);
                }
                Out::Running => {
                    ctl.out = Out::Running;
                    if ctl.join.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        drop(ctl);
                        drop(new);
                        return Poll::Pending;
                    }
                    match new.take() {
                        Some(waker) => {
                            let old = ctl.join.replace(waker);
                            drop(ctl);
                            drop(old);
                            return Poll::Pending;
                        }
                        None => {
                            drop(ctl);
                            new = Some(cx.waker().clone());
                        }
                    }
                }
                Out::Taken => {
                    drop(ctl);
                    drop(new);
                    panic!("anyscope: a JoinHandle was polled after it returned the task's result")
                }
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
