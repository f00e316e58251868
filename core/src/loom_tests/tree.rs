//! loom models of the moving parent links of the scope tree (`cancel/node.rs`, invariants 3 to
//! 5): a scope's node re-linked under another parent, a node moved up when its scope ends, and a
//! registration racing that end — each against a concurrent cancel walk. In each, a task root
//! below must see the cancel or be woken by it (`wait_for_cancel`: loom reports a deadlock
//! otherwise), and the links end where they must.

use std::sync::Arc;

use loom::thread;

use super::{model, node, wait_for_cancel};
use crate::cancel::CancelReason;

/// o1 <- n <- k (a task root): `n` is re-linked under `o2` while `o2` is cancelled. The task
/// root is reached by the cancel walk, or woken by the re-link that sees the cancel.
#[test]
fn relink_races_cancel_of_the_new_parent() {
    model("relink_races_cancel_of_the_new_parent", || {
        let (o1, o2, n, k) = (node(), node(), node(), node());
        assert!(n.link(Arc::clone(&o1), false));
        assert!(k.link(Arc::clone(&n), true));
        let o = Arc::clone(&o2);
        let canceller = thread::spawn(move || o.cancel(CancelReason::Explicit(None)));
        let m = Arc::clone(&n);
        let to = Arc::clone(&o2);
        let mover = thread::spawn(move || m.relink(Some(to)));
        wait_for_cancel(&k);
        canceller.join().unwrap();
        mover.join().unwrap();
        assert!(n.parent().is_some_and(|p| Arc::ptr_eq(&p, &o2)));
        drop(o1);
    });
}

/// p <- f <- k (a task root): `f`'s scope ends (it neither cancels nor shields, so `k` moves
/// up under `p`) while `p` is cancelled.
#[test]
fn end_of_a_scope_races_cancel_of_its_parent() {
    model("end_of_a_scope_races_cancel_of_its_parent", || {
        let (p, f, k) = (node(), node(), node());
        assert!(f.link(Arc::clone(&p), false));
        assert!(k.link(Arc::clone(&f), true));
        let q = Arc::clone(&p);
        let canceller = thread::spawn(move || q.cancel(CancelReason::Explicit(None)));
        let e = Arc::clone(&f);
        let ender = thread::spawn(move || e.finish());
        wait_for_cancel(&k);
        canceller.join().unwrap();
        ender.join().unwrap();
        assert!(k.parent().is_some_and(|x| Arc::ptr_eq(&x, &p)), "moved up under p");
    });
}

/// p <- f, and a task root `k` linked under `f` but not registered yet: `k` registers while
/// `f`'s scope ends and `p` is cancelled. The registration either lands in `f` before its end
/// (which then moves `k` up) or skips the ended `f` and lands in `p`.
#[test]
fn registration_races_end_of_the_parent_scope() {
    model("registration_races_end_of_the_parent_scope", || {
        let (p, f, k) = (node(), node(), node());
        assert!(f.link(Arc::clone(&p), false));
        k.link_unregistered(Arc::clone(&f));
        let e = Arc::clone(&f);
        let ender = thread::spawn(move || e.finish());
        let q = Arc::clone(&p);
        let canceller = thread::spawn(move || q.cancel(CancelReason::Explicit(None)));
        k.register_in_parent();
        wait_for_cancel(&k);
        ender.join().unwrap();
        canceller.join().unwrap();
        assert!(k.parent().is_some_and(|x| Arc::ptr_eq(&x, &p)), "under p in the end");
    });
}
