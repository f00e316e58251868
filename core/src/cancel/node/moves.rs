//! How a node's place in the scope tree changes (`super`, invariants 2 to 5): linking,
//! registration among the parent's children (skipping ended scopes), re-linking a scope whose
//! future moved, and the end of a scope, which moves what hangs below a transparent one up.

use std::sync::{Arc, Weak};

use super::{
    EFFECT, END_SHIFT, FINISHED, HAS_KIDS, HAS_WAKER, HELD, Inner, LINKED, NO_SLOT, Node, ROOT_LINK, effect,
    same,
};
use crate::sync_shim::Ordering;

impl Node {
    /// Links the node under `parent`. A task root (`crosses_task`) registers itself so that the
    /// parent's cancellation reaches it. Returns `false` if the node was already linked.
    pub(crate) fn link(self: &Arc<Self>, parent: Arc<Node>, crosses_task: bool) -> bool {
        let mut later = Vec::new();
        let next = {
            let mut me = self.lock();
            if me.parent.is_some() {
                return false;
            }
            me.parent = Some(parent);
            self.state.fetch_or(if crosses_task { LINKED | ROOT_LINK } else { LINKED }, Ordering::AcqRel);
            if crosses_task { Self::register_step(self, &mut me, &mut later) } else { None }
        };
        Self::register_upward(next, &mut later);
        true
    }

    /// Links a task root's node under `parent` (the scope of the spawner) without registering
    /// it in the parent's children yet: [`register_in_parent`](Self::register_in_parent) does,
    /// when the task first suspends. A task that completes in its first poll never takes the
    /// parent's lock. Until registered, the parent's cancellation does not wake the task, which
    /// is fine: the task is running or about to run, and checks its parent right after it
    /// registers. Does nothing if the node was already linked.
    pub(crate) fn link_unregistered(&self, parent: Arc<Node>) {
        let mut me = self.lock();
        if me.parent.is_none() {
            me.parent = Some(parent);
            self.state.fetch_or(LINKED | ROOT_LINK, Ordering::AcqRel);
        }
    }

    /// Registers `self` in its parent's children, and the parent in its own parent, upward until
    /// an already registered node. Takes locks child-then-parent only.
    pub(crate) fn register_in_parent(self: &Arc<Self>) {
        let mut later = Vec::new();
        let next = Self::register_step(self, &mut self.lock(), &mut later);
        Self::register_upward(next, &mut later);
    }

    /// Continues a registration upward from `next`, in a loop: a chain of unregistered
    /// ancestors may be long. Drops what the steps replaced once no lock is held.
    fn register_upward(mut next: Option<Arc<Node>>, later: &mut Vec<Arc<Node>>) {
        while let Some(node) = next {
            next = Self::register_step(&node, &mut node.lock(), later);
        }
        later.clear();
    }

    /// Registers `node` (whose lock `me` is) in its parent, skipping — and re-linking past —
    /// transparent ended nodes (invariant 4). Returns the parent if it must register in turn.
    /// Replaced links go to `later`, to be dropped with no lock held.
    fn register_step(node: &Arc<Node>, me: &mut Inner, later: &mut Vec<Arc<Node>>) -> Option<Arc<Node>> {
        if me.slot != NO_SLOT {
            return None;
        }
        let mut cand = me.parent.clone()?;
        loop {
            let mut p = cand.lock();
            let prev = cand.state.fetch_or(HAS_KIDS, Ordering::AcqRel);
            if prev & FINISHED != 0 && effect(prev) == 0 {
                // Ended and transparent: hang under its parent instead (invariant 5).
                let up = p.parent.clone();
                drop(p);
                later.push(std::mem::replace(
                    &mut cand,
                    match up {
                        Some(up) => up,
                        None => {
                            later.extend(me.parent.take());
                            node.state.fetch_and(!LINKED, Ordering::AcqRel);
                            return None;
                        }
                    },
                ));
                continue;
            }
            me.slot = p.kids.get_or_insert_with(Box::default).insert(Arc::downgrade(node));
            let registered = p.slot != NO_SLOT || p.parent.is_none();
            drop(p);
            if !same(me.parent.as_ref(), Some(&cand)) {
                later.extend(me.parent.replace(Arc::clone(&cand)));
            }
            return if registered { None } else { Some(cand) };
        }
    }

    /// Moves this node (a scope's, not a task root's) under `parent`: its future is now polled
    /// under another enclosing frame (`frame::follow`). Leaves the old parent's children,
    /// registers in the new parent if something below must be reachable, and wakes what hangs
    /// below if the new place is cancelled (invariant 3).
    ///
    /// # Panics
    ///
    /// If `parent` hangs below this node (the scope's future is polled inside a scope it
    /// encloses, in a task it spawned): the tree would become a cycle, and every walk up from
    /// it a loop that never ends. Nothing is changed before the panic.
    pub(crate) fn relink(self: &Arc<Self>, parent: Option<Arc<Node>>) {
        if let Some(p) = &parent {
            assert!(
                !self.is_at_or_above(p),
                "anyscope: a cancel scope was polled inside a scope it encloses (in a task it \
                 spawned, or a task that one spawned): a scope cannot hang below itself"
            );
        }
        let (old, slot, has_kids) = {
            let mut me = self.lock();
            if same(me.parent.as_ref(), parent.as_ref()) {
                return;
            }
            if parent.is_some() {
                self.state.fetch_or(LINKED, Ordering::AcqRel);
            } else {
                self.state.fetch_and(!LINKED, Ordering::AcqRel);
            }
            let old = std::mem::replace(&mut me.parent, parent);
            let slot = std::mem::replace(&mut me.slot, NO_SLOT);
            let has_kids = me.kids.as_ref().is_some_and(|k| k.children.iter().any(|c| c.strong_count() > 0));
            (old, slot, has_kids)
        };
        if let Some(old) = &old {
            if slot != NO_SLOT {
                if let Some(kids) = old.lock().kids.as_mut() {
                    kids.remove(slot, Some(Arc::as_ptr(self)));
                }
            }
        }
        drop(old);
        if has_kids {
            self.register_in_parent();
            self.wake_below_if_cancelled();
        }
    }

