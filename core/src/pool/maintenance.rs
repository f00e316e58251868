//! The pool's background work, in a task group owned by the pool: the refill keeps `min_idle`
//! objects ready, the reaper closes objects past their lifetime or idle timeout.
//!
//! The task runs in a cancel scope of its own, cancelled by [`close`](super::close::close),
//! which then waits for it: a create or close cut off by that cancellation is finished (or its
//! slot freed) before the task ends.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use super::Manager;
use super::close::Closing;
use super::shared::{AfterClose, Counters, Shared};
use super::wait::Within;
use crate::group::task_group;
use crate::{CancelScope, sleep};

/// Starts the background work if the configuration asks for any.
pub(super) fn start<M: Manager>(shared: &Arc<Shared<M>>) {
    let c = &shared.config;
    let refill = c.min_idle > 0;
    let reap = c.max_lifetime.is_some() || c.idle_timeout.is_some();
    if !refill && !reap {
        return;
    }
    let scope = CancelScope::new();
    let s = Arc::clone(shared);
    let group = task_group(move |tg| async move {
        if refill {
            let s = Arc::clone(&s);
            // The group is open while its body runs: `spawn` cannot fail here.
            let _ = tg.spawn(async move { refill_loop(s).await });
        }
        if reap {
            let _ = tg.spawn(async move { reap_loop(s).await });
        }
        Ok::<(), Infallible>(())
    });
    let body = scope.run(group);
    // The task belongs to the pool, not to the scope that opened it: no parent scope.
    let join = crate::task::spawn_under(&shared.rt, None, async move {
        let _ = body.await;
    });
    *shared.maintenance.lock().unwrap_or_else(|e| e.into_inner()) = Some((scope, join));
}

/// Keeps `min_idle` idle objects, within `max_size`, while no acquire waits.
async fn refill_loop<M: Manager>(shared: Arc<Shared<M>>) -> Result<(), Infallible> {
    let mut backoff = Duration::from_millis(10);
    loop {
        let listener = shared.changed.listen();
        let reserved = {
            let mut st = shared.lock();
            if st.closed {
                return Ok(());
            }
            let low = st.idle.len() < shared.config.min_idle && st.size < shared.config.max_size;
            if low && st.waiting() == 0 {
                st.size += 1;
                true
            } else {
                false
            }
        };
        if !reserved {
            listener.await;
            continue;
        }
        drop(listener);
        let slot = RefillSlot { shared: &shared, held: true };
        let bound = shared.config.create_timeout.unwrap_or(shared.config.acquire_timeout);
        match Within::new(bound, shared.manager.create()).await {
            Some(Ok(obj)) => {
                let mut slot = slot;
                slot.held = false;
                backoff = Duration::from_millis(10);
                let entry = shared.entry(obj);
                let added = shared.lock().add(entry);
                match added {
                    Ok(Some(waker)) => waker.wake(),
                    Ok(None) => {}
                    Err(entry) => drop(shared.close_entry(entry, AfterClose::Free { in_use: false }).await),
                }
            }
            _ => {
                // Failed, or overdue (dropped at its bound): the slot is freed, retried later.
                Counters::add(&shared.counters.failed);
                drop(slot);
                sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// The refill's reserved slot: freed if the create fails or is cut off.
struct RefillSlot<'a, M: Manager> {
    shared: &'a Shared<M>,
    held: bool,
}

impl<M: Manager> Drop for RefillSlot<'_, M> {
    fn drop(&mut self) {
        if self.held {
            self.shared.release_slot(false);
        }
    }
}

/// Closes idle objects past their lifetime or idle timeout, a few times per shortest limit.
async fn reap_loop<M: Manager>(shared: Arc<Shared<M>>) -> Result<(), Infallible> {
    let c = &shared.config;
    let shortest = match (c.max_lifetime, c.idle_timeout) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(Duration::from_secs(1)),
    };
    let every = (shortest / 4).clamp(Duration::from_millis(1), Duration::from_secs(30));
    loop {
        sleep(every).await;
        let expired: VecDeque<_> = {
            let mut st = shared.lock();
            let now = shared.now();
            let (old, keep) =
                std::mem::take(&mut st.idle).into_iter().partition(|e| shared.expired(e, now, true));
            st.idle = keep;
            old
        };
        let mut expired = Closing::new(Arc::clone(&shared), expired);
        while let Some(entry) = expired.next() {
            shared.close_entry(entry, AfterClose::Free { in_use: false }).await;
        }
    }
}
