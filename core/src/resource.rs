//! Scoped resources with structured async drop.
//!
//! Rust has no async `Drop`. anyscope gives one, structured: a resource with an async
//! [`close`](AsyncClose::close) lives in a [`Scoped`] guard. `guard.close().await` is the
//! explicit, preferred path. A guard dropped unclosed hands its close to the innermost *frame*
//! (the cancel scope, task or task group whose body dropped it), which polls it to completion —
//! shielded, in drop order — before the frame itself completes. So
//! `move_on_after(d, body)` returns only after everything `body` opened has been closed, even
//! when the deadline cut `body` off in the middle.
//!
//! Outside any frame the close runs on a detached task of the ambient runtime, which `run`
//! waits for; with no runtime at all it is recorded as lost in the [`tracker`](crate::tracker).
//! Drop never panics and never blocks a thread.
//!
//! | you want | use |
//! |---|---|
//! | a value with an async close, closed even on cancel or panic | [`Scoped`] |
//! | `async with res: body` in one call, close error reported | [`using`] |
//! | setup and teardown as two async steps, teardown told how the body ended | [`resource`] |
//! | a dynamic number of resources and callbacks, closed LIFO | [`ExitStack`](crate::ExitStack) |
//!
//! Compared with blocking in `Drop` (stalls a runtime thread) or spawning the close from `Drop`
//! (races the next user, lost at shutdown), adoption runs the close in the owner's own frame,
//! before the owner completes.

mod close;
mod completing;
mod context;
mod guard;
mod using;

pub use close::{AsyncClose, DropCause, drop_cause};
pub use context::{Exit, Resource, resource};
pub use guard::{Close, Scoped};
pub use using::{UsingError, using};

pub(crate) use completing::{Completing, Ending, dispose_close, settle};
