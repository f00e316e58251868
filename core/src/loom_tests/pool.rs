//! loom models of the pool's slot accounting: the state machine of `pool/state.rs` (size,
//! idle set, in-use count, FIFO waiters, turns handed to waiters) under a loom mutex.
//!
//! What is modelled and what is not:
//!
//! - `State` is the real code: `pool/state.rs` is compiled a second time here, as a child
//!   module (`#[path]`), because the pool's own copy is private to `pool` (its items are
//!   `pub(super)`). The text is the same file, so the models follow every change to it.
//! - The glue around it (`Shared::release`, `release_slot`, `give_back`, the accounting of
//!   `WaitTurn::poll` and `WaitTurn::drop`) is mirrored by [`Model`], operation for operation
//!   (one lock per operation, wakers woken after unlocking). `Shared` itself cannot be built
//!   in a model: it needs a runtime `Handle` and a `Manager`, and its timers and cleanups
//!   need a frame, which loom threads cannot enter (see `loom_tests.rs`).
//! - The pool stays open: closing it (waiters failing, objects handed to a closer) is not
//!   modelled; nor are the refill (`State::add`) and `reuse_slot`.

// The pool's own `state` module is the other copy (private to `pool`); this one is the
// models' way in. The models use only the operations of an open pool.
#[allow(clippy::duplicate_mod, dead_code)]
#[path = "../pool/state.rs"]
mod state;

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Instant;

use loom::sync::atomic::{AtomicU32, Ordering};
use loom::thread;

use self::state::{Entry, State, Turn};
use super::model;
use crate::sync_shim::{Mutex, MutexGuard};
use crate::tracker::Token;

/// The tracker kind of the models' objects (every one is closed explicitly before the
/// execution ends).
const KIND: &str = "loom-pool";

/// A pool of objects numbered in creation order, with the bookkeeping the assertions need.
struct Model {
    state: Mutex<State<u32>>,
    max_size: usize,
    next: AtomicU32,
    /// The objects alive (created, not closed). Bookkeeping only: `std` types are not
    /// scheduling points, and loom threads never run at the same time.
    live: std::sync::Mutex<usize>,
    /// The objects checked out, by number.
    out: std::sync::Mutex<Vec<u32>>,
    /// The turns handed to waiters, in the order of the operations (`true`: an object,
    /// `false`: a slot), recorded under the state's lock.
    handoffs: std::sync::Mutex<Vec<bool>>,
}

impl Model {
    /// A pool of `max_size` slots with `held` objects checked out (returned to the caller).
    fn with_held(max_size: usize, held: usize) -> (Arc<Self>, Vec<Entry<u32>>) {
        let model = Arc::new(Model {
            state: Mutex::new(State::new(max_size)),
            max_size,
            next: AtomicU32::new(0),
            live: std::sync::Mutex::new(0),
            out: std::sync::Mutex::new(Vec::new()),
            handoffs: std::sync::Mutex::new(Vec::new()),
        });
        let entries = (0..held)
            .map(|_| match model.lock().take_turn() {
                Some(Turn::Slot) => model.check_out(Turn::Slot),
                _ => panic!("an empty pool gives a slot"),
            })
            .collect();
        (model, entries)
    }

