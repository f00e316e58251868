//! The injected scenarios. Each opens resources in a known order and lets them be closed in
//! reverse, through as many different paths as the area offers.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyscope_core::exit_stack::ExitStack;
use anyscope_core::group::task_group;
use anyscope_core::pool::{Recycle, RecycleError};
use anyscope_core::resource::{Exit, resource};
use anyscope_core::{Scoped, channel, checkpoint, move_on_after, shield, sleep, using};

use super::{Ctx, Scenario};
use crate::fixtures::{CloseError, TestRes};

type Built = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every scenario, with its parameter variants.
pub fn scenarios() -> Vec<Scenario> {
    macro_rules! widths {
        ($name:literal, $f:ident, $($n:literal),*) => {
            [$(Scenario { name: concat!($name, "[", $n, "]"), build: |ctx| $f(ctx, $n) }),*]
        };
    }
    let mut all = Vec::new();
    all.extend(widths!("resource::guards", guards, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16));
    all.extend(widths!("resource::nested_scopes", nested_scopes, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16));
    all.extend(widths!("resource::transactions", transactions, 1, 2, 3, 4, 6, 8));
    all.extend(widths!("resource::nested_using", nested_using, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16));
    all.extend(widths!("exit_stack::dynamic", exit_stack, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16));
    all.extend(widths!("task_group::workers", group_workers, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16));
    all.extend(widths!("task_group::failing_worker", group_failing, 2, 3, 4, 6, 8));
    all.extend(widths!("stream::pipeline", pipeline, 0, 1, 2, 4, 8));
    all.extend(widths!("pool::users", pool_users, 1, 2, 3, 4, 6, 8));
    all.extend(widths!("cancel::busy_locks", busy_locks, 1, 3));
    all.extend(widths!("cancel::panicking_drop", panicking_drop, 1, 3));
    all
}

fn res(ctx: &Ctx, name: String, i: usize) -> TestRes {
    let r = TestRes::open(ctx.kind, &name, &ctx.log);
    // Every other close is an awaited one that suspends.
    if i % 2 == 1 { r.slow(Duration::from_millis(1)) } else { r }
}

/// Guards opened one after another with checkpoints and a shielded step between, dropped at the
/// end (adopted) or by the injected cancellation.
fn guards(ctx: Ctx, n: usize) -> Built {
    Box::pin(async move {
        let mut held = Held(Vec::new());
        for i in 0..n {
            held.0.push(Scoped::new(res(&ctx, format!("g{i}"), i)));
            checkpoint().await;
            if i == n / 2 {
                shield(checkpoint()).await;
            }
        }
        sleep(Duration::from_millis(1)).await;
        drop(held);
    })
}

/// Guards held like locals: dropped in reverse order of opening (a plain `Vec` drops its
/// elements front to back, and adoption keeps drop order).
struct Held(Vec<Scoped<TestRes>>);

impl Drop for Held {
    fn drop(&mut self) {
        while let Some(g) = self.0.pop() {
            drop(g);
        }
    }
}

/// Nested deadline scopes, each opening a resource and waiting; the innermost is cut off by its
/// own deadline, the rest finish or are cut off by the injection.
fn nested_scopes(ctx: Ctx, n: usize) -> Built {
    fn level(ctx: Ctx, i: usize, n: usize) -> Built {
        Box::pin(async move {
            let _g = Scoped::new(res(&ctx, format!("s{i}"), i));
            checkpoint().await;
            if i + 1 < n {
                move_on_after(Duration::from_secs(60), level(ctx.clone(), i + 1, n)).await;
            } else {
                move_on_after(Duration::from_millis(1), std::future::pending::<()>()).await;
            }
            checkpoint().await;
        })
    }
    level(ctx, 0, n)
}

/// Transactions (setup and teardown) opened one after another, each running a short body.
fn transactions(ctx: Ctx, n: usize) -> Built {
    Box::pin(async move {
        for i in 0..n {
            let (l1, l2) = (ctx.log.clone(), ctx.log.clone());
            let tx = resource(
                async move {
                    checkpoint().await;
                    l1.push(format!("open t{i}"));
                    Ok::<_, CloseError>(i)
                },
                move |_v: usize, exit: Exit| async move {
                    checkpoint().await;
                    l2.push(format!("closed t{i}"));
                    l2.push(format!("exit {exit:?}"));
                    Ok::<_, CloseError>(())
                },
            )
            .with_kind(ctx.kind);
            let _ = tx
                .run(async |_v: &mut usize| {
                    checkpoint().await;
                    Ok::<_, CloseError>(())
                })
                .await;
        }
    })
}

