//! Timers on the virtual clock. A pending timer is an entry `(deadline, id) → waker` in the
//! executor's timer map; the executor wakes the entries whose deadline has passed and, when every
//! task is blocked, moves the clock to the first one.

use std::sync::Weak;
use std::task::{Context, Poll};
use std::time::Instant;
use std::{fmt, pin::Pin};

use anyscope_core::runtime::Timer;

use crate::executor::Shared;

/// A timer of the simulated runtime. Its map entry is its own: registered by its poll, moved by
/// its reset, removed by its drop.
pub(crate) struct SimTimer {
    shared: Weak<Shared>,
    id: u64,
    deadline: Instant,
    /// The deadline under which an entry may be registered (the executor removes it when it fires).
    registered: Option<Instant>,
}

impl SimTimer {
    pub(crate) fn new(shared: Weak<Shared>, id: u64, deadline: Instant) -> Self {
        SimTimer { shared, id, deadline, registered: None }
    }
}

impl Timer for SimTimer {
    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // With its runtime gone a timer never fires (nothing could poll its task anyway).
        let Some(shared) = this.shared.upgrade() else { return Poll::Pending };
        if shared.now() >= this.deadline {
            if let Some(at) = this.registered.take() {
                shared.remove_timer(at, this.id);
            }
            return Poll::Ready(());
        }
        shared.register_timer(this.registered.replace(this.deadline), this.deadline, this.id, cx.waker());
        Poll::Pending
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        if let (Some(at), Some(shared)) = (this.registered, this.shared.upgrade()) {
            // Keep the waiter registered, under the new deadline.
            this.registered = shared.move_timer(at, deadline, this.id).then_some(deadline);
        }
    }
}

impl Drop for SimTimer {
    fn drop(&mut self) {
        if let (Some(at), Some(shared)) = (self.registered, self.shared.upgrade()) {
            shared.remove_timer(at, self.id);
        }
    }
}

impl fmt::Debug for SimTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimTimer").field("id", &self.id).field("deadline", &self.deadline).finish()
    }
}
