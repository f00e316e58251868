//! Rows of the primitives: semaphore, mutex, channel (against async-lock / async-channel, with
//! tokio's printed for information).
//!
//! anyscope's side runs its worker tasks with `anyscope_core::spawn` (inside anyscope frames, as
//! a user would); the baselines with the raw runtime's spawn.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use crate::counted::Group;
use crate::harness::{Config, Row, measure, per_unit};
use crate::rt::{Runtimes, yield_once};

/// How a sample spawns its worker tasks.
#[derive(Clone)]
pub(crate) enum Fan {
    /// `anyscope_core::spawn` (inside anyscope frames).
    Ours,
    /// `tokio::spawn`.
    Tokio,
    /// The raw async-executor.
    Smol(Arc<async_executor::Executor<'static>>),
}

impl Fan {
    /// Spawns `n` copies of `task(i)` and waits for all of them.
    pub(crate) async fn run<F: Future<Output = ()> + Send + 'static>(
        &self,
        n: usize,
        mut task: impl FnMut(usize) -> F,
    ) {
        match self {
            Fan::Ours => {
                let hs: Vec<_> = (0..n).map(|i| anyscope_core::spawn(task(i))).collect();
                for h in hs {
                    h.await.expect("task");
                }
            }
            Fan::Tokio => {
                let hs: Vec<_> = (0..n).map(|i| tokio::spawn(task(i))).collect();
                for h in hs {
                    h.await.expect("task");
                }
            }
            Fan::Smol(ex) => {
                let ts: Vec<_> = (0..n).map(|i| ex.spawn(task(i))).collect();
                for t in ts {
                    t.await;
                }
            }
        }
    }
}

type Sample = Pin<Box<dyn Future<Output = f64>>>;

/// Which baseline of a family has the target.
#[derive(Clone, Copy, PartialEq)]
enum Against {
    /// async-lock / async-channel, on both runtimes; tokio's primitive printed on tokio (info).
    Alt,
    /// tokio's own primitive (runtime-independent), on both runtimes; the other printed (info).
    Tokio,
}

/// One row family on both runtimes: anyscope against the async-lock/async-channel baseline and
/// tokio's own primitive; `against` says which of the two has the target.
#[allow(clippy::too_many_arguments)]
fn family(
    rts: &Runtimes,
    cfg: Config,
    rows: &mut Vec<Row>,
    id: &str,
    target: f64,
    against: Against,
    alt_name: &'static str,
    tokio_name: &'static str,
    ours: impl Fn(Fan) -> Sample,
    alt: impl Fn(Fan) -> Sample,
    tok: impl Fn(Fan) -> Sample,
) {
    let m = measure(
        cfg.rounds,
        &mut [&mut || rts.ours_tokio(ours(Fan::Ours)), &mut || rts.base_tokio(alt(Fan::Tokio)), &mut || {
            rts.base_tokio(tok(Fan::Tokio))
        }],
    );
    let (alt_target, tokio_target) = match against {
        Against::Alt => (Some(target), None),
        Against::Tokio => (None, Some(target)),
    };
    if against == Against::Tokio {
        rows.push(m.row(id, "tokio", tokio_name, (0, 2), tokio_target));
    }
    rows.push(m.row(id, "tokio", alt_name, (0, 1), alt_target));
    if against == Against::Alt {
        rows.push(m.row(id, "tokio", tokio_name, (0, 2), tokio_target));
    }
    let ex = Arc::clone(&rts.smol);
    let smol = || Fan::Smol(Arc::clone(&ex));
    if against == Against::Tokio {
        let m = measure(
            cfg.rounds,
            &mut [&mut || rts.ours_smol(ours(Fan::Ours)), &mut || rts.base_smol(tok(smol())), &mut || {
                rts.base_smol(alt(smol()))
            }],
        );
        rows.push(m.row(id, "smol", tokio_name, (0, 1), tokio_target));
        rows.push(m.row(id, "smol", alt_name, (0, 2), alt_target));
    } else {
        let m = measure(
            cfg.rounds,
            &mut [&mut || rts.ours_smol(ours(Fan::Ours)), &mut || rts.base_smol(alt(smol()))],
        );
        rows.push(m.row(id, "smol", alt_name, (0, 1), alt_target));
    }
}

