//! The fair counting semaphore that [`Semaphore`](super::Semaphore) and
//! [`Mutex`](crate::sync::Mutex) are built on: a lock-free fast path over one atomic word, and a
//! slow path — the FIFO wait queue — under a `std::sync::Mutex` (the *state lock*).
//!
//! # The word
//!
//! `word = free << SHIFT | CLOSED | QUEUED`:
//!
//! - `free`: the permits nobody holds and nobody has been granted. Free permits live here and
//!   only here, with or without waiters; a granted waiter already owns its permits (they are
//!   subtracted from `free` when it is granted, under the lock).
//! - `QUEUED`: "a waiter may be waiting: take the lock". See invariant 2 for its exact meaning.
//! - `CLOSED`: [`RawSemaphore::close`] was called. Never cleared.
//!
//! Fast paths (no lock): an acquisition takes `n` permits with one compare-and-swap that requires
//! `QUEUED` and `CLOSED` clear and `free >= n`; a release adds its permits with one `fetch_add`
//! and is done unless the value it replaced had `QUEUED` set, in which case it takes the lock
//! and grants (below). Everything else — queueing, granting, cancelling, `add`, `forget_*`,
//! `close`, `stats` — runs under the state lock.
//!
//! # Invariants
//!
//! 1. Only a holder of the state lock sets or clears `QUEUED` and `CLOSED`. Without the lock,
//!    code changes `free` only: a fast acquisition subtracts (and only while both flags are
//!    clear, checked by the same CAS), a release adds (whatever the flags).
//! 2. `QUEUED` clear implies that no waiter is waiting (queued and not granted), at every
//!    instant: the slow path sets `QUEUED` *before* it pushes a waiter, and clears it only
//!    *after* the last waiting entry was granted or removed ([`RawSemaphore::settle`]). Whenever
//!    the lock is free, `QUEUED` is set exactly when a waiter is waiting.
//! 3. No barging: by 2, a fast acquisition (which needs `QUEUED` clear in the very value its CAS
//!    replaces) never takes permits while a waiter waits. Under the lock, a new acquirer takes
//!    directly only when no waiter waits, as before; otherwise it queues behind the others.
//! 4. While `QUEUED` is set, `free` can only grow behind a lock holder's back (a fast acquisition
//!    needs `QUEUED` clear, and everything else that subtracts holds the lock). So a lock holder
//!    that read `free >= k` may subtract `k` with a plain `fetch_sub`.
//! 5. No lost wake-up: a queueing acquirer sets `QUEUED` with `fetch_or` under the lock and
//!    decides from the `free` that returns; a release's `fetch_add` is ordered against that
//!    `fetch_or` (one modification order per atomic). If the release came first, the acquirer
//!    sees its permits and takes them; if it came after, it sees `QUEUED`, takes the lock —
//!    after the acquirer has pushed itself — and grants. So a permit is never left free while
//!    the oldest waiter, which it would fit, sleeps.
//! 6. Grants are strict FIFO: [`RawSemaphore::settle`] hands `free` to the oldest waiters in
//!    order and stops at the first that does not fit (as tokio's semaphore, so a large request
//!    is not starved by small ones).
//! 7. `total` (under the lock) = free + held by guards + granted-but-not-taken: the permits in
//!    existence; `total <= min(max, MAX_PERMITS)` always (`add` refuses to exceed it), so
//!    `free << SHIFT` never overflows. A request for more than `free` is never shifted.
//! 8. Cancel safety: a queued acquisition that is dropped leaves the queue under the lock; if it
//!    had been granted, its permits go back to `free` and [`RawSemaphore::settle`] passes them
//!    to the next waiters (or leaves them free for anyone if nobody waits). A poll inside a
//!    cancelled scope returns `Pending` before touching the word or the lock.
//! 9. Close: `CLOSED` is set under the lock, which wakes every waiter; a fast acquisition sees it
//!    in its CAS loop and fails. A waiter that was granted before it saw the close keeps its
//!    grant; the others leave the queue with `Closed`. Releases after the close still give
//!    their permits back (held permits stay valid).
//!
//! # Orderings
//!
//! A release must happen-before the acquisition that gets its permits (a semaphore protects
//! data). Every write of the word is a read-modify-write, so each acquisition that reads a value
//! synchronizes with every `Release` write before it in the word's modification order: a release
//! `fetch_add`s with `Release`; a fast acquisition's successful CAS is `Acquire`; the lock
//! holder's reads and read-modify-writes are `Acquire`/`AcqRel`, and a granted waiter learns of
//! its grant under the state lock, which orders it after the granting holder. A failed CAS and
//! the first load of a CAS loop are `Relaxed` (the CAS checks the value). The flags need no
//! ordering of their own: they are only changed under the lock, and code that sees `QUEUED`
//! takes the lock.
//!
//! There is one lock and no user code runs under it; wakers are collected under it and woken
//! after it is released.

