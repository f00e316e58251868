//! A deterministic runtime for anyscope tests: one thread, a virtual clock, a seeded order.
//!
//! - **Virtual time.** The clock stands still while tasks run and jumps to the next timer as
//!   soon as every task is blocked (Trio's `MockClock(autojump_threshold=0)`, tokio's paused
//!   clock): a one-hour timeout takes no time. A yield costs one microsecond of virtual time, so
//!   a loop that only yields still reaches its deadline.
//! - **A seeded order.** Among the tasks ready to run, the next one is chosen by a generator
//!   seeded per run: the same seed gives the same interleaving. The seed is `ANYSCOPE_SEED` when
//!   set, else random; a run that panics panics again with the seed appended to the message, so
//!   a failing test says how to replay it (`ANYSCOPE_SEED=<seed> cargo test <name>`).
//! - **Blocking calls on real threads.** While one runs, the run is not idle: the clock does not
//!   jump, it flows at real speed (up to the next deadline), so a task waiting for the thread
//!   is not overtaken by its own timeouts. Runs that use threads are only as deterministic as
//!   the threads.
//! - **Deadlocks are errors.** When every task is blocked with no timer pending and no thread
//!   running, only another thread could wake them; after 10 s of real time the run panics with
//!   a deadlock message instead of hanging.
//!
//! It is written against [`anyscope_core::runtime`]'s public contract alone, as a third-party
//! adapter would be, and runs the whole conformance suite.
//!
//! # When not to use it
//!
//! For production, or to measure anything: it runs every task on one thread. For I/O: it has no
//! reactor (the contract's I/O methods report `Unsupported`).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! let out = anyscope_sim::run(async {
//!     let start = anyscope_core::current_time();
//!     let timed_out = anyscope_core::fail_after(Duration::from_secs(3600), anyscope_core::sleep(Duration::from_secs(7200))).await;
//!     (timed_out.is_err(), anyscope_core::current_time() - start)
//! });
//! assert_eq!(out, (true, Duration::from_secs(3600))); // instantly, exactly one virtual hour
//! ```
#![forbid(unsafe_code)]

mod clock;
mod current;
mod executor;
mod idle;
mod seed;
mod task;
mod timer;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use anyscope_core::runtime::{self, BoxFuture, Handle, RawTask, Runtime, TaskOutput, Timer};

pub use idle::{WaitAllTasksBlocked, wait_all_tasks_blocked};
pub use seed::{SEED_ENV, SPURIOUS_ENV};

use clock::Clock;
use executor::Shared;

/// anyscope's [`Runtime`] on the simulated executor of one [`run`].
///
/// It holds its run weakly: once the run has returned, spawning drops the task at once (its
/// handle reports a cancellation) and timers never fire.
#[derive(Clone, Debug)]
pub struct Sim {
    shared: Weak<Shared>,
    clock: Arc<Clock>,
}

impl Sim {
    fn of(shared: &Arc<Shared>) -> Self {
        Sim { shared: Arc::downgrade(shared), clock: Arc::clone(&shared.clock) }
    }

    /// The runtime of the run this thread drives, if it drives one (or runs a blocking call of
    /// one).
    pub fn current() -> Option<Self> {
        current::current().map(|s| Sim::of(&s))
    }

    /// The seed of this runtime's run, to replay it.
    pub fn seed(&self) -> Option<u64> {
        self.shared.upgrade().map(|s| s.seed)
    }
}

impl Runtime for Sim {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn spawn(&self, task: BoxFuture<TaskOutput>) -> Box<dyn RawTask> {
        match self.shared.upgrade() {
            Some(shared) => Box::new(shared.spawn(task)),
            None => {
                drop(task);
                Box::new(task::SimTask::cancelled())
            }
        }
    }

    fn spawn_detached(&self, task: BoxFuture<TaskOutput>) {
        match self.shared.upgrade() {
            // Dropping the sim's handle detaches the task: no `RawTask` is boxed.
            Some(shared) => drop(shared.spawn(task)),
            None => drop(task),
        }
    }

