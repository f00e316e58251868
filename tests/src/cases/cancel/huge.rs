//! Durations too long to add to the clock (`Duration::MAX`) as a sleep, a scope's deadline or a
//! cleanup grace period are no bound at all: never a panic on an overflowing deadline.

use std::time::Duration;

use anyscope_core::{CancelScope, move_on_after, sleep};

/// A `Duration::MAX` sleep, deadline or grace period is no bound: the enclosing deadline still
/// cuts the sleep off, and a scope with such a deadline or grace runs its body to its end.
pub async fn duration_max_sleep_deadline_and_grace_are_no_bound() {
    assert_eq!(move_on_after(Duration::from_millis(5), sleep(Duration::MAX)).await, None);
    assert_eq!(move_on_after(Duration::MAX, async { 3 }).await, Some(3));
    assert!(anyscope_core::fail_after(Duration::MAX, sleep(Duration::from_millis(1))).await.is_ok());
    let scope = CancelScope::new();
    scope.set_cleanup_grace(Some(Duration::MAX));
    assert_eq!(scope.run(async { 4 }).await, Some(4));
}
