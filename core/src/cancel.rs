//! Cancel scopes: deadlines, shields, nesting and checkpoints, with Trio's semantics.
//!
//! | you want | use |
//! |---|---|
//! | give up on a body after a while, quietly | [`move_on_after`], [`move_on_at`] → `Option<T>` |
//! | give up and report a timeout | [`fail_after`], [`fail_at`] → `Result<T, Elapsed>` |
//! | cancel a body from elsewhere, read flags after | [`CancelScope`] |
//! | protect a step (a cleanup) from outer cancellation | [`shield`], [`CancelScope::shielded`] |
//! | let a long computation be cancelled | [`checkpoint`] in its loop |
//!
//! Compared with tokio-util's `CancellationToken`: a token only *signals*, and every await point
//! must select on it; a scope *delivers*, by dropping its body at the next suspension point, and
//! nests (deadlines combine, shields block, the outermost cancelled scope catches).

pub(crate) mod budget;
mod checkpoint;
pub(crate) mod node;
mod reason;
mod scope;
#[cfg(test)]
mod tests;
mod timeout;

pub use checkpoint::{
    CancelShieldedCheckpoint, Checkpoint, CheckpointIfCancelled, cancel_shielded_checkpoint, checkpoint,
    checkpoint_if_cancelled, current_effective_deadline, is_cancelled,
};
pub use reason::{CancelReason, Cancelled, Elapsed};
pub use scope::{CancelScope, Run, TryRun};
pub use timeout::{FailAt, MoveOn, Shield, fail_after, fail_at, move_on_after, move_on_at, shield};
