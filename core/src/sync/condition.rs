//! A condition variable over the anyscope [`Mutex`](super::Mutex).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex as StdMutex, MutexGuard as StdGuard};
use std::task::{Context, Poll};

use super::mutex::{Lock, Mutex, MutexGuard};
use super::queue::{WaitQueue, Wakers, set_waker};
use crate::frame;

/// A condition variable (AnyIO's `Condition`, shaped like `std::sync::Condvar`): a task holding
/// a [`Mutex`] guard waits in [`wait`](Condition::wait), which unlocks, sleeps until notified,
/// and locks again before returning the guard.
///
/// Notifications are not stored: [`notify`](Condition::notify) wakes tasks already waiting
/// (oldest first), and does nothing when none waits — so check the predicate in a loop, with
/// the lock held, as with any condition variable. One `Condition` is meant to be used with one
/// mutex.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::sync::{Condition, Mutex};
/// use std::sync::Arc;
/// let pair = Arc::new((Mutex::new(false), Condition::new()));
/// let pair2 = Arc::clone(&pair);
/// let waiter = anyscope_core::spawn(async move {
///     let (m, cond) = &*pair2;
///     let mut ready = m.lock().await;
///     while !*ready {
///         ready = cond.wait(ready).await;
///     }
/// });
/// let (m, cond) = &*pair;
/// *m.lock().await = true;
/// cond.notify_all();
/// waiter.await.unwrap();
/// # });
/// ```
pub struct Condition {
    queue: StdMutex<WaitQueue<()>>,
}

/// A snapshot of a [`Condition`]'s state.
///
/// # Examples
///
/// ```
/// assert_eq!(anyscope_core::sync::Condition::new().statistics().tasks_waiting, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConditionStatistics {
    /// Tasks waiting for a notification (not counting notified ones that have not run yet).
    pub tasks_waiting: usize,
}

impl Condition {
    /// A condition with no waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cond = anyscope_core::sync::Condition::new();
    /// ```
    pub const fn new() -> Self {
        Condition { queue: StdMutex::new(WaitQueue::new()) }
    }

    fn lock(&self) -> StdGuard<'_, WaitQueue<()>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Unlocks `guard`'s mutex, waits for a notification, locks the mutex again and returns the
    /// new guard. The task is registered as a waiter *before* the mutex is unlocked, so a
    /// notification sent by whoever takes the lock next is not missed.
    ///
    /// # Cancel safety
    ///
    /// A checkpoint: inside a cancelled scope it does not complete. Dropped before it unlocked,
    /// it just drops the guard (unlocking). Dropped while waiting, it leaves the queue, and a
    /// notification it had already received is passed on to the next waiter, so `notify(1)` is
    /// never swallowed by a cancelled task. Dropped while locking again, it takes no lock (as
    /// [`Mutex::lock`]) and also passes its notification on. A cancelled wait never holds the
    /// lock afterwards. (A notification passed on may reach a task that started waiting after
    /// it was sent: a spurious wake-up, which the predicate loop absorbs.)
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{move_on_after, sync::{Condition, Mutex}};
    /// use std::time::Duration;
    /// let (m, cond) = (Mutex::new(()), Condition::new());
    /// // Nobody notifies: the wait is cut off, and the mutex is free again.
    /// let out = move_on_after(Duration::from_millis(5), async {
    ///     let g = m.lock().await;
    ///     cond.wait(g).await;
    /// })
    /// .await;
    /// assert!(out.is_none());
    /// assert!(!m.is_locked());
    /// # });
    /// ```
    pub fn wait<'a, T>(&'a self, guard: MutexGuard<'a, T>) -> CondWait<'a, T> {
        CondWait { cond: self, step: Step::Start(guard) }
    }