use std::task::{Context, Poll};

use crate::frame;
use crate::sync::error::{AcquireError, MaxPermitsExceeded, TryAcquireError};
use crate::sync::queue::{WaitQueue, Wakers, set_waker};
use crate::sync_shim::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::sync_shim::{AtomicUsize, Mutex, MutexGuard};

/// A waiter may be waiting: acquisitions queue, releases take the lock and grant.
const QUEUED: usize = 1;
/// The semaphore is closed.
const CLOSED: usize = 2;
/// `free` is stored above the flags.
const SHIFT: u32 = 2;

/// The most permits a semaphore can hold in total (free, held and granted).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> SHIFT;

/// The free permits of a word.
const fn free(word: usize) -> usize {
    word >> SHIFT
}

/// `V`: a value kept under the semaphore's lock (the [`Mutex`](crate::sync::Mutex)'s data), so
/// that a handoff moves it under the lock the handoff takes anyway; `()` for a semaphore.
#[derive(Debug)]
pub(crate) struct RawSemaphore<V = ()> {
    /// See the module docs.
    word: AtomicUsize,
    state: Mutex<State<V>>,
}

#[derive(Debug)]
struct State<V> {
    total: usize,
    max: Option<usize>,
    queue: WaitQueue<usize>,
    value: V,
}

/// Statistics of a raw semaphore.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawStats {
    pub(crate) available: usize,
    pub(crate) waiting: usize,
    pub(crate) closed: bool,
    pub(crate) max: Option<usize>,
}

/// What the fast path of an acquisition did.
enum Fast {
    /// Took the permits.
    Taken,
    /// The semaphore is closed.
    Closed,
    /// Not enough free permits, or a waiter may be waiting: the lock decides.
    Slow,
}

impl RawSemaphore {
    /// # Panics
    ///
    /// If `permits > MAX_PERMITS`.
    pub(crate) const fn new(permits: usize, max: Option<usize>) -> Self {
        RawSemaphore::with_value(permits, max, ())
    }
}

impl<V> RawSemaphore<V> {
    /// A semaphore keeping `value` under its lock.
    ///
    /// # Panics
    ///
    /// If `permits > MAX_PERMITS`.
    pub(crate) const fn with_value(permits: usize, max: Option<usize>, value: V) -> Self {
        assert!(permits <= MAX_PERMITS, "a semaphore holds at most Semaphore::MAX_PERMITS permits");
        RawSemaphore {
            word: AtomicUsize::new(permits << SHIFT),
            state: Mutex::new(State { total: permits, max, queue: WaitQueue::new(), value }),
        }
    }

    /// Runs `f` on the kept value under the lock (`f` must not touch the semaphore).
    pub(crate) fn with_kept<R>(&self, f: impl FnOnce(&mut V) -> R) -> R {
        f(&mut self.lock().value)
    }

    /// The kept value, through a unique borrow.
    pub(crate) fn kept_mut(&mut self) -> &mut V {
        &mut self.state.get_mut().unwrap_or_else(|e| e.into_inner()).value
    }

    /// The kept value, consuming the semaphore.
    pub(crate) fn into_kept(self) -> V {
        self.state.into_inner().unwrap_or_else(|e| e.into_inner()).value
    }

