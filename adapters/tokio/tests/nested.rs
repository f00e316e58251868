//! tokio's own nested executor, `block_in_place` + `Handle::block_on`, inside a cancelled
//! scope: the nested future completes when wrapped in `runtime::isolated` (it keeps the ambient
//! runtime, so it may sleep: the other workers drive the timers meanwhile).

use std::time::Duration;

use anyscope_core::runtime::isolated;
use anyscope_core::{CancelScope, sleep};

#[test]
fn block_in_place_block_on_isolated_in_cancelled_scope_completes() {
    let out = anyscope_tokio::run(async {
        let scope = CancelScope::new();
        scope.cancel();
        let got = scope
            .run(async {
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(isolated(async {
                        sleep(Duration::from_millis(1)).await;
                        7
                    }))
                })
            })
            .await;
        (got, scope.cancelled_caught())
    });
    assert_eq!(out, (Some(7), false));
}
