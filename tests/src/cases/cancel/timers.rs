//! Deadline timers are re-armed, not re-made: a thread keeps the timer of a deadline scope that
//! ended, and the next deadline scope of the same runtime resets it to its own deadline.

use std::time::Duration;

use anyscope_core::{current_time, fail_after, move_on_after, sleep, spawn};

/// Timeouts in a loop, each re-arming the timer the one before left behind: a deadline earlier
/// than the one the timer was last armed for fires (and not before it passes), a deadline that
/// follows one which already fired fires too, and a body whose deadline is later than the one
/// the timer was still armed for is not cut off when that old deadline passes. Tasks making
/// timeouts side by side on one runtime see the same.
pub async fn timeouts_in_a_loop_fire_after_their_timer_is_reused() {
    async fn rounds(n: usize) {
        for _ in 0..n {
            // Armed for an hour, then left behind: the body finished first.
            assert_eq!(
                move_on_after(Duration::from_secs(3600), sleep(Duration::from_millis(1))).await,
                Some(())
            );
            // Earlier than the deadline the timer was armed for: it fires at 20 ms, long before
            // the body's 5 s (a timer left at the hour would let the body finish).
            let t0 = current_time();
            assert_eq!(move_on_after(Duration::from_millis(20), sleep(Duration::from_secs(5))).await, None);
            assert!(current_time() >= t0 + Duration::from_millis(20), "fired before its deadline");
            // After a deadline that fired: fires again, at its own deadline.
            let t0 = current_time();
            let err =
                fail_after(Duration::from_millis(30), sleep(Duration::from_secs(60))).await.unwrap_err();
            assert!(err.deadline() >= t0 + Duration::from_millis(30));
            assert!(current_time() >= err.deadline(), "fired before its deadline");
        }
    }
    rounds(3).await;

    // Left armed for 200 ms, then moved to 60 s while the body sleeps past the 200 ms.
    assert_eq!(move_on_after(Duration::from_millis(200), sleep(Duration::from_millis(1))).await, Some(()));
    assert_eq!(move_on_after(Duration::from_secs(60), sleep(Duration::from_millis(300))).await, Some(()));

    let tasks: Vec<_> = (0..3).map(|_| spawn(rounds(2))).collect();
    for task in tasks {
        task.await.unwrap();
    }
}
