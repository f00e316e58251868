//! The checkpoint's summary of the stack ([`Frames`](super::super::Frames)): it may only ever skip a
//! walk whose answer is `false`, whatever changes the frames or what they read.

use std::sync::Arc;

use super::super::{FRAMES, FrameState, PLAIN_TASK, TASK_ROOT, current_node, enter};
use super::cancelled_here;
use crate::cancel::CancelReason;
use crate::cancel::node::{CANCELLED, Node, SHIELD};

fn quiet() -> bool {
    FRAMES.with(|f| f.quiet.get())
}

fn frame(flags: u32) -> FrameState {
    FrameState { flags, ..FrameState::default() }
}

#[test]
fn a_plain_root_is_summarised_and_a_cancelled_scope_entered_above_it_is_seen() {
    let mut root = frame(TASK_ROOT);
    enter(&mut root, || {
        assert!(!cancelled_here());
        assert!(quiet(), "a root with no node and no remote parent cannot be cancelled from outside");
        assert!(!cancelled_here());
        let mut inner = frame(CANCELLED);
        enter(&mut inner, || {
            assert!(!quiet(), "entering a frame clears the summary");
            assert!(cancelled_here());
            assert!(!quiet(), "a cancelled stack is never summarised");
        });
        assert!(!quiet(), "leaving a frame clears the summary");
        assert!(!cancelled_here());
        assert!(quiet());
    });
}

#[test]
fn leaving_a_shield_uncovers_the_cancelled_frame_below() {
    let mut outer = frame(CANCELLED);
    let mut shield = frame(SHIELD);
    enter(&mut outer, || {
        enter(&mut shield, || {
            assert!(!cancelled_here());
            assert!(quiet(), "a shield with no node stops the walk for good");
        });
        assert!(cancelled_here());
    });
}

#[test]
fn a_cancel_from_another_thread_is_seen_once_the_scope_has_a_node() {
    let mut root = frame(TASK_ROOT | PLAIN_TASK);
    let mut scope = frame(0);
    enter(&mut root, || {
        enter(&mut scope, || {
            assert!(!cancelled_here());
            assert!(quiet());
            // Something outside the scope's own future sees it now (a handle, a spawned task).
            let node = current_node().expect("a frame is active");
            assert!(!quiet(), "making a node changes the stack: the summary is cleared");
            assert!(!cancelled_here());
            assert!(!quiet(), "a frame with a node is never summarised: its flags are shared");
            std::thread::spawn(move || node.cancel(CancelReason::Explicit(None))).join().unwrap();
            assert!(cancelled_here(), "the other thread's cancel is read at the next checkpoint");
        });
    });
}

#[test]
fn a_root_whose_parent_lives_elsewhere_is_never_summarised() {
    let parent = Arc::new(Node::new(0, None, None));
    let mut root = FrameState { remote_parent: Some(Arc::clone(&parent)), ..frame(TASK_ROOT) };
    enter(&mut root, || {
        assert!(!cancelled_here());
        assert!(!quiet());
        let p = Arc::clone(&parent);
        std::thread::spawn(move || p.cancel(CancelReason::Explicit(None))).join().unwrap();
        assert!(cancelled_here());
    });
}