    /// Wakes up to `n` waiting tasks, oldest first; returns how many.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::Condition::new().notify(1), 0); // nobody waits
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        let mut wakers = Wakers::default();
        let mut count = 0;
        {
            let mut q = self.lock();
            while count < n && q.next_waiting().is_some() {
                if let Some(w) = q.grant_next() {
                    wakers.push(w);
                }
                count += 1;
            }
        }
        wakers.wake();
        count
    }

    /// Wakes every waiting task; returns how many.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::Condition::new().notify_all(), 0);
    /// ```
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }

    /// A snapshot of the state.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::Condition::new().statistics().tasks_waiting, 0);
    /// ```
    pub fn statistics(&self) -> ConditionStatistics {
        ConditionStatistics { tasks_waiting: self.lock().waiting() }
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("statistics", &self.statistics()).finish()
    }
}

enum Step<'a, T> {
    Start(MutexGuard<'a, T>),
    Waiting { id: u64, mutex: &'a Mutex<T> },
    Relocking(Lock<'a, T>),
    Done,
}

// The guard inside does not need a stable address.
impl<T> Unpin for CondWait<'_, T> {}

/// The future of [`Condition::wait`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::sync::{Condition, Mutex};
/// let (m, cond) = (Mutex::new(()), Condition::new());
/// let mut fut: anyscope_core::sync::CondWait<'_, ()> = cond.wait(m.lock().await);
/// // Not notified yet: polling once leaves it waiting, with the mutex unlocked.
/// assert!(poll_once(&mut fut).is_none());
/// assert!(!m.is_locked());
/// cond.notify(1);
/// let _guard = fut.await;
/// # });
/// # fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     match std::pin::Pin::new(f).poll(&mut cx) { std::task::Poll::Ready(v) => Some(v), _ => None }
/// # }
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct CondWait<'a, T> {
    cond: &'a Condition,
    step: Step<'a, T>,
}

impl<'a, T> Future for CondWait<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let this = &mut *self;
        loop {
            match std::mem::replace(&mut this.step, Step::Done) {
                Step::Start(guard) => {
                    let id = this.cond.lock().push((), cx.waker());
                    let mutex = guard.mutex();
                    drop(guard); // unlock after registering
                    this.step = Step::Waiting { id, mutex };
                }
                Step::Waiting { id, mutex } => {
                    let mut q = this.cond.lock();
                    let entry = q.get_mut(id).expect("a waiter stays queued until it leaves");
                    if entry.granted {
                        q.remove(id);
                        drop(q);
                        this.step = Step::Relocking(mutex.lock());
                    } else {
                        set_waker(&mut entry.waker, cx.waker());
                        this.step = Step::Waiting { id, mutex };
                        return Poll::Pending;
                    }
                }
                Step::Relocking(mut lock) => {
                    return match Pin::new(&mut lock).poll(cx) {
                        Poll::Ready(guard) => Poll::Ready(guard),
                        Poll::Pending => {
                            this.step = Step::Relocking(lock);
                            Poll::Pending
                        }
                    };
                }
                Step::Done => panic!("`CondWait` polled after completion"),
            }
        }
    }
}

impl<T> Drop for CondWait<'_, T> {
    fn drop(&mut self) {
        // `Start` drops its guard (unlock), `Relocking` its `Lock` (leaves that queue).
        if let Step::Relocking(_) = self.step {
            // Notified but never returned: the notification is passed on, not swallowed.
            self.step = Step::Done;
            self.cond.notify(1);
            return;
        }
        if let Step::Waiting { id, .. } = self.step {
            let mut wakers = Wakers::default();
            {
                let mut q = self.cond.lock();
                if q.remove(id).is_some_and(|e| e.granted) {
                    // Pass the notification on.
                    if let Some(w) = q.grant_next() {
                        wakers.push(w);
                    }
                }
            }
            wakers.wake();
        }
    }
}

impl<T> fmt::Debug for CondWait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            Step::Start(_) => "start",
            Step::Waiting { .. } => "waiting",
            Step::Relocking(_) => "relocking",
            Step::Done => "done",
        };
        f.debug_struct("CondWait").field("step", &step).finish_non_exhaustive()
    }
}
