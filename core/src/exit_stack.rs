//! [`ExitStack`]: Python's `AsyncExitStack` — a dynamic set of resources and callbacks, closed
//! LIFO.

mod error;
mod stack;

pub use error::{BoxError, ExitError};
pub use stack::{Entered, ExitOutcome, ExitStack};
