//! The two runtimes every row runs on, and the small futures the rows share.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_executor::Executor;

/// tokio, multi-thread with 2 workers (the baseline and anyscope share it), and the smol
/// executor anyscope_smol drives (its global executor: one worker per core plus the calling
/// thread; the raw async-executor baseline runs on the very same executor and threads).
pub(crate) struct Runtimes {
    pub(crate) tokio: tokio::runtime::Runtime,
    pub(crate) smol: Arc<Executor<'static>>,
}

impl Runtimes {
    pub(crate) fn new() -> Self {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let smol = anyscope_smol::Smol::global()
            .executor()
            .expect("the global executor lives for the whole process");
        Runtimes { tokio, smol }
    }

    /// Runs `fut` on tokio with anyscope's ambient runtime set.
    pub(crate) fn ours_tokio<T>(&self, fut: impl Future<Output = T>) -> T {
        anyscope_tokio::run_on(&self.tokio, fut)
    }

    /// Runs `fut` on raw tokio.
    pub(crate) fn base_tokio<T>(&self, fut: impl Future<Output = T>) -> T {
        self.tokio.block_on(fut)
    }

    /// Runs `fut` on smol with anyscope's ambient runtime set.
    pub(crate) fn ours_smol<T>(&self, fut: impl Future<Output = T>) -> T {
        anyscope_smol::run(fut)
    }

    /// Runs `fut` on the same async-executor, raw.
    pub(crate) fn base_smol<T>(&self, fut: impl Future<Output = T>) -> T {
        async_io::block_on(self.smol.run(fut))
    }
}

/// Returns `Pending` once (waking itself at once), then `Ready`: a body that suspends once,
/// identical for anyscope and the baselines.
pub(crate) struct YieldOnce(pub bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

pub(crate) fn yield_once() -> YieldOnce {
    YieldOnce(false)
}
