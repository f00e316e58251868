//! Lazy links: a scope that brought its own node (a [`CancelScope`] handle's) is linked under
//! the node of the frame that polls it only when something asks for its node, and then under
//! the frame polling it at that moment.

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use super::*;
use crate::cancel::CancelScope;
use crate::cancel::node::Node;
use crate::frame;
use crate::testing::{Counter, Gate, MockRuntime, poll_with};

/// What a body saw of the links of its scopes' nodes.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    /// Before anything asked for a node: the inner and outer scopes' nodes had no parent.
    unlinked_before: Option<(bool, bool)>,
    /// `current_node()` was the inner scope's node.
    current_is_inner: bool,
    /// Then: inner under outer, outer under the root frame's (new) node, which has none.
    inner_under_outer: bool,
    outer_under_a_root: bool,
}

#[test]
fn handle_scopes_are_linked_when_their_node_is_asked_for() {
    let rt = MockRuntime::new();
    let (outer, inner) = (CancelScope::new(), CancelScope::shielded());
    let (o, i) = (outer.clone(), inner.clone());
    let gate = Gate::new();
    let g = gate.clone();
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s = seen.clone();
    let mut fut = rooted(
        &rt,
        outer.run(inner.run(async move {
            s.lock().unwrap().unlinked_before =
                Some((i.node().parent().is_none(), o.node().parent().is_none()));
            g.wait().await;
            let node = frame::current_node().expect("a frame is active");
            let mut seen = s.lock().unwrap();
            seen.current_is_inner = Arc::ptr_eq(&node, i.node());
            seen.inner_under_outer = node.parent().is_some_and(|p| Arc::ptr_eq(&p, o.node()));
            seen.outer_under_a_root = o.node().parent().is_some_and(|root| root.parent().is_none());
        })),
    );
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!(seen.lock().unwrap().unlinked_before, Some((true, true)), "no link before it is needed");
    assert!(outer.node().parent().is_none() && inner.node().parent().is_none());
    gate.open();
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(Some(Some(()))));
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(
        seen,
        Seen {
            unlinked_before: Some((true, true)),
            current_is_inner: true,
            inner_under_outer: true,
            outer_under_a_root: true,
        }
    );
}

/// A handle scope started by a cleanup of frame `a`, whose cleanup is handed to the enclosing
/// frame `e` when `a` is dropped, is linked when its node is first needed, under what `e`'s
/// frame gives the cleanups it polls: a fresh shielded node (cleanups are shielded from
/// everything, `e`'s own cancellation included) linked under `e`'s node — not under `a`, which
/// is gone.
#[test]
fn scope_in_a_handed_off_cleanup_links_under_the_frame_that_polls_it() {
    let rt = MockRuntime::new();
    let (e, a, inner) = (CancelScope::new(), CancelScope::new(), CancelScope::new());
    let (e2, i2) = (e.clone(), inner.clone());
    let gate = Gate::new();
    let g = gate.clone();
    let linked: Arc<Mutex<Option<Arc<Node>>>> = Arc::default();
    let k = linked.clone();
    a.cancel();
    let mut fut = rooted(
        &rt,
        e.run(async move {
            let cleanup = frame::Cleanup::new(
                "test cleanup",
                Box::pin(async move {
                    let _ = i2
                        .run(async move {
                            g.wait().await;
                            let node = frame::current_node().expect("a frame is active");
                            *k.lock().unwrap() = node.parent();
                        })
                        .await;
                }),
            );
            // `a` adopts the cleanup, delivers its cancellation on its first poll and starts
            // draining: the inner scope starts inside `a`'s frame and waits for the gate.
            let mut a_fut = Box::pin(a.run(async move {
                assert!(frame::adopt(cleanup).is_ok());
                std::future::pending::<()>().await;
            }));
            poll_fn(|cx| {
                assert!(a_fut.as_mut().poll(cx).is_pending(), "the cleanup waits for the gate");
                Poll::Ready(())
            })
            .await;
            // Dropped with its cleanup pending: the cleanup goes to `e`'s frame.
            drop(a_fut);
            std::future::pending::<()>().await;
        }),
    );
    let (_, waker) = Counter::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert!(inner.node().parent().is_none(), "nothing needed the inner scope's node yet");
    gate.open();
    assert!(poll_with(fut.as_mut(), &waker).is_pending(), "e's body still runs");
    let parent = linked.lock().unwrap().take().expect("the inner scope was linked");
    assert!(parent.flags() & crate::cancel::node::SHIELD != 0, "linked under a shield");
    let above = parent.parent().expect("the shield hangs under the draining frame");
    assert!(Arc::ptr_eq(&above, e2.node()), "under the frame that polled it");
}

fn linked(parent: &Arc<Node>, flags: u32, task_root: bool) -> Arc<Node> {
    let node = Arc::new(Node::new(flags, None, None));
    assert!(node.link(Arc::clone(parent), task_root));
    node
}

fn is_parent(node: &Node, parent: &Arc<Node>) -> bool {
    node.parent().is_some_and(|p| Arc::ptr_eq(&p, parent))
}

