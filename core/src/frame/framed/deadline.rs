//! The deadline machinery of a scope's frame: the deadline's timer, armed when the body first
//! suspends (re-armed from the thread's spare timer when it has one of this runtime), and the
//! grace period of the cleanups. A task root's frame has none (`NoDeadline`).

use std::pin::Pin;
use std::task::Context;
use std::time::{Duration, Instant};

use super::read_clock;
use crate::cancel::budget;
use crate::cancel::node::DEADLINE_MOVED;
use crate::frame::{self, FrameState, GRACE};
use crate::runtime::{self, Timer};

/// The deadline machinery of a scope's frame.
#[derive(Default)]
pub(crate) struct Deadline {
    // A deadline relative to the first poll (`move_on_after`), resolved then.
    pub(super) after: Option<Duration>,
    // The deadline the timer should fire at, and the one it is armed for.
    pub(super) target: Option<Instant>,
    armed: Option<Instant>,
    timer: Option<Pin<Box<dyn Timer>>>,
}

/// No deadline machinery: the frame of a task root.
pub(crate) struct NoDeadline;

/// Where a frame keeps its deadline machinery, if it has any.
pub(crate) trait DeadlineSlot {
    fn with_after(after: Option<Duration>) -> Self;
    fn get(&mut self) -> Option<&mut Deadline>;
}

impl DeadlineSlot for Deadline {
    fn with_after(after: Option<Duration>) -> Self {
        Deadline { after, ..Deadline::default() }
    }

    fn get(&mut self) -> Option<&mut Deadline> {
        Some(self)
    }
}

impl DeadlineSlot for NoDeadline {
    fn with_after(after: Option<Duration>) -> Self {
        debug_assert!(after.is_none(), "anyscope: a task root has no deadline");
        NoDeadline
    }

    fn get(&mut self) -> Option<&mut Deadline> {
        None
    }
}

impl Deadline {
    /// Arms the deadline timer on the deadline currently wanted, and polls it.
    pub(super) fn poll(&mut self, state: &mut FrameState, cx: &mut Context<'_>) -> bool {
        if let Some(node) = &state.node {
            if node.flags() & DEADLINE_MOVED != 0 {
                node.state.fetch_and(!DEADLINE_MOVED, crate::sync_shim::Ordering::AcqRel);
                self.target = node.deadline();
            }
        }
        self.poll_target(state, cx)
    }

    /// Once the body has ended: whether the grace period the scope's handle set for its
    /// cleanups ([`CancelScope::set_cleanup_grace`](crate::CancelScope::set_cleanup_grace))
    /// has expired. Arms the timer on its end the first time.
    pub(super) fn poll_grace(&mut self, state: &mut FrameState, cx: &mut Context<'_>) -> bool {
        if state.flags & GRACE == 0 {
            let Some(grace) = state.node.as_ref().and_then(|n| n.cleanup_grace()) else {
                return false;
            };
            state.flags |= GRACE;
            // A grace period too long to represent is none.
            self.target = read_clock(state).checked_add(grace);
        }
        self.poll_target(state, cx)
    }

    /// Lets go of the timer: it becomes the thread's spare, for the next deadline scope of the
    /// same runtime to re-arm (`frame::spare_timer`).
    #[inline]
    pub(super) fn spare_timer(&mut self, state: &FrameState) {
        self.armed = None;
        if let Some(timer) = self.timer.take() {
            // The timer was made by the frame's runtime (`poll_target` sets it first).
            if let Some(rt) = &state.runtime {
                frame::spare_timer::keep(rt, timer);
            }
        }
    }

    /// Arms the timer on `target`, and polls it.
    fn poll_target(&mut self, state: &mut FrameState, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.target else {
            self.spare_timer(state);
            return false;
        };
        if budget::exhausted() && read_clock(state) >= deadline {
            // The body spent the task's budget without suspending: the timer may not have been
            // driven since, the clock says (`budget`, invariant 3).
            return true;
        }
        match &mut self.timer {
            None => {
                // Kept in the frame: the drop path hands pending cleanups to this runtime, and
                // the timer goes back to the thread's spare under it.
                let rt = state.runtime.get_or_insert_with(runtime::current);
                self.timer = Some(match frame::spare_timer::take(rt) {
                    Some(mut timer) => {
                        timer.as_mut().reset(deadline);
                        timer
                    }
                    None => rt.timer(deadline),
                });
            }
            Some(t) if self.armed != Some(deadline) => t.as_mut().reset(deadline),
            Some(_) => {}
        }
        self.armed = Some(deadline);
        match &mut self.timer {
            Some(t) => t.as_mut().poll_expired(cx).is_ready(),
            None => false,
        }
    }
}
