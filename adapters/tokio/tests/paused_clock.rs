//! tokio's paused test clock drives anyscope's time: sleeps, deadlines and `current_time`.

use std::time::Duration;

use anyscope_core::{current_time, move_on_after, sleep};

#[tokio::test(start_paused = true)]
async fn anyscope_time_follows_the_paused_clock() {
    anyscope_tokio::bind(async {
        let start = current_time();
        let wall = std::time::Instant::now();
        // An hour of virtual time passes at once.
        sleep(Duration::from_secs(3600)).await;
        assert!(current_time() - start >= Duration::from_secs(3600));
        // A deadline of a day cuts off a sleep of a week, in virtual time.
        let out = move_on_after(Duration::from_secs(86_400), sleep(Duration::from_secs(7 * 86_400))).await;
        assert_eq!(out, None);
        assert!(current_time() - start >= Duration::from_secs(3600 + 86_400));
        assert!(wall.elapsed() < Duration::from_secs(60), "virtual time must not be slept for real");
    })
    .await;
}
