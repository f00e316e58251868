//! Area `task_group`: task groups (AnyIO task groups, Trio nurseries).
//!
//! Cases never assert timings: where something must happen while a task is somewhere, the
//! task says so (a log line, a counter) and the case waits for it with generous bounds; what
//! is checked is the order of events and what the group returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::Log;

mod adversarial;
mod basics;
mod cancellation;
mod dropped;
mod errors;
mod nested;
mod scale;
mod soon;
mod start;
mod trio;

pub use adversarial::*;
pub use basics::*;
pub use cancellation::*;
pub use dropped::*;
pub use errors::*;
pub use nested::*;
pub use scale::*;
pub use soon::*;
pub use start::*;
pub use trio::*;

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_task_group {
    ($runner:expr) => {
        $crate::__area!($runner; task_group;
            start_soon_panic_at_first_poll_resumed_after_cleanup,
            child_handles_awaited_after_group_ended,
            fifty_thousand_start_soon_in_a_loop_complete,
            self_respawning_start_soon_task_stopped_by_enclosing_cancel,
            finished_child_handle_blocked_on_in_cancelled_scope_returns,
            all_children_awaited,
            child_error_cancels_body_and_siblings,
            two_failing_children_give_two_errors,
            body_error_cancels_children,
            enclosing_cancel_reaches_nested_groups_without_error,
            enclosing_cancel_waits_for_child_cleanup,
            cancel_after_body_returned_is_caught_at_group_exit,
            cancel_that_cut_off_no_task_returns_the_body_value,
            group_failure_waits_for_child_cleanup,
            child_inner_scope_cancel_does_not_touch_group,
            start_returns_value,
            start_error_before_ready_goes_to_caller,
            start_error_after_ready_goes_to_group,
            start_child_finishing_without_ready,
            cancelled_start_cancels_and_awaits_child,
            start_value_returned_when_caller_cancelled_after_ready,
            start_value_returned_when_ready_follows_caller_cancel,
            deadline_around_start_cancels_unready_task,
            child_panic_resumed_after_siblings_cleaned_up,
            spawn_after_group_ended_is_closed,
            handle_cancel_leaves_others_running,
            awaiting_handle_does_not_consume_error,
            child_spawned_into_cancelled_group_runs_to_first_suspension,
            children_spawn_siblings,
            group_cancel_returns_cancelled_without_errors,
            error_during_enclosing_cancel_is_returned,
            children_run_concurrently,
            deadline_around_group_cancels_body_and_tasks,
            group_entered_in_cancelled_scope_runs_to_first_suspension,
            resource_around_group_closed_after_every_task,
            ten_thousand_children,
            cancel_ten_thousand_sleeping_children,
            start_soon_tasks_awaited_and_error_returned,
            enclosing_cancel_reaches_start_soon_tasks,
            start_soon_into_cancelled_group_runs_to_first_suspension,
            start_soon_panic_resumed_after_sibling_cleanup,
            group_dropped_from_outside_cancels_and_awaits_every_child,
            group_dropped_in_a_task_root_is_awaited_by_the_task,
            panic_before_started_is_resumed_in_the_caller,
            start_from_outside_gets_cancelled_when_the_group_is_cancelled,
            errors_arriving_while_the_group_winds_down_are_all_returned_in_order,
            error_of_a_group_dropped_from_outside_is_counted,
            start_dropped_by_select_cancels_only_its_task,
            start_in_a_cancelled_group_runs_the_task_to_its_first_checkpoint,
            inner_group_failure_cancels_a_start_into_the_outer_group,
            aborted_host_cancels_the_task_it_was_starting,
            nested_group_error_cancels_the_outer_siblings,
            body_error_and_child_error_are_both_returned,
            body_panic_cancels_children_and_is_resumed_after_their_cleanup,
            spawn_from_outside_while_the_group_waits_is_awaited,
            many_children_failing_together_all_errors_returned,
            start_from_outside_keeps_a_winding_down_group_open,
            sibling_failure_while_the_body_waits_in_start,
            group_cancel_reaches_grandchildren_and_waits_for_their_cleanup,
            start_from_outside_failing_before_ready_keeps_the_group_open,
            start_into_a_group_cancelled_just_before_started,
            several_panics_and_an_error_one_panic_resumed_the_rest_counted,
            spawn_after_the_last_task_ended_but_before_the_group_noticed,
        );
    };
}

pub(crate) const LONG: Duration = Duration::from_secs(3600);

/// Logs `msg` when dropped: the synchronous part of a task's cleanup.
pub(crate) struct LogOnDrop(pub(crate) Log, pub(crate) &'static str);

impl Drop for LogOnDrop {
    fn drop(&mut self) {
        self.0.push(self.1);
    }
}

/// Whether `event` was logged.
pub(crate) fn logged(log: &Log, event: &str) -> bool {
    log.events().iter().any(|e| e == event)
}

/// Counts its drops: tells how many tasks were dropped (cancelled or finished).
pub(crate) struct CountOnDrop(pub(crate) Arc<AtomicUsize>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
