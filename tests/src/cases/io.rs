//! Area `io`: real resources on every runtime — TCP, UDP and Unix sockets on the runtime's
//! reactor, files and blocking calls on the blocking offload, threads both ways, signals.
//!
//! Only loopback addresses are ever used.

pub mod net;
mod util;

pub use net::*;

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
            close_from_another_task_fails_a_pending_read,
            use_after_close_is_an_error,
            split_halves_work_from_two_tasks,
            connect_tcp_resolves_localhost,
            tcp_stream_is_an_async_close_resource,
        );
    };
}