/// `semaphore_uncontended`: one task acquires and releases one permit, against async-lock's
/// semaphore (and tokio's, for information, on tokio).
pub(crate) fn semaphore_uncontended(rts: &Runtimes) -> Vec<Group<'_>> {
    let ours = |n: usize| async move {
        let sem = anyscope_core::sync::Semaphore::new(1);
        let t0 = Instant::now();
        for _ in 0..n {
            drop(black_box(sem.acquire().await.expect("permit")));
        }
        per_unit(t0, n)
    };
    let alt = |n: usize| async move {
        let sem = async_lock::Semaphore::new(1);
        let t0 = Instant::now();
        for _ in 0..n {
            black_box(sem.acquire().await);
        }
        per_unit(t0, n)
    };
    let tok = |n: usize| async move {
        let sem = tokio::sync::Semaphore::new(1);
        let t0 = Instant::now();
        for _ in 0..n {
            drop(black_box(sem.acquire().await.expect("permit")));
        }
        per_unit(t0, n)
    };
    const ID: &str = "semaphore_uncontended";
    vec![
        Group::new("tokio", 500_000, 50_000)
            .side(move |n| rts.ours_tokio(ours(n)))
            .side(move |n| rts.base_tokio(alt(n)))
            .side(move |n| rts.base_tokio(tok(n)))
            .row(ID, "async-lock", (0, 1), Some(1.1))
            .row(ID, "tokio::sync (info)", (0, 2), None),
        Group::new("smol", 500_000, 50_000)
            .side(move |n| rts.ours_smol(ours(n)))
            .side(move |n| rts.base_smol(alt(n)))
            .row(ID, "async-lock", (0, 1), Some(1.1)),
    ]
}

pub(crate) fn semaphores(rts: &Runtimes, cfg: Config, rows: &mut Vec<Row>) {
    // 64 tasks share 4 permits; each acquires `per` times.
    let per = cfg.pick(2_000, 200);
    let ops = 64 * per;
    family(
        rts,
        cfg,
        rows,
        "semaphore_contended_64x4",
        1.1,
        Against::Alt,
        "async-lock",
        "tokio::sync (info)",
        |fan: Fan| -> Sample {
            Box::pin(async move {
                let sem = Arc::new(anyscope_core::sync::Semaphore::new(4));
                let t0 = Instant::now();
                fan.run(64, |_| {
                    let sem = Arc::clone(&sem);
                    async move {
                        for _ in 0..per {
                            drop(black_box(sem.acquire().await.expect("permit")));
                        }
                    }
                })
                .await;
                per_unit(t0, ops)
            })
        },
        |fan: Fan| -> Sample {
            Box::pin(async move {
                let sem = Arc::new(async_lock::Semaphore::new(4));
                let t0 = Instant::now();
                fan.run(64, |_| {
                    let sem = Arc::clone(&sem);
                    async move {
                        for _ in 0..per {
                            black_box(sem.acquire().await);
                        }
                    }
                })
                .await;
                per_unit(t0, ops)
            })
        },
        |_fan: Fan| -> Sample {
            Box::pin(async move {
                let sem = Arc::new(tokio::sync::Semaphore::new(4));
                let t0 = Instant::now();
                Fan::Tokio
                    .run(64, |_| {
                        let sem = Arc::clone(&sem);
                        async move {
                            for _ in 0..per {
                                drop(black_box(sem.acquire().await.expect("permit")));
                            }
                        }
                    })
                    .await;
                per_unit(t0, ops)
            })
        },
    );

    // 64 tasks increment one counter under the lock, `per` times each.
    family(
        rts,
        cfg,
        rows,
        "mutex_contended_64",
        1.1,
        Against::Tokio,
        "async-lock (barging, info)",
        "tokio::sync (fair)",
        |fan: Fan| -> Sample { Box::pin(mutex_ours(fan, per, false)) },
        |fan: Fan| -> Sample { Box::pin(mutex_async_lock(fan, per, false)) },
        |fan: Fan| -> Sample { Box::pin(mutex_tokio(fan, per, false)) },
    );
}