/// An exit stack entered step by step, closed explicitly at the end.
fn exit_stack(ctx: Ctx, n: usize) -> Built {
    Box::pin(async move {
        let mut stack = ExitStack::new();
        for i in 0..n {
            stack.enter(res(&ctx, format!("e{i}"), i));
            checkpoint().await;
        }
        sleep(Duration::from_millis(1)).await;
        stack.close().await.expect("test resources close cleanly");
    })
}

/// A worker of a task group: opens its own resources and checkpoints between them.
async fn worker(ctx: Ctx, w: usize, steps: usize) -> Result<(), CloseError> {
    let _a = Scoped::new(res(&ctx, format!("w{w}/a"), w));
    checkpoint().await;
    for _ in 0..steps {
        checkpoint().await;
    }
    let _b = Scoped::new(res(&ctx, format!("w{w}/b"), w + 1));
    checkpoint().await;
    Ok(())
}

/// A resource opened around a group of workers, each with resources of its own: `outer` closes
/// only after every worker's resources.
fn group_workers(ctx: Ctx, n: usize) -> Built {
    Box::pin(async move {
        let _outer = Scoped::new(TestRes::open(ctx.kind, "outer", &ctx.log).slow(Duration::from_millis(1)));
        let c = ctx.clone();
        let out = task_group(move |tg| async move {
            for w in 0..n {
                tg.spawn(worker(c.clone(), w, w % 3)).expect("group is open");
                checkpoint().await;
            }
            Ok::<_, CloseError>(())
        })
        .await;
        out.expect("workers succeed");
    })
}

/// One worker fails: the group cancels the others, every resource is still closed, and the
/// error comes back.
fn group_failing(ctx: Ctx, n: usize) -> Built {
    Box::pin(async move {
        let _outer = Scoped::new(TestRes::open(ctx.kind, "outer", &ctx.log));
        let c = ctx.clone();
        let out = task_group(move |tg| async move {
            for w in 0..n {
                let c = c.clone();
                tg.spawn(async move {
                    worker(c, w, 2).await?;
                    if w == 0 {
                        return Err(CloseError("worker 0".into()));
                    }
                    sleep(Duration::from_secs(60)).await;
                    Ok(())
                })
                .expect("group is open");
            }
            Ok::<_, CloseError>(())
        })
        .await;
        match out {
            Err(e) => assert_eq!(e.into_single().ok(), Some(CloseError("worker 0".into()))),
            // Only when the injected cancellation reached the group first: its tasks were
            // cancelled (not failed), and the next checkpoint delivers to the caller.
            Ok(()) => assert!(anyscope_core::is_cancelled(), "the failing worker's error was lost"),
        }
    })
}

/// A producer and a consumer in a group, linked by a stream of the given capacity (0: a
/// rendezvous); each holds a resource. No item is received twice, and items arrive in order.
fn pipeline(ctx: Ctx, capacity: usize) -> Built {
    Box::pin(async move {
        let (tx, rx) = channel::<usize>(capacity);
        let (cp, cc) = (ctx.clone(), ctx.clone());
        let out = task_group(move |tg| async move {
            tg.spawn(async move {
                let _r = Scoped::new(res(&cp, "producer/r".into(), 1));
                for i in 0..6 {
                    if tx.send(i).await.is_err() {
                        break;
                    }
                }
                Ok(())
            })
            .expect("group is open");
            tg.spawn(async move {
                let _r = Scoped::new(res(&cc, "consumer/r".into(), 0));
                let mut last = None;
                while let Ok(i) = rx.recv().await {
                    assert!(last.is_none_or(|l| l < i), "items out of order");
                    last = Some(i);
                    cc.log.push(format!("got {i}"));
                    checkpoint().await;
                }
                Ok::<_, CloseError>(())
            })
            .expect("group is open");
            Ok::<_, CloseError>(())
        })
        .await;
        out.expect("pipeline succeeds");
    })
}

