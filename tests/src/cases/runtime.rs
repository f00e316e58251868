//! Area `runtime`: the runtime contract as seen through anyscope-core.

use anyscope_core::spawn;

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_runtime {
    ($runner:expr) => {
        $crate::__area!($runner; runtime;
            spawn_and_join,
        );
    };
}

/// A spawned task's output comes back through its handle.
pub async fn spawn_and_join() {
    let h = spawn(async { 40 + 2 });
    assert_eq!(h.await.unwrap(), 42);
}
