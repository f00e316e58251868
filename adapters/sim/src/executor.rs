//! The executor: one thread, a seeded choice among ready tasks, a virtual clock.
//!
//! # The loop
//!
//! Each step, under the state lock: wake the timers whose deadline has passed; else poll one
//! ready task, chosen by the seeded generator; else (every task is blocked) wake the
//! [`wait_all_tasks_blocked`](crate::wait_all_tasks_blocked) waiters; else, while a blocking call
//! runs on its thread, wait for it in real time (the clock then flows at real speed, up to the
//! next deadline, so a task that waits for the thread is not overtaken by its own timeouts);
//! else jump the clock to the first timer. With no timer and no thread either, nothing inside
//! the run can make progress: after a grace period of real time ([`DEADLOCK_GRACE`] by
//! default) without a wake from another thread, the run fails with a deadlock error.
//!
//! A task that wakes itself while it is polled (a yield) goes to a second queue, `later`, that
//! becomes the ready queue once the ready queue is empty: a yielding task runs again only after
//! every task ready when it yielded has had a turn. Each yield costs [`YIELD_COST`] of virtual
//! time, so a loop that only yields still sees its deadline pass.
//!
//! With spurious wakes on, each step may first queue a random task nobody woke (seeded too).
//!
//! # Locks
//!
//! The state lock is never held while a future is polled or dropped, nor while a waker is
//! woken (a waker of this runtime takes it). A task cell's future lock is taken by the executor
//! thread only, while it polls or drops that future.

use std::any::Any;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use anyscope_core::runtime::{BoxFuture, JoinError, TaskOutput};

use crate::clock::Clock;
use crate::current::enter;
use crate::seed::Rng;
use crate::task::{SimTask, TaskCell, lock};

/// The id of the root future (the one `run` was given).
const ROOT: u64 = 0;
/// The id of blocking calls' cells: never scheduled.
const BLOCKING: u64 = u64::MAX;
/// Virtual time one yield costs.
pub(crate) const YIELD_COST: Duration = Duration::from_micros(1);
/// Real time the executor waits by default, with nothing to run and nothing pending, for a
/// wake from another thread before it declares a deadlock.
pub(crate) const DEADLOCK_GRACE: Duration = Duration::from_secs(10);
/// Longest single real-time wait while blocking calls run (the loop then looks again).
const BLOCKING_SLICE: Duration = Duration::from_millis(50);

/// What the executor, the tasks' wakers, the timers and the blocking threads share.
pub(crate) struct Shared {
    state: Mutex<State>,
    cond: Condvar,
    pub(crate) clock: Arc<Clock>,
    pub(crate) seed: u64,
    deadlock_grace: Duration,
    /// Chance per scheduling step, in thousandths, of a spurious wake of a random task.
    spurious_per_mille: u32,
}

struct State {
    /// Live async tasks (the root excluded), by id. Ids grow in spawn order.
    tasks: BTreeMap<u64, Arc<TaskCell>>,
    /// Ids in `ready` or `later`.
    queued: HashSet<u64>,
    ready: Vec<u64>,
    later: Vec<u64>,
    next_id: u64,
    timers: BTreeMap<(Instant, u64), Waker>,
    /// Blocking calls running on their threads.
    blocking: usize,
    idle_waiters: Vec<(Arc<AtomicBool>, Waker)>,
    rng: Rng,
    polling: Option<u64>,
    yielded: bool,
    closed: bool,
}

impl State {
    /// With a chance of `per_mille` thousandths, queues a random task (or the root) that was not
    /// woken: futures must cope with being polled when nothing changed.
    fn spurious_wake(&mut self, per_mille: u32) {
        if self.rng.below(1000) >= per_mille as usize {
            return;
        }
        let k = self.rng.below(self.tasks.len() + 1);
        let id = if k == 0 { ROOT } else { self.tasks.keys().nth(k - 1).copied().unwrap_or(ROOT) };
        if self.queued.insert(id) {
            self.ready.push(id);
        }
    }
}

