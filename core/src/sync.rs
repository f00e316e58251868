//! Synchronization primitives with AnyIO's cancel-safety guarantees.
//!
//! | you want | use |
//! |---|---|
//! | tell waiting tasks that something happened, once | [`Event`] |
//! | exclusive access to data across `.await` | [`Mutex`] |
//! | at most N holders of something | [`Semaphore`] |
//! | at most N borrowers, each identified, resizable (AnyIO's thread/worker limiter) | [`CapacityLimiter`] |
//! | wait, under a lock, until a predicate holds | [`Condition`] with a [`Mutex`] |
//! | pass values between tasks | [`stream::channel`](crate::stream::channel) |
//!
//! # Guarantees
//!
//! Every awaitable here is a *checkpoint*: inside an effectively cancelled scope it does not
//! complete — the lock is not taken, the permit not acquired, the event wait does not return
//! even if the event was set meanwhile — and the scope drops it. Dropping a waiter (cancelled or
//! not) is always safe: it leaves its queue, and whatever had already been handed to it (a
//! lock, permits, a token, a notification) goes on to the next waiter. So a cancelled waiter
//! never takes or loses anything, and the others keep their place (the lock lost to a racing
//! cancel of AnyIO#398 cannot happen).
//!
//! Fairness is strict FIFO everywhere: what is released is handed directly to the oldest
//! waiter, and a newcomer (including `try_*`) never barges past a waiter.
//!
//! No primitive poisons: a panic while a guard is held releases it.
//!
//! # How it is built, and why not `async-lock`
//!
//! [`Event`] is built on `event-listener`: a broadcast, which is exactly its semantics.
//!
//! The others share one mechanism (`queue.rs`): a `std::sync::Mutex` over the state and a FIFO
//! queue of waiters, each with its waker and a `granted` flag. A release *hands* what it frees
//! to the oldest waiters (marks them granted, under the lock) before anyone else can look; wakers
//! are collected under the lock and woken after it is released, and no user code ever runs under
//! it. The semaphore (and the mutex built on it) also has a lock-free fast path: one atomic word
//! holds the free permits and a flag that says a waiter may be waiting; with the flag clear an
//! acquisition is one compare-and-swap and a release one `fetch_add`, and the lock is taken only
//! when someone waits (the invariants are in `semaphore/raw.rs`). `event-listener` alone cannot express this handoff (a notified listener still races
//! newcomers for the resource), which is the root of async-lock#23 (a waiter can lose its permit
//! to newcomers); `async_lock::Semaphore` (3.5) also has no close, no multi-permit acquire, no
//! forgetting of free permits and no maximum (deadpool keeps tokio's semaphore for close and
//! permit management). `async-channel` (2.5) refuses capacity 0 (no rendezvous) and closes the
//! whole channel rather than one clone, so the memory streams are ours too.
//!
//! # Examples
//!
//! ```
//! # anyscope_tokio::run(async {
//! use anyscope_core::sync::{Mutex, Semaphore};
//! use std::sync::Arc;
//! let total = Arc::new(Mutex::new(0));
//! let sem = Arc::new(Semaphore::new(2)); // at most two tasks inside at once
//! let mut tasks = Vec::new();
//! for i in 0..4 {
//!     let (total, sem) = (Arc::clone(&total), Arc::clone(&sem));
//!     tasks.push(anyscope_core::spawn(async move {
//!         let _permit = sem.acquire().await.unwrap();
//!         *total.lock().await += i;
//!     }));
//! }
//! for t in tasks {
//!     t.await.unwrap();
//! }
//! assert_eq!(*total.lock().await, 6);
//! # });
//! ```

mod capacity_limiter;
mod condition;
mod error;
mod event;
mod mutex;
pub(crate) mod queue;
mod semaphore;
#[cfg(test)]
mod tests;

pub use capacity_limiter::{
    AcquireToken, Borrow, BorrowerId, CapacityLimiter, CapacityLimiterStatistics, CapacityToken,
};
pub use condition::{CondWait, Condition, ConditionStatistics};
pub use error::{AcquireError, CapacityError, MaxPermitsExceeded, TryAcquireError, TryLockError, ZeroTokens};
pub use event::{Event, EventStatistics, Wait};
pub use mutex::{Lock, LockOwned, Mutex, MutexGuard, MutexStatistics, OwnedMutexGuard};
pub use semaphore::{
    Acquire, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit, SemaphoreStatistics,
};