/// `$name(fan, per, hold)`: 64 tasks spawned by `fan` increment one counter under a `$mutex`,
/// `per` times each, yielding once while they hold the lock if `hold`; returns the nanoseconds
/// per lock.
macro_rules! mutex_sample {
    ($name:ident, $mutex:ty) => {
        async fn $name(fan: Fan, per: usize, hold: bool) -> f64 {
            let m = Arc::new(<$mutex>::new(0));
            let t0 = Instant::now();
            fan.run(64, |_| {
                let m = Arc::clone(&m);
                async move {
                    for _ in 0..per {
                        let mut guard = m.lock().await;
                        if hold {
                            yield_once().await;
                        }
                        *guard += 1;
                    }
                }
            })
            .await;
            black_box(*m.lock().await);
            per_unit(t0, 64 * per)
        }
    };
}
mutex_sample!(mutex_ours, anyscope_core::sync::Mutex<u64>);
mutex_sample!(mutex_async_lock, async_lock::Mutex<u64>);
mutex_sample!(mutex_tokio, tokio::sync::Mutex<u64>);

/// `mutex_contended_64_1thread`: the same 64 tasks on one thread (a current-thread tokio
/// runtime, a private executor), each holding the lock across one yield, so that the others
/// queue and every unlock of a fair mutex hands the lock to the next parked task; counted under
/// callgrind too. `n` locks in all (64 tasks × `n / 64`).
pub(crate) fn mutex_one_thread(rts: &Runtimes) -> Vec<Group<'_>> {
    const ID: &str = "mutex_contended_64_1thread";
    let ex = &rts.smol_one;
    let smol = move || Fan::Smol(Arc::clone(ex));
    vec![
        Group::new("tokio", 128_000, 12_800)
            .side(move |n| rts.ours_tokio_one(mutex_ours(Fan::Ours, n / 64, true)))
            .side(move |n| rts.base_tokio_one(mutex_tokio(Fan::Tokio, n / 64, true)))
            .side(move |n| rts.base_tokio_one(mutex_async_lock(Fan::Tokio, n / 64, true)))
            .row(ID, "tokio::sync (fair)", (0, 1), Some(1.1))
            .row(ID, "async-lock (barging, info)", (0, 2), None),
        Group::new("smol", 128_000, 12_800)
            .side(move |n| rts.ours_smol_one(mutex_ours(Fan::Ours, n / 64, true)))
            .side(move |n| rts.base_smol_one(mutex_tokio(smol(), n / 64, true)))
            .side(move |n| rts.base_smol_one(mutex_async_lock(smol(), n / 64, true)))
            .row(ID, "tokio::sync (fair)", (0, 1), Some(1.1))
            .row(ID, "async-lock (barging, info)", (0, 2), None),
    ]
}

