//! The runtime contract: the one trait an adapter implements, and the ambient runtime.
//!
//! anyscope-core never names a runtime. Everything it needs from one — spawning, blocking
//! offload, a clock and timers, yielding — goes through [`Runtime`], an object-safe trait that
//! `anyscope-tokio` and `anyscope-smol` implement in a few dozen lines each. A third-party
//! adapter implements the same trait and runs the conformance suite to prove it behaves the same.
//!
//! The runtime is *ambient*, as in AnyIO: inside a frame that carries one (the root future of
//! `run`, every task anyscope spawns, a future wrapped by [`with_runtime`]) core functions such as
//! [`sleep`](crate::sleep) find it without a parameter. Adapters may also register a
//! [fallback](register_fallback) that finds the runtime from the runtime's own context (tokio's
//! `Handle::try_current`), so code that runs on a runtime the user built keeps working.

mod contract;
mod handle;
mod join;
pub(crate) mod task_cell;
pub(crate) mod thread;

pub use crate::frame::{Isolated, WithRuntime, current, isolated, try_current, with_runtime};
pub use contract::{BoxFuture, RawTask, Runtime, TaskOutput, Timer};
pub use handle::{Handle, NoRuntime, register_fallback};
pub use join::{JoinError, JoinHandle};
pub use task_cell::Task;

pub(crate) use handle::fallback_lookup;
pub(crate) use join::panic_message;
pub(crate) use task_cell::new as task_cell;
