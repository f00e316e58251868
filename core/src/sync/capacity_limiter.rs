//! AnyIO's capacity limiter: a pool of tokens, each held by one identified borrower.

mod borrower;
mod token;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

pub use borrower::BorrowerId;
pub use token::{Borrow, CapacityToken};

use super::error::CapacityError;
use super::queue::{WaitQueue, Wakers, set_waker};
use crate::frame;

/// A capacity limiter (AnyIO's `CapacityLimiter`): at most `total_tokens` borrowers at a time,
/// each holding one token, served first come, first served.
///
/// Unlike a [`Semaphore`](super::Semaphore), tokens are tied to a borrower: the same borrower
/// acquiring twice, or releasing a token it does not hold, is an error — which catches the
/// bugs a bare counter hides. The total can be changed at run time
/// ([`set_total_tokens`](CapacityLimiter::set_total_tokens)); growing it wakes waiters,
/// shrinking it never takes tokens back (the limiter is then over-committed until enough are
/// released, and admits nobody meanwhile: never more borrowers than the total at admission).
///
/// # Invariants (under the state lock)
///
/// `borrowers` holds every borrower that owns a token, including waiters granted one whose
/// future has not run yet; a new borrower is admitted only while `borrowers.len() <
/// total_tokens` and nobody waits ahead of it.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::sync::CapacityLimiter;
/// let limiter = CapacityLimiter::new(1);
/// limiter.acquire().await.unwrap(); // on behalf of the current task
/// assert_eq!(limiter.available_tokens(), 0);
/// limiter.release().unwrap();
/// assert_eq!(limiter.available_tokens(), 1);
/// # });
/// ```
pub struct CapacityLimiter {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    total: usize,
    borrowers: HashSet<BorrowerId>,
    queue: WaitQueue<BorrowerId>,
}

impl State {
    fn grant(&mut self, wakers: &mut Wakers) {
        while self.borrowers.len() < self.total {
            let Some(next) = self.queue.next_waiting() else { break };
            self.borrowers.insert(next.data.clone());
            if let Some(w) = self.queue.grant_next() {
                wakers.push(w);
            }
        }
    }

    fn holds_or_waits(&self, b: &BorrowerId) -> bool {
        self.borrowers.contains(b) || self.queue.any(|d| d == b)
    }
}

/// A snapshot of a [`CapacityLimiter`]'s state.
///
/// # Examples
///
/// ```
/// let limiter = anyscope_core::sync::CapacityLimiter::new(3);
/// let s = limiter.statistics();
/// assert_eq!((s.borrowed_tokens, s.total_tokens, s.tasks_waiting), (0, 3, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CapacityLimiterStatistics {
    /// Tokens held.
    pub borrowed_tokens: usize,
    /// The total number of tokens.
    pub total_tokens: usize,
    /// Borrowers waiting for a token.
    pub tasks_waiting: usize,
}

impl CapacityLimiter {
    /// A limiter with `total_tokens` tokens.
    ///
    /// # Panics
    ///
    /// If `total_tokens` is 0 (AnyIO's `ValueError`): every acquire would wait forever. Use
    /// [`try_new`](CapacityLimiter::try_new) for a total that comes from input.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::CapacityLimiter::new(4).total_tokens(), 4);
    /// ```
    pub fn new(total_tokens: usize) -> Self {
        match CapacityLimiter::try_new(total_tokens) {
            Ok(limiter) => limiter,
            Err(e) => panic!("anyscope: {e}"),
        }
    }

