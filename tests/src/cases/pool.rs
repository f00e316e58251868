//! Area `pool`: the connection pool.
//!
//! Cases use [`TestManager`](manager::TestManager), which counts live objects with a
//! high-water mark, logs its calls in order, and can be told to fail or to be slow. Each case
//! ends with the pool closed and its tracker kind clean (nothing open, nothing lost); where a
//! case checks the pool mid-way, the tracker's open objects equal the pool's size.
//!
//! Cases never assert timings: margins are generous and what is checked is order and counts.

mod basics;
mod cancel;
mod deadlines;
mod deadpool;
mod defaults;
mod huge_bounds;
mod lifecycle;
pub mod manager;
mod matrix;
mod waiting;

pub use basics::*;
pub use cancel::*;
pub use deadlines::*;
pub use deadpool::*;
pub use defaults::*;
pub use huge_bounds::*;
pub use lifecycle::*;
pub use matrix::*;
pub use waiting::*;

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_pool {
    ($runner:expr) => {
        $crate::__area!($runner; pool;
            max_size_never_exceeded_under_64_users,
            waiters_are_served_in_fifo_order,
            acquire_timeout_is_a_clear_error,
            create_failure_frees_its_slot,
            failing_recycle_closes_and_acquire_goes_on,
            broken_object_is_not_reused,
            detach_frees_the_slot,
            try_acquire_takes_idle_only_and_never_barges,
            pool_types_are_send_and_sync,
            callers_scope_bounds_acquire,
            cancelled_acquire_keeps_the_pool_whole,
            acquire_cancelled_mid_recycle_returns_and_closes_the_object,
            object_dropped_by_cancellation_is_recycled_before_reuse,
            failing_recycle_after_cancellation_closes_it,
            object_dropped_by_panic_is_recycled,
            cancellation_at_any_point_keeps_the_pool_whole,
            min_idle_refilled_after_closures,
            close_drains_then_refuses,
            close_fails_waiters,
            lifetime_expiry,
            idle_expiry,
            exit_stack_closes_pool_around_task_group,
            pool_dropped_unclosed_is_closed_by_its_frame,
            close_with_async_close_in_scope_keeps_the_handle,
            default_manager_closes_object_of_cut_off_holder,
            recycle_is_told_why_it_runs,
            close_that_never_ends_frees_its_slot,
            every_create_and_recycle_behaviour_with_cancelled_acquires,
            every_waiter_times_out,
            next_waiter_keeps_its_deadline_after_the_head_leaves,
            create_and_recycle_that_never_end_are_bounded,
            every_idle_object_failing_its_recycle_is_replaced_in_one_acquire,
            try_acquire_never_takes_a_suspect_object_before_its_recycle,
            concurrent_closes_wait_for_the_object_and_close_it_once,
            pool_dropped_while_another_task_holds_an_object,
            pool_with_duration_max_bounds_works,
            stats_follow_waiters_that_queue_leave_and_are_served,
            object_close_hands_the_slot_to_a_waiter,
            failed_create_for_a_waiter_passes_the_slot_on,
        );
    };
}
