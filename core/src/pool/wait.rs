//! The named futures an acquire awaits: [`WaitTurn`] (its place in the FIFO queue) and
//! [`Bounded`] (a create or recycle bounded by the acquire timeout and its own bound), and
//! [`Within`] (a recycle or close nobody waits for, bounded by the pool's cleanup bound).
//!
//! Both follow the checkpoint rule: polled in an effectively cancelled scope, `WaitTurn`
//! returns `Pending` before touching the pool, so the scope drops it right away. `Bounded`
//! neither allocates nor arms a timer unless it has to wait; `WaitTurn` never does (the pool's
//! one timer keeps the waiters' deadlines, see `alarm.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::alarm;
use super::shared::{Counters, Shared};
use super::state::Turn;
use super::{Manager, PoolError};
use crate::frame;
use crate::time::{Sleep, sleep_until};

/// The acquire's deadline, fixed the first time the acquire has to wait (no clock read on
/// the fast path).
pub(super) struct Deadline {
    timeout: Duration,
    at: Option<Option<Instant>>,
}

impl Deadline {
    pub(super) fn new(timeout: Duration) -> Self {
        Deadline { timeout, at: None }
    }

    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Fixes the deadline if it is not yet (`None`: the timeout is too long to represent: no
    /// bound).
    fn fix<M: Manager>(&mut self, shared: &Shared<M>) -> Option<Instant> {
        let timeout = self.timeout;
        *self.at.get_or_insert_with(|| shared.now().checked_add(timeout))
    }

    /// The timer for the deadline (`None`: no bound).
    fn sleep<M: Manager>(&mut self, shared: &Shared<M>) -> Option<Sleep> {
        self.fix(shared).map(sleep_until)
    }
}

/// Waits for the acquire's turn: an idle object or a free slot, in FIFO order, until the
/// acquire's deadline (kept by the pool's one timer, see `alarm.rs`: a waiting acquire
/// allocates nothing but its place in the queue and arms no timer of its own).
pub(super) struct WaitTurn<'a, M: Manager> {
    shared: &'a Arc<Shared<M>>,
    deadline: &'a mut Deadline,
    id: Option<u64>,
}

impl<'a, M: Manager> WaitTurn<'a, M> {
    pub(super) fn new(shared: &'a Arc<Shared<M>>, deadline: &'a mut Deadline) -> Self {
        WaitTurn { shared, deadline, id: None }
    }
}

impl<M: Manager> Future for WaitTurn<'_, M> {
    type Output = Result<Turn<M::Object>, PoolError<M::Error>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if frame::poll_proceed(cx).is_pending() {
            // A checkpoint (a cancelled scope drops us now) that spends from the task's budget.
            return Poll::Pending;
        }
        let this = &mut *self;
        let shared = this.shared;
        let mut st = shared.lock();
        let id = match this.id {
            None => {
                if st.closed {
                    return Poll::Ready(Err(PoolError::Closed));
                }
                if let Some(turn) = st.take_turn() {
                    let low = st.idle.len() < shared.config.min_idle;
                    drop(st);
                    if low {
                        shared.notify(false);
                    }
                    return Poll::Ready(Ok(turn));
                }
                // The deadline is fixed under the lock: queue order is deadline order.
                this.deadline.fix(shared);
                let id = st.enqueue(cx.waker().clone());
                this.id = Some(id);
                id
            }
            Some(id) => {
                if let Some(turn) = st.poll_waiter(id, cx.waker()) {
                    this.id = None;
                    let duty = st.duty_waker();
                    drop(st);
                    if let Some(next) = duty {
                        next.wake();
                    }
                    return Poll::Ready(Ok(turn));
                }
                if st.closed {
                    st.leave(id);
                    this.id = None;
                    return Poll::Ready(Err(PoolError::Closed));
                }
                id
            }
        };
        // Only the head keeps the timer: the others' deadlines are later.
        let at = match this.deadline.at {
            Some(Some(at)) if st.is_head(id) => at,
            _ => return Poll::Pending,
        };
        match st.alarm_at {
            Some(armed) if armed <= at => return Poll::Pending,
            Some(_) => {}
            None if shared.now() >= at => {
                st.leave(id); // the head, not handed anything
                this.id = None;
                let duty = st.duty_waker();
                drop(st);
                if let Some(next) = duty {
                    next.wake();
                }
                Counters::add(&shared.counters.timed_out);
                return Poll::Ready(Err(PoolError::Timeout(this.deadline.timeout())));
            }
            None => {}
        }
        st.alarm_at = Some(at);
        st.duty = false;
        drop(st);
        alarm::arm(shared);
        Poll::Pending
    }
}

impl<M: Manager> Drop for WaitTurn<'_, M> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let (left, duty) = {
                let mut st = self.shared.lock();
                (st.leave(id), st.duty_waker())
            };
            if let Some(next) = duty {
                next.wake();
            }
            if let Some(turn) = left {
                self.shared.give_back(turn);
            }
        }
    }
}

/// What cut a [`Bounded`] create or recycle off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cut {
    /// The acquire's deadline passed.
    Acquire,
    /// The operation's own bound (`create_timeout`, `recycle_timeout`) passed.
    Own,
}

pin_project! {
    /// A create or recycle, bounded by the acquire's deadline and by its own bound: `Err`
    /// when one passed (the inner future is dropped with this one then).
    pub(super) struct Bounded<'a, M: Manager, F> {
        #[pin]
        fut: F,
        shared: &'a Shared<M>,
        deadline: &'a mut Deadline,
        limit: Option<Duration>,
        sleep: Option<Sleep>,
        own: Option<Sleep>,
        armed: bool,
    }
}

impl<'a, M: Manager, F> Bounded<'a, M, F> {
    pub(super) fn new(
        shared: &'a Shared<M>,
        deadline: &'a mut Deadline,
        limit: Option<Duration>,
        fut: F,
    ) -> Self {
        Bounded { fut, shared, deadline, limit, sleep: None, own: None, armed: false }
    }
}

impl<M: Manager, F: Future> Future for Bounded<'_, M, F> {
    type Output = Result<F::Output, Cut>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.fut.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if !*this.armed {
            *this.armed = true;
            *this.sleep = this.deadline.sleep(this.shared);
            *this.own = this.limit.and_then(|d| this.shared.now().checked_add(d)).map(sleep_until);
        }
        if let Some(Poll::Ready(())) = this.sleep.as_mut().map(|sleep| Pin::new(sleep).poll(cx)) {
            return Poll::Ready(Err(Cut::Acquire));
        }
        match this.own.as_mut().map(|sleep| Pin::new(sleep).poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Err(Cut::Own)),
            _ => Poll::Pending,
        }
    }
}

pin_project! {
    /// A recycle or close the pool runs with nobody waiting for it (a cleanup, a detached
    /// close), bounded by `limit`: `None` when it passed (the inner future is dropped then).
    pub(super) struct Within<F> {
        #[pin]
        fut: F,
        limit: Duration,
        sleep: Option<Sleep>,
    }
}

impl<F> Within<F> {
    pub(super) fn new(limit: Duration, fut: F) -> Self {
        Within { fut, limit, sleep: None }
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = self.project();
        if let Poll::Ready(out) = this.fut.poll(cx) {
            return Poll::Ready(Some(out));
        }
        let limit = *this.limit;
        let sleep = this.sleep.get_or_insert_with(|| crate::time::sleep(limit));
        match Pin::new(sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
