use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use async_executor::Executor;

thread_local! {
    /// Whether this thread drives anyscope's global executor (a worker, or inside `run`).
    static DRIVES_GLOBAL: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread drives anyscope's global executor.
pub(crate) fn on_global_thread() -> bool {
    DRIVES_GLOBAL.try_with(Cell::get).unwrap_or(false)
}

/// Marks the current thread as driving the global executor until the guard is dropped.
pub(crate) fn mark_driving() -> impl Drop {
    struct Unmark(bool);
    impl Drop for Unmark {
        fn drop(&mut self) {
            let _ = DRIVES_GLOBAL.try_with(|d| d.set(self.0));
        }
    }
    Unmark(DRIVES_GLOBAL.with(|d| d.replace(true)))
}

/// anyscope's global executor: one worker thread per core, started on first use, running for
/// the life of the process (as smol's own global executor does).
pub(crate) fn global() -> Arc<Executor<'static>> {
    static GLOBAL: OnceLock<Arc<Executor<'static>>> = OnceLock::new();
    GLOBAL
        .get_or_init(|| {
            let ex = Arc::new(Executor::new());
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            for i in 0..threads {
                let ex = Arc::clone(&ex);
                std::thread::Builder::new()
                    .name(format!("anyscope-smol-{i}"))
                    .spawn(move || {
                        // A worker drives the global executor: code outside anyscope's frames
                        // here (a raw task, a `Drop`) finds the runtime, as on `run`'s thread.
                        let _driving = mark_driving();
                        loop {
                            // A panic inside a task is caught by the task; one escaping `run` would be
                            // a bug in the executor, and the worker restarts rather than dying.
                            let _ = std::panic::catch_unwind(|| {
                                async_io::block_on(ex.run(std::future::pending::<()>()));
                            });
                        }
                    })
                    .expect("anyscope-smol: failed to start a worker thread");
            }
            ex
        })
        .clone()
}
