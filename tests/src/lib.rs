//! The anyscope conformance suite: every case is written once against `anyscope-core` and run
//! unchanged on every runtime adapter.
//!
//! # Running it on your own adapter
//!
//! A third-party adapter implements [`anyscope_core::runtime::Runtime`] and a `run` function
//! that drives a future to completion with that runtime as the ambient one (built on
//! [`anyscope_core::runtime::with_runtime`], then
//! [`anyscope_core::tracker::wait_detached_for`] with the same handle). Then, in a test file of
//! the adapter's crate (with `anyscope-conformance` as a dev-dependency):
//!
//! ```no_run
//! # use anyscope_tokio as my_adapter;
//! mod my_runtime {
//! #   use super::my_adapter;
//!     anyscope_conformance::conformance_suite!(my_adapter::run);
//! }
//! # fn main() {}
//! ```
//!
//! `cargo test` then lists every case as `my_runtime::<area>::<case>`. The runner is any path
//! or expression callable as `run(fut)` for `fut: impl Future<Output = ()> + Send + 'static`.
//!
//! Areas: `runtime`, `cancel`, `resource`, `exit_stack`, `task_group`, `sync`, `stream`, `pool`, `io`.

pub mod cases;
pub mod fixtures;
pub mod injection;
pub mod support;

/// Instantiates the whole suite for one runner: a module per area, a `#[test]` per case.
#[macro_export]
macro_rules! conformance_suite {
    ($runner:expr) => {
        $crate::__cases_runtime!($runner);
        $crate::__cases_cancel!($runner);
        $crate::__cases_resource!($runner);
        $crate::__cases_exit_stack!($runner);
        $crate::__cases_task_group!($runner);
        $crate::__cases_sync!($runner);
        $crate::__cases_stream!($runner);
        $crate::__cases_pool!($runner);
        $crate::__cases_io!($runner);
    };
}

/// Generates one area's module of tests.
#[doc(hidden)]
#[macro_export]
macro_rules! __area {
    ($runner:expr; $area:ident; $($case:ident),* $(,)?) => {
        pub mod $area {
            $(
                #[test]
                fn $case() {
                    ($runner)($crate::cases::$area::$case());
                }
            )*
        }
    };
}
