//! Area `cancel`: cancel scopes, deadlines, shields, checkpoints.

use anyscope_core::{CancelScope, checkpoint};

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_cancel {
    ($runner:expr) => {
        $crate::__area!($runner; cancel;
            cancelled_before_run_delivers_at_first_checkpoint,
        );
    };
}

/// A scope cancelled before it runs delivers at the body's first checkpoint: the code before
/// the checkpoint runs, the code after does not.
pub async fn cancelled_before_run_delivers_at_first_checkpoint() {
    let scope = CancelScope::new();
    scope.cancel();
    let log = crate::support::Log::new();
    let l = log.clone();
    let out = scope
        .run(async move {
            l.push("before");
            checkpoint().await;
            l.push("after");
        })
        .await;
    assert_eq!(out, None);
    assert!(scope.cancelled_caught());
    assert_eq!(log.events(), ["before"]);
}
