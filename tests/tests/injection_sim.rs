//! Cancellation injection on the deterministic runner (`sim`), under a few fixed seeds (plus
//! `ANYSCOPE_SEED` when set): prints how many injected runs were checked. A plain test binary
//! (`harness = false`), as `injection.rs` is for the reference runners.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

type Fut = Pin<Box<dyn Future<Output = usize> + Send>>;

fn main() {
    let mut seeds = vec![1u64, 2, 3];
    if let Some(seed) = std::env::var(anyscope_sim::SEED_ENV).ok().and_then(|s| s.trim().parse().ok()) {
        seeds.push(seed);
    }
    let start = Instant::now();
    let mut total = 0;
    for &seed in &seeds {
        let runner: fn(Fut) -> usize = match seed {
            1 => |f| anyscope_sim::Builder::new().seed(1).run(f),
            2 => |f| anyscope_sim::Builder::new().seed(2).run(f),
            3 => |f| anyscope_sim::Builder::new().seed(3).run(f),
            // The seed from the environment: `run` reads it.
            _ => |f| anyscope_sim::run(f),
        };
        let runs = anyscope_conformance::injection::run_all(runner);
        println!("injection on sim (seed {seed}): {runs} injected runs checked");
        total += runs;
    }
    println!("injection on sim: {total} injected runs checked in {:.1?}", start.elapsed());
    println!("{} passed, 0 failed", seeds.len());
}
