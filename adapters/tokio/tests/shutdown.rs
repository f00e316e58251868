//! Shutting a tokio runtime down while cleanups are pending: no panic, and what could not be
//! closed is recorded as lost.

use std::time::Duration;

use anyscope_core::{AsyncClose, Scoped, sleep, spawn, tracker};

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
fn dropping_the_runtime_with_pending_cleanups_records_them_lost() {
    let kind = "tokio-shutdown::slow-close";
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(anyscope_tokio::bind(async {
        let _task = spawn(async {
            let guard = Scoped::new(SlowClose(kind));
            drop(guard); // adopted by the task's frame: its close sleeps for an hour
            sleep(Duration::from_secs(3600)).await;
        });
        // Let the task start and adopt the close.
        for _ in 0..200 {
            if tracker::kind(kind).opened == 1 {
                break;
            }
            sleep(Duration::from_millis(5)).await;
        }
    }));
    assert_eq!(tracker::kind(kind).opened, 1);
    drop(rt); // must not panic
    let stats = tracker::kind(kind);
    assert_eq!((stats.lost, stats.open()), (1, 0), "{stats:?}");
}

#[test]
fn dropping_the_runtime_with_a_detached_cleanup_records_it_lost() {
    let kind = "tokio-shutdown::detached";
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let guard = Scoped::new(SlowClose(kind));
    rt.block_on(async move {
        // Dropped on the runtime but outside any anyscope frame: closed by a detached task.
        drop(guard);
        tokio::task::yield_now().await;
    });
    drop(rt);
    let stats = tracker::kind(kind);
    assert_eq!((stats.lost, stats.open()), (1, 0), "{stats:?}");
}
