//! Rows of the mechanism: spawning, scopes, timeouts, cancellation fan-out, memory per child.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyscope_core::group::{TaskGroup, task_group};
use anyscope_core::{CancelScope, move_on_after};
use tokio_util::sync::CancellationToken;

use crate::counted::Group;
use crate::harness::{Config, Row, measure, per_unit};
use crate::rt::{Runtimes, yield_once};

/// `scope_ready`: `CancelScope::new().run(ready)` against a tokio-util child token's
/// `run_until_cancelled(ready)` (runtime-independent, so it is the baseline on both).
pub(crate) fn scope_ready(rts: &Runtimes) -> Vec<Group<'_>> {
    let ours = |n: usize| async move {
        let t0 = Instant::now();
        for i in 0..n {
            black_box(CancelScope::new().run(async move { black_box(i) }).await);
        }
        per_unit(t0, n)
    };
    let base = |n: usize| async move {
        let parent = CancellationToken::new();
        let t0 = Instant::now();
        for i in 0..n {
            let child = parent.child_token();
            black_box(child.run_until_cancelled(async move { black_box(i) }).await);
        }
        per_unit(t0, n)
    };
    let spec = ("scope_ready", "tokio-util child token", (0, 1), Some(0.5));
    vec![
        Group::new("tokio", 200_000, 20_000)
            .side(move |n| rts.ours_tokio(ours(n)))
            .side(move |n| rts.base_tokio(base(n)))
            .row(spec.0, spec.1, spec.2, spec.3),
        Group::new("smol", 200_000, 20_000)
            .side(move |n| rts.ours_smol(ours(n)))
            .side(move |n| rts.base_smol(base(n)))
            .row(spec.0, spec.1, spec.2, spec.3),
    ]
}

/// `timeout_ready` and `timeout_pending_once`: `move_on_after(10 s, body)` against
/// `tokio::time::timeout` / a race with `async_io::Timer`.
pub(crate) fn timeouts(rts: &Runtimes) -> Vec<Group<'_>> {
    const D: Duration = Duration::from_secs(10);
    let mut groups = Vec::new();
    for pending in [false, true] {
        let id = if pending { "timeout_pending_once" } else { "timeout_ready" };
        let target = Some(1.2);
        let ours = move |n: usize| async move {
            let t0 = Instant::now();
            for i in 0..n {
                let out = move_on_after(D, async move {
                    if pending {
                        yield_once().await;
                    }
                    black_box(i)
                });
                black_box(out.await);
            }
            per_unit(t0, n)
        };
        let base_tokio = move |n: usize| async move {
            let t0 = Instant::now();
            for i in 0..n {
                let out = tokio::time::timeout(D, async move {
                    if pending {
                        yield_once().await;
                    }
                    black_box(i)
                });
                let _ = black_box(out.await);
            }
            per_unit(t0, n)
        };
        let base_smol = move |n: usize| async move {
            let t0 = Instant::now();
            for i in 0..n {
                let body = async move {
                    if pending {
                        yield_once().await;
                    }
                    Some(black_box(i))
                };
                let timer = async {
                    async_io::Timer::after(D).await;
                    None
                };
                black_box(futures_lite::future::or(body, timer).await);
            }
            per_unit(t0, n)
        };
        // Printed too for `timeout_ready`: one read of the clock that both sides read once
        // (`tokio::time::Instant::now`), the floor of any timeout that knows its deadline.
        let clock = |n: usize| async move {
            let t0 = Instant::now();
            for _ in 0..n {
                black_box(tokio::time::Instant::now());
            }
            per_unit(t0, n)
        };
        let mut g = Group::new("tokio", 200_000, 20_000)
            .side(move |n| rts.ours_tokio(ours(n)))
            .side(move |n| rts.base_tokio(base_tokio(n)))
            .row(id, "tokio::time::timeout", (0, 1), target);
        if !pending {
            g = g.side(move |n| rts.base_tokio(clock(n))).row(id, "one clock read (info)", (0, 2), None);
        }
        groups.push(g);
        // The race above creates its timer lazily: with a ready body it never reads the clock.
        // Printed too: the same race with the timer created first (one clock read), which is
        // what a timeout that knows its deadline up front costs.
        let eager_smol = move |n: usize| async move {
            let t0 = Instant::now();
            for i in 0..n {
                let timer = async_io::Timer::after(D);
                let body = async move {
                    if pending {
                        yield_once().await;
                    }
                    Some(black_box(i))
                };
                let timer = async move {
                    timer.await;
                    None
                };
                black_box(futures_lite::future::or(body, timer).await);
            }
            per_unit(t0, n)
        };
        groups.push(
            Group::new("smol", 200_000, 20_000)
                .side(move |n| rts.ours_smol(ours(n)))
                .side(move |n| rts.base_smol(base_smol(n)))
                .side(move |n| rts.base_smol(eager_smol(n)))
                .row(id, "race with async_io::Timer", (0, 1), target)
                .row(id, "race, Timer made first (info)", (0, 2), None),
        );
    }
    groups
}