    /// Whether this node is `node` or one of its ancestors. One lock at a time, each link
    /// dropped with no lock held (invariant 6).
    fn is_at_or_above(&self, node: &Arc<Node>) -> bool {
        let mut next = Some(Arc::clone(node));
        while let Some(n) = next {
            if std::ptr::eq(Arc::as_ptr(&n), self) {
                return true;
            }
            next = n.parent();
        }
        false
    }

    /// After a move: if the node's new place is effectively cancelled, wakes the tasks below it
    /// (and the node's own task, for a task root).
    fn wake_below_if_cancelled(self: &Arc<Self>) {
        if self.effectively_cancelled() {
            let mut todo = vec![Arc::clone(self)];
            while let Some(node) = todo.pop() {
                node.wake_one(&mut todo);
            }
        }
    }

    /// Ends the scope (invariant 4): freezes what it does to what hangs below it, forgets the
    /// waker of the future that ran it (so that calls through a handle that outlives the scope
    /// wake nothing and keep no task alive), and — if it neither cancels nor shields — moves
    /// what still hangs under it to its nearest live ancestor. A frozen (cancelling or
    /// shielding) node keeps its children and lets go of its own parent.
    ///
    /// Cost: one atomic update when the node has no waker, no children and no parent to let go
    /// (inline; the rest is [`finish_slow`](Self::finish_slow)).
    #[inline]
    pub(crate) fn finish(&self) {
        let flags = self.flags();
        if flags & HELD != 0 {
            // Not the end of this node: only the frame's waker goes.
            if flags & HAS_WAKER != 0 {
                self.forget_waker();
            }
            return;
        }
        let update = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
            (f & FINISHED == 0).then_some(f | FINISHED | ((f & EFFECT) << END_SHIFT))
        });
        let Ok(prev) = update else { return };
        let frozen = prev & EFFECT != 0;
        if prev & (HAS_WAKER | HAS_KIDS) == 0 && !(frozen && prev & LINKED != 0) {
            return;
        }
        self.finish_slow(prev);
    }

    /// `finish` of a held node with a waker: the waker goes, and nothing else.
    #[cold]
    #[inline(never)]
    fn forget_waker(&self) {
        let waker = self.lock().waker.take();
        drop(waker);
    }

    /// The rest of [`finish`](Self::finish), once `FINISHED` is set (`prev` is the state
    /// before): forgets the waker, and lets go of the parent (a frozen node) or moves the
    /// children up (a transparent one).
    #[inline(never)]
    fn finish_slow(&self, prev: u32) {
        let frozen = prev & EFFECT != 0;
        let (waker, kids, up) = {
            let mut inner = self.lock();
            let waker = inner.waker.take();
            if frozen {
                let parent = inner.parent.take();
                self.state.fetch_and(!LINKED, Ordering::AcqRel);
                let slot = std::mem::replace(&mut inner.slot, NO_SLOT);
                if let (Some(p), true) = (&parent, slot != NO_SLOT) {
                    if let Some(kids) = p.lock().kids.as_mut() {
                        kids.remove(slot, Some(self));
                    }
                }
                (waker, None, parent)
            } else {
                (waker, inner.kids.take(), inner.parent.clone())
            }
        };
        drop(waker);
        if let Some(kids) = kids {
            for child in kids.children.iter().filter_map(Weak::upgrade) {
                child.move_up_from(self, up.clone());
            }
        }
    }

    /// Ends a node built [`HELD`] (its owner is done with it): as `finish`, once.
    pub(crate) fn release(&self) {
        if self.state.fetch_and(!HELD, Ordering::AcqRel) & HELD != 0 {
            self.finish();
        }
    }

    /// Moves this node, a child of the ended transparent node `from`, under `up` (`from`'s
    /// parent): registers there (skipping other ended nodes), then wakes what hangs below if
    /// the new place is cancelled. Does nothing if the node was re-linked elsewhere meanwhile.
    fn move_up_from(self: &Arc<Self>, from: &Node, up: Option<Arc<Node>>) {
        let mut later = Vec::new();
        let next = {
            let mut me = self.lock();
            if !me.parent.as_ref().is_some_and(|p| std::ptr::eq(Arc::as_ptr(p), from)) {
                return;
            }
            // `from`'s children were taken whole: the old slot is gone with them.
            me.slot = NO_SLOT;
            if up.is_none() {
                self.state.fetch_and(!LINKED, Ordering::AcqRel);
            }
            later.extend(std::mem::replace(&mut me.parent, up));
            Self::register_step(self, &mut me, &mut later)
        };
        Self::register_upward(next, &mut later);
        self.wake_below_if_cancelled();
    }
}
