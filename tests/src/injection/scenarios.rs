//! The injected scenarios. Each opens resources in a known order and lets them be closed in
//! reverse, through as many different paths as the area offers.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyscope_core::exit_stack::ExitStack;
use anyscope_core::resource::{Exit, resource};
use anyscope_core::{Scoped, checkpoint, move_on_after, shield, sleep};

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
    all.extend(widths!("resource::guards", guards, 1, 2, 3, 4, 5, 6, 7, 8));
    all.extend(widths!("resource::nested_scopes", nested_scopes, 1, 2, 3, 4, 5, 6));
    all.extend(widths!("resource::transactions", transactions, 1, 2, 3, 4));
    all.extend(widths!("exit_stack::dynamic", exit_stack, 1, 2, 3, 4, 5, 6, 7, 8));
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