/// Yields (a foreign future, no checkpoint) until `count` reaches `n`.
async fn wait_for(count: &AtomicUsize, n: usize) {
    while count.load(Ordering::Acquire) < n {
        yield_once().await;
    }
}

/// `cancel_fanout_10k`: from the cancel of a group of 10k sleeping children until the group
/// returns, against `JoinSet::abort_all` + drain / cancelling every async-executor task.
pub(crate) fn cancel_fanout(rts: &Runtimes, cfg: Config, rows: &mut Vec<Row>) {
    const N: usize = 10_000;
    let ours = || async {
        let started = Arc::new(AtomicUsize::new(0));
        let t0 = std::sync::Mutex::new(None);
        task_group(|tg: TaskGroup<()>| {
            let t0 = &t0;
            async move {
                for _ in 0..N {
                    let started = Arc::clone(&started);
                    let _ = tg.spawn(async move {
                        started.fetch_add(1, Ordering::AcqRel);
                        anyscope_core::sleep(Duration::from_secs(3600)).await;
                        Ok(())
                    });
                }
                wait_for(&started, N).await;
                *t0.lock().unwrap() = Some(Instant::now());
                tg.cancel();
                Ok::<(), ()>(())
            }
        })
        .await
        .expect("group");
        let t0 = t0.lock().unwrap().expect("started");
        per_unit(t0, N)
    };
    let base_tokio = || async {
        let started = Arc::new(AtomicUsize::new(0));
        let mut js = tokio::task::JoinSet::new();
        for _ in 0..N {
            let started = Arc::clone(&started);
            js.spawn(async move {
                started.fetch_add(1, Ordering::AcqRel);
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
        }
        wait_for(&started, N).await;
        let t0 = Instant::now();
        js.abort_all();
        while js.join_next().await.is_some() {}
        per_unit(t0, N)
    };
    let base_smol = || {
        let ex = Arc::clone(&rts.smol);
        rts.base_smol(async move {
            let started = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..N)
                .map(|_| {
                    let started = Arc::clone(&started);
                    ex.spawn(async move {
                        started.fetch_add(1, Ordering::AcqRel);
                        async_io::Timer::after(Duration::from_secs(3600)).await;
                    })
                })
                .collect();
            wait_for(&started, N).await;
            let t0 = Instant::now();
            for t in tasks {
                t.cancel().await;
            }
            per_unit(t0, N)
        })
    };
    let m = measure(cfg.rounds, &mut [&mut || rts.ours_tokio(ours()), &mut || rts.base_tokio(base_tokio())]);
    rows.push(m.row("cancel_fanout_10k", "tokio", "JoinSet abort_all+drain", (0, 1), Some(1.2)));
    let m = measure(cfg.rounds, &mut [&mut || rts.ours_smol(ours()), &mut || base_smol()]);
    rows.push(m.row("cancel_fanout_10k", "smol", "Task::cancel each", (0, 1), Some(1.2)));
}

/// `group_child_bytes`: resident bytes per idle child of a group of 100k, against raw spawn.
/// Each sample runs in a fresh process (this binary with `--child-bytes`), so that memory freed
/// by earlier rows does not hide the growth.
pub(crate) fn child_bytes(cfg: Config, rows: &mut Vec<Row>) {
    let exe = std::env::current_exe().expect("current exe");
    let sample = |runtime: &str, side: &str| -> f64 {
        let out = std::process::Command::new(&exe)
            .args(["--child-bytes", runtime, side])
            .output()
            .expect("run the child-bytes sample");
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim().parse().unwrap_or_else(|_| panic!("child-bytes sample printed {text:?}"))
    };
    let rounds = cfg.rounds.min(5);
    let m = measure(
        rounds,
        &mut [&mut || sample("tokio", "ours"), &mut || sample("tokio", "joinset"), &mut || {
            sample("tokio", "base")
        }],
    );
    for (baseline, base, target) in [("tokio JoinSet", 1, Some(1.5)), ("tokio::spawn (info)", 2, None)] {
        let mut r = m.row("group_child_bytes", "tokio", baseline, (0, base), target);
        r.unit = "B/child";
        rows.push(r);
    }
    let m = measure(rounds, &mut [&mut || sample("smol", "ours"), &mut || sample("smol", "base")]);
    let mut r = m.row("group_child_bytes", "smol", "async-executor spawn", (0, 1), Some(1.5));
    r.unit = "B/child";
    rows.push(r);
}

/// The body of a `--child-bytes <runtime> <ours|joinset|base>` process: prints bytes per idle
/// child (`joinset`: tokio's `JoinSet`, kept alive, as a group keeps its children).
pub(crate) fn child_bytes_sample(runtime: &str, side: &str) -> f64 {
    const N: usize = 100_000;
    let rts = Runtimes::new();
    let idle = |started: Arc<AtomicUsize>| async move {
        started.fetch_add(1, Ordering::AcqRel);
        std::future::pending::<()>().await;
    };
    let ours = || async move {
        // Warm the runtime's own structures up first.
        anyscope_core::spawn(async {}).await.expect("warm-up");
        let before = crate::harness::resident_bytes();
        let started = Arc::new(AtomicUsize::new(0));
        let _ = task_group(|tg: TaskGroup<()>| async move {
            for _ in 0..N {
                let s = Arc::clone(&started);
                let _ = tg.spawn(async move {
                    idle(s).await;
                    Ok(())
                });
            }
            wait_for(&started, N).await;
            let bytes = (crate::harness::resident_bytes() - before) as f64 / N as f64;
            // Print and exit here: the sample process does not tear its 100k children down.
            println!("{bytes}");
            if bytes.is_finite() {
                std::process::exit(0);
            }
            Ok::<(), ()>(())
        })
        .await;
        unreachable!("the sample exits inside the group")
    };
    match (runtime, side) {
        ("tokio", "ours") => rts.ours_tokio(ours()),
        ("smol", "ours") => rts.ours_smol(ours()),
        ("tokio", "joinset") => rts.base_tokio(async {
            tokio::spawn(async {}).await.expect("warm-up");
            let before = crate::harness::resident_bytes();
            let started = Arc::new(AtomicUsize::new(0));
            let mut js = tokio::task::JoinSet::new();
            for _ in 0..N {
                js.spawn(idle(Arc::clone(&started)));
            }
            wait_for(&started, N).await;
            let bytes = (crate::harness::resident_bytes() - before) as f64 / N as f64;
            drop(js);
            bytes
        }),
        ("tokio", _) => rts.base_tokio(async {
            tokio::spawn(async {}).await.expect("warm-up");
            let before = crate::harness::resident_bytes();
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..N {
                drop(tokio::spawn(idle(Arc::clone(&started))));
            }
            wait_for(&started, N).await;
            (crate::harness::resident_bytes() - before) as f64 / N as f64
        }),
        _ => {
            let ex = Arc::clone(&rts.smol);
            rts.base_smol(async move {
                ex.spawn(async {}).await;
                let before = crate::harness::resident_bytes();
                let started = Arc::new(AtomicUsize::new(0));
                for _ in 0..N {
                    ex.spawn(idle(Arc::clone(&started))).detach();
                }
                wait_for(&started, N).await;
                (crate::harness::resident_bytes() - before) as f64 / N as f64
            })
        }
    }
}
