//! Rows of the pool: `anyscope_core::pool` against deadpool (managed), with bb8 printed on
//! tokio for information. All three validate an idle object on checkout by default (anyscope's
//! `RecyclePolicy::Always`, deadpool's `recycle`, bb8's `test_on_check_out` + `is_valid`): the
//! managers below make that a no-op, so the rows measure the pools themselves.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::time::Instant;

use crate::counted::Group;
use crate::harness::{Config, Row, measure, per_unit};
use crate::rows_prims::Fan;
use crate::rt::{Runtimes, yield_once};

const MAX: usize = 16;

struct Ours;

impl anyscope_core::pool::Manager for Ours {
    type Object = u64;
    type Error = std::io::Error;

    async fn create(&self) -> Result<u64, std::io::Error> {
        Ok(7)
    }
}

struct Dead;

impl deadpool::managed::Manager for Dead {
    type Type = u64;
    type Error = Infallible;

    async fn create(&self) -> Result<u64, Infallible> {
        Ok(7)
    }

    async fn recycle(
        &self,
        _: &mut u64,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<Infallible> {
        Ok(())
    }
}

struct Bb8;

impl bb8::ManageConnection for Bb8 {
    type Connection = u64;
    type Error = Infallible;

    async fn connect(&self) -> Result<u64, Infallible> {
        Ok(7)
    }

