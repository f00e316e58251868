//! A hand-driven runtime for unit tests, and small futures to poll by hand.
//!
//! [`MockRuntime`] has a manual clock (it moves only when the test calls
//! [`advance`](MockRuntime::advance)), timers that fire when the clock passes their deadline (the
//! mock counts how many were created and reset), and a `spawn` that only stores the task: the
//! test polls stored tasks with [`run_tasks`](MockRuntime::run_tasks), each with a waker that
//! counts its wake-ups. Wrap a future with `with_runtime(rt.handle(), fut)` and poll it with a
//! [`Counter`]'s waker to see exactly which poll does what.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::runtime::{BoxFuture, Handle, JoinError, RawTask, Runtime, TaskOutput, Timer};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts the wake-ups of the waker it makes.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicUsize);

impl Counter {
    /// A counter and a waker that increments it.
    pub(crate) fn new() -> (Arc<Counter>, Waker) {
        let c = Arc::new(Counter::default());
        let w = Waker::from(Arc::clone(&c));
        (c, w)
    }

    /// Wake-ups so far.
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A manual runtime. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub(crate) struct MockRuntime {
    shared: Arc<Shared>,
}

struct Shared {
    base: Instant,
    elapsed: Mutex<Duration>,
    timers: Mutex<Vec<Weak<TimerCell>>>,
    timers_created: AtomicUsize,
    timer_resets: AtomicUsize,
    tasks: Mutex<Vec<Arc<MockTask>>>,
    /// Run (once) when the next timer is created: lets a test act at that exact point of a poll.
    on_next_timer: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            base: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
            timers: Mutex::new(Vec::new()),
            timers_created: AtomicUsize::new(0),
            timer_resets: AtomicUsize::new(0),
            tasks: Mutex::new(Vec::new()),
            on_next_timer: Mutex::new(None),
        }
    }
}

impl Shared {
    fn now(&self) -> Instant {
        self.base + *lock(&self.elapsed)
    }
}

impl MockRuntime {
    pub(crate) fn new() -> Self {
        MockRuntime::default()
    }

    /// A runtime handle on this mock, for `with_runtime`.
    pub(crate) fn handle(&self) -> Handle {
        Handle::new(self.clone())
    }

    /// Moves the clock forward and wakes the timers whose deadline has passed.
    pub(crate) fn advance(&self, by: Duration) {
        *lock(&self.shared.elapsed) += by;
        let now = self.shared.now();
        let timers: Vec<Arc<TimerCell>> =
            lock(&self.shared.timers).iter().filter_map(Weak::upgrade).collect();
        for t in timers {
            let waker = {
                let mut s = lock(&t.state);
                if s.deadline <= now { s.waker.take() } else { None }
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Runs `f` when the next timer is created (inside the poll that creates it).
    pub(crate) fn on_next_timer(&self, f: impl FnOnce() + Send + 'static) {
        *lock(&self.shared.on_next_timer) = Some(Box::new(f));
    }

    /// Timers created so far.
    pub(crate) fn timers_created(&self) -> usize {
        self.shared.timers_created.load(Ordering::SeqCst)
    }

    /// Timer resets so far.
    pub(crate) fn timer_resets(&self) -> usize {
        self.shared.timer_resets.load(Ordering::SeqCst)
    }

    /// Spawned tasks so far (finished or not).
    pub(crate) fn tasks(&self) -> Vec<Arc<MockTask>> {
        lock(&self.shared.tasks).clone()
    }

    /// Polls every unfinished spawned task once (tasks spawned meanwhile wait for the next call).
    /// Returns how many are still unfinished.
    pub(crate) fn run_tasks(&self) -> usize {
        let tasks = self.tasks();
        let mut pending = 0;
        for t in tasks {
            if t.poll().is_pending() {
                pending += 1;
            }
        }
        pending
    }
}

impl Runtime for MockRuntime {
    fn name(&self) -> &'static str {
        "mock"
    }

    fn spawn(&self, task: BoxFuture<TaskOutput>) -> Box<dyn RawTask> {
        let task = Arc::new(MockTask::new(Some(task), None));
        lock(&self.shared.tasks).push(Arc::clone(&task));
        Box::new(MockRawTask(task))
    }

    fn spawn_blocking(&self, f: Box<dyn FnOnce() -> TaskOutput + Send + 'static>) -> Box<dyn RawTask> {
        let out = catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::panicked);
        Box::new(MockRawTask(Arc::new(MockTask::new(None, Some(out)))))
    }

    fn now(&self) -> Instant {
        self.shared.now()
    }

    fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>> {
        self.shared.timers_created.fetch_add(1, Ordering::SeqCst);
        let hook = lock(&self.shared.on_next_timer).take();
        if let Some(f) = hook {
            f();
        }
        let cell = Arc::new(TimerCell { state: Mutex::new(TimerState { deadline, waker: None }) });
        lock(&self.shared.timers).push(Arc::downgrade(&cell));
        Box::pin(MockTimer { cell, rt: Arc::downgrade(&self.shared) })
    }
}

#[derive(Debug)]
struct TimerCell {
    state: Mutex<TimerState>,
}

#[derive(Debug)]
struct TimerState {
    deadline: Instant,
    waker: Option<Waker>,
}

#[derive(Debug)]
struct MockTimer {
    cell: Arc<TimerCell>,
    rt: Weak<Shared>,
}

impl Timer for MockTimer {
    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(rt) = self.rt.upgrade() else { return Poll::Pending };
        let now = rt.now();
        let mut s = lock(&self.cell.state);
        if s.deadline <= now {
            Poll::Ready(())
        } else {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        if let Some(rt) = self.rt.upgrade() {
            rt.timer_resets.fetch_add(1, Ordering::SeqCst);
        }
        lock(&self.cell.state).deadline = deadline;
    }
}

/// A spawned task, polled only when the test says so.
pub(crate) struct MockTask {
    fut: Mutex<Option<BoxFuture<TaskOutput>>>,
    out: Mutex<Option<Result<TaskOutput, JoinError>>>,
    join_waker: Mutex<Option<Waker>>,
    wakes: Arc<Counter>,
    waker: Waker,
}

impl fmt::Debug for MockTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockTask").field("wakes", &self.wakes.get()).finish_non_exhaustive()
    }
}

