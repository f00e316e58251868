//! anyscope-core: structured async resource management on any runtime.
//!
//! The runtime-neutral core of [anyscope](https://docs.rs/anyscope): cancel scopes with
//! deadlines and shields, resources with guaranteed async cleanup, exit stacks, task groups,
//! synchronization primitives, memory streams and a connection pool — the Rust counterpart of
//! Python's AnyIO and Trio. It is written against the `futures` traits only; everything that
//! needs a runtime goes through the one [`Runtime`](runtime::Runtime) trait that the
//! `anyscope-tokio` and `anyscope-smol` adapters implement.
//!
//! Library authors depend on this crate alone; applications pick a runtime through the
//! `anyscope` facade's features.
//!
//! # Cargo features
//!
//! - `tracing` (off by default): the [`tracker`]'s diagnostics — lost, abandoned, failed and
//!   panicked closes, errors and panics nobody can receive — and each cancellation a scope
//!   catches (with its reason) become [`tracing`](https://docs.rs/tracing) events with the
//!   target `anyscope`. Without it the tracker's counters are the whole record: the library
//!   never writes to standard error.
//!
//! # How it works
//!
//! Every combinator that owns a body (a cancel scope, a spawned task, a task group) is a *frame*.
//! While it polls its body its state is the innermost entry of a per-thread stack (see
//! `frame.rs`): awaitables ask it whether they are cancelled, guards dropped during the poll hand
//! their async close to it, and core functions find the ambient runtime there. Cancellation is
//! delivered by dropping the body at a suspension point, inside the frame, so that the cleanups
//! the body leaves behind are run by the frame — shielded, in order — before it completes.
//!
//! # `unsafe`
//!
//! One module, `runtime/task_cell.rs`: a spawned task's future shares one allocation with the
//! state its [`JoinHandle`] reads (two allocations per task, with the runtime's own cell, instead
//! of three). Polling a `!Unpin` future through that shared allocation needs `Pin::new_unchecked`,
//! and reaching it without a lock per poll an `UnsafeCell` that only the task's one runtime-side
//! owner touches (`unsafe fn`s, `unsafe impl Sync`). The module's docs state the invariants (the
//! future is never moved out of its slot, only dropped in place; the slot has one owner) and
//! loom models check its concurrency with loom's `UnsafeCell` (`ci/loom.sh`); its unit tests
//! also build a waker by hand (`RawWaker`) to run code in a waker's `clone`. Everything else
//! denies `unsafe_code`.
//!
//! # Nested executors
//!
//! The frame stack is per thread, so a future polled *synchronously inside another future's
//! poll* sees the enclosing task's frames: `futures::executor::block_on(fut)`, tokio's
//! `block_in_place(|| handle.block_on(fut))`, or a `Drop` that blocks on a future. Inside a
//! cancelled scope, an awaitable used to return `Pending` there, for that scope to drop it,
//! without a wake-up — and the nested `block_on` blocked forever. anyscope now recognises the
//! nested executor on that slow path:
//!
//! - an awaitable that sees a cancellation through a frame entered by another poll than its
//!   own — another waker (a `FuturesUnordered` child's) or another `Context` (a nested
//!   executor's) — returns `Pending` *and* wakes its waker: a nested executor polls again, a
//!   combinator gets a spurious wake-up. A `select!` or `join!` passes the task's `Context`
//!   through, so its futures are cancelled exactly as before;
//! - the third such delivery in a row to the same poll, within one poll of the task, marks that
//!   poll as a nested executor's for the rest of the task's poll: from then on it does not see
//!   the frames below it (neither their cancellation nor the task's cooperative budget), while
//!   a scope entered *inside* the nested future keeps its own deadline and cancellation, and the
//!   lowest of them catches as a task root would.
//!
//! So the nested future completes, its ready operations completing after the cancellation
//! (nothing is lost: their results reach the nested future), and the task's next checkpoint
//! delivers the cancellation. A guard dropped inside the nested future hands its close to the
//! innermost frame, as anywhere: a scope entered inside the nested future, else the enclosing
//! scope, which closes it after its body (before it returns). The cost, paid on the fast path,
//! is one 32-bit tag folded and stored per frame poll (about ten instructions); the rest runs
//! only when a cancellation is delivered or the budget is spent. The precise rules, their limits and the figure 3 are in the source of
//! `cancel/budget.rs` ("# Nested executors"). The limits: a combinator that polls one child
//! three times or more within one poll under a waker of its own, or more than 128 children
//! with wakers of their own without stopping when they wake themselves (`FuturesUnordered`
//! stops after two), is taken for a nested executor (such polls complete their ready
//! operations after the cancellation; the next checkpoint of the task delivers); a nested
//! executor that polls anyscope awaitables only through several children of a
//! `FuturesUnordered` of its own is recognised only after up to 128 wake-ups; queries with no
//! `Context` ([`is_cancelled`], [`current_effective_deadline`]) still see the task's frames;
//! a [`task_group`] blocked on inside a cancelled scope takes the cancellation at its first
//! poll, before the nested executor is recognised: it returns a cancelled [`GroupError`]
//! instead of running its body to the end (it does not hang).
//!
//! [`runtime::isolated`] stays the explicit way, with no heuristic: `block_on(isolated(fut))`
//! gives the nested future a root frame of its own, as a spawned task has. Enclosing scopes then
//! neither cancel it nor adopt its cleanups (it runs them itself before it completes); give it
//! its own deadline if it may take long. Blocking a runtime thread stays a hazard of its own: on
//! a current-thread runtime a nested future that waits for a timer or another task still blocks
//! forever, isolated or not.
//!
//! # Examples
//!
//! ```
//! # anyscope_tokio::run(async {
//! use anyscope_core::{move_on_after, shield, sleep};
//! use std::time::Duration;
//!
//! let out = move_on_after(Duration::from_millis(10), async {
//!     shield(sleep(Duration::from_millis(20))).await; // finishes despite the deadline
//!     sleep(Duration::from_secs(60)).await; // the deadline is delivered here
//! })
//! .await;
//! assert_eq!(out, None);
//! # });
//! ```
// One fenced `unsafe` block, in `runtime/task_cell.rs` (which says why); denied elsewhere.
#![deny(unsafe_code)]

