//! Bounding a slow explicit close (`Scoped::close` under a shielded scope with a deadline):
//! the deadline cuts the caller off, but the rest of the close is finished by the scope, to its
//! end — cleanups run to their end in every kind of scope — unless the scope also has a cleanup
//! grace period, which is what abandons what outlives it.

use std::time::Duration;

use anyscope_core::{CancelScope, Scoped, current_time, tracker};

use crate::fixtures::{TestRes, assert_clean, closes, unique_kind};
use crate::support::Log;

/// A deadline alone cuts the caller off and the close still runs to its end (nothing is
/// abandoned); with a grace period as well, the rest is abandoned and counted.
pub async fn deadline_alone_does_not_abandon_an_explicit_close() {
    let kind = unique_kind("resource::deadline_alone");
    let log = Log::new();
    let guard = Scoped::new(TestRes::open(kind, "slow", &log).slow(Duration::from_millis(300)));
    let bound = CancelScope::shielded();
    bound.set_deadline(Some(current_time() + Duration::from_millis(5)));
    let out = bound.run(guard.close()).await;
    assert!(out.is_none(), "the deadline cut the caller off");
    assert_eq!(closes(&log), ["closed slow"], "the scope finished the close before it returned");
    let stats = tracker::kind(kind);
    assert_eq!((stats.abandoned, stats.closed_adopted, stats.lost), (0, 1, 0), "{stats:?}");
    assert_clean(kind).await;

    let kind = unique_kind("resource::deadline_and_grace");
    let guard = Scoped::new(TestRes::open(kind, "stuck", &log).slow(Duration::from_secs(3600)));
    let bound = CancelScope::shielded();
    bound.set_deadline(Some(current_time() + Duration::from_millis(5)));
    bound.set_cleanup_grace(Some(Duration::from_millis(5)));
    assert!(bound.run(guard.close()).await.is_none());
    let stats = tracker::kind(kind);
    assert_eq!((stats.abandoned, stats.lost, stats.open()), (1, 0, 0), "{stats:?}");
}
