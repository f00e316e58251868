//! Dropping an executor while cleanups are pending: no panic, and what could not be closed is
//! recorded as lost.

use std::sync::Arc;
use std::time::Duration;

use anyscope_core::{AsyncClose, Scoped, sleep, spawn, tracker};
use async_executor::Executor;

struct SlowClose(&'static str);

impl AsyncClose for SlowClose {
    type Error = std::convert::Infallible;

    async fn close(self) -> Result<(), Self::Error> {
        sleep(Duration::from_secs(3600)).await;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        self.0
    }
}

#[test]
fn dropping_the_executor_with_pending_cleanups_records_them_lost() {
    let kind = "smol-shutdown::slow-close";
    let ex = Arc::new(Executor::new());
    futures_lite::future::block_on(ex.run(anyscope_smol::bind_to(ex.clone(), async {
        let _task = spawn(async {
            drop(Scoped::new(SlowClose(kind))); // adopted by the task's frame
            sleep(Duration::from_secs(3600)).await;
        });
        for _ in 0..200 {
            if tracker::kind(kind).opened == 1 {
                break;
            }
            sleep(Duration::from_millis(5)).await;
        }
    })));
    assert_eq!(tracker::kind(kind).opened, 1);
    drop(ex); // drops the pending task: must not panic
    let stats = tracker::kind(kind);
    assert_eq!((stats.lost, stats.open()), (1, 0), "{stats:?}");
}
