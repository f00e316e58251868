//! What every handle, guard and background task of one pool shares, and the ways objects come
//! back to it or leave it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use event_listener::Event;

use super::alarm::AlarmTimer;
use super::state::{Entry, State, Turn};
use super::wait::Within;
use super::{Manager, PoolConfig, PoolStats, Recycle};
use crate::CancelScope;
use crate::frame::{self, Cleanup};
use crate::resource::{Completing, Ending};
use crate::runtime::{Handle, JoinHandle};
use crate::tracker::Token;

/// Counters kept outside the lock (statistics only: `Relaxed` is enough, nothing is ordered by
/// them).
#[derive(Default)]
pub(super) struct Counters {
    pub(super) created: AtomicU64,
    pub(super) recycled: AtomicU64,
    pub(super) closed: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) timed_out: AtomicU64,
}

impl Counters {
    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the holder of a slot does after its object was closed.
#[derive(Clone, Copy)]
pub(super) enum AfterClose {
    /// Free the slot (`in_use`: the object was checked out).
    Free { in_use: bool },
    /// Keep the slot (an acquire goes on with it); freed if the close is cut off.
    Keep,
}

/// The pool itself, behind every `Pool` handle, `Object` guard, cleanup and background task.
///
/// Locks: `state` (see `state.rs` for its invariants) and `maintenance` are never held
/// together, and no user code (manager, waker) runs under either: wakers are woken and
/// cleanups handed over after unlocking.
pub(super) struct Shared<M: Manager> {
    pub(super) manager: M,
    pub(super) config: PoolConfig,
    pub(super) kind: &'static str,
    pub(super) rt: Handle,
    pub(super) counters: Counters,
    /// Notified when a slot is freed or the idle set shrinks below `min_idle` (the refill
    /// listens), and when the size shrinks during a close (the closer listens).
    pub(super) changed: Event,
    pub(super) maintenance: Mutex<Option<(CancelScope, JoinHandle<()>)>>,
    /// The deadline timer of the waiting acquires (see `alarm.rs`). Taken before `state`,
    /// never while holding it.
    pub(super) alarm: Mutex<AlarmTimer>,
    state: Padded<Mutex<State<M::Object>>>,
}

/// Keeps the state's lock on cache lines of its own: acquires on other threads bump the
/// `Arc`'s count and the counters, which would otherwise share its line.
#[repr(align(128))]
struct Padded<T>(T);

impl<M: Manager> Shared<M> {
    pub(super) fn new(manager: M, config: PoolConfig, rt: Handle) -> Self {
        let kind = config.kind.unwrap_or(std::any::type_name::<M>());
        Shared {
            state: Padded(Mutex::new(State::new(config.max_size))),
            manager,
            config,
            kind,
            rt,
            counters: Counters::default(),
            changed: Event::new(),
            maintenance: Mutex::new(None),
            alarm: Mutex::new(AlarmTimer::default()),
        }
    }

    /// The state. A panic never happens under this lock (no user code runs under it); a
    /// poisoned lock is still consistent and is used as is.
    pub(super) fn lock(&self) -> MutexGuard<'_, State<M::Object>> {
        self.state.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn now(&self) -> Instant {
        self.rt.now()
    }

    /// A new tracked entry for a just-created object.
    pub(super) fn entry(&self, obj: M::Object) -> Entry<M::Object> {
        Counters::add(&self.counters.created);
        let now = self.now();
        Entry { obj, token: Token::open(self.kind), created: now, idle_since: now }
    }

    /// Whether `entry` outlived its lifetime (or, `idle` too, its idle timeout) at `now`.
    pub(super) fn expired(&self, entry: &Entry<M::Object>, now: Instant, idle: bool) -> bool {
        let c = &self.config;
        c.max_lifetime.is_some_and(|l| now.saturating_duration_since(entry.created) >= l)
            || (idle && c.idle_timeout.is_some_and(|t| now.saturating_duration_since(entry.idle_since) >= t))
    }

    /// Whether an acquire must check the lifetime of the objects it takes.
    pub(super) fn checks_lifetime(&self) -> bool {
        self.config.max_lifetime.is_some()
    }

    pub(super) fn stats(&self) -> PoolStats {
        let st = self.lock();
        let c = &self.counters;
        PoolStats {
            size: st.size,
            idle: st.idle.len(),
            in_use: st.in_use,
            waiting: st.waiting(),
            max_size: self.config.max_size,
            created: c.created.load(Ordering::Relaxed),
            recycled: c.recycled.load(Ordering::Relaxed),
            closed: c.closed.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
        }
    }

    /// Tells the refill (and a closer) that something changed, when one may listen.
    pub(super) fn notify(&self, closed: bool) {
        if closed || self.config.min_idle > 0 {
            self.changed.notify(usize::MAX);
        }
    }

