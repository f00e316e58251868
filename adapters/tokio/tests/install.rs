//! The same core call under plain tokio (`#[tokio::main]` style, a raw `tokio::spawn`) gives
//! the same answer whatever ran earlier in the process: `NoRuntime` until the application
//! calls `anyscope_tokio::install()`, a runtime after — never because an earlier test called
//! `run` or `bind`. One test, in its own binary: `install` is process-wide.

use std::time::Duration;

use anyscope_core::runtime::try_current;

/// Builds a runtime as `#[tokio::main]` does (`multi`) or as `#[tokio::test]` does.
fn plain(multi: bool) -> tokio::runtime::Runtime {
    let mut b = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all().build().unwrap()
}

/// Whether core code finds a runtime in the `main` future and in a raw `tokio::spawn` task.
fn finds_runtime(multi: bool) -> (bool, bool) {
    plain(multi).block_on(async {
        let in_main = try_current().is_ok();
        let in_task = tokio::spawn(async { try_current().is_ok() }).await.unwrap();
        (in_main, in_task)
    })
}

/// A core function doing real work (a timer and a spawn) under plain tokio.
fn core_work(multi: bool) -> u32 {
    plain(multi).block_on(async {
        anyscope_core::sleep(Duration::from_millis(1)).await;
        anyscope_core::spawn(async { 7 }).await.unwrap()
    })
}

#[test]
fn plain_tokio_outcome_depends_on_install_only() {
    // 1. Nothing ran yet: plain tokio is not an anyscope runtime.
    for multi in [false, true] {
        assert_eq!(finds_runtime(multi), (false, false), "before anything, multi={multi}");
    }
    // 2. anyscope's own `run`, `run_current_thread` and `bind` ran (they used to register a
    //    fallback that made every later plain tokio context work): the answer is unchanged.
    //    Inside `run`, raw tokio tasks do find the runtime (its threads are anyscope's).
    let inside = anyscope_tokio::run(async { tokio::spawn(async { try_current().is_ok() }).await.unwrap() });
    assert!(inside, "a raw tokio task inside `run` finds the runtime");
    let inside = anyscope_tokio::run_current_thread(async {
        tokio::spawn(async { try_current().is_ok() }).await.unwrap()
    });
    assert!(inside, "a raw tokio task inside `run_current_thread` finds the runtime");
    plain(false).block_on(anyscope_tokio::bind(async { anyscope_core::spawn(async {}).await.unwrap() }));
    for multi in [false, true] {
        assert_eq!(finds_runtime(multi), (false, false), "after run and bind, multi={multi}");
        let panicked = std::panic::catch_unwind(|| core_work(multi)).unwrap_err();
        let msg = panicked.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("runtime"), "a clear NoRuntime panic: {msg}");
    }
    // 3. The application installs: every plain tokio context works, core calls included.
    anyscope_tokio::install();
    for multi in [false, true] {
        assert_eq!(finds_runtime(multi), (true, true), "after install, multi={multi}");
        assert_eq!(core_work(multi), 7);
    }
    // 4. Whatever runs next does not change it.
    anyscope_tokio::run(async {});
    for multi in [false, true] {
        assert_eq!(finds_runtime(multi), (true, true), "after install then run, multi={multi}");
    }
}
