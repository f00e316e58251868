//! Area `io`: real resources on every runtime — TCP, UDP and Unix sockets on the runtime's
//! reactor, files and blocking calls on the blocking offload, threads both ways, signals.
//!
//! Only loopback addresses are ever used. The socket and signal cases return early on a runtime
//! without the I/O part of the contract (the `Runtime` trait's defaults answer `Unsupported`).

pub mod abandoned;
pub mod anyio_sockets;
pub mod fileio;
pub mod files;
pub mod net;
pub mod probes;
pub mod sockets;
pub mod threads;
pub mod to_thread;
mod util;

pub use abandoned::*;
pub use anyio_sockets::*;
pub use fileio::*;
pub use files::*;
pub use net::*;
pub use probes::*;
pub use sockets::*;
pub use threads::*;
pub use to_thread::*;

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_io {
    ($runner:expr) => {
        $crate::__area!($runner; io;
            tcp_echo_on_loopback,
            tcp_half_close_lets_the_peer_answer,
            connection_refused_names_the_address,
            connect_cut_off_by_a_deadline_leaves_no_socket_open,
            serve_cancelled_closes_every_connection_before_the_scope_returns,
            thousand_concurrent_connections,
            a_burst_of_connects_is_queued_before_any_accept,
            close_from_another_task_fails_a_pending_read,
            use_after_close_is_an_error,
            split_halves_work_from_two_tasks,
            connect_tcp_resolves_localhost,
            tcp_stream_is_an_async_close_resource,
            udp_round_trip,
            unix_socket_echo,
            signal_delivered_to_a_receiver,
            signal_receiver_names_the_signal,
            file_write_seek_read,
            file_cut_off_by_a_deadline_is_flushed_and_closed,
            bad_path_error_names_it,
            fs_helpers_and_read_dir,
            temp_file_and_dir_removed_on_close,
            run_blocking_is_structured,
            run_blocking_abandon_on_cancel_returns_at_once,
            run_blocking_takes_a_token_from_the_limiter,
            abandoned_blocking_call_keeps_its_token_until_it_returns,
            from_thread_runs_async_code_on_the_host,
            from_thread_inherits_the_callers_cancel_scope,
            check_cancelled_sees_a_deadline,
            guard_dropped_inside_run_blocking_is_closed,
            file_seek_counts_queued_writes,
            file_read_cut_off_loses_nothing,
            file_read_on_write_only_is_an_error,
            close_from_another_task_fails_a_pending_write,
            udp_oversized_datagram_is_an_error,
            run_blocking_in_a_cancelled_scope_does_not_start,
            thousand_blocking_calls_respect_their_limiter,
            from_thread_outside_a_blocking_call_is_an_error,
            unix_bind_on_an_existing_path_names_it,
            empty_read_returns_at_once,
            socket_operations_are_checkpoints,
            blocking_panic_is_resumed_in_the_caller_and_gives_its_token_back,
            from_thread_panic_is_resumed_on_the_thread,
            call_cancelled_while_waiting_for_a_token_never_runs,
            nested_blocking_and_from_thread_calls,
            blocking_call_dropped_by_a_select_is_waited_for_by_its_scope,
            group_error_waits_for_a_running_blocking_call,
            run_blocking_with_no_runtime_panics_clearly,
            blocking_call_in_a_shield_sees_no_outer_cancellation,
            token_released_as_the_waiting_call_is_cancelled_is_not_lost,
            aborted_caller_cancels_the_from_thread_code_of_its_blocking_call,
            blocking_call_dropped_by_a_select_is_told_it_is_cancelled,
            from_thread_cancellation_says_why,
            file_dropped_right_after_a_write_keeps_its_bytes,
            file_write_lands_without_another_operation,
            temp_creation_cancelled_midway_leaves_nothing_behind,
            temp_closed_in_a_cancelled_scope_is_removed,
            file_closed_in_a_cancelled_scope_keeps_accepted_bytes,
            file_reads_writes_and_seeks_are_checkpoints,
            tcp_read_after_the_peer_closed_is_end_of_stream_every_time,
            tcp_large_write_arrives_whole,
            tcp_reads_cut_off_lose_no_byte,
            udp_receives_cut_off_lose_no_datagram,
            close_handle_gives_the_peer_the_end_of_stream,
            unix_close_from_another_task_fails_a_pending_read,
        );
    };
}