    async fn is_valid(&self, _: &mut u64) -> Result<(), Infallible> {
        Ok(())
    }

    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

type Sample = Pin<Box<dyn Future<Output = f64>>>;

async fn ours_pool() -> anyscope_core::pool::Pool<Ours> {
    ours_pool_bounded(true).await
}

/// anyscope's pool bounds every acquire by default (`DEFAULT_ACQUIRE_TIMEOUT`: a waiting acquire
/// arms a timer); deadpool's default does not. `bounded: false` sets no bound, as deadpool.
async fn ours_pool_bounded(bounded: bool) -> anyscope_core::pool::Pool<Ours> {
    let mut builder = anyscope_core::pool::PoolConfig::builder().max_size(MAX);
    if !bounded {
        builder = builder.acquire_timeout(std::time::Duration::MAX);
    }
    anyscope_core::pool::Pool::open(Ours, builder.build().expect("config")).await
}

fn dead_pool() -> deadpool::managed::Pool<Dead> {
    deadpool::managed::Pool::builder(Dead).max_size(MAX).build().expect("deadpool")
}

async fn bb8_pool() -> bb8::Pool<Bb8> {
    bb8::Pool::builder().max_size(MAX as u32).build(Bb8).await.expect("bb8")
}

/// `pool_uncontended`: one task acquires and returns an object, against deadpool (and bb8 on
/// tokio, for information).
pub(crate) fn pool_uncontended(rts: &Runtimes) -> Vec<Group<'_>> {
    let ours_un = move |n: usize| -> Sample {
        Box::pin(async move {
            let pool = ours_pool().await;
            drop(pool.acquire().await.expect("acquire"));
            let t0 = Instant::now();
            for _ in 0..n {
                black_box(*pool.acquire().await.expect("acquire"));
            }
            let r = per_unit(t0, n);
            pool.close().await;
            r
        })
    };
    let dead_un = move |n: usize| -> Sample {
        Box::pin(async move {
            let pool = dead_pool();
            drop(pool.get().await.expect("get"));
            let t0 = Instant::now();
            for _ in 0..n {
                black_box(*pool.get().await.expect("get"));
            }
            per_unit(t0, n)
        })
    };
    let bb8_un = move |n: usize| -> Sample {
        Box::pin(async move {
            let pool = bb8_pool().await;
            let t0 = Instant::now();
            for _ in 0..n {
                black_box(*pool.get().await.expect("get"));
            }
            per_unit(t0, n)
        })
    };
    const ID: &str = "pool_uncontended";
    vec![
        Group::new("tokio", 200_000, 20_000)
            .side(move |n| rts.ours_tokio(ours_un(n)))
            .side(move |n| rts.base_tokio(dead_un(n)))
            .side(move |n| rts.base_tokio(bb8_un(n)))
            .row(ID, "deadpool", (0, 1), Some(0.5))
            .row(ID, "bb8 (info)", (0, 2), None),
        Group::new("smol", 200_000, 20_000)
            .side(move |n| rts.ours_smol(ours_un(n)))
            .side(move |n| rts.base_smol(dead_un(n)))
            .row(ID, "deadpool", (0, 1), Some(0.5)),
    ]
}

/// `pool_contended_64x16`: 64 tasks share 16 objects; each holds its object across one yield.
pub(crate) fn pool_contended(rts: &Runtimes, cfg: Config, rows: &mut Vec<Row>) {
    let per = cfg.pick(1_000, 100);
    let ops = 64 * per;
    let ours_co_with = move |fan: Fan, bounded: bool| -> Sample {
        Box::pin(async move {
            let pool = ours_pool_bounded(bounded).await;
            let t0 = Instant::now();
            fan.run(64, |_| {
                let pool = pool.clone();
                async move {
                    for _ in 0..per {
                        let obj = pool.acquire().await.expect("acquire");
                        yield_once().await;
                        black_box(*obj);
                    }
                }
            })
            .await;
            let r = per_unit(t0, ops);
            pool.close().await;
            r
        })
    };
    let ours_co = move |fan: Fan| ours_co_with(fan, true);
    let dead_co = move |fan: Fan| -> Sample {
        Box::pin(async move {
            let pool = dead_pool();
            let t0 = Instant::now();
            fan.run(64, |_| {
                let pool = pool.clone();
                async move {
                    for _ in 0..per {
                        let obj = pool.get().await.expect("get");
                        yield_once().await;
                        black_box(*obj);
                    }
                }
            })
            .await;
            per_unit(t0, ops)
        })
    };
    let bb8_co = move || -> Sample {
        Box::pin(async move {
            let pool = bb8_pool().await;
            let t0 = Instant::now();
            Fan::Tokio
                .run(64, |_| {
                    let pool = pool.clone();
                    async move {
                        for _ in 0..per {
                            let obj = pool.get().await.expect("get");
                            yield_once().await;
                            black_box(*obj);
                        }
                    }
                })
                .await;
            per_unit(t0, ops)
        })
    };
    // Printed for information: the same 64 tasks sharing 16 permits of tokio's (FIFO)
    // semaphore, with no objects at all. Every pool that hands its objects out in order pays
    // at least this: the task switches and wake-ups of the waiters.
    let sem_co = move || -> Sample {
        Box::pin(async move {
            let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
            let t0 = Instant::now();
            Fan::Tokio
                .run(64, |_| {
                    let sem = std::sync::Arc::clone(&sem);
                    async move {
                        for _ in 0..per {
                            let permit = sem.acquire().await.expect("acquire");
                            yield_once().await;
                            black_box(&permit);
                        }
                    }
                })
                .await;
            per_unit(t0, ops)
        })
    };
    let m = measure(
        cfg.rounds,
        &mut [
            &mut || rts.ours_tokio(ours_co(Fan::Ours)),
            &mut || rts.base_tokio(dead_co(Fan::Tokio)),
            &mut || rts.base_tokio(bb8_co()),
            &mut || rts.base_tokio(sem_co()),
            &mut || rts.ours_tokio(ours_co_with(Fan::Ours, false)),
        ],
    );
    const ID: &str = "pool_contended_64x16";
    rows.push(m.row(ID, "tokio", "deadpool", (0, 1), Some(1.0)));
    rows.push(m.row(ID, "tokio", "bb8 (info)", (0, 2), None));
    rows.push(m.row(ID, "tokio", "tokio Semaphore(16), no pool (info)", (0, 3), None));
    // The same anyscope pool with no acquire bound (deadpool's default): ours_ns is that
    // variant here, against deadpool.
    rows.push(m.row("pool_contended_64x16(unbounded acquire)", "tokio", "deadpool (info)", (4, 1), None));
    let ex = std::sync::Arc::clone(&rts.smol);
    let m = measure(
        cfg.rounds,
        &mut [&mut || rts.ours_smol(ours_co(Fan::Ours)), &mut || {
            rts.base_smol(dead_co(Fan::Smol(std::sync::Arc::clone(&ex))))
        }],
    );
    rows.push(m.row(ID, "smol", "deadpool", (0, 1), Some(1.0)));
}