    /// A checked-out, trusted object comes back: synchronous, one lock.
    pub(super) fn release(self: &Arc<Self>, mut entry: Entry<M::Object>) {
        if self.config.idle_timeout.is_some() {
            entry.idle_since = self.now();
        }
        let put = self.lock().put(entry);
        match put {
            Ok(Some(waker)) => waker.wake(),
            Ok(None) => {}
            Err(entry) => self.discard(entry, true),
        }
    }

    /// An object leaves the pool to be closed, from a synchronous context. While a close of
    /// the pool is under way, it goes to that closer (which waits for it: handing it to the
    /// innermost frame instead could queue it behind the closer itself); otherwise its close
    /// is handed to the innermost frame.
    pub(super) fn discard(self: &Arc<Self>, entry: Entry<M::Object>, in_use: bool) {
        let entry = {
            let mut st = self.lock();
            if st.closed && st.closers > 0 {
                if in_use {
                    st.in_use -= 1;
                }
                st.idle.push_back(entry);
                None
            } else {
                Some(entry)
            }
        };
        match entry {
            None => self.notify(true),
            Some(entry) => drop(self.close_entry(entry, AfterClose::Free { in_use })),
        }
    }

    /// An object whose holder was cancelled or panicked: recycled first if the pool is open,
    /// closed if it is closed (no point checking it).
    pub(super) fn suspect_returned(self: &Arc<Self>, entry: Entry<M::Object>, why: Recycle) {
        if self.is_closed() {
            self.discard(entry, true);
        } else {
            self.recycle_later(entry, why);
        }
    }

    /// A reserved slot is given up (its create failed or was dropped).
    pub(super) fn release_slot(&self, in_use: bool) {
        let (waker, closed) = {
            let mut st = self.lock();
            (st.free_slot(in_use), st.closed)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        self.notify(closed);
    }

    /// A waiter that was handed a turn left without using it: the object goes on, untouched,
    /// to the next waiter or back to the idle set; the slot to the next waiter or is freed.
    pub(super) fn give_back(self: &Arc<Self>, turn: Turn<M::Object>) {
        match turn {
            Turn::Idle(entry) => self.release(entry),
            Turn::Slot => self.release_slot(true),
        }
    }

    /// An object closed by the pool has left: count it, and free its slot.
    fn closed_one(&self, in_use: bool) {
        Counters::add(&self.counters.closed);
        self.release_slot(in_use);
    }

    /// How long one recycle or close the pool runs for nobody waiting may take: the
    /// `recycle_timeout`, else the acquire timeout.
    pub(super) fn cleanup_bound(&self) -> Duration {
        self.config.recycle_timeout.unwrap_or(self.config.acquire_timeout)
    }

    /// Closes `entry` with the manager, bounded by [`cleanup_bound`](Self::cleanup_bound);
    /// returns its token for the caller to count. Dropped midway (or when the bound passes,
    /// which drops the manager's close), the object is gone all the same: its slot is freed
    /// (`in_use` says whether it was checked out) and its token counted as abandoned.
    fn close_bounded(
        self: &Arc<Self>,
        entry: Entry<M::Object>,
        in_use: bool,
    ) -> impl Future<Output = Token> + Send + 'static {
        let Entry { obj, token, .. } = entry;
        let slot = SlotHeld { shared: Arc::clone(self), token: Some(token), in_use };
        let shared = Arc::clone(self);
        async move {
            let mut slot = slot;
            if Within::new(shared.cleanup_bound(), shared.manager.close(obj)).await.is_none() {
                Counters::add(&shared.counters.timed_out);
            }
            slot.token.take().expect("held until the close ends")
        }
    }

    /// Counts a finished close and frees or keeps its slot as `after` says (`awaited`: the
    /// closer awaited it; else the cleanup machinery finished it, and the slot is freed).
    fn after_close(&self, after: AfterClose, awaited: bool) {
        match (after, awaited) {
            (AfterClose::Free { in_use }, _) => self.closed_one(in_use),
            (AfterClose::Keep, false) => self.closed_one(true),
            (AfterClose::Keep, true) => Counters::add(&self.counters.closed),
        }
    }

    /// Closes `entry` with the manager, then frees or keeps its slot. Awaited, the object
    /// counts as closed explicitly; dropped unfinished (or never polled), the rest is handed
    /// to the innermost frame, which finishes it, and the slot is freed then. Bounded either
    /// way (see [`close_bounded`](Self::close_bounded)).
    pub(super) fn close_entry(
        self: &Arc<Self>,
        entry: Entry<M::Object>,
        after: AfterClose,
    ) -> Completing<ClosedToken> {
        let in_use = match after {
            AfterClose::Free { in_use } => in_use,
            AfterClose::Keep => true,
        };
        let close = self.close_bounded(entry, in_use);
        let shared = Arc::clone(self);
        let done = move |closed: &ClosedToken, ending: Ending| {
            let token = closed.take();
            match ending {
                Ending::Awaited => token.closed_explicitly(),
                Ending::Orphaned(via) => token.closed_via(via),
            }
            shared.after_close(after, ending == Ending::Awaited);
        };
        Completing::new(self.kind, async move { ClosedToken::new(close.await) }, done)
    }