    /// The loom mutex never poisons.
    fn lock(&self) -> MutexGuard<'_, State<u32>> {
        self.state.lock().expect("a loom mutex never poisons")
    }

    fn record(&self, object: bool) {
        self.handoffs.lock().unwrap().push(object);
    }

    /// The holder of `turn` gets its object: the idle one it was given, or a new one made in
    /// its slot. Checks that no one else holds it and that no more than `max_size` are out.
    fn check_out(&self, turn: Turn<u32>) -> Entry<u32> {
        let entry = match turn {
            Turn::Idle(entry) => entry,
            Turn::Slot => {
                *self.live.lock().unwrap() += 1;
                let now = Instant::now();
                let obj = self.next.fetch_add(1, Ordering::Relaxed);
                Entry { obj, token: Token::open(KIND), created: now, idle_since: now }
            }
        };
        let mut out = self.out.lock().unwrap();
        assert!(!out.contains(&entry.obj), "object {} given to two holders", entry.obj);
        out.push(entry.obj);
        assert!(out.len() <= self.max_size, "more objects out than slots: {out:?}");
        entry
    }

    fn check_in(&self, entry: &Entry<u32>) {
        let mut out = self.out.lock().unwrap();
        let i = out.iter().position(|o| *o == entry.obj).expect("returned by its holder");
        out.swap_remove(i);
    }

    /// `Shared::release` (the pool open): to the oldest waiter, else to the idle set.
    fn release(&self, entry: Entry<u32>) {
        self.check_in(&entry);
        self.put(entry);
    }

    fn put(&self, entry: Entry<u32>) {
        let waker = {
            let mut st = self.lock();
            match st.put(entry) {
                Ok(waker) => {
                    if waker.is_some() {
                        self.record(true);
                    }
                    waker
                }
                Err(_) => panic!("the pool stays open"),
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// An object checked out is closed (broken), then its slot freed: `Shared::discard`
    /// with the pool open, through `close_entry` to `closed_one` and `release_slot`.
    fn close(&self, entry: Entry<u32>) {
        self.check_in(&entry);
        *self.live.lock().unwrap() -= 1;
        entry.token.closed_explicitly();
        self.release_slot(true);
    }

    /// `Shared::release_slot`: to the oldest waiter, else the size shrinks.
    fn release_slot(&self, in_use: bool) {
        let waker = {
            let mut st = self.lock();
            let waker = st.free_slot(in_use);
            if waker.is_some() {
                self.record(false);
            }
            waker
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// `WaitTurn::drop` (an acquire cancelled while it waits) with `Shared::give_back`: what
    /// it was handed goes on untouched.
    fn cancel_wait(&self, id: u64) {
        let left = self.lock().leave(id);
        match left {
            Some(Turn::Idle(entry)) => self.put(entry),
            Some(Turn::Slot) => self.release_slot(true),
            None => {}
        }
    }

    /// A waiter queued before the model's threads start (its waker is replaced when it is
    /// first polled).
    fn enqueue(&self) -> u64 {
        self.lock().enqueue(Waker::noop().clone())
    }

    /// `WaitTurn::poll`'s accounting (no frame, no deadline): a turn right away if no one
    /// waits before us, else a place in the queue (`id` given: already queued) until handed
    /// one. Blocks in loom's `block_on`: a lost wake-up is a loom deadlock.
    fn acquire(&self, mut id: Option<u64>) -> Entry<u32> {
        let turn = loom::future::block_on(poll_fn(|cx| {
            let mut st = self.lock();
            match id {
                None => {
                    if let Some(turn) = st.take_turn() {
                        return Poll::Ready(turn);
                    }
                    id = Some(st.enqueue(cx.waker().clone()));
                }
                Some(id) => {
                    if let Some(turn) = st.poll_waiter(id, cx.waker()) {
                        return Poll::Ready(turn);
                    }
                }
            }
            Poll::Pending
        }));
        self.check_out(turn)
    }

    /// At the end of an execution, with every object returned: the counts match the objects
    /// alive, every one of them can be acquired again, and nothing more; then closes them.
    fn finish(&self) {
        let mut st = self.lock();
        let live = *self.live.lock().unwrap();
        assert_eq!(st.size, live, "size counts the objects alive");
        assert_eq!(st.in_use, 0, "nothing is out");
        assert_eq!(st.idle.len(), live, "every object is idle");
        assert_eq!(st.waiting(), 0, "no one waits");
        let (mut taken, mut slots) = (Vec::new(), 0);
        while let Some(turn) = st.take_turn() {
            match turn {
                Turn::Idle(entry) => taken.push(entry),
                Turn::Slot => slots += 1,
            }
        }
        assert_eq!(taken.len(), live, "every object can be acquired again");
        assert_eq!(taken.len() + slots, self.max_size, "every slot can be used, no more");
        drop(st);
        for entry in taken {
            entry.token.closed_explicitly();
        }
    }
}

/// One slot, its object out, one acquire queued. The holder gives the object back (or, with
/// `close`, closes it and frees its slot) while the queued acquire is cancelled and a new
/// acquire arrives. In every interleaving, the new acquire gets the object (or the slot)
/// exactly once: directly, handed by the holder, or passed on by the cancelled waiter that was
/// handed it first; and no slot is lost.
fn cancelled_waiter_passes_its_turn_on(close: bool) {
    let (pool, mut held) = Model::with_held(1, 1);
    let entry = held.pop().expect("one object out");
    let cancelled = pool.enqueue();

    let p = Arc::clone(&pool);
    let holder = thread::spawn(move || if close { p.close(entry) } else { p.release(entry) });
    let p = Arc::clone(&pool);
    let canceller = thread::spawn(move || p.cancel_wait(cancelled));
    let entry = pool.acquire(None);
    holder.join().unwrap();
    canceller.join().unwrap();

    assert_eq!(entry.obj, u32::from(close), "the object, or a new one made in the freed slot");
    {
        let mut st = pool.lock();
        assert_eq!((st.size, st.in_use, st.idle.len(), st.waiting()), (1, 1, 0, 0));
        assert!(st.leave(cancelled).is_none(), "the cancelled waiter kept nothing");
    }
    pool.release(entry);
    pool.finish();
}

#[test]
fn cancelled_waiter_passes_a_returned_object_on() {
    model("pool: cancelled waiter passes a returned object on", || {
        cancelled_waiter_passes_its_turn_on(false);
    });
}

#[test]
fn cancelled_waiter_passes_a_freed_slot_on() {
    model("pool: cancelled waiter passes a freed slot on", || cancelled_waiter_passes_its_turn_on(true));
}

/// Two slots, both objects out, two acquires queued (first, then second). One holder gives
/// its object back while the other closes its own (freeing the slot), in either order: the
/// first waiter gets what the first of the two operations handed over, the second waiter the
/// other; each ends up with its own object, and no slot is lost.
#[test]
fn handoffs_serve_waiters_in_order() {
    model("pool: handoffs serve waiters in order", || {
        let (pool, mut held) = Model::with_held(2, 2);
        let (returned, closed) = (held.remove(0), held.remove(0));
        let first = pool.enqueue();
        let second = pool.enqueue();

        let p = Arc::clone(&pool);
        let returner = thread::spawn(move || p.release(returned));
        let p = Arc::clone(&pool);
        let closer = thread::spawn(move || p.close(closed));
        let a = pool.acquire(Some(first));
        let b = pool.acquire(Some(second));
        returner.join().unwrap();
        closer.join().unwrap();

        let handoffs = pool.handoffs.lock().unwrap().clone();
        assert_eq!(handoffs.len(), 2, "both went to waiters");
        // Object 0 was returned, object 1 closed: object 2 was made in the freed slot.
        let expect = |object: bool| if object { 0 } else { 2 };
        assert_eq!((a.obj, b.obj), (expect(handoffs[0]), expect(handoffs[1])), "FIFO: {handoffs:?}");
        {
            let st = pool.lock();
            assert_eq!((st.size, st.in_use, st.idle.len(), st.waiting()), (2, 2, 0, 0));
        }
        pool.release(a);
        pool.release(b);
        pool.finish();
    });
}
