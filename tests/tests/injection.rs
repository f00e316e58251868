//! Cancellation injection on every reference runner: prints how many injected runs were checked.
//! A plain test binary (`harness = false`) so that the counts are printed by `cargo test`; it
//! honours libtest's arguments, so that `cargo test` filters and cargo-nextest work:
//!
//! - tests are named `<runner>::injection::<scenario>` (`tokio::injection::pool::users[3]`);
//! - `--list` lists them (`name: test` lines, as libtest; `--format terse` accepted) without
//!   running anything; with `--ignored` it lists nothing (none is ignored);
//! - positional filters select tests whose name contains one of them (equals one, with
//!   `--exact`); `--skip F` leaves out names containing `F` (equal to it, with `--exact`);
//! - other libtest flags (`--nocapture`, `--test-threads N`, `-q`, `--color`, ...) are
//!   accepted and ignored: scenarios run one after another.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::time::Instant;

use anyscope_conformance::injection::{Scenario, inject, scenarios};

type Fut = Pin<Box<dyn Future<Output = usize> + Send>>;
type Runner = (&'static str, fn(Fut) -> usize);

const RUNNERS: [Runner; 3] = [
    ("tokio", |f| anyscope_tokio::run(f)),
    ("tokio_current_thread", |f| anyscope_tokio::run_current_thread(f)),
    ("smol", |f| anyscope_smol::run(f)),
];

/// The libtest arguments this binary honours.
#[derive(Default)]
struct Args {
    list: bool,
    exact: bool,
    ignored: bool,
    filters: Vec<String>,
    skip: Vec<String>,
}

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> Args {
        let mut a = Args::default();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--list" => a.list = true,
                "--exact" => a.exact = true,
                "--ignored" => a.ignored = true,
                "--skip" => a.skip.extend(args.next()),
                // Flags with a separate value: the value is not a filter.
                "--format" | "--test-threads" | "--color" | "--logfile" | "-Z" | "--shuffle-seed" => {
                    args.next();
                }
                flag if flag.starts_with('-') => {} // `--nocapture`, `-q`, `--format=terse`, ...
                filter => a.filters.push(filter.to_owned()),
            }
        }
        a
    }

    fn matches(&self, pattern: &str, name: &str) -> bool {
        if self.exact { name == pattern } else { name.contains(pattern) }
    }

    fn selects(&self, name: &str) -> bool {
        !self.ignored
            && (self.filters.is_empty() || self.filters.iter().any(|f| self.matches(f, name)))
            && !self.skip.iter().any(|s| self.matches(s, name))
    }
}

fn main() {
    let args = Args::parse(std::env::args().skip(1));
    let all = scenarios();
    let tests: Vec<(Runner, Scenario, String)> = RUNNERS
        .iter()
        .flat_map(|&runner| {
            all.iter().map(move |&s| (runner, s, format!("{}::injection::{}", runner.0, s.name)))
        })
        .filter(|(_, _, name)| args.selects(name))
        .collect();
    if args.list {
        for (_, _, name) in &tests {
            println!("{name}: test");
        }
        if !tests.is_empty() {
            println!();
        }
        println!("{} tests, 0 benchmarks", tests.len());
        return;
    }
    let start = Instant::now();
    println!("\nrunning {} tests", tests.len());
    let (mut runs, mut failed) = (0, Vec::new());
    for ((_, runner), scenario, name) in &tests {
        let scenario = *scenario;
        match catch_unwind(AssertUnwindSafe(|| runner(Box::pin(async move { inject(&scenario).await })))) {
            Ok(n) => {
                println!("test {name} ... ok ({n} injected runs)");
                runs += n;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(name.clone());
            }
        }
    }
    println!("\ninjection: {runs} injected runs checked in {:.1?}", start.elapsed());
    if !failed.is_empty() {
        println!("\nfailures:\n    {}", failed.join("\n    "));
    }
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out\n",
        tests.len() - failed.len(),
        failed.len(),
        RUNNERS.len() * all.len() - tests.len(),
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}