/// What the loop does next.
enum Step {
    Root,
    Task(Arc<TaskCell>),
    Deadlock,
}

impl Shared {
    pub(crate) fn new(seed: u64, deadlock_grace: Duration, spurious_per_mille: u32) -> Arc<Self> {
        let clock = Arc::new(Clock::new());
        Arc::new(Shared {
            state: Mutex::new(State {
                tasks: BTreeMap::new(),
                queued: HashSet::new(),
                ready: Vec::new(),
                later: Vec::new(),
                next_id: ROOT + 1,
                timers: BTreeMap::new(),
                blocking: 0,
                idle_waiters: Vec::new(),
                rng: Rng::new(seed),
                polling: None,
                yielded: false,
                closed: false,
            }),
            cond: Condvar::new(),
            clock,
            seed,
            deadlock_grace,
            spurious_per_mille,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Queues task `id` (a wake). A task woken while it is being polled has yielded.
    pub(crate) fn schedule(&self, id: u64) {
        let mut st = self.state();
        if st.closed || (id != ROOT && !st.tasks.contains_key(&id)) {
            return;
        }
        let own = st.polling == Some(id);
        st.yielded |= own;
        if st.queued.insert(id) {
            if own {
                st.later.push(id)
            } else {
                st.ready.push(id)
            }
            drop(st);
            self.cond.notify_one();
        }
    }

    pub(crate) fn spawn(self: &Arc<Self>, fut: BoxFuture<TaskOutput>) -> SimTask {
        let mut st = self.state();
        if st.closed {
            drop(st);
            drop(fut);
            return SimTask::cancelled();
        }
        let id = st.next_id;
        st.next_id += 1;
        let cell = TaskCell::new(id, Some(fut));
        st.tasks.insert(id, Arc::clone(&cell));
        st.queued.insert(id);
        st.ready.push(id);
        drop(st);
        self.cond.notify_one();
        SimTask::new(cell, Arc::downgrade(self))
    }

    pub(crate) fn spawn_blocking(self: &Arc<Self>, f: Box<dyn FnOnce() -> TaskOutput + Send>) -> SimTask {
        {
            let mut st = self.state();
            if st.closed {
                drop(st);
                drop(f);
                return SimTask::cancelled();
            }
            st.blocking += 1;
        }
        let cell = TaskCell::new(BLOCKING, None);
        let (c, weak) = (Arc::clone(&cell), Arc::downgrade(self));
        let started = std::thread::Builder::new().name("anyscope-sim-blocking".into()).spawn(move || {
            let _current = enter(weak.clone());
            let out = if c.abort_requested() {
                Err(JoinError::cancelled())
            } else {
                catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::panicked)
            };
            // Finish (which queues the joiner) before the count drops: the executor never sees
            // "no thread running" while the thread's result has not woken anyone yet.
            c.finish(out);
            if let Some(shared) = weak.upgrade() {
                shared.blocking_done();
            }
        });
        if let Err(e) = started {
            self.blocking_done();
            let msg = format!("anyscope-sim: failed to start a thread for a blocking call: {e}");
            cell.finish(Err(JoinError::panicked(Box::new(msg))));
        }
        SimTask::new(cell, Arc::downgrade(self))
    }

    fn blocking_done(&self) {
        self.state().blocking -= 1;
        self.cond.notify_one();
    }

    /// Registers (or re-registers) timer `id`'s waker under `deadline`, removing its entry under
    /// `old` if it had one.
    pub(crate) fn register_timer(&self, old: Option<Instant>, deadline: Instant, id: u64, waker: &Waker) {
        let mut st = self.state();
        if let Some(old) = old.filter(|o| *o != deadline) {
            st.timers.remove(&(old, id));
        }
        match st.timers.get_mut(&(deadline, id)) {
            Some(w) if w.will_wake(waker) => {}
            Some(w) => *w = waker.clone(),
            None => {
                st.timers.insert((deadline, id), waker.clone());
            }
        }
    }

    pub(crate) fn remove_timer(&self, at: Instant, id: u64) {
        let waker = self.state().timers.remove(&(at, id));
        drop(waker);
    }

    /// Moves timer `id`'s entry to `to`; false if it had none (it fired).
    pub(crate) fn move_timer(&self, at: Instant, to: Instant, id: u64) -> bool {
        let mut st = self.state();
        match st.timers.remove(&(at, id)) {
            Some(w) => {
                st.timers.insert((to, id), w);
                true
            }
            None => false,
        }
    }

    /// Wakes `waker` (and sets `flag`) the next time every task is blocked.
    pub(crate) fn add_idle_waiter(&self, flag: &Arc<AtomicBool>, waker: &Waker) {
        let mut st = self.state();
        match st.idle_waiters.iter_mut().find(|(f, _)| Arc::ptr_eq(f, flag)) {
            Some((_, w)) => *w = waker.clone(),
            None => st.idle_waiters.push((Arc::clone(flag), waker.clone())),
        }
    }

    /// Chooses what to run next; waits (or moves the clock) when nothing is ready.
    fn next_step(&self) -> Step {
        let mut st = self.state();
        let mut idle_since: Option<Instant> = None;
        loop {
            let now = self.now();
            let mut expired = Vec::new();
            while let Some(entry) = st.timers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                expired.push(entry.remove());
            }
            if !expired.is_empty() {
                drop(st);
                expired.into_iter().for_each(Waker::wake);
                st = self.state();
                continue;
            }
            if st.ready.is_empty() {
                let State { ready, later, .. } = &mut *st;
                std::mem::swap(ready, later);
            }
            if !st.ready.is_empty() {
                if self.spurious_per_mille > 0 {
                    st.spurious_wake(self.spurious_per_mille);
                }
                let n = st.ready.len();
                let i = st.rng.below(n);
                let id = st.ready.swap_remove(i);
                st.queued.remove(&id);
                let step = if id == ROOT {
                    Step::Root
                } else if let Some(cell) = st.tasks.get(&id) {
                    Step::Task(Arc::clone(cell))
                } else {
                    continue;
                };
                st.polling = Some(id);
                st.yielded = false;
                return step;
            }
            // Every task is blocked.
            if st.blocking == 0 && !st.idle_waiters.is_empty() {
                let waiters = std::mem::take(&mut st.idle_waiters);
                drop(st);
                for (flag, waker) in waiters {
                    flag.store(true, Ordering::Release);
                    waker.wake();
                }
                st = self.state();
                continue;
            }
            let next_deadline =
                st.timers.first_key_value().map(|((d, _), _)| d.saturating_duration_since(now));
            if st.blocking > 0 {
                let slice = next_deadline.map_or(BLOCKING_SLICE, |d| d.min(BLOCKING_SLICE));
                let started = Instant::now();
                st = self.cond.wait_timeout(st, slice).unwrap_or_else(|e| e.into_inner()).0;
                let real = started.elapsed();
                self.clock.advance(next_deadline.map_or(real, |d| real.min(d)));
                continue;
            }
            if let Some(d) = next_deadline {
                self.clock.advance(d);
                continue;
            }
            // Nothing inside the run can make progress: only another thread can wake a task.
            let since = *idle_since.get_or_insert_with(Instant::now);
            let waited = since.elapsed();
            if waited >= self.deadlock_grace {
                return Step::Deadlock;
            }
            st =
                self.cond.wait_timeout(st, self.deadlock_grace - waited).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Ends the turn of the task just polled.
    fn after_poll(&self, id: u64, finished: bool) {
        let mut st = self.state();
        st.polling = None;
        if std::mem::take(&mut st.yielded) {
            self.clock.advance(YIELD_COST);
        }
        if finished {
            st.tasks.remove(&id);
        }
    }

    /// Polls task `cell` once, or drops its future if it was aborted.
    fn run_task(self: &Arc<Self>, cell: &TaskCell, waker: &Waker) {
        let mut slot = lock(&cell.fut);
        let finished = if cell.abort_requested() {
            let fut = slot.take();
            drop(slot);
            quiet_drop(fut);
            cell.finish(Err(JoinError::cancelled()));
            true
        } else if let Some(fut) = slot.as_mut() {
            let polled =
                catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut Context::from_waker(waker))));
            let out = match polled {
                Ok(Poll::Pending) => None,
                Ok(Poll::Ready(v)) => Some(Ok(v)),
                Err(payload) => Some(Err(JoinError::panicked(payload))),
            };
            match out {
                None => false,
                Some(out) => {
                    let fut = slot.take();
                    drop(slot);
                    quiet_drop(fut);
                    cell.finish(out);
                    true
                }
            }
        } else {
            true
        };
        self.after_poll(cell.id, finished);
    }

