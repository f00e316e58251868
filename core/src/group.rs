//! Task groups: structured concurrency on any runtime (AnyIO's task group, Trio's nursery).
//!
//! [`task_group`] runs a body that receives a [`TaskGroup`] handle; tasks spawned with it run
//! on the runtime, in parallel, under the group's cancel scope; the group returns only when the
//! body and every task have finished, their cleanups included. So a resource opened around a
//! group outlives every task that uses it, errors are never lost, and cancelling a scope cancels
//! everything below it.
//!
//! | you want | use |
//! |---|---|
//! | run tasks that must all finish (or all be cancelled) before you go on | [`task_group`] + [`TaskGroup::spawn`] (or [`TaskGroup::start_soon`]: no handle, one allocation less) |
//! | start a server task and wait until it listens | [`TaskGroup::start`] + [`TaskStatus::started`] |
//! | stop one task | [`ChildHandle::cancel`] |
//! | stop all of them | [`TaskGroup::cancel`], or a [`CancelScope`](crate::CancelScope) around the group |
//!
//! # Compared with tokio's `JoinSet` and `TaskTracker`
//!
//! `JoinSet` aborts its tasks when dropped, without waiting for them; `TaskTracker` waits without
//! cancelling, and errors stay with whoever joins. A task group always waits, cancels on the first
//! failure, and returns every error; dropped from outside, it cancels its tasks and leaves their
//! completion tracked (the enclosing frame waits for them) rather than aborting them.
//!
//! # Examples
//!
//! ```
//! # anyscope_tokio::run(async {
//! use anyscope_core::{group::task_group, sleep};
//! use std::time::Duration;
//!
//! let res: Result<(), String> = task_group(|tg| async move {
//!     tg.spawn(async { sleep(Duration::from_secs(3600)).await; Ok(()) }).unwrap(); // cancelled
//!     tg.spawn(async { Err("worker 2 failed".to_string()) }).unwrap();
//!     Ok(())
//! })
//! .await
//! .map_err(|e| e.into_single().unwrap());
//! assert_eq!(res, Err("worker 2 failed".to_string()));
//! # });
//! ```

mod child;
mod error;
mod handle;
mod run;
mod shared;
mod start;
#[cfg(test)]
mod tests;

pub use child::ChildHandle;
pub use error::{ChildError, GroupClosed, GroupError, StartError};
pub use handle::TaskGroup;
pub use run::{RunGroup, task_group};
pub use start::{Start, TaskStatus};
