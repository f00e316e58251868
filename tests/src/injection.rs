//! Cancellation injection: run a scenario once to count its suspension points, then re-run it
//! cancelling at point k for every k — by cancelling the scenario's outer scope, and separately
//! by dropping the whole future from outside — and check after each run that nothing leaked,
//! nothing was lost, and every cleanup ran in the reverse order of opening.
//!
//! A *suspension point* is a `Pending` returned by the scenario's outer future. Cancelling at
//! point k means: after the k-th `Pending`, cancel (or drop) before polling again. Point 0 is
//! before the first poll.
//!
//! Besides cancelling the outer scope and dropping the future, the injection also goes through
//! what foreign combinators do: a `select!` that polls the scenario once more and drops it in
//! the same poll ([`Mode::SelectAfterPoll`]), and a future polled under one scope and finished
//! under another while its scope is cancelled ([`Mode::MoveThenCancel`]). A panic that a
//! scenario's `Drop` raises while it is cut off is caught by the injector and ends the run; the
//! checks still apply (nothing lost, nothing open).
//!
//! Third-party adapters run the same scenarios with [`run_all`] from a `harness = false` test.

mod scenarios;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyscope_core::CancelScope;

pub use scenarios::scenarios;

use crate::fixtures::assert_clean;
use crate::support::Log;

/// What a scenario is given: its tracker kind and its event log.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The tracker kind every resource of this run is counted under.
    pub kind: &'static str,
    /// The run's event log (`open x`, `closed x`, ...).
    pub log: Log,
}

/// A scenario: a name and a way to build its future for one run.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// `area::name[param]`.
    pub name: &'static str,
    /// Builds one run's future.
    pub build: fn(Ctx) -> Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// How the cancellation is injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `cancel()` on the scenario's outer scope.
    CancelScope,
    /// Drop the scenario's whole future, from outside its scopes.
    Drop,
    /// What a `select!` does when another branch wins: poll the scenario once more, then drop it
    /// in the same poll.
    SelectAfterPoll,
    /// Poll the scenario under one wrapping scope up to the point, then under another (a
    /// combinator that moved it), and cancel its outer scope there.
    MoveThenCancel,
}

impl Mode {
    /// Every mode, in the order `inject` runs them.
    pub const ALL: [Mode; 4] = [Mode::CancelScope, Mode::Drop, Mode::SelectAfterPoll, Mode::MoveThenCancel];
}

/// Polls `fut`, counting `Pending`s; at point `at` applies `mode`. A panic of the scenario
/// (a `Drop` that panics when cut off) is caught and ends the run.
struct Injected<F> {
    fut: Option<Pin<Box<F>>>,
    scope: CancelScope,
    pendings: usize,
    at: Option<(usize, Mode)>,
    /// Past the point of a `MoveThenCancel`: polled under the second wrapping scope.
    moved: bool,
}

impl<F: Future> Injected<F> {
    /// Polls the scenario once, under a wrapping scope of its own for this poll: a plain
    /// `CancelScope` before a move, a `move_on_after` after it. A panic ends the scenario.
    fn poll_scenario(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(fut) = self.fut.as_mut() else { return Poll::Ready(()) };
        let moved = self.moved;
        let polled = catch_unwind(AssertUnwindSafe(|| {
            let once = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).map(drop)));
            let mut wrapped: Pin<Box<dyn Future<Output = Option<Poll<()>>>>> = if moved {
                Box::pin(anyscope_core::move_on_after(Duration::from_secs(3600), once))
            } else {
                Box::pin(CancelScope::new().run(once))
            };
            match wrapped.as_mut().poll(cx) {
                Poll::Ready(Some(p)) => p,
                // The wrapping scopes are never cancelled and their body completes at once.
                _ => unreachable!("a wrapping scope around one poll"),
            }
        }));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) | Err(_) => {
                self.drop_scenario();
                Poll::Ready(())
            }
        }
    }

    /// Drops the scenario; a panic its drop raises ends it all the same.
    fn drop_scenario(&mut self) {
        let fut = self.fut.take();
        let _ = catch_unwind(AssertUnwindSafe(move || drop(fut)));
    }
}

impl<F: Future> Future for Injected<F> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = &mut *self;
        if let Some((at, mode)) = this.at {
            if this.pendings == at {
                this.at = None;
                match mode {
                    Mode::CancelScope => this.scope.cancel(),
                    Mode::Drop => {
                        this.drop_scenario();
                        return Poll::Ready(this.pendings);
                    }
                    Mode::SelectAfterPoll => {
                        let _ = this.poll_scenario(cx);
                        this.drop_scenario();
                        return Poll::Ready(this.pendings);
                    }
                    Mode::MoveThenCancel => {
                        this.moved = true;
                        this.scope.cancel();
                    }
                }
            }
        }
        if this.fut.is_none() {
            return Poll::Ready(this.pendings);
        }
        match this.poll_scenario(cx) {
            Poll::Ready(()) => Poll::Ready(this.pendings),
            Poll::Pending => {
                this.pendings += 1;
                Poll::Pending
            }
        }
    }
}

