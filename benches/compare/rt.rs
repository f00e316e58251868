//! The two runtimes every row runs on, and the small futures the rows share.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_executor::Executor;

/// tokio, multi-thread with 2 workers (the baseline and anyscope share it), and the smol
/// executor anyscope_smol drives (its global executor: one worker per core plus the calling
/// thread; the raw async-executor baseline runs on the very same executor and threads).
///
/// The one-thread rows run on a current-thread tokio runtime and on a private async-executor
/// that only the calling thread drives: everything a sample does happens on that thread, which
/// is what callgrind counts (benches/compare/counted.rs).
pub(crate) struct Runtimes {
    pub(crate) tokio: tokio::runtime::Runtime,
    pub(crate) smol: Arc<Executor<'static>>,
    pub(crate) tokio_one: tokio::runtime::Runtime,
    pub(crate) smol_one: Arc<Executor<'static>>,
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
        let tokio_one = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("current-thread tokio runtime");
        Runtimes { tokio, smol, tokio_one, smol_one: Arc::new(Executor::new()) }
    }

    /// Runs `fut` on the current-thread tokio runtime with anyscope's ambient runtime set.
    pub(crate) fn ours_tokio_one<T>(&self, fut: impl Future<Output = T>) -> T {
        anyscope_tokio::run_on(&self.tokio_one, fut)
    }

    /// Runs `fut` on the raw current-thread tokio runtime.
    pub(crate) fn base_tokio_one<T>(&self, fut: impl Future<Output = T>) -> T {
        self.tokio_one.block_on(fut)
    }

    /// Runs `fut` on the private executor (driven by this thread alone), anyscope spawning onto it.
    pub(crate) fn ours_smol_one<T>(&self, fut: impl Future<Output = T>) -> T {
        let ex = Arc::clone(&self.smol_one);
        async_io::block_on(self.smol_one.run(anyscope_smol::bind_to(ex, fut)))
    }

    /// Runs `fut` on the private executor, raw.
    pub(crate) fn base_smol_one<T>(&self, fut: impl Future<Output = T>) -> T {
        async_io::block_on(self.smol_one.run(fut))
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
