//! Closing a pool: refuse, fail the waiters, close the idle objects, then close each
//! checked-out object as it comes back, until none is left.
//!
//! [`begin`] is synchronous (the last handle's `Drop` calls it too): from then on the pool is
//! closed, and objects that come back are put in the idle set for the closer, which
//! [`finish`] closes one after another. They are not handed to the innermost frame while a
//! closer runs: that frame may be the one running the closer, whose cleanups run in order —
//! the object's close would wait behind the closer, which waits for it.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Manager;
use super::shared::{AfterClose, Shared};
use super::state::Entry;
use crate::CancelScope;
use crate::runtime::JoinHandle;

/// A close under way: counted in `State::closers` until dropped.
pub(super) struct Closer<M: Manager> {
    shared: Arc<Shared<M>>,
    maintenance: Option<(CancelScope, JoinHandle<()>)>,
}

impl<M: Manager> Drop for Closer<M> {
    fn drop(&mut self) {
        // Finished or dropped midway: objects that come back from now on are closed by the
        // frame that returns them; any left for this closer are handed to ours.
        let left = {
            let mut st = self.shared.lock();
            st.closers -= 1;
            if st.closers == 0 { std::mem::take(&mut st.idle) } else { VecDeque::new() }
        };
        drop(Closing::new(Arc::clone(&self.shared), left));
    }
}

/// Closes the pool to new acquires, fails the waiters, stops the maintenance.
pub(super) fn begin<M: Manager>(shared: &Arc<Shared<M>>) -> Closer<M> {
    let wakers = {
        let mut st = shared.lock();
        st.closed = true;
        st.closers += 1;
        st.waiter_wakers()
    };
    for waker in wakers {
        waker.wake(); // each waiter sees the pool closed and fails with `PoolError::Closed`
    }
    shared.changed.notify(usize::MAX);
    let maintenance = shared.maintenance.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some((scope, _)) = &maintenance {
        scope.cancel();
    }
    Closer { shared: Arc::clone(shared), maintenance }
}

/// Closes the idle objects and every object that comes back, until the pool is empty; then
/// waits for the maintenance task to end.
pub(super) async fn finish<M: Manager>(mut closer: Closer<M>) {
    let shared = Arc::clone(&closer.shared);
    loop {
        let listener = shared.changed.listen();
        let (batch, size) = {
            let mut st = shared.lock();
            (std::mem::take(&mut st.idle), st.size)
        };
        if batch.is_empty() {
            if size == 0 {
                break;
            }
            listener.await;
            continue;
        }
        drop(listener);
        let mut batch = Closing::new(Arc::clone(&shared), batch);
        while let Some(entry) = batch.next() {
            shared.close_entry(entry, AfterClose::Free { in_use: false }).await;
        }
    }
    if let Some((_, join)) = closer.maintenance.take() {
        let _ = join.await; // it was cancelled: its cleanups have run when it ends
    }
}

/// Objects taken out of the pool to be closed one after another. Dropped before they all
/// were (the closer was cancelled), the rest are handed to the innermost frame to close.
pub(super) struct Closing<M: Manager> {
    shared: Arc<Shared<M>>,
    entries: VecDeque<Entry<M::Object>>,
}

impl<M: Manager> Closing<M> {
    pub(super) fn new(shared: Arc<Shared<M>>, entries: VecDeque<Entry<M::Object>>) -> Self {
        Closing { shared, entries }
    }

    pub(super) fn next(&mut self) -> Option<Entry<M::Object>> {
        self.entries.pop_front()
    }
}

impl<M: Manager> Drop for Closing<M> {
    fn drop(&mut self) {
        for entry in self.entries.drain(..) {
            drop(self.shared.close_entry(entry, AfterClose::Free { in_use: false }));
        }
    }
}
