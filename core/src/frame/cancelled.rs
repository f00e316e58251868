//! The checkpoint's question: is the innermost frame effectively cancelled? Asked by every
//! anyscope awaitable (`budget::poll_proceed`), so its common answer — no — is read from the
//! summary kept beside the stack ([`Frames`](super::Frames)) without walking the frames.

use super::{CLEANING, FRAMES, FrameState, Frames, TASK_ROOT, with_stack_ref};

/// Whether the innermost frame is effectively cancelled: an anyscope awaitable polled now must
/// not complete (it returns `Pending`, and the scope that catches drops it right after).
///
/// Every checkpoint asks this: inlined, it reads the summary ([`Frames`]) and, when that says
/// nothing, walks the frames (out of line).
#[inline]
pub(crate) fn cancelled_here() -> bool {
    FRAMES.try_with(|f| !f.quiet.get() && cancelled_walk(f)).unwrap_or(false)
}

/// [`cancelled_here`] without the summary: a shared borrow of the stack, and `walk` reads each
/// frame's scope flags once. Sets the summary when the answer cannot change without a change
/// of the stack.
#[inline(never)]
fn cancelled_walk(f: &Frames) -> bool {
    let Ok(s) = f.try_borrow() else { return false };
    let (cancelled, quiet) = walk(s.active_ref());
    if quiet {
        f.quiet.set(true);
    }
    cancelled
}

/// Whether any frame of `stack`, from the top down to the nearest shield or task root, is
/// cancelled.
///
/// A frame polling its adopted cleanups (`CLEANING`) shields them from everything, its own
/// cancellation included: that cancellation is usually why they run.
fn cancelled_in(stack: &[FrameState]) -> bool {
    walk(stack).0
}

/// [`cancelled_in`], and whether its answer is *stable*: only frames with no node were read,
/// and the task root it stopped at has no remote parent (nothing another thread can write).
#[inline]
fn walk(stack: &[FrameState]) -> (bool, bool) {
    use crate::cancel::node::{CANCELLED, SHIELD};
    let mut stable = true;
    for frame in stack.iter().rev() {
        let flags = frame.flags;
        if flags & CLEANING != 0 {
            return (false, stable);
        }
        // What `own_cancelled` and `is_shield` say, with one read of the scope's flags (a
        // frame with no node keeps them in its own: `FrameState::scope_flags`).
        let scope = match &frame.node {
            None => flags,
            Some(node) => {
                stable = false;
                node.flags()
            }
        };
        if scope & CANCELLED != 0 {
            return (true, false);
        }
        if flags & TASK_ROOT != 0 {
            return match (&frame.node, &frame.remote_parent) {
                (None, None) => (false, stable),
                _ => (frame.parent_cancelled(), false),
            };
        }
        if scope & SHIELD != 0 {
            return (false, stable);
        }
    }
    (false, stable)
}

/// Slow path of a cancelled checkpoint (`budget`, "# Nested executors", rule 4): whether a
/// frame between the innermost one and the frame whose cancellation `cancelled_in` sees (both
/// included) was entered by another poll than the one tagged `tag` (`budget::context_tag`). A
/// frame with no tag yet (never polled) counts as the same.
pub(crate) fn seen_through_foreign(tag: u32) -> bool {
    use crate::cancel::node::{CANCELLED, SHIELD};
    with_stack_ref(|s| {
        for frame in s.iter().rev() {
            if frame.entry != 0 && frame.entry != tag {
                return true;
            }
            if frame.flags & CLEANING != 0 {
                return false;
            }
            let scope = frame.scope_flags();
            if scope & (CANCELLED | SHIELD) != 0 || frame.is_task_root() {
                return false;
            }
        }
        false
    })
    .unwrap_or(false)
}

/// `cancelled_in` over the frames a nested executor whose poll is tagged `tag` can see
/// (`budget`, "# Nested executors", rule 6): from its lowest frame entered by that poll up,
/// none if there is no such frame.
pub(crate) fn cancelled_above(tag: u32) -> bool {
    with_stack_ref(|s| {
        let boundary = s.iter().position(|f| f.entry == tag).unwrap_or(s.len());
        cancelled_in(&s[boundary..])
    })
    .unwrap_or(false)
}

/// The entry tag of the innermost task root (0 with none).
pub(crate) fn task_root_tag() -> u32 {
    with_stack_ref(|s| s.iter().rev().find(|f| f.is_task_root()).map_or(0, |f| f.entry)).unwrap_or(0)
}

#[cfg(test)]
mod tests;