/// An ended scope that neither cancels nor shields hands the task below it to its parent, and
/// a cancel through its handle after the end reaches nothing.
#[test]
fn an_ended_plain_scope_hands_its_tasks_up() {
    let p = Arc::new(Node::new(0, None, None));
    let f = linked(&p, 0, false);
    let k = linked(&f, 0, true);
    f.finish();
    assert!(is_parent(&k, &p), "moved up");
    f.cancel(crate::cancel::CancelReason::Explicit(None));
    assert!(!k.effectively_cancelled(), "a cancel after the end affects nothing");
    p.cancel(crate::cancel::CancelReason::Explicit(None));
    assert!(k.effectively_cancelled(), "the enclosing scope still reaches it");
}

/// An ended shielded scope keeps its task shielded, whatever its handle does after the end,
/// and lets go of its own parent.
#[test]
fn an_ended_shield_keeps_its_tasks_shielded() {
    use crate::cancel::node::SHIELD;
    let p = Arc::new(Node::new(0, None, None));
    let s = linked(&p, SHIELD, false);
    let k = linked(&s, 0, true);
    s.finish();
    assert!(is_parent(&k, &s) && s.parent().is_none());
    p.cancel(crate::cancel::CancelReason::Explicit(None));
    s.set_shield(false);
    s.cancel(crate::cancel::CancelReason::Explicit(None));
    assert!(!k.effectively_cancelled());
}

/// An ended cancelled scope keeps its task cancelled, and lets go of its own parent.
#[test]
fn an_ended_cancelled_scope_keeps_its_tasks_cancelled() {
    let p = Arc::new(Node::new(0, None, None));
    let c = linked(&p, 0, false);
    let k = linked(&c, 0, true);
    c.cancel(crate::cancel::CancelReason::Explicit(Some("why".into())));
    c.finish();
    assert!(is_parent(&k, &c) && c.parent().is_none());
    assert!(k.effectively_cancelled());
    assert_eq!(
        k.effective_reason(),
        Some(crate::cancel::CancelReason::Parent(Box::new(crate::cancel::CancelReason::Explicit(Some(
            "why".into()
        )))))
    );
}

/// A task root that registers after its parent scope ended skips it (and re-links past it) to
/// the nearest live ancestor; a scope re-linked elsewhere leaves its old parent.
#[test]
fn registration_skips_ended_scopes_and_relink_leaves_the_old_parent() {
    let p = Arc::new(Node::new(0, None, None));
    let f = linked(&p, 0, false);
    let g = linked(&f, 0, false);
    f.finish();
    g.finish();
    let k = Arc::new(Node::new(0, None, None));
    k.link_unregistered(Arc::clone(&g));
    k.register_in_parent();
    assert!(is_parent(&k, &p), "linked past both ended scopes");

    let (o1, o2) = (Arc::new(Node::new(0, None, None)), Arc::new(Node::new(0, None, None)));
    let n = linked(&o1, 0, false);
    let t = linked(&n, 0, true);
    n.relink(Some(Arc::clone(&o2)));
    o1.cancel(crate::cancel::CancelReason::Explicit(None));
    assert!(!t.effectively_cancelled(), "the old parent no longer reaches it");
    o2.cancel(crate::cancel::CancelReason::Explicit(None));
    assert!(t.effectively_cancelled());
}

/// A scope re-linked back and forth 10,000 times between two parents (with a task below it)
/// leaves each parent one child slot: the old slot is freed and reused, nothing accumulates.
/// The last parent reaches the task, the other does not.
#[test]
fn relink_back_and_forth_keeps_state_bounded() {
    let (o1, o2) = (Arc::new(Node::new(0, None, None)), Arc::new(Node::new(0, None, None)));
    let n = linked(&o1, 0, false);
    let t = linked(&n, 0, true);
    for i in 0..10_000 {
        n.relink(Some(Arc::clone(if i % 2 == 0 { &o2 } else { &o1 })));
    }
    assert!(is_parent(&n, &o1), "the last move was under O1");
    assert!(o1.child_slots() <= 1 && o2.child_slots() <= 1, "{} {}", o1.child_slots(), o2.child_slots());
    o2.cancel(crate::cancel::CancelReason::Explicit(None));
    assert!(!t.effectively_cancelled(), "O2 no longer reaches it");
    o1.cancel(crate::cancel::CancelReason::Explicit(None));
    assert!(t.effectively_cancelled());
}

/// Re-linking a scope below its own descendant (through a task root) panics and changes
/// nothing: the tree never becomes a cycle.
#[test]
fn relink_below_a_descendant_panics_and_changes_nothing() {
    let p = Arc::new(Node::new(0, None, None));
    let s = linked(&p, 0, false);
    let t = linked(&s, 0, true);
    let b = linked(&t, 0, false);
    let moved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.relink(Some(Arc::clone(&b)))));
    assert!(moved.is_err(), "the move below itself panics");
    assert!(is_parent(&s, &p), "the old link stays");
    p.cancel(crate::cancel::CancelReason::Explicit(None));
    assert!(b.effectively_cancelled(), "the walk up from below ends (at the cancelled root)");
    let q = Arc::new(Node::new(0, None, None));
    let c = linked(&q, 0, false);
    let moved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.relink(Some(Arc::clone(&c)))));
    assert!(moved.is_err(), "nor below itself");
    assert!(is_parent(&c, &q));
}