    /// A limiter with `total_tokens` tokens, or an error if it is 0.
    ///
    /// # Errors
    ///
    /// [`ZeroTokens`](super::ZeroTokens) if `total_tokens` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::sync::CapacityLimiter;
    /// assert!(CapacityLimiter::try_new(0).is_err());
    /// assert_eq!(CapacityLimiter::try_new(2).unwrap().total_tokens(), 2);
    /// ```
    pub fn try_new(total_tokens: usize) -> Result<Self, super::ZeroTokens> {
        if total_tokens == 0 {
            return Err(super::ZeroTokens { _priv: () });
        }
        Ok(CapacityLimiter {
            state: Mutex::new(State {
                total: total_tokens,
                borrowers: HashSet::new(),
                queue: WaitQueue::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock (hashing a `BorrowerId` is ours).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a token on behalf of the current task ([`BorrowerId::current`]).
    ///
    /// # Errors
    ///
    /// [`CapacityError::AlreadyBorrowing`] at once if the task already holds or waits for one.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_on_behalf_of`](CapacityLimiter::acquire_on_behalf_of).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let limiter = anyscope_core::sync::CapacityLimiter::new(1);
    /// limiter.acquire().await.unwrap();
    /// assert!(limiter.acquire().await.unwrap_err().is_already_borrowing());
    /// # });
    /// ```
    pub fn acquire(&self) -> AcquireToken<'_> {
        self.acquire_on_behalf_of(&BorrowerId::current())
    }

    /// Waits for a token on behalf of `borrower`.
    ///
    /// # Errors
    ///
    /// [`CapacityError::AlreadyBorrowing`] at once if `borrower` already holds or waits for a
    /// token of this limiter.
    ///
    /// # Cancel safety
    ///
    /// A checkpoint: inside a cancelled scope it does not complete and takes no token. Dropping
    /// the future leaves the queue; a token already handed to it goes to the next waiter. So a
    /// cancelled acquire never takes or loses a token.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::sync::{BorrowerId, CapacityLimiter};
    /// let limiter = CapacityLimiter::new(1);
    /// let job = BorrowerId::new();
    /// limiter.acquire_on_behalf_of(&job).await.unwrap();
    /// limiter.release_on_behalf_of(&job).unwrap();
    /// # });
    /// ```
    pub fn acquire_on_behalf_of(&self, borrower: &BorrowerId) -> AcquireToken<'_> {
        AcquireToken { limiter: self, borrower: borrower.clone(), id: None }
    }

    /// Waits for a token on behalf of the current task, held by a guard that releases it when
    /// dropped (AnyIO's `async with limiter:`). Prefer it to the `acquire`/`release` pair: a
    /// cancellation between the two would leak the token.
    ///
    /// # Errors
    ///
    /// As [`acquire`](CapacityLimiter::acquire).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_on_behalf_of`](CapacityLimiter::acquire_on_behalf_of); once it has
    /// completed, the guard gives the token back however the holder ends.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::{move_on_after, sleep, sync::CapacityLimiter};
    /// use std::time::Duration;
    /// let limiter = CapacityLimiter::new(1);
    /// move_on_after(Duration::from_millis(1), async {
    ///     let _token = limiter.borrow().await.unwrap();
    ///     sleep(Duration::from_secs(60)).await; // cancelled here: the token is released
    /// })
    /// .await;
    /// assert_eq!(limiter.borrowed_tokens(), 0);
    /// # });
    /// ```
    pub fn borrow(&self) -> Borrow<'_> {
        Borrow { inner: self.acquire() }
    }

    /// Waits for a token on behalf of `borrower`, held by a guard.
    ///
    /// # Errors
    ///
    /// As [`acquire_on_behalf_of`](CapacityLimiter::acquire_on_behalf_of).
    ///
    /// # Cancel safety
    ///
    /// As [`borrow`](CapacityLimiter::borrow).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::sync::{BorrowerId, CapacityLimiter};
    /// let limiter = CapacityLimiter::new(2);
    /// let job = BorrowerId::new();
    /// let token = limiter.borrow_on_behalf_of(&job).await.unwrap();
    /// assert!(limiter.try_acquire_on_behalf_of(&job).unwrap_err().is_already_borrowing());
    /// drop(token);
    /// assert_eq!(limiter.borrowed_tokens(), 0);
    /// # });
    /// ```
    pub fn borrow_on_behalf_of(&self, borrower: &BorrowerId) -> Borrow<'_> {
        Borrow { inner: self.acquire_on_behalf_of(borrower) }
    }

    /// Takes a token for the current task without waiting.
    ///
    /// # Errors
    ///
    /// [`CapacityError::AlreadyBorrowing`], or [`CapacityError::WouldBlock`] if no token is free
    /// or others are waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let limiter = anyscope_core::sync::CapacityLimiter::new(1);
    /// limiter.try_acquire().unwrap();
    /// # });
    /// ```
    pub fn try_acquire(&self) -> Result<(), CapacityError> {
        self.try_acquire_on_behalf_of(&BorrowerId::current())
    }

    /// Takes a token for `borrower` without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](CapacityLimiter::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::sync::{BorrowerId, CapacityLimiter};
    /// let limiter = CapacityLimiter::new(1);
    /// limiter.try_acquire_on_behalf_of(&BorrowerId::new()).unwrap();
    /// assert!(limiter.try_acquire_on_behalf_of(&BorrowerId::new()).unwrap_err().is_would_block());
    /// ```
    pub fn try_acquire_on_behalf_of(&self, borrower: &BorrowerId) -> Result<(), CapacityError> {
        let mut s = self.lock();
        if s.holds_or_waits(borrower) {
            Err(CapacityError::AlreadyBorrowing)
        } else if s.queue.waiting() == 0 && s.borrowers.len() < s.total {
            s.borrowers.insert(borrower.clone());
            Ok(())
        } else {
            Err(CapacityError::WouldBlock)
        }
    }

    /// Gives back the current task's token.
    ///
    /// # Errors
    ///
    /// [`CapacityError::NotBorrowing`] if the task holds none.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// let limiter = anyscope_core::sync::CapacityLimiter::new(1);
    /// assert!(limiter.release().unwrap_err().is_not_borrowing());
    /// # });
    /// ```
    pub fn release(&self) -> Result<(), CapacityError> {
        self.release_on_behalf_of(&BorrowerId::current())
    }

    /// Gives back `borrower`'s token; it goes to the oldest waiter.
    ///
    /// # Errors
    ///
    /// [`CapacityError::NotBorrowing`] if `borrower` holds none.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::sync::{BorrowerId, CapacityLimiter};
    /// let limiter = CapacityLimiter::new(1);
    /// let b = BorrowerId::new();
    /// limiter.try_acquire_on_behalf_of(&b).unwrap();
    /// limiter.release_on_behalf_of(&b).unwrap();
    /// ```
    pub fn release_on_behalf_of(&self, borrower: &BorrowerId) -> Result<(), CapacityError> {
        let mut wakers = Wakers::default();
        {
            let mut s = self.lock();
            // A granted waiter owns its token only once its future has taken it: until then,
            // its borrower is "waiting", and releasing on its behalf is an error.
            let granted_pending = s.queue.any(|d| d == borrower);
            if granted_pending || !s.borrowers.remove(borrower) {
                return Err(CapacityError::NotBorrowing);
            }
            s.grant(&mut wakers);
        }
        wakers.wake();
        Ok(())
    }

    /// Changes the total number of tokens. Growing it hands the new tokens to the oldest
    /// waiters; shrinking it takes nothing back.
    ///
    /// # Panics
    ///
    /// If `total_tokens` is 0 (AnyIO's `ValueError`), as [`new`](CapacityLimiter::new).
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = anyscope_core::sync::CapacityLimiter::new(1);
    /// limiter.set_total_tokens(3);
    /// assert_eq!(limiter.available_tokens(), 3);
    /// ```
    pub fn set_total_tokens(&self, total_tokens: usize) {
        assert!(total_tokens > 0, "anyscope: {}", super::ZeroTokens { _priv: () });
        let mut wakers = Wakers::default();
        {
            let mut s = self.lock();
            s.total = total_tokens;
            s.grant(&mut wakers);
        }
        wakers.wake();
    }

    /// The total number of tokens.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::CapacityLimiter::new(2).total_tokens(), 2);
    /// ```
    pub fn total_tokens(&self) -> usize {
        self.lock().total
    }

    /// Tokens held.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::CapacityLimiter::new(2).borrowed_tokens(), 0);
    /// ```
    pub fn borrowed_tokens(&self) -> usize {
        self.lock().borrowers.len()
    }

    /// Tokens free (zero while the limiter is over-committed after a shrink).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::CapacityLimiter::new(2).available_tokens(), 2);
    /// ```
    pub fn available_tokens(&self) -> usize {
        let s = self.lock();
        s.total.saturating_sub(s.borrowers.len())
    }

    /// A snapshot of the state.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyscope_core::sync::CapacityLimiter::new(2).statistics().tasks_waiting, 0);
    /// ```
    pub fn statistics(&self) -> CapacityLimiterStatistics {
        let s = self.lock();
        CapacityLimiterStatistics {
            borrowed_tokens: s.borrowers.len(),
            total_tokens: s.total,
            tasks_waiting: s.queue.waiting(),
        }
    }
}

impl fmt::Debug for CapacityLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapacityLimiter").field("statistics", &self.statistics()).finish()
    }
}