impl MockTask {
    fn new(fut: Option<BoxFuture<TaskOutput>>, out: Option<Result<TaskOutput, JoinError>>) -> Self {
        let (wakes, waker) = Counter::new();
        MockTask { fut: Mutex::new(fut), out: Mutex::new(out), join_waker: Mutex::new(None), wakes, waker }
    }

    /// Wake-ups of this task's waker so far.
    pub(crate) fn wakes(&self) -> usize {
        self.wakes.get()
    }

    /// Drops the task's future unfinished, as a runtime that shuts down does.
    pub(crate) fn drop_unfinished(&self) {
        let fut = lock(&self.fut).take();
        drop(fut);
    }

    /// Polls the task once, unless it has finished.
    pub(crate) fn poll(&self) -> Poll<()> {
        let mut slot = lock(&self.fut);
        let Some(fut) = slot.as_mut() else { return Poll::Ready(()) };
        let mut cx = Context::from_waker(&self.waker);
        let out = match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(v)) => Ok(v),
            Err(payload) => Err(JoinError::panicked(payload)),
        };
        *slot = None;
        drop(slot);
        self.finish(out);
        Poll::Ready(())
    }

    fn finish(&self, out: Result<TaskOutput, JoinError>) {
        *lock(&self.out) = Some(out);
        if let Some(w) = lock(&self.join_waker).take() {
            w.wake();
        }
    }
}

#[derive(Debug)]
struct MockRawTask(Arc<MockTask>);

impl RawTask for MockRawTask {
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<TaskOutput, JoinError>> {
        match lock(&self.0.out).take() {
            Some(out) => Poll::Ready(out),
            None => {
                *lock(&self.0.join_waker) = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    fn abort(&mut self) {
        let fut = lock(&self.0.fut).take();
        if fut.is_some() {
            drop(fut);
            self.0.finish(Err(JoinError::cancelled()));
        }
    }

    fn is_finished(&self) -> bool {
        lock(&self.0.fut).is_none()
    }
}

/// A foreign future that stays pending until its [`Gate`] is opened: it counts its polls,
/// registers its waker like any well-behaved future, and records that it was dropped.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gate {
    inner: Arc<GateInner>,
}

#[derive(Debug, Default)]
struct GateInner {
    open: AtomicBool,
    polls: AtomicUsize,
    dropped: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    pub(crate) fn new() -> Self {
        Gate::default()
    }

    /// A future that resolves once the gate is open.
    pub(crate) fn wait(&self) -> GateWait {
        GateWait { gate: self.clone() }
    }

    /// Opens the gate and wakes the waiter.
    pub(crate) fn open(&self) {
        self.inner.open.store(true, Ordering::SeqCst);
        if let Some(w) = lock(&self.inner.waker).take() {
            w.wake();
        }
    }

    /// How many times a waiter was polled.
    pub(crate) fn polls(&self) -> usize {
        self.inner.polls.load(Ordering::SeqCst)
    }

    /// How many waiters were dropped (before or after they resolved).
    pub(crate) fn dropped(&self) -> usize {
        self.inner.dropped.load(Ordering::SeqCst)
    }
}

/// The future of [`Gate::wait`].
#[derive(Debug)]
pub(crate) struct GateWait {
    gate: Gate,
}

impl Future for GateWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let g = &self.gate.inner;
        g.polls.fetch_add(1, Ordering::SeqCst);
        if g.open.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *lock(&g.waker) = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for GateWait {
    fn drop(&mut self) {
        self.gate.inner.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// An ordered, shared log of events.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub(crate) fn new() -> Self {
        Log::default()
    }

    pub(crate) fn push(&self, event: impl Into<String>) {
        lock(&self.0).push(event.into());
    }

    pub(crate) fn events(&self) -> Vec<String> {
        lock(&self.0).clone()
    }
}

/// Resolves to `Err(payload)` if the inner future panics while polled.
pub(crate) struct CatchUnwind<F>(pub(crate) Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}

/// Polls `fut` once with `waker`.
pub(crate) fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// A counting waker: `(counter, waker)`.
pub(crate) fn waker() -> (Arc<Counter>, Waker) {
    Counter::new()
}

/// Polls an `Unpin` future once with `w`.
pub(crate) fn poll<F: Future + Unpin>(f: &mut F, w: &Waker) -> Poll<F::Output> {
    poll_with(Pin::new(f), w)
}

/// How many times the counter's waker was woken.
pub(crate) fn woken(c: &Counter) -> usize {
    c.get()
}
