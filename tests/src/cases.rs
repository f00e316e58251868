//! The cases, one module per area. Each area module lists its cases in a `__cases_<area>!`
//! macro that [`conformance_suite!`](crate::conformance_suite) expands.

pub mod cancel;
pub mod exit_stack;
pub mod io;
pub mod pool;
pub mod resource;
pub mod runtime;
pub mod stream;
pub mod sync;
pub mod task_group;
