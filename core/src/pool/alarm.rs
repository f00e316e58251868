//! The pool's one deadline timer for waiting acquires.
//!
//! Every waiting acquire's deadline is fixed under the state lock when it joins the FIFO
//! queue, as `now + acquire_timeout`: queue order is deadline order, so the earliest
//! deadline is always the head's. One timer per pool (`Shared::alarm`) is armed for the head
//! only; no acquire allocates or registers a timer of its own to wait for its turn.
//!
//! The rules, under the state lock (`State::alarm_at` is when the timer is armed for, `None`
//! when it is not armed or has fired):
//!
//! - The head arms the timer at its own deadline when it is not armed, or armed later.
//! - A timer armed for an earlier head that got its turn stays as it is: it fires early, the
//!   head it wakes finds its deadline not passed yet and re-arms it at its own.
//! - When the timer fires, it wakes the head, which times out if its deadline passed.
//! - From the timer's firing until a head re-arms it (`State::duty`), a head that leaves the
//!   queue (turn, timeout, drop) wakes the next head to take the duty over. A pool whose
//!   waiters have no deadline (`Duration::MAX`) never arms it and never wakes anyone for it.
//!
//! So a waiting acquire costs one clock read, and the timer is reset about once per
//! `acquire_timeout` under steady contention instead of once per waiter.
//!
//! Locks: the timer's own lock is taken before the state lock, never while holding it: the
//! runtime may wake the alarm (which takes the state lock) from within `reset` or `poll`.

use std::pin::Pin;
use std::sync::{Arc, PoisonError, Weak};
use std::task::{Context, Wake, Waker};

use super::Manager;
use super::shared::Shared;
use crate::runtime::Timer;

/// The timer and the waker it wakes, both made on first use.
#[derive(Default)]
pub(super) struct AlarmTimer {
    timer: Option<Pin<Box<dyn Timer>>>,
    waker: Option<Waker>,
}

/// The waker the timer wakes: it wakes the queue's head.
struct Alarm<M: Manager> {
    shared: Weak<Shared<M>>,
}

impl<M: Manager> Wake for Alarm<M> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(shared) = self.shared.upgrade() {
            fired(&shared);
        }
    }
}

/// The timer fired: it is no longer armed, and the head checks its deadline.
fn fired<M: Manager>(shared: &Shared<M>) {
    let head = {
        let mut st = shared.lock();
        st.alarm_at = None;
        st.duty = true;
        st.head_waker()
    };
    if let Some(waker) = head {
        waker.wake();
    }
}

/// Arms (or moves) the timer to `State::alarm_at`, read under the timer's lock so that the
/// last one to arm it sets it to the latest value. Called without the state lock held.
pub(super) fn arm<M: Manager>(shared: &Arc<Shared<M>>) {
    let mut guard = shared.alarm.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(at) = shared.lock().alarm_at else { return }; // fired meanwhile
    let AlarmTimer { timer, waker } = &mut *guard;
    let waker = waker.get_or_insert_with(|| Waker::from(Arc::new(Alarm { shared: Arc::downgrade(shared) })));
    let timer = match timer {
        Some(timer) => {
            timer.as_mut().reset(at);
            timer
        }
        None => timer.insert(shared.rt.timer(at)),
    };
    if timer.as_mut().poll_expired(&mut Context::from_waker(waker)).is_ready() {
        fired(shared);
    }
}