/// `using` nested `n` deep: each level's explicit close runs after the level inside it closed.
fn nested_using(ctx: Ctx, n: usize) -> Built {
    fn level(ctx: Ctx, i: usize, n: usize) -> Built {
        Box::pin(async move {
            let r = res(&ctx, format!("u{i}"), i);
            let c = ctx.clone();
            using(r, async move |_r: &mut TestRes| {
                checkpoint().await;
                if i + 1 < n {
                    level(c, i + 1, n).await;
                }
                checkpoint().await;
                Ok::<_, CloseError>(())
            })
            .await
            .expect("test resources close cleanly");
        })
    }
    level(ctx, 0, n)
}

/// A manager whose objects know whether they are checked out, to catch an object issued twice.
struct Tracked {
    ctx: Ctx,
    next: std::sync::atomic::AtomicUsize,
}

struct Conn {
    id: usize,
    out: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl anyscope_core::pool::Manager for Tracked {
    type Object = Conn;
    type Error = CloseError;

    async fn create(&self) -> Result<Conn, CloseError> {
        checkpoint().await;
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ctx.log.push(format!("open pool/c{id}"));
        Ok(Conn { id, out: Default::default() })
    }

    async fn recycle(&self, _conn: &mut Conn, _why: Recycle) -> Result<(), RecycleError<CloseError>> {
        checkpoint().await;
        Ok(())
    }

    async fn close(&self, conn: Conn) {
        self.ctx.log.push(format!("dropped pool/c{}", conn.id));
    }
}

/// Users in a group share a pool held in a guard (closed last, or adopted if the injection cuts
/// the scenario off): no object is issued twice, and every object is closed.
fn pool_users(ctx: Ctx, n: usize) -> Built {
    use anyscope_core::pool::{Pool, PoolConfig};
    use std::sync::atomic::Ordering;
    Box::pin(async move {
        let config = PoolConfig::builder().max_size(2).kind(ctx.kind).build().expect("valid config");
        let manager = Tracked { ctx: ctx.clone(), next: Default::default() };
        let pool = Scoped::new(Pool::open(manager, config).await.into_resource());
        let p = (*pool).clone();
        let log = ctx.log.clone();
        let out = task_group(move |tg| async move {
            for u in 0..n {
                let (pool, log) = (p.clone(), log.clone());
                tg.spawn(async move {
                    for _ in 0..2 {
                        let conn = pool.acquire().await.expect("the pool serves");
                        if conn.out.swap(true, Ordering::AcqRel) {
                            log.push(format!("DOUBLE-ISSUED c{} to user {u}", conn.id));
                        }
                        checkpoint().await;
                        conn.out.store(false, Ordering::Release);
                    }
                    Ok::<_, CloseError>(())
                })
                .expect("group is open");
            }
            Ok::<_, CloseError>(())
        })
        .await;
        out.expect("users succeed");
        drop(pool);
    })
}

/// Guards opened around busy loops of uncontended locks that never suspend: the only
/// suspension points are the yields of the cooperative budget, where the injection lands.
fn busy_locks(ctx: Ctx, n: usize) -> Built {
    Box::pin(async move {
        let m = anyscope_core::sync::Mutex::new(0u64);
        let mut held = Held(Vec::new());
        for i in 0..n {
            held.0.push(Scoped::new(TestRes::open(ctx.kind, &format!("b{i}"), &ctx.log)));
            for _ in 0..300 {
                *m.lock().await += 1;
            }
        }
        drop(held);
    })
}

/// Panics when a cancellation (or a drop from outside) drops it: a body whose `Drop` panics
/// while it is cut off.
struct PanicWhenCutOff;

impl Drop for PanicWhenCutOff {
    fn drop(&mut self) {
        if anyscope_core::resource::drop_cause() == Some(anyscope_core::resource::DropCause::Cancelled) {
            panic!("a Drop that panics when its body is cut off (injected on purpose)");
        }
    }
}

/// Guards on both sides of a value whose `Drop` panics when the body is cut off: the guards
/// are still closed, in reverse order, and nothing is left open.
fn panicking_drop(ctx: Ctx, n: usize) -> Built {
    Box::pin(async move {
        let _first = Scoped::new(res(&ctx, "p0".to_string(), 0));
        let _boom = PanicWhenCutOff;
        let mut held = Held(Vec::new());
        for i in 1..=n {
            held.0.push(Scoped::new(res(&ctx, format!("p{i}"), i)));
            checkpoint().await;
        }
        drop(held);
    })
}