pub mod cancel;
pub mod exit_stack;
mod frame;
pub mod from_thread;
pub mod fs;
pub mod group;
pub mod net;
pub mod pool;
pub mod resource;
pub mod runtime;
pub mod signal;
pub mod stream;
pub mod sync;
mod sync_shim;
pub mod tracker;

mod blocking;
#[cfg(all(test, loom))]
mod loom_tests;
mod task;
#[cfg(test)]
mod testing;
mod time;
mod util;

pub use blocking::{RunBlocking, default_thread_limiter, run_blocking};
pub use cancel::{
    CancelReason, CancelScope, Cancelled, Elapsed, cancel_shielded_checkpoint, checkpoint,
    checkpoint_if_cancelled, current_effective_deadline, fail_after, fail_at, is_cancelled, move_on_after,
    move_on_at, shield,
};
pub use exit_stack::ExitStack;
pub use group::{
    ChildError, ChildHandle, GroupClosed, GroupError, StartError, TaskGroup, TaskStatus, task_group,
};
pub use pool::{Pool, PoolConfig, PoolError};
pub use resource::{AsyncClose, Scoped, using};
pub use runtime::{JoinError, JoinHandle};
pub use stream::{Receiver, Sender, channel};
pub use sync::{
    BorrowerId, CapacityLimiter, CapacityToken, Condition, Event, Mutex, MutexGuard, OwnedMutexGuard,
    OwnedSemaphorePermit, Semaphore, SemaphorePermit,
};
pub use task::spawn;
pub use time::{Sleep, current_time, sleep, sleep_until};