/// The future of [`CapacityLimiter::acquire`] and [`CapacityLimiter::acquire_on_behalf_of`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let limiter = anyscope_core::sync::CapacityLimiter::new(1);
/// let fut: anyscope_core::sync::AcquireToken<'_> = limiter.acquire();
/// fut.await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct AcquireToken<'a> {
    limiter: &'a CapacityLimiter,
    borrower: BorrowerId,
    id: Option<u64>,
}

impl Future for AcquireToken<'_> {
    type Output = Result<(), CapacityError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if frame::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let this = &mut *self;
        let mut s = this.limiter.lock();
        match this.id {
            None => {
                if s.holds_or_waits(&this.borrower) {
                    Poll::Ready(Err(CapacityError::AlreadyBorrowing))
                } else if s.queue.waiting() == 0 && s.borrowers.len() < s.total {
                    s.borrowers.insert(this.borrower.clone());
                    Poll::Ready(Ok(()))
                } else {
                    this.id = Some(s.queue.push(this.borrower.clone(), cx.waker()));
                    Poll::Pending
                }
            }
            Some(id) => {
                let entry = s.queue.get_mut(id).expect("a queued borrower stays queued until it leaves");
                if entry.granted {
                    // The token was put in `borrowers` at the grant.
                    s.queue.remove(id);
                    this.id = None;
                    Poll::Ready(Ok(()))
                } else {
                    set_waker(&mut entry.waker, cx.waker());
                    Poll::Pending
                }
            }
        }
    }
}

impl Drop for AcquireToken<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let mut wakers = Wakers::default();
        {
            let mut s = self.limiter.lock();
            if let Some(entry) = s.queue.remove(id) {
                if entry.granted {
                    s.borrowers.remove(&entry.data);
                }
                s.grant(&mut wakers);
            }
        }
        wakers.wake();
    }
}
