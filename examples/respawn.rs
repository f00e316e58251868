//! A respawn-chain soak: a task that spawns its successor and ends (a reconnect loop, a
//! self-rescheduling job), a million times in a row under one cancel scope, then the scope is
//! cancelled and must reach the last task.
//!
//! Where each task spawns its successor from (`--from`): `root` (the task's root), `scope` (a
//! `CancelScope::run` of the task's own around the reconnect step), `deadline` (a
//! `move_on_after` of its own), or `mixed` (the default: the three in turn, link after link).
//!
//! ```text
//! cargo run --release --example respawn -- --links 1000000
//! cargo run --release --example respawn -- --links 1000000 --from scope
//! ```
//!
//! Prints the resident set size (from `/proc/self/status`) at the start and at the end, and
//! exits non-zero if it grew by more than a generous bound (a chain of finished tasks' nodes
//! would grow by ~300 B per link), or if the cancel did not reach the last task.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyscope::sync::Event;
use anyscope::{CancelScope, fail_after, move_on_after, sleep, spawn};

/// How much the resident set may grow over the whole run, whatever the number of links.
const RSS_BOUND_KIB: u64 = 64 * 1024;

/// The resident set size of this process, in KiB (`None` where `/proc` is not available).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sets an event when dropped: tells that the last task ended, however it ended.
struct SetOnDrop(Arc<Event>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// Shared by every link of the chain.
struct Chain {
    spawned: AtomicUsize,
    reached: Event,
    ended: Arc<Event>,
}

/// Where a link spawns its successor from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    Root,
    Scope,
    Deadline,
    Mixed,
}

impl Place {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "root" => Place::Root,
            "scope" => Place::Scope,
            "deadline" => Place::Deadline,
            "mixed" => Place::Mixed,
            _ => return None,
        })
    }

    /// The place for link `left` (`Mixed`: the three in turn).
    fn at(self, left: usize) -> Self {
        match (self, left % 3) {
            (Place::Mixed, 0) => Place::Root,
            (Place::Mixed, 1) => Place::Scope,
            (Place::Mixed, _) => Place::Deadline,
            (from, _) => from,
        }
    }
}

type Link = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// One link: spawns the next one (from where `from` says) and ends; the last one waits (for
/// the cancel).
fn link(left: usize, from: Place, chain: Arc<Chain>) -> Link {
    Box::pin(async move {
        chain.spawned.fetch_add(1, Ordering::Relaxed);
        if left == 0 {
            let _ended = SetOnDrop(Arc::clone(&chain.ended));
            chain.reached.set();
            sleep(Duration::from_secs(3600)).await;
            return;
        }
        let next = move || drop(spawn(link(left - 1, from, chain)));
        match from.at(left) {
            Place::Scope => {
                CancelScope::new().run(async move { next() }).await;
            }
            Place::Deadline => {
                move_on_after(Duration::from_secs(3600), async move { next() }).await;
            }
            _ => next(),
        }
    })
}

fn main() -> ExitCode {
    let mut links = 1_000_000usize;
    let mut from = Place::Mixed;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value.as_deref()) {
            ("--links", Some(n)) if n.parse::<usize>().is_ok() => links = n.parse().unwrap_or(links),
            ("--from", Some(f)) if Place::parse(f).is_some() => from = Place::parse(f).unwrap_or(from),
            _ => {
                eprintln!("usage: respawn [--links N] [--from root|scope|deadline|mixed]");
                return ExitCode::from(2);
            }
        }
    }
    anyscope::run(async move {
        let start_rss = rss_kib();
        println!("respawn chain of {links} tasks under one scope, each spawned from {from:?}");
        println!("rss at start: {} KiB", start_rss.map_or("?".into(), |k| k.to_string()));
        let chain = Arc::new(Chain {
            spawned: AtomicUsize::new(0),
            reached: Event::new(),
            ended: Arc::new(Event::new()),
        });
        let scope = CancelScope::new();
        let handle = scope.clone();
        let started = Instant::now();
        let c = Arc::clone(&chain);
        let out = scope
            .run(async move {
                drop(spawn(link(links, from, Arc::clone(&c))));
                c.reached.wait().await;
                println!("last task reached in {:.2?}; cancelling the scope", started.elapsed());
                handle.cancel();
                sleep(Duration::from_secs(3600)).await;
            })
            .await;
        let ended = fail_after(Duration::from_secs(30), chain.ended.wait()).await.is_ok();
        let end_rss = rss_kib();
        println!("rss at end: {} KiB", end_rss.map_or("?".into(), |k| k.to_string()));
        let spawned = chain.spawned.load(Ordering::Relaxed);
        let mut ok = true;
        if out.is_some() || !ended {
            println!("FAIL: the cancel did not reach the last task");
            ok = false;
        }
        if spawned != links + 1 {
            println!("FAIL: {spawned} tasks ran, expected {}", links + 1);
            ok = false;
        }
        if let (Some(a), Some(b)) = (start_rss, end_rss) {
            let grown = b.saturating_sub(a);
            println!("rss grew by {grown} KiB (bound {RSS_BOUND_KIB} KiB)");
            if grown > RSS_BOUND_KIB {
                println!("FAIL: state grew with the length of the chain");
                ok = false;
            }
        }
        if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    })
}
