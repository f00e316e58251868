//! Cancellation injection on every reference runner: prints how many injected runs were checked.
//! A plain test binary (`harness = false`) so that the count is printed by `cargo test`.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

type Fut = Pin<Box<dyn Future<Output = usize> + Send>>;
type Runner = (&'static str, fn(Fut) -> usize);

fn main() {
    let runners: [Runner; 3] = [
        ("tokio", |f| anyscope_tokio::run(f)),
        ("tokio_current_thread", |f| anyscope_tokio::run_current_thread(f)),
        ("smol", |f| anyscope_smol::run(f)),
    ];
    let start = Instant::now();
    let mut total = 0;
    for (name, runner) in runners {
        let runs = anyscope_conformance::injection::run_all(runner);
        println!("injection on {name}: {runs} injected runs checked");
        total += runs;
    }
    println!("injection: {total} injected runs checked in {:.1?}", start.elapsed());
    println!("{} passed, 0 failed", runners.len());
}
