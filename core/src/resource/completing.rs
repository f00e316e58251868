use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::frame::{self, Cleanup};
use crate::runtime::BoxFuture;
use crate::tracker::Token;

/// How a [`Completing`] cleanup ended: awaited by its owner, or finished by the cleanup
/// machinery after the owner dropped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The owner awaited it to the end and received its output.
    Awaited,
    /// The owner dropped it; a frame or a detached task finished it.
    Orphaned(crate::frame::Via),
}

/// What a [`Completing`] calls when it ends, with its output and how it ended.
type DoneFn<T> = Box<dyn FnOnce(&T, Ending) + Send>;

/// A cleanup future that is awaited by its owner, and — if the owner drops it before it
/// finished — handed to the innermost frame to finish. `done` is told, with the output, which
/// of the two happened.
///
/// It is not shielded itself: a cancellation of an enclosing scope drops it at a suspension
/// point like any body, and the drop hands the remainder to the frame that dropped it, which
/// finishes it shielded. So the cleanup runs to its end exactly once — unless that frame's scope
/// bounds its cleanups with a grace period
/// ([`CancelScope::set_cleanup_grace`](crate::CancelScope::set_cleanup_grace)) that expires
/// first: what it cuts off is abandoned.
///
/// If the cleanup panics while its owner awaits it, the panic reaches the owner, the cleanup
/// counts as panicked (once, see [`tracker::drop_panicked`](crate::tracker)) and is never
/// polled again: dropping the `Completing` afterwards hands nothing to a frame.
pub(crate) struct Completing<T: Send + 'static> {
    fut: Option<BoxFuture<T>>,
    done: Option<DoneFn<T>>,
    kind: &'static str,
}

impl<T: Send + 'static> Completing<T> {
    pub(crate) fn new(
        kind: &'static str,
        fut: impl Future<Output = T> + Send + 'static,
        done: impl FnOnce(&T, Ending) + Send + 'static,
    ) -> Self {
        Completing { fut: Some(Box::pin(fut)), done: Some(Box::new(done)), kind }
    }
}

impl<T: Send + 'static> Future for Completing<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let fut = self.fut.as_mut().expect("anyscope: a cleanup was polled after it completed");
        let out =
            match crate::tracker::poll_cleanup(|| catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)))) {
                (Ok(Poll::Pending), _) => return Poll::Pending,
                (Ok(Poll::Ready(out)), _) => out,
                (Err(payload), tokens) => {
                    // The owner receives the panic; the panicked future and the `done` that would
                    // count its resource are dropped here, counted as panicked, and nothing is left
                    // for `Drop` to hand to a frame (it would resume a panicked `async fn`).
                    let rest = (self.fut.take(), self.done.take());
                    crate::tracker::drop_panicked(self.kind, &*payload, tokens, move || drop(rest));
                    resume_unwind(payload);
                }
            };
        self.fut = None;
        if let Some(done) = self.done.take() {
            done(&out, Ending::Awaited);
        }
        Poll::Ready(out)
    }
}

impl<T: Send + 'static> Drop for Completing<T> {
    fn drop(&mut self) {
        if let (Some(fut), Some(done)) = (self.fut.take(), self.done.take()) {
            let rest = async move {
                let out = fut.await;
                done(&out, Ending::Orphaned(frame::via()));
            };
            frame::dispose(Cleanup::new(self.kind, Box::pin(rest)));
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Completing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completing").field("kind", &self.kind).field("done", &self.fut.is_none()).finish()
    }
}

/// What a close ending counts in the tracker: a failure is reported; the resource then counts as
/// closed by its owner when the owner awaited the close, else by the cleanup machinery.
pub(crate) fn settle<E: fmt::Display>(token: Token, result: &Result<(), E>, ending: Ending) {
    match ending {
        Ending::Awaited => token.closed_explicitly(),
        Ending::Orphaned(via) => {
            if let Err(e) = result {
                token.close_failed(e);
            }
            token.closed_via(via);
        }
    }
}

/// Hands a close nobody will await to the innermost frame (or a detached task, or records it
/// lost); when it finishes, `token` counts it.
pub(crate) fn dispose_close<E: fmt::Display>(
    token: Token,
    close: impl Future<Output = Result<(), E>> + Send + 'static,
) {
    let kind = token.kind();
    let rest = async move {
        let result = close.await;
        settle(token, &result, Ending::Orphaned(frame::via()));
    };
    frame::dispose(Cleanup::new(kind, Box::pin(rest)));
}