    /// Closes the executor: later spawns are dropped at once, and every task still pending is
    /// dropped here (as tokio drops the tasks of a runtime it shuts down).
    fn shutdown(&self) {
        let (tasks, timers, waiters) = {
            let mut st = self.state();
            st.closed = true;
            st.ready.clear();
            st.later.clear();
            st.queued.clear();
            (
                std::mem::take(&mut st.tasks),
                std::mem::take(&mut st.timers),
                std::mem::take(&mut st.idle_waiters),
            )
        };
        for cell in tasks.values() {
            let fut = lock(&cell.fut).take();
            quiet_drop(fut);
            cell.finish(Err(JoinError::cancelled()));
        }
        drop((timers, waiters));
    }
}

/// Drops `value`, containing a panic of its `Drop` (a task's panic has already been reported).
fn quiet_drop<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

struct TaskWaker {
    id: u64,
    shared: Weak<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(shared) = self.shared.upgrade() {
            shared.schedule(self.id);
        }
    }
}

/// Drives `root` and every task it spawns on this thread until `root` completes; then shuts the
/// executor down (also when `root` panics).
///
/// # Panics
///
/// A panic of `root` is resumed; a deadlock panics with a message that says so.
pub(crate) fn block_on<F: Future>(shared: &Arc<Shared>, root: F) -> F::Output {
    struct Shutdown<'a>(&'a Shared);
    impl Drop for Shutdown<'_> {
        fn drop(&mut self) {
            self.0.shutdown();
        }
    }
    let _current = enter(Arc::downgrade(shared));
    let _shutdown = Shutdown(shared);
    let waker_of = |id| Waker::from(Arc::new(TaskWaker { id, shared: Arc::downgrade(shared) }));
    let root_waker = waker_of(ROOT);
    let mut wakers: BTreeMap<u64, Waker> = BTreeMap::new();
    let mut root = pin!(root);
    shared.schedule(ROOT);
    loop {
        match shared.next_step() {
            Step::Root => {
                let polled = root.as_mut().poll(&mut Context::from_waker(&root_waker));
                shared.after_poll(ROOT, false);
                if let Poll::Ready(out) = polled {
                    return out;
                }
            }
            Step::Task(cell) => {
                let waker = wakers.entry(cell.id).or_insert_with(|| waker_of(cell.id)).clone();
                shared.run_task(&cell, &waker);
                if lock(&cell.fut).is_none() {
                    wakers.remove(&cell.id);
                }
            }
            Step::Deadlock => panic!("{}", deadlock_message(shared)),
        }
    }
}

fn deadlock_message(shared: &Shared) -> String {
    let pending = shared.state().tasks.len();
    let grace = shared.deadlock_grace;
    format!(
        "anyscope-sim: deadlock: the root future and {pending} task(s) are all blocked, with no timer \
         pending and no blocking call running, and nothing woke them for {grace:?}"
    )
}

/// Appends the seed to a panic message, so that a failing test says how to replay it.
pub(crate) fn with_seed(payload: Box<dyn Any + Send>, seed: u64) -> Result<String, Box<dyn Any + Send>> {
    let msg = if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        return Err(payload);
    };
    Ok(format!("{msg}\n[anyscope-sim: seed {seed}; replay with {}={seed}]", crate::SEED_ENV))
}
