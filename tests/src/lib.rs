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
//! A runner that lacks what an area needs leaves it out by name:
//! `conformance_suite!(my_adapter::run; except io)`.

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
    // The suite without the listed areas, for runners that lack what they need (a runtime with
    // no reactor skips `io`): `conformance_suite!(my_adapter::run; except io)`.
    ($runner:expr; except $($skip:ident),+ $(,)?) => {
        $($crate::__known_area!($skip);)+
        $crate::__area_unless!(runtime [$($skip)+] $crate::__cases_runtime!($runner););
        $crate::__area_unless!(cancel [$($skip)+] $crate::__cases_cancel!($runner););
        $crate::__area_unless!(resource [$($skip)+] $crate::__cases_resource!($runner););
        $crate::__area_unless!(exit_stack [$($skip)+] $crate::__cases_exit_stack!($runner););
        $crate::__area_unless!(task_group [$($skip)+] $crate::__cases_task_group!($runner););
        $crate::__area_unless!(sync [$($skip)+] $crate::__cases_sync!($runner););
        $crate::__area_unless!(stream [$($skip)+] $crate::__cases_stream!($runner););
        $crate::__area_unless!(pool [$($skip)+] $crate::__cases_pool!($runner););
        $crate::__area_unless!(io [$($skip)+] $crate::__cases_io!($runner););
    };
}

/// Fails to compile unless its argument names an area (or `io`, the area of real I/O).
#[doc(hidden)]
#[macro_export]
macro_rules! __known_area {
    (runtime) => {};
    (cancel) => {};
    (resource) => {};
    (exit_stack) => {};
    (task_group) => {};
    (sync) => {};
    (stream) => {};
    (pool) => {};
    (io) => {};
}

/// Expands the tokens after the list unless the area is in the list.
#[doc(hidden)]
#[macro_export]
macro_rules! __area_unless {
    ($area:ident [] $($body:tt)*) => { $($body)* };
    (runtime [runtime $($rest:ident)*] $($body:tt)*) => {};
    (cancel [cancel $($rest:ident)*] $($body:tt)*) => {};
    (resource [resource $($rest:ident)*] $($body:tt)*) => {};
    (exit_stack [exit_stack $($rest:ident)*] $($body:tt)*) => {};
    (task_group [task_group $($rest:ident)*] $($body:tt)*) => {};
    (sync [sync $($rest:ident)*] $($body:tt)*) => {};
    (stream [stream $($rest:ident)*] $($body:tt)*) => {};
    (pool [pool $($rest:ident)*] $($body:tt)*) => {};
    (io [io $($rest:ident)*] $($body:tt)*) => {};
    ($area:ident [$skip:ident $($rest:ident)*] $($body:tt)*) => {
        $crate::__area_unless!($area [$($rest)*] $($body)*);
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
