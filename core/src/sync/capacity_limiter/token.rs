//! A borrowed capacity limiter token held by a guard (AnyIO's `async with limiter:`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{AcquireToken, BorrowerId, CapacityLimiter};
use crate::sync::error::CapacityError;

/// A token of a [`CapacityLimiter`], held by a guard that releases it when dropped — also when
/// the holder is cancelled, which the explicit [`acquire`](CapacityLimiter::acquire) /
/// [`release`](CapacityLimiter::release) pair cannot do by itself.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let limiter = anyscope_core::sync::CapacityLimiter::new(1);
/// {
///     let token = limiter.borrow().await.unwrap();
///     assert_eq!(limiter.borrowed_tokens(), 1);
///     assert_eq!(token.borrower(), &anyscope_core::sync::BorrowerId::current());
/// }
/// assert_eq!(limiter.borrowed_tokens(), 0);
/// # });
/// ```
#[must_use = "the token is released as soon as it is dropped"]
pub struct CapacityToken<'a> {
    limiter: &'a CapacityLimiter,
    borrower: BorrowerId,
}

impl CapacityToken<'_> {
    /// The borrower holding the token.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::sync::{BorrowerId, CapacityLimiter};
    /// let limiter = CapacityLimiter::new(1);
    /// let me = BorrowerId::new();
    /// let token = limiter.borrow_on_behalf_of(&me).await.unwrap();
    /// assert_eq!(token.borrower(), &me);
    /// # });
    /// ```
    pub fn borrower(&self) -> &BorrowerId {
        &self.borrower
    }
}

impl Drop for CapacityToken<'_> {
    fn drop(&mut self) {
        // Fails only if the token was already released by hand on the borrower's behalf:
        // nothing is left to give back then.
        let _ = self.limiter.release_on_behalf_of(&self.borrower);
    }
}

impl fmt::Debug for CapacityToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapacityToken").field("borrower", &self.borrower).finish_non_exhaustive()
    }
}

/// The future of [`CapacityLimiter::borrow`] and [`CapacityLimiter::borrow_on_behalf_of`].
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let limiter = anyscope_core::sync::CapacityLimiter::new(1);
/// let fut: anyscope_core::sync::Borrow<'_> = limiter.borrow();
/// let _token = fut.await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Borrow<'a> {
    pub(super) inner: AcquireToken<'a>,
}

impl<'a> Future for Borrow<'a> {
    type Output = Result<CapacityToken<'a>, CapacityError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        Pin::new(&mut *inner)
            .poll(cx)
            .map_ok(|()| CapacityToken { limiter: inner.limiter, borrower: inner.borrower.clone() })
    }
}
