//! Who holds a capacity limiter's token.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crate::cancel::node::Node;
use crate::frame;

/// The identity of a [`CapacityLimiter`](super::CapacityLimiter) borrower (AnyIO's "borrower"
/// object): either a fresh id ([`BorrowerId::new`]) or the current task
/// ([`BorrowerId::current`]).
///
/// # Examples
///
/// ```
/// use anyscope_core::sync::BorrowerId;
/// let a = BorrowerId::new();
/// assert_eq!(a, a.clone());
/// assert_ne!(a, BorrowerId::new());
/// ```
#[derive(Clone)]
pub struct BorrowerId(Kind);

#[derive(Clone)]
enum Kind {
    Id(u64),
    // The task's root scope node. The `Weak` keeps the allocation (not the node) alive, so the
    // address is not reused while this id exists: two live ids are equal iff same task.
    Task(Weak<Node>),
}

static NEXT: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THREAD: BorrowerId = BorrowerId::new();
}

impl BorrowerId {
    /// A new borrower, different from every other.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyscope_core::sync::BorrowerId;
    /// assert_ne!(BorrowerId::new(), BorrowerId::new());
    /// ```
    pub fn new() -> Self {
        // Relaxed: only uniqueness matters.
        BorrowerId(Kind::Id(NEXT.fetch_add(1, Ordering::Relaxed)))
    }

    /// The current task, as AnyIO's default borrower: the same value everywhere in one anyscope
    /// task (across its cancel scopes), different in another task. Outside any anyscope task
    /// (no frame on this thread), the current thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::sync::BorrowerId;
    /// let here = BorrowerId::current();
    /// assert_eq!(here, BorrowerId::current());
    /// let there = anyscope_core::spawn(async { BorrowerId::current() }).await.unwrap();
    /// assert_ne!(here, there);
    /// # });
    /// ```
    pub fn current() -> Self {
        match frame::current_node() {
            Some(mut node) => {
                while !node.is_task_root() {
                    match node.parent() {
                        Some(parent) => node = parent,
                        None => break,
                    }
                }
                BorrowerId(Kind::Task(Arc::downgrade(&node)))
            }
            None => THREAD.try_with(Clone::clone).unwrap_or_else(|_| BorrowerId::new()),
        }
    }
}

#[cfg(test)]
impl BorrowerId {
    pub(crate) fn current_thread_fallback_for_tests() -> Self {
        THREAD.with(Clone::clone)
    }
}

impl Default for BorrowerId {
    fn default() -> Self {
        BorrowerId::new()
    }
}

impl PartialEq for BorrowerId {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Kind::Id(a), Kind::Id(b)) => a == b,
            (Kind::Task(a), Kind::Task(b)) => Weak::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for BorrowerId {}

impl Hash for BorrowerId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Kind::Id(id) => (0u8, *id).hash(state),
            Kind::Task(w) => (1u8, w.as_ptr() as *const () as usize).hash(state),
        }
    }
}

impl fmt::Debug for BorrowerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Id(id) => f.debug_tuple("BorrowerId").field(id).finish(),
            Kind::Task(w) => write!(f, "BorrowerId(task@{:p})", w.as_ptr()),
        }
    }
}