    fn lock(&self) -> MutexGuard<'_, State<V>> {
        // No user code runs under this lock; poisoning can only come from an allocation failure.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock-free attempt: takes `n` permits if both flags are clear and enough are free.
    #[inline]
    fn acquire_fast(&self, n: usize) -> Fast {
        let mut cur = self.word.load(Relaxed);
        loop {
            if cur & CLOSED != 0 {
                return Fast::Closed;
            }
            if cur & QUEUED != 0 || free(cur) < n {
                return Fast::Slow;
            }
            // `n <= free(cur)`: the shift cannot overflow, nor the subtraction borrow.
            match self.word.compare_exchange(cur, cur - (n << SHIFT), Acquire, Relaxed) {
                Ok(_) => return Fast::Taken,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Under the lock: hands free permits to the oldest waiters, in order, then clears `QUEUED`
    /// if nobody waits any more (invariants 2 and 6).
    fn settle(&self, s: &mut State<V>, wakers: &mut Wakers) {
        self.settle_inline(s, wakers);
    }

    /// [`RawSemaphore::settle`]'s body, inlined into the release of a handoff (its hot caller).
    #[inline(always)]
    fn settle_inline(&self, s: &mut State<V>, wakers: &mut Wakers) {
        let admit = |&n: &usize| {
            // A waiter waits, so `QUEUED` is set and `free` only grows meanwhile (invariant 4).
            if free(self.word.load(Acquire)) < n {
                return false;
            }
            self.word.fetch_sub(n << SHIFT, AcqRel);
            true
        };
        while let Some(granted) = s.queue.grant_next_if(admit) {
            if let Some(w) = granted {
                wakers.push(w);
            }
        }
        // Only lock holders change the flag, so this read is exact.
        if s.queue.waiting() == 0 && self.word.load(Relaxed) & QUEUED != 0 {
            self.word.fetch_and(!QUEUED, AcqRel);
        }
    }

    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        match self.acquire_fast(n) {
            Fast::Taken => Ok(()),
            Fast::Closed => Err(TryAcquireError::Closed),
            // A waiter waits (no barging) or too few permits are free — or never can be.
            Fast::Slow => match self.never_enough(n) {
                Some(max) => Err(TryAcquireError::TooMany { requested: n, max }),
                None => Err(TryAcquireError::NoPermits),
            },
        }
    }

    /// Gives `n` held permits back.
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        // `free + n <= total <= MAX_PERMITS`: no overflow.
        let prev = self.word.fetch_add(n << SHIFT, Release);
        if prev & QUEUED != 0 {
            self.release_slow();
        }
        // Otherwise nobody waited when the permits came back; a later acquirer sees them (inv. 5).
    }

    /// Runs `put` on the kept value and gives `n` held permits back, under one lock (`put`
    /// must not touch the semaphore): a waiter granted the permits finds what `put` left.
    pub(crate) fn release_with(&self, n: usize, put: impl FnOnce(&mut V)) {
        let mut wakers = Wakers::default();
        {
            let mut s = self.lock();
            put(&mut s.value);
            let prev = self.word.fetch_add(n << SHIFT, AcqRel);
            if prev & QUEUED != 0 {
                self.settle_inline(&mut s, &mut wakers);
            }
        }
        wakers.wake();
    }

    /// A waiter may be waiting: grant under the lock.
    fn release_slow(&self) {
        let mut wakers = Wakers::default();
        {
            let mut s = self.lock();
            self.settle(&mut s, &mut wakers);
        }
        wakers.wake();
    }

    /// Removes `n` held permits from existence (a forgotten permit).
    pub(crate) fn forget_held(&self, n: usize) {
        let mut s = self.lock();
        s.total -= n;
    }

    /// Removes up to `n` free permits; returns how many were removed.
    pub(crate) fn forget_free(&self, n: usize) -> usize {
        let mut s = self.lock();
        // Fast acquisitions and releases may run meanwhile: a CAS loop.
        let mut cur = self.word.load(Relaxed);
        loop {
            let k = n.min(free(cur));
            if k == 0 {
                return 0;
            }
            match self.word.compare_exchange(cur, cur - (k << SHIFT), AcqRel, Relaxed) {
                Ok(_) => {
                    s.total -= k;
                    return k;
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// The most permits the semaphore can ever hold, if `n` is more: such a request can never
    /// be served.
    fn never_enough(&self, n: usize) -> Option<usize> {
        let limit = self.lock().max.map_or(MAX_PERMITS, |m| m.min(MAX_PERMITS));
        (n > limit).then_some(limit)
    }

    /// Adds `n` new permits.
    pub(crate) fn add(&self, n: usize) -> Result<(), MaxPermitsExceeded> {
        let mut wakers = Wakers::default();
        {
            let mut s = self.lock();
            let limit = s.max.map_or(MAX_PERMITS, |m| m.min(MAX_PERMITS));
            let total = s.total.checked_add(n).filter(|&t| t <= limit);
            s.total = total.ok_or(MaxPermitsExceeded { _priv: () })?;
            self.word.fetch_add(n << SHIFT, AcqRel);
            self.settle(&mut s, &mut wakers);
        }
        wakers.wake();
        Ok(())
    }

    pub(crate) fn close(&self) {
        let mut wakers = Wakers::default();
        {
            let mut s = self.lock();
            self.word.fetch_or(CLOSED, AcqRel);
            // The waiters leave the queue when they see it closed (or take a grant that raced).
            s.queue.take_all_wakers(&mut wakers);
        }
        wakers.wake();
    }

    pub(crate) fn stats(&self) -> RawStats {
        let s = self.lock();
        let word = self.word.load(Acquire);
        RawStats { available: free(word), waiting: s.queue.waiting(), closed: word & CLOSED != 0, max: s.max }
    }
}

/// The state of one acquisition of `n` permits: not queued yet, or queued under an id.
#[derive(Debug)]
pub(crate) struct AcquireOp {
    pub(crate) n: usize,
    id: Option<u64>,
}

impl AcquireOp {
    pub(crate) const fn new(n: usize) -> Self {
        AcquireOp { n, id: None }
    }

    /// Polls the acquisition. A checkpoint: inside a cancelled scope it is `Pending` and takes
    /// nothing (the scope drops it at once; [`AcquireOp::cancel`] then undoes the queueing).
    // `always`: the fast path belongs in the caller's poll (measured: outlined, the
    // `semaphore_uncontended` row costs ≈ 20 instructions more).
    #[inline(always)]
    pub(crate) fn poll(
        &mut self,
        sem: &RawSemaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        // `poll_with`'s body, not a call to it: the semaphore's fast path stays inlined.
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        match self.id {
            None => match sem.acquire_fast(self.n) {
                Fast::Taken => Poll::Ready(Ok(())),
                Fast::Closed => Poll::Ready(Err(AcquireError::Closed)),
                Fast::Slow => self.poll_first_slow(sem, cx, |_| ()),
            },
            Some(id) => self.poll_queued(sem, id, cx, |_| ()),
        }
    }

    /// As [`AcquireOp::poll`], and on success returns `take`'s result: `take` gets the kept
    /// value when the permits were granted under the lock, `None` when they were taken
    /// lock-free (it then reads the value itself, e.g. with [`RawSemaphore::with_kept`]).
    #[inline]
    pub(crate) fn poll_with<V, R>(
        &mut self,
        sem: &RawSemaphore<V>,
        cx: &mut Context<'_>,
        take: impl FnOnce(Option<&mut V>) -> R,
    ) -> Poll<Result<R, AcquireError>> {
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        match self.id {
            None => match sem.acquire_fast(self.n) {
                Fast::Taken => Poll::Ready(Ok(take(None))),
                Fast::Closed => Poll::Ready(Err(AcquireError::Closed)),
                Fast::Slow => self.poll_first_slow(sem, cx, take),
            },
            Some(id) => self.poll_queued(sem, id, cx, take),
        }
    }

    /// Not queued yet, and the fast path failed: the lock decides.
    // Inlined (as `poll_queued`): a contended mutex takes this path once per lock, and the
    // call's prologue and epilogue cost ≈ 20 instructions; measured: −53 per lock with both.
    #[inline]
    fn poll_first_slow<V, R>(
        &mut self,
        sem: &RawSemaphore<V>,
        cx: &mut Context<'_>,
        take: impl FnOnce(Option<&mut V>) -> R,
    ) -> Poll<Result<R, AcquireError>> {
        let mut s = sem.lock();
        if sem.word.load(Relaxed) & CLOSED != 0 {
            return Poll::Ready(Err(AcquireError::Closed));
        }
        let limit = s.max.map_or(MAX_PERMITS, |m| m.min(MAX_PERMITS));
        if self.n > limit {
            // More than the semaphore can ever hold: an error now, never a wait forever.
            return Poll::Ready(Err(AcquireError::TooMany { requested: self.n, max: limit }));
        }
        if s.queue.waiting() == 0 {
            // Nobody waits, so `QUEUED` is clear (invariant 2, lock held). Set it before deciding:
            // from here on `free` only grows, and a release that misses our permits in `prev`
            // will see the flag and grant to us once we are queued (invariants 4 and 5).
            let prev = sem.word.fetch_or(QUEUED, AcqRel);
            if free(prev) >= self.n {
                // Take them and clear the flag again in one step (`QUEUED` is bit 0, set).
                sem.word.fetch_sub((self.n << SHIFT) | QUEUED, AcqRel);
                return Poll::Ready(Ok(take(Some(&mut s.value))));
            }
        }
        self.id = Some(s.queue.push(self.n, cx.waker()));
        Poll::Pending
    }

    /// Queued: granted, closed, or still waiting.
    #[inline]
    fn poll_queued<V, R>(
        &mut self,
        sem: &RawSemaphore<V>,
        id: u64,
        cx: &mut Context<'_>,
        take: impl FnOnce(Option<&mut V>) -> R,
    ) -> Poll<Result<R, AcquireError>> {
        let mut s = sem.lock();
        // Grants go in queue order and ids grow in push order (queue.rs), so this entry (still
        // queued: only its own poll or drop removes it) is granted exactly when no waiting entry
        // is older than it. No search needed.
        let granted = s.queue.next_waiting().is_none_or(|next| id < next.id);
        if granted {
            // Its permits were subtracted from `free` at the grant. The only granted entry (a
            // mutex's handoff, most of the time) is the front one: popped without a search.
            let entry = if s.queue.granted() == 1 { s.queue.pop_front() } else { s.queue.remove(id) };
            debug_assert!(entry.is_some_and(|e| e.id == id && e.granted));
            self.id = None;
            return Poll::Ready(Ok(take(Some(&mut s.value))));
        }
        if sem.word.load(Relaxed) & CLOSED != 0 {
            s.queue.remove(id);
            self.id = None;
            // A large request that leaves may unblock the ones behind it.
            let mut wakers = Wakers::default();
            sem.settle(&mut s, &mut wakers);
            drop(s);
            wakers.wake();
            return Poll::Ready(Err(AcquireError::Closed));
        }
        let entry = s.queue.get_mut(id).expect("a queued acquirer stays queued until it leaves");
        set_waker(&mut entry.waker, cx.waker());
        Poll::Pending
    }

    /// Leaves the queue; permits already granted go to the next waiters. Never panics.
    #[inline]
    pub(crate) fn cancel<V>(&mut self, sem: &RawSemaphore<V>) {
        if let Some(id) = self.id.take() {
            Self::leave(sem, id);
        }
    }

    // Out of line: `cancel` is inlined into every drop, and this runs only for a dropped waiter.
    #[inline(never)]
    fn leave<V>(sem: &RawSemaphore<V>, id: u64) {
        let mut wakers = Wakers::default();
        {
            let mut s = sem.lock();
            if let Some(entry) = s.queue.remove(id) {
                if entry.granted {
                    // Back to `free`; granted permits were free once, so this cannot overflow.
                    sem.word.fetch_add(entry.data << SHIFT, AcqRel);
                }
                sem.settle(&mut s, &mut wakers);
            }
        }
        wakers.wake();
    }
}