    fn spawn_blocking(&self, f: Box<dyn FnOnce() -> TaskOutput + Send + 'static>) -> Box<dyn RawTask> {
        match self.shared.upgrade() {
            Some(shared) => Box::new(shared.spawn_blocking(f)),
            None => {
                drop(f);
                Box::new(task::SimTask::cancelled())
            }
        }
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>> {
        Box::pin(timer::SimTimer::new(self.shared.clone(), self.clock.next_timer_id(), deadline))
    }
}

/// The seed of the run this thread drives, if any.
///
/// # Examples
///
/// ```
/// let seed = anyscope_sim::Builder::new().seed(7).run(async { anyscope_sim::seed() });
/// assert_eq!(seed, Some(7));
/// assert_eq!(anyscope_sim::seed(), None);
/// ```
pub fn seed() -> Option<u64> {
    current::current().map(|s| s.seed)
}

/// Configures a run: its seed, and how long it waits before it calls a silent run a deadlock.
///
/// # Examples
///
/// ```
/// let order = |seed| {
///     anyscope_sim::Builder::new().seed(seed).run(async {
///         let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
///         let tasks: Vec<_> = (0..8)
///             .map(|i| {
///                 let log = log.clone();
///                 anyscope_core::spawn(async move { log.lock().unwrap().push(i) })
///             })
///             .collect();
///         for t in tasks {
///             t.await.unwrap();
///         }
///         let order = log.lock().unwrap().clone();
///         order
///     })
/// };
/// assert_eq!(order(1), order(1)); // the same seed replays the same interleaving
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    seed: Option<u64>,
    deadlock_grace: Option<Duration>,
    spurious_per_mille: Option<u32>,
}

impl Builder {
    /// A run with the seed from `ANYSCOPE_SEED`, or a random one.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Fixes the run's seed (it wins over `ANYSCOPE_SEED`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How long (real time) the run waits, when every task is blocked with no timer pending and
    /// no blocking call running, for another thread to wake a task before it panics with a
    /// deadlock error. Default: 10 s.
    pub fn deadlock_grace(mut self, grace: Duration) -> Self {
        self.deadlock_grace = Some(grace);
        self
    }

    /// Polls tasks that were not woken, at random (seeded): at each scheduling step, with a
    /// chance of `per_mille` thousandths, a random task is queued as if woken. The `Future`
    /// contract allows such spurious polls and some runtimes make them; this finds futures that
    /// assume a poll means a wake. Default: `ANYSCOPE_SIM_SPURIOUS` (thousandths) when set,
    /// else 0. Values above 1000 count as 1000.
    pub fn spurious_wakeups(mut self, per_mille: u32) -> Self {
        self.spurious_per_mille = Some(per_mille.min(1000));
        self
    }

    /// Runs `fut` to completion on a new simulated executor driven by this thread, then waits
    /// for detached cleanups, and returns its output. Tasks still pending then are dropped.
    ///
    /// # Panics
    ///
    /// A panic of `fut` is resumed, its message (when it is a string) followed by the seed. A
    /// deadlock panics. `ANYSCOPE_SEED` set to something that is not a number panics.
    pub fn run<F: Future>(self, fut: F) -> F::Output {
        static FALLBACK: std::sync::Once = std::sync::Once::new();
        FALLBACK.call_once(|| runtime::register_fallback("sim", || Sim::current().map(Handle::new)));
        let seed = self.seed.unwrap_or_else(seed::from_env_or_random);
        let spurious = self.spurious_per_mille.unwrap_or_else(seed::spurious_from_env);
        let shared = Shared::new(seed, self.deadlock_grace.unwrap_or(executor::DEADLOCK_GRACE), spurious);
        let handle = Handle::new(Sim::of(&shared));
        let root = async move {
            let out = runtime::with_runtime(handle, fut).await;
            anyscope_core::tracker::wait_detached().await;
            out
        };
        match catch_unwind(AssertUnwindSafe(|| executor::block_on(&shared, root))) {
            Ok(out) => out,
            Err(payload) => match executor::with_seed(payload, seed) {
                // A new panic (not a resume), so that the hook prints the message with the seed.
                Ok(msg) => std::panic::panic_any(msg),
                Err(payload) => std::panic::resume_unwind(payload),
            },
        }
    }
}

/// Runs `fut` to completion on a new simulated executor (seed from `ANYSCOPE_SEED`, or random),
/// then waits for detached cleanups, and returns its output. See [`Builder::run`].
///
/// # Panics
///
/// As [`Builder::run`].
///
/// # Examples
///
/// ```
/// let v = anyscope_sim::run(async {
///     anyscope_core::sleep(std::time::Duration::from_secs(86_400)).await; // a virtual day
///     anyscope_core::spawn(async { 21 * 2 }).await.unwrap()
/// });
/// assert_eq!(v, 42);
/// ```
pub fn run<F: Future>(fut: F) -> F::Output {
    Builder::new().run(fut)
}
