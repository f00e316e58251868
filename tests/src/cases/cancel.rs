//! Area `cancel`: cancel scopes, deadlines, shields, checkpoints.
//!
//! Cases never assert timings: where a deadline must pass before something else, the margins
//! are generous (a 20 ms deadline against a 10 s sleep), and the order of events is what is
//! checked.

mod adversarial;
mod after_exit;
mod anyio_scopes;
mod budget;
mod cleanups;
mod cycle;
mod deadlines;
mod huge;
mod links;
mod moved;
mod nested;
mod quiet;
mod races;
mod regions;
mod scopes;
mod select_loops;
mod shields;
mod tasks;
mod timers;
mod trio_nesting;

pub use adversarial::*;
pub use after_exit::*;
pub use anyio_scopes::*;
pub use budget::*;
pub use cleanups::*;
pub use cycle::*;
pub use deadlines::*;
pub use huge::*;
pub use links::*;
pub use moved::*;
pub use nested::*;
pub use quiet::*;
pub use races::*;
pub use regions::*;
pub use scopes::*;
pub use select_loops::*;
pub use shields::*;
pub use tasks::*;
pub use timers::*;
pub use trio_nesting::*;

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_cancel {
    ($runner:expr) => {
        $crate::__area!($runner; cancel;
            task_left_by_an_ended_group_child_is_cancelled_by_the_enclosing_scope,
            scope_moved_under_a_scope_being_cancelled_cancels_its_task,
            task_registering_while_its_scope_ends_is_reached_by_the_enclosing_cancel,
            borrower_in_a_scope_moved_to_another_task_is_the_new_task,
            scope_polled_inside_a_task_it_spawned_panics_instead_of_looping,
            ended_scope_handle_changes_affect_nothing,
            ended_shield_lowered_after_exit_still_shields,
            ended_cancelled_scope_keeps_its_task_cancelled,
            task_left_by_three_ended_scopes_is_cancelled_by_the_enclosing_one,
            respawn_chain_through_nested_scopes_is_cancelled_at_the_top,
            scope_moved_a_thousand_times_ends_under_the_last_one,
            scope_ping_pong_while_one_side_is_cancelled_settles,
            moved_scope_with_a_deadline_sees_the_min_of_its_own_and_the_new_enclosing,
            shield_and_group_inside_a_moved_scope,
            parent_cancel_racing_child_scope_end_reaches_its_task,
            select_in_a_loop_is_cancelled_from_another_task,
            deadline_reaches_a_select_loop_over_a_busy_stream,
            foreign_cancel_reaches_a_select_loop_over_a_busy_stream,
            nested_timeouts_the_expiring_scope_catches,
            a_sleep_due_after_the_deadline_never_completes_before_it,
            ready_awaitables_do_not_complete_in_a_cancelled_scope,
            effective_deadline_is_the_minimum_up_to_the_nearest_shield,
            shielded_scope_with_its_own_deadline_inside_a_cancelled_scope,
            body_completing_past_its_deadline_without_a_checkpoint_keeps_its_value,
            duration_max_sleep_deadline_and_grace_are_no_bound,
            shield_raised_and_lowered_while_the_scope_runs,
            deadline_inside_a_shield_under_a_cancelled_scope_is_a_timeout,
            cancellations_left_by_a_shield_are_delivered_at_the_next_checkpoint,
            deadline_moved_later_from_the_body,
            timeout_around_a_group_it_cut_off_is_elapsed,
            shielded_scope_cancelling_itself_is_cancelled_at_its_checkpoint,
            nested_deadlines_only_the_expired_scope_is_cancelled,
            futures_unordered_of_sleepers_in_cancelled_scope_ends,
            receive_through_combinator_under_cancel_loses_no_item,
            block_on_two_levels_deep_in_cancelled_scope_completes,
            block_on_task_group_in_cancelled_scope_returns,
            block_on_in_cleanup_and_in_drop_of_a_cancelled_task_completes,
            rearmed_spare_timer_fires_at_each_earlier_deadline,
            cancelled_before_run_delivers_at_first_checkpoint,
            cancel_called_without_caught_when_body_never_checkpoints,
            cpu_loop_with_checkpoint_is_cancellable,
            loop_that_never_suspends_finishes,
            cancelling_a_thousand_times_is_harmless,
            checkpoint_if_cancelled_does_not_yield_when_not_cancelled,
            checkpoint_if_cancelled_delivers_when_cancelled,
            scope_run_twice_panics,
            nested_explicit_cancels_outermost_catches,
            inner_cancel_is_caught_by_inner_only,
            cancel_after_finish_is_harmless,
            nested_deadlines_outer_earlier_wins,
            deadline_in_the_past_at_entry,
            deadline_moved_later_postpones_expiry,
            deadline_moved_earlier_hastens_expiry,
            deadline_removed_never_expires,
            fail_after_elapsed_only_on_own_deadline,
            outer_cancel_before_fail_after_deadline_is_not_a_timeout,
            fail_after_under_cancelled_outer_does_not_time_out,
            deadline_reason_reaches_caught_value,
            move_on_after_ready_body_returns_some,
            move_on_at_past_deadline_delivers_at_checkpoint,
            zero_delay_delivers_at_first_checkpoint,
            effective_deadline_stops_at_shield,
            shield_blocks_outer_cancel,
            shield_blocks_outer_deadline,
            delivery_at_first_unshielded_suspension_after_shield,
            shielded_scope_can_cancel_itself,
            shielded_scope_with_own_deadline,
            shield_toggled_on_blocks_pending_outer_cancel,
            shield_toggled_on_after_outer_cancel_blocks_it,
            shield_toggled_off_delivers_pending_outer_cancel,
            is_cancelled_true_inside_false_in_shield,
            cancel_shielded_checkpoint_is_not_a_delivery_point,
            cancel_from_another_task_wakes_std_pending,
            cancel_from_another_task_wakes_raw_foreign_future,
            cancelling_from_sixteen_tasks_is_harmless,
            spawned_task_is_cancelled_with_its_scope,
            spawned_task_cancelled_while_scope_awaits_handle,
            task_under_nested_scopes_is_cancelled_by_the_outermost,
            cancel_with_reason_reaches_caught_value,
            shield_in_child_task_does_not_defer_the_parent,
            task_spawned_inside_shield_is_not_cancelled_by_outer,
            task_under_nested_handle_scopes_reaches_the_outermost,
            lowered_shield_lets_the_outer_cancel_reach_its_task,
            groups_nested_through_a_handle_scope_reach_the_outermost,
            borrower_is_the_task_through_nested_scopes,
            task_spawned_by_a_cleanup_is_not_cancelled_with_the_scope,
            borrower_in_a_cleanup_is_the_task_through_nested_scopes,
            deadline_cuts_off_a_loop_of_ready_locks,
            deadline_stops_a_drain_of_buffered_items_early,
            foreign_cancel_reaches_a_loop_of_ready_events,
            deadline_cuts_off_a_loop_of_elapsed_sleeps,
            shield_polled_under_one_scope_and_finished_under_another_releases_no_other,
            shielded_checkpoint_first_polled_outside_any_frame_releases_no_other,
            shield_left_pending_by_a_body_does_not_block_the_enclosing_scope,
            shield_moved_to_another_task_leaves_the_first_cancellable,
            outer_cancel_while_inner_cleanups_run_lets_inner_return,
            panicking_adopted_close_counts_once_as_panicked,
            block_on_isolated_in_cancelled_scope_completes,
            drop_blocking_on_isolated_future_during_cancel_completes,
            guard_dropped_in_isolated_future_is_closed_before_it_returns,
            block_on_in_cancelled_scope_completes,
            block_on_in_elapsed_move_on_after_completes_then_delivers,
            scope_inside_block_on_keeps_its_own_cancellation,
            drop_blocking_on_a_future_during_cancel_completes,
            drop_blocking_on_a_close_during_cancel_completes,
            guard_dropped_in_nested_future_is_closed_by_the_enclosing_scope,
            futures_unordered_of_pending_ops_in_cancelled_scope_returns,
            join_of_two_recvs_under_cancelled_scope_loses_no_item,
            pool_acquire_in_block_on_in_cancelled_scope_completes,
            futures_unordered_inside_block_on_in_cancelled_scope_completes,
            futures_unordered_of_many_busy_children_under_a_deadline_returns,
            panicking_awaited_close_reaches_owner_once,
            scope_moved_between_scopes_follows_the_new_one,
            move_on_after_moved_between_scopes_follows_the_new_one,
            task_group_moved_between_scopes_follows_the_new_one,
            scope_moved_to_another_task_follows_it,
            scope_moved_under_a_cancelled_scope_cancels_its_task,
            task_left_by_an_ended_scope_follows_the_enclosing_scopes,
            task_left_by_a_cancelled_scope_stays_cancelled,
            borrower_in_a_shield_moved_to_another_task_is_the_new_task,
            task_of_a_moved_scope_sees_the_new_enclosing_deadline,
            timeouts_in_a_loop_fire_after_their_timer_is_reused,
            quiet_no_node_deadline_cuts_off_a_loop_of_ready_permits_locks_and_items,
            quiet_checkpoints_between_scopes_cancelled_at_entry_stop_at_their_first,
            quiet_busy_shield_ending_under_an_elapsed_deadline_stops_at_the_next_ready_op,
            quiet_busy_task_spawned_under_a_no_node_deadline_is_cancelled_when_it_passes,
            quiet_child_handle_and_group_cancel_reach_busy_children_in_no_node_scopes,
            quiet_nested_executor_frames_do_not_hide_the_cancelled_scope_around_them,
            quiet_shield_over_a_cancel_from_a_task_it_spawned_is_seen_after_it,
            quiet_scope_cancelled_by_its_own_busy_body_stops_at_the_next_ready_op,
        );
    };
}
