//! The acquire: a turn in the FIFO queue, then a check of the object or a create.

use std::sync::Arc;

use super::shared::{Counters, Shared};
use super::state::Turn;
use super::wait::{Bounded, Cut, Deadline, WaitTurn};
use super::{Manager, Object, PoolError, Recycle, RecyclePolicy};

type Acquired<M> = Result<Object<M>, PoolError<<M as Manager>::Error>>;

/// See [`Pool::acquire`](super::Pool::acquire).
pub(super) async fn acquire<M: Manager>(shared: &Arc<Shared<M>>) -> Acquired<M> {
    let mut deadline = Deadline::new(shared.config.acquire_timeout);
    let mut turn = WaitTurn::new(shared, &mut deadline).await?;
    loop {
        turn = match turn {
            Turn::Idle(entry) => {
                // Suspect until checked: dropped before that (cancelled mid-recycle), it is
                // recycled by a cleanup before anyone else gets it.
                let mut guard = Object::new(Arc::clone(shared), entry, true);
                let expired = shared.checks_lifetime() && {
                    let entry = Object::into_entry_ref(&guard);
                    shared.expired(entry, shared.now(), false)
                };
                if expired {
                    close_keep_slot(guard).await?
                } else if shared.config.recycle == RecyclePolicy::Always {
                    let limit = shared.config.recycle_timeout;
                    let recycle = shared.manager.recycle(&mut guard, Recycle::Reuse);
                    let checked = Bounded::new(shared, &mut deadline, limit, recycle).await;
                    match checked {
                        Ok(Ok(())) if !shared.manager.is_broken(&guard) => {
                            Counters::add(&shared.counters.recycled);
                            guard.trust();
                            return Ok(guard);
                        }
                        Ok(Ok(())) => close_keep_slot(guard).await?,
                        Ok(Err(_)) | Err(Cut::Own) => {
                            // A failed or overdue check: the object is closed, the acquire
                            // goes on with another one in the same turn.
                            Counters::add(&shared.counters.failed);
                            close_keep_slot(guard).await?
                        }
                        Err(Cut::Acquire) => {
                            // Dropping the guard (still suspect) closes the object on a
                            // detached cleanup and frees its slot: we return at our bound.
                            Counters::add(&shared.counters.timed_out);
                            return Err(PoolError::Timeout(deadline.timeout()));
                        }
                    }
                } else {
                    guard.trust();
                    return Ok(guard);
                }
            }
            Turn::Slot => {
                let mut slot = SlotGuard { shared, held: true };
                let limit = shared.config.create_timeout;
                let created = Bounded::new(shared, &mut deadline, limit, shared.manager.create()).await;
                return match created {
                    Ok(Ok(obj)) => {
                        slot.held = false;
                        Ok(Object::new(Arc::clone(shared), shared.entry(obj), false))
                    }
                    Ok(Err(e)) => {
                        Counters::add(&shared.counters.failed);
                        Err(PoolError::Create(e))
                    }
                    Err(cut) => {
                        Counters::add(&shared.counters.timed_out);
                        let bound = match cut {
                            Cut::Acquire => deadline.timeout(),
                            Cut::Own => limit.unwrap_or(deadline.timeout()),
                        };
                        Err(PoolError::Timeout(bound))
                    }
                };
            }
        };
    }
}

/// Closes an object that failed its check and keeps its slot for the same acquire: another
/// idle object if there is one, else the slot to create one in.
async fn close_keep_slot<M: Manager>(guard: Object<M>) -> Result<Turn<M::Object>, PoolError<M::Error>> {
    let shared = Arc::clone(guard.shared());
    let entry = Object::into_entry(guard);
    shared.close_keeping_slot(entry).await;
    let turn = shared.lock().reuse_slot();
    if turn.is_none() {
        shared.notify(true); // the slot was freed: a closer may be waiting for it
    }
    turn.ok_or(PoolError::Closed)
}

/// A slot reserved for a create: freed (to the next waiter) if the create fails or is dropped.
struct SlotGuard<'a, M: Manager> {
    shared: &'a Shared<M>,
    held: bool,
}

impl<M: Manager> Drop for SlotGuard<'_, M> {
    fn drop(&mut self) {
        if self.held {
            self.shared.release_slot(true);
        }
    }
}
