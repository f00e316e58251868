//! A blocking call abandoned on cancel keeps its limiter token until the function returns on
//! its thread (the token is given back "when `f` returns"): the limiter never lets more calls
//! run at once than it has tokens, abandoned ones included.

use std::sync::Arc;
use std::time::Duration;

use anyscope_core::sync::CapacityLimiter;
use anyscope_core::{move_on_after, run_blocking, sleep, spawn};

use crate::support::{Flag, wait_until};

/// The abandoned call still holds the one token: a second call waits until the first returns.
pub async fn abandoned_blocking_call_keeps_its_token_until_it_returns() {
    let limiter = Arc::new(CapacityLimiter::new(1));
    let (release, done) = (Flag::new(), Flag::new());
    let (r, d) = (release.clone(), done.clone());
    let out = move_on_after(
        Duration::from_millis(20),
        run_blocking(move || {
            while !r.is_set() {
                std::thread::sleep(Duration::from_millis(2));
            }
            d.set();
        })
        .abandon_on_cancel()
        .limiter(limiter.clone()),
    )
    .await;
    assert!(out.is_none());
    assert!(!done.is_set());
    assert_eq!(limiter.borrowed_tokens(), 1, "the running call still holds its token");
    let d2 = done.clone();
    let second = spawn(run_blocking(move || d2.is_set()).limiter(limiter.clone()));
    sleep(Duration::from_millis(10)).await;
    assert!(!second.is_finished(), "the second call waits for the token");
    release.set();
    assert!(second.await.unwrap(), "the second call ran only after the first returned");
    let l = limiter.clone();
    wait_until("every token is back", move || l.borrowed_tokens() == 0).await;
}