pub(crate) fn channels(rts: &Runtimes, cfg: Config, rows: &mut Vec<Row>) {
    let n = cfg.pick(400_000, 40_000);
    family(
        rts,
        cfg,
        rows,
        "channel_spsc_bounded64",
        1.1,
        Against::Alt,
        "async-channel",
        "tokio::sync::mpsc (info)",
        |fan: Fan| -> Sample {
            Box::pin(async move {
                let (tx, rx) = anyscope_core::stream::channel::<u64>(64);
                let t0 = Instant::now();
                let tx = std::sync::Mutex::new(Some(tx));
                let rx = Arc::new(rx);
                fan.run(2, |i| {
                    let tx = tx.lock().unwrap().take().filter(|_| i == 0);
                    let rx = Arc::clone(&rx);
                    async move {
                        match tx {
                            Some(tx) => {
                                for k in 0..n as u64 {
                                    tx.send(k).await.expect("send")
                                }
                            }
                            None => {
                                while let Ok(v) = rx.recv().await {
                                    black_box(v);
                                }
                            }
                        }
                    }
                })
                .await;
                per_unit(t0, n)
            })
        },
        |fan: Fan| -> Sample {
            Box::pin(async move {
                let (tx, rx) = async_channel::bounded::<u64>(64);
                let t0 = Instant::now();
                let tx = std::sync::Mutex::new(Some(tx));
                fan.run(2, |i| {
                    let tx = tx.lock().unwrap().take().filter(|_| i == 0);
                    let rx = rx.clone();
                    async move {
                        match tx {
                            Some(tx) => {
                                for k in 0..n as u64 {
                                    tx.send(k).await.expect("send")
                                }
                            }
                            None => {
                                while let Ok(v) = rx.recv().await {
                                    black_box(v);
                                }
                            }
                        }
                    }
                })
                .await;
                per_unit(t0, n)
            })
        },
        |_fan: Fan| -> Sample {
            Box::pin(async move {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(64);
                let t0 = Instant::now();
                let p = tokio::spawn(async move {
                    for k in 0..n as u64 {
                        tx.send(k).await.expect("send")
                    }
                });
                let c = tokio::spawn(async move {
                    while let Some(v) = rx.recv().await {
                        black_box(v);
                    }
                });
                p.await.expect("producer");
                c.await.expect("consumer");
                per_unit(t0, n)
            })
        },
    );

    // 4 producers and 4 consumers share one channel of capacity 64.
    family(
        rts,
        cfg,
        rows,
        "channel_mpmc_4x4",
        1.1,
        Against::Alt,
        "async-channel",
        "tokio::sync::mpsc 4x1 (info)",
        |fan: Fan| -> Sample {
            Box::pin(async move {
                let (tx, rx) = anyscope_core::stream::channel::<u64>(64);
                let t0 = Instant::now();
                let tx = std::sync::Mutex::new(Some(tx));
                fan.run(8, |i| {
                    let mut guard = tx.lock().unwrap();
                    let tx = if i < 4 { guard.clone() } else { None };
                    if i == 3 {
                        guard.take();
                    }
                    let rx = rx.clone();
                    async move {
                        match tx {
                            Some(tx) => {
                                for k in 0..(n / 4) as u64 {
                                    tx.send(k).await.expect("send")
                                }
                            }
                            None => {
                                while let Ok(v) = rx.recv().await {
                                    black_box(v);
                                }
                            }
                        }
                    }
                })
                .await;
                per_unit(t0, n)
            })
        },
        |fan: Fan| -> Sample {
            Box::pin(async move {
                let (tx, rx) = async_channel::bounded::<u64>(64);
                let t0 = Instant::now();
                let tx = std::sync::Mutex::new(Some(tx));
                fan.run(8, |i| {
                    let mut guard = tx.lock().unwrap();
                    let tx = if i < 4 { guard.clone() } else { None };
                    if i == 3 {
                        guard.take();
                    }
                    let rx = rx.clone();
                    async move {
                        match tx {
                            Some(tx) => {
                                for k in 0..(n / 4) as u64 {
                                    tx.send(k).await.expect("send")
                                }
                            }
                            None => {
                                while let Ok(v) = rx.recv().await {
                                    black_box(v);
                                }
                            }
                        }
                    }
                })
                .await;
                per_unit(t0, n)
            })
        },
        |_fan: Fan| -> Sample {
            Box::pin(async move {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(64);
                let t0 = Instant::now();
                let ps: Vec<_> = (0..4)
                    .map(|_| {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for k in 0..(n / 4) as u64 {
                                tx.send(k).await.expect("send")
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let c = tokio::spawn(async move {
                    while let Some(v) = rx.recv().await {
                        black_box(v);
                    }
                });
                for p in ps {
                    p.await.expect("producer");
                }
                c.await.expect("consumer");
                per_unit(t0, n)
            })
        },
    );
}
