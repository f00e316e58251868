//! Rows of spawning: a task group's children and plain `spawn` + join, against tokio's
//! `JoinSet` / `tokio::spawn` and async-executor's spawn + join, on both cores
//! (`spawn_join_100k`) and on one thread (`spawn_join_1thread`, also counted in instructions and
//! allocations per task; `(start_soon)`: children spawned with no handle).

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use anyscope_core::group::{TaskGroup, task_group};

use crate::counted::Group;
use crate::harness::{Config, Row, measure, per_unit};
use crate::rt::Runtimes;

type BoxedUnit = Pin<Box<dyn Future<Output = ()> + Send>>;

/// `n` trivial children of one task group.
async fn ours_group(n: usize) -> f64 {
    let t0 = Instant::now();
    task_group(|tg: TaskGroup<()>| async move {
        for _ in 0..n {
            let _ = tg.spawn(async { Ok(()) });
        }
        Ok::<(), ()>(())
    })
    .await
    .expect("group");
    per_unit(t0, n)
}

/// `n` trivial children of one task group, spawned with no handle (`start_soon`).
async fn ours_soon(n: usize) -> f64 {
    let t0 = Instant::now();
    task_group(|tg: TaskGroup<()>| async move {
        for _ in 0..n {
            let _ = tg.start_soon(async { Ok(()) });
        }
        Ok::<(), ()>(())
    })
    .await
    .expect("group");
    per_unit(t0, n)
}

/// `n` plain `anyscope_core::spawn`s, then `n` joins.
async fn ours_plain(n: usize) -> f64 {
    let t0 = Instant::now();
    let hs: Vec<_> = (0..n).map(|_| anyscope_core::spawn(async {})).collect();
    for h in hs {
        h.await.expect("join");
    }
    per_unit(t0, n)
}

async fn tokio_joinset(n: usize) -> f64 {
    let t0 = Instant::now();
    let mut js = tokio::task::JoinSet::new();
    for _ in 0..n {
        js.spawn(async {});
    }
    while js.join_next().await.is_some() {}
    per_unit(t0, n)
}

/// `tokio::spawn` + join of `n` futures, each boxed first when `boxed`: what an object-safe
/// runtime contract costs by itself (the future boxed before the runtime allocates its task).
async fn tokio_spawn(n: usize, boxed: bool) -> f64 {
    let t0 = Instant::now();
    let hs: Vec<_> = (0..n)
        .map(|_| if boxed { tokio::spawn(Box::pin(async {}) as BoxedUnit) } else { tokio::spawn(async {}) })
        .collect();
    for h in hs {
        h.await.expect("join");
    }
    per_unit(t0, n)
}

/// async-executor spawn + join of `n` futures on `ex`, each boxed first when `boxed`.
async fn smol_spawn(ex: &async_executor::Executor<'static>, n: usize, boxed: bool) -> f64 {
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| if boxed { ex.spawn(Box::pin(async {}) as BoxedUnit) } else { ex.spawn(async {}) })
        .collect();
    for t in tasks {
        t.await;
    }
    per_unit(t0, n)
}

/// `spawn_join_100k`, on the two-worker tokio runtime and smol's global executor.
pub(crate) fn spawn_join(rts: &Runtimes, cfg: Config, rows: &mut Vec<Row>) {
    const N: usize = 100_000;
    const ID: &str = "spawn_join_100k";
    const PLAIN: &str = "spawn_join_100k(plain spawn)";
    let m = measure(
        cfg.rounds,
        &mut [&mut || rts.ours_tokio(ours_group(N)), &mut || rts.base_tokio(tokio_joinset(N))],
    );
    rows.push(m.row(ID, "tokio", "tokio JoinSet", (0, 1), Some(1.2)));
    let m = measure(
        cfg.rounds,
        &mut [
            &mut || rts.ours_tokio(ours_plain(N)),
            &mut || rts.base_tokio(tokio_spawn(N, true)),
            &mut || rts.base_tokio(tokio_spawn(N, false)),
        ],
    );
    rows.push(m.row(PLAIN, "tokio", "tokio::spawn of a boxed future", (0, 1), Some(1.15)));
    rows.push(m.row(PLAIN, "tokio", "tokio::spawn+JoinHandle (info)", (0, 2), None));
    let ex = &*rts.smol;
    let m = measure(
        cfg.rounds,
        &mut [&mut || rts.ours_smol(ours_group(N)), &mut || rts.base_smol(smol_spawn(ex, N, false))],
    );
    rows.push(m.row(ID, "smol", "async-executor spawn+join", (0, 1), Some(1.2)));
    let m = measure(
        cfg.rounds,
        &mut [
            &mut || rts.ours_smol(ours_plain(N)),
            &mut || rts.base_smol(smol_spawn(ex, N, true)),
            &mut || rts.base_smol(smol_spawn(ex, N, false)),
        ],
    );
    rows.push(m.row(PLAIN, "smol", "spawn of a boxed future", (0, 1), Some(1.15)));
    rows.push(m.row(PLAIN, "smol", "async-executor spawn+join (info)", (0, 2), None));
}

/// `spawn_join_1thread`: the same on a current-thread tokio runtime and a private executor
/// driven by the calling thread alone, where callgrind sees every instruction and allocation of
/// a task (its spawn, its poll, its join and its free).
pub(crate) fn spawn_join_one_thread(rts: &Runtimes) -> Vec<Group<'_>> {
    const ID: &str = "spawn_join_1thread";
    const PLAIN: &str = "spawn_join_1thread(plain spawn)";
    const SOON: &str = "spawn_join_1thread(start_soon)";
    let ex = &*rts.smol_one;
    vec![
        Group::new("tokio", 100_000, 20_000)
            .side(move |n| rts.ours_tokio_one(ours_group(n)))
            .side(move |n| rts.ours_tokio_one(ours_plain(n)))
            .side(move |n| rts.base_tokio_one(tokio_joinset(n)))
            .side(move |n| rts.base_tokio_one(tokio_spawn(n, true)))
            .side(move |n| rts.base_tokio_one(tokio_spawn(n, false)))
            .side(move |n| rts.ours_tokio_one(ours_soon(n)))
            .row(ID, "tokio JoinSet", (0, 2), Some(1.2))
            .row(PLAIN, "tokio::spawn of a boxed future", (1, 3), Some(1.15))
            .row(PLAIN, "tokio::spawn+JoinHandle (info)", (1, 4), None)
            .row(SOON, "tokio JoinSet", (5, 2), Some(1.2)),
        Group::new("smol", 100_000, 20_000)
            .side(move |n| rts.ours_smol_one(ours_group(n)))
            .side(move |n| rts.ours_smol_one(ours_plain(n)))
            .side(move |n| rts.base_smol_one(smol_spawn(ex, n, false)))
            .side(move |n| rts.base_smol_one(smol_spawn(ex, n, true)))
            .side(move |n| rts.ours_smol_one(ours_soon(n)))
            .row(ID, "async-executor spawn+join", (0, 2), Some(1.2))
            .row(PLAIN, "spawn of a boxed future", (1, 3), Some(1.15))
            .row(PLAIN, "async-executor spawn+join (info)", (1, 2), None)
            .row(SOON, "async-executor spawn+join", (4, 2), Some(1.2)),
    ]
}