async fn run_once(scenario: &Scenario, at: Option<(usize, Mode)>) -> usize {
    let ctx = Ctx { kind: crate::fixtures::unique_kind(scenario.name), log: Log::new() };
    let scope = CancelScope::new();
    let fut = scope.run((scenario.build)(ctx.clone()));
    // The injector runs inside a frame of its own: what the dropped future hands over (its
    // pending cleanups, a group's wait for its tasks) is finished by that frame before it
    // returns, as it would be by the dropping owner in real code.
    let injected = Injected { fut: Some(Box::pin(fut)), scope, pendings: 0, at, moved: false };
    let points = CancelScope::new().run(injected).await.expect("the injector's own scope is never cancelled");
    check(scenario, &ctx, at).await;
    points
}

/// The checks after every run: nothing open, nothing lost, cleanups in reverse opening order.
async fn check(scenario: &Scenario, ctx: &Ctx, at: Option<(usize, Mode)>) {
    assert_clean(ctx.kind).await;
    // Cleanups are LIFO per owner (a resource named `owner/name` belongs to `owner`; tasks run
    // concurrently, each with its own stack): each close is of the owner's most recently opened
    // resource still open, and nothing stays open.
    let events = ctx.log.events();
    let mut open: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for event in &events {
        if event.starts_with("open pool/") {
            continue; // pool objects are checked below
        }
        if let Some(name) = event.strip_prefix("open ") {
            let who = name.split_once('/').map_or("", |(o, _)| o);
            open.entry(who).or_default().push(name);
        } else if let Some(name) = event.strip_prefix("closed ") {
            let who = name.split_once('/').map_or("", |(o, _)| o);
            let last = open.get_mut(who).and_then(|v| v.pop());
            assert_eq!(
                last,
                Some(name),
                "{} injected at {at:?}: closed {name} while {last:?} was {who}'s last opened: {events:?}",
                scenario.name
            );
        }
    }
    let left: Vec<&&str> = open.values().flatten().collect();
    assert!(
        left.is_empty(),
        "{} injected at {at:?}: never closed: {left:?}; tracker: {:?}; log: {events:?}",
        scenario.name,
        anyscope_core::tracker::kind(ctx.kind)
    );
    // Items moved through streams: none received twice.
    let mut got: Vec<&str> = events.iter().filter_map(|e| e.strip_prefix("got ")).collect();
    let n = got.len();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), n, "{} injected at {at:?}: an item was received twice: {events:?}", scenario.name);
    // Pool objects: each one created is closed by the pool (it knows no LIFO: the order objects
    // are closed in is the pool's), and none was ever issued to two holders at once.
    let created = events.iter().filter(|e| e.starts_with("open pool/")).count();
    let dropped = events.iter().filter(|e| e.starts_with("dropped pool/")).count();
    assert_eq!(created, dropped, "{} injected at {at:?}: pool objects missing: {events:?}", scenario.name);
    assert!(
        !events.iter().any(|e| e.starts_with("DOUBLE-ISSUED")),
        "{} injected at {at:?}: an object was issued twice: {events:?}",
        scenario.name
    );
    // A resource opened around a group closes after everything opened inside it.
    if let Some(outer) = events.iter().position(|e| e == "closed outer") {
        assert!(
            events[outer + 1..].iter().all(|e| !e.starts_with("closed ")),
            "{} injected at {at:?}: `outer` closed before what was opened inside it: {events:?}",
            scenario.name
        );
    }
}

/// Injects at every suspension point of `scenario`, in both modes. Returns the number of
/// injected runs checked.
pub async fn inject(scenario: &Scenario) -> usize {
    let points = run_once(scenario, None).await;
    let mut runs = 0;
    for k in 0..=points {
        for mode in Mode::ALL {
            run_once(scenario, Some((k, mode))).await;
            runs += 1;
        }
    }
    runs
}

/// Runs every scenario with `runner` (which drives a future to completion on an adapter) and
/// returns the number of injected runs checked. Panics on the first failed check.
pub fn run_all(runner: fn(Pin<Box<dyn Future<Output = usize> + Send>>) -> usize) -> usize {
    quiet_injected_panics();
    scenarios()
        .iter()
        .map(|s| {
            let s = *s;
            runner(Box::pin(async move { inject(&s).await }))
        })
        .sum()
}

/// Keeps the panics the scenarios raise on purpose (their message says "injected on purpose")
/// out of the output: thousands of runs would print a backtrace each. Every other panic goes to
/// the hook that was installed before.
fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !msg.contains("injected on purpose") {
                previous(info);
            }
        }));
    });
}