    /// Closes `entry` now, for an acquire that keeps its slot (`AfterClose::Keep`): bounded,
    /// and — unlike [`close_entry`](Self::close_entry) — abandoned if the acquire is dropped
    /// (the object is dropped and its slot freed), so that the acquire returns at its bound.
    pub(super) async fn close_keeping_slot(self: &Arc<Self>, entry: Entry<M::Object>) {
        self.close_bounded(entry, true).await.closed_explicitly();
        self.after_close(AfterClose::Keep, true);
    }

    /// Closes an object cut off mid-check by its acquire (not trusted) on a detached
    /// cleanup, bounded, so the acquire returns at once; its slot is freed when it ends. While
    /// the pool closes, it goes to the closer instead.
    pub(super) fn close_detached(self: &Arc<Self>, entry: Entry<M::Object>) {
        let entry = {
            let mut st = self.lock();
            if st.closed && st.closers > 0 {
                st.in_use -= 1;
                st.idle.push_back(entry);
                None
            } else {
                Some(entry)
            }
        };
        let Some(entry) = entry else { return self.notify(true) };
        let close = self.close_bounded(entry, true);
        let shared = Arc::clone(self);
        let rest = async move {
            close.await.closed_via(frame::via());
            shared.closed_one(true);
        };
        crate::frame::spawn_detached_cleanups(&self.rt, vec![Cleanup::new(self.kind, Box::pin(rest))]);
    }

    /// A checked-out object whose holder was cancelled or panicked (it may be stuck mid-
    /// operation): hands the innermost frame a cleanup that recycles it, telling the manager
    /// `why` — or closes it if the recycle fails or takes longer than the cleanup bound, or it
    /// is broken — and only then returns it. Its slot stays taken meanwhile, so nobody gets it
    /// before the check. If the cleanup is abandoned (a bounding scope), the object is dropped
    /// and its slot freed.
    pub(super) fn recycle_later(self: &Arc<Self>, entry: Entry<M::Object>, why: Recycle) {
        let shared = Arc::clone(self);
        let mut held = Held { shared: Arc::clone(self), entry: Some(entry) };
        let check = async move {
            let entry = held.entry.as_mut().expect("held until checked");
            let ok = !shared.manager.is_broken(&entry.obj)
                && matches!(
                    Within::new(shared.cleanup_bound(), shared.manager.recycle(&mut entry.obj, why)).await,
                    Some(Ok(()))
                );
            let entry = held.entry.take().expect("held until checked");
            if ok && !shared.manager.is_broken(&entry.obj) {
                Counters::add(&shared.counters.recycled);
                shared.release(entry);
            } else {
                if !ok {
                    Counters::add(&shared.counters.failed);
                }
                shared.close_bounded(entry, true).await.closed_via(frame::via());
                shared.closed_one(true);
            }
        };
        frame::dispose(Cleanup::new(self.kind, Box::pin(check)));
    }

    /// Whether the pool is closed.
    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

/// The token of an object whose close ended, handed from the close to its `done` count.
pub(super) struct ClosedToken(Mutex<Option<Token>>);

impl ClosedToken {
    fn new(token: Token) -> Self {
        ClosedToken(Mutex::new(Some(token)))
    }

    fn take(&self) -> Token {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take().expect("counted once")
    }
}

/// The slot and token of an object being closed. Dropped before the close ended (its cleanup
/// was abandoned), the object is already gone with the close: the slot is freed, and the token
/// counts the object as abandoned (or lost).
struct SlotHeld<M: Manager> {
    shared: Arc<Shared<M>>,
    token: Option<Token>,
    in_use: bool,
}

impl<M: Manager> Drop for SlotHeld<M> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            drop(token);
            self.shared.closed_one(self.in_use);
        }
    }
}

/// A checked-out object being recycled by a cleanup. Dropped before the check ended (the
/// cleanup was abandoned), the object is dropped and its slot freed.
struct Held<M: Manager> {
    shared: Arc<Shared<M>>,
    entry: Option<Entry<M::Object>>,
}

impl<M: Manager> Drop for Held<M> {
    fn drop(&mut self) {
        if let Some(Entry { obj, token, .. }) = self.entry.take() {
            drop(obj);
            drop(token);
            self.shared.closed_one(true);
        }
    }
}
