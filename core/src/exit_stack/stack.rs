use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use super::{BoxError, ExitError};

/// The kind under which the tracker counts what an unwinding nobody awaits reports.
const KIND: &str = "anyscope::ExitStack";
use crate::frame::{self, Cleanup};
use crate::resource::{AsyncClose, Completing, DropCause, drop_cause};
use crate::runtime::{BoxFuture, panic_message};
use crate::tracker::{self, Token};
use crate::util::CatchUnwind;

/// A dynamic set of resources and async callbacks, closed last-in first-out: Python's
/// `AsyncExitStack`.
///
/// - [`enter`](ExitStack::enter) a resource: the stack owns it and will close it; use it through
///   the returned [`Entered`] handle while entering more.
/// - [`push_callback`](ExitStack::push_callback) an async callback;
///   [`push_exit`](ExitStack::push_exit) one that sees how the body ended and may suppress its
///   error.
/// - [`close`](ExitStack::close) (or [`close_with_error`](ExitStack::close_with_error)) runs them
///   all, LIFO, even when some fail, unwinding exactly as CPython's `AsyncExitStack`: each
///   callback sees the error propagating when it runs and may suppress it; the result is the
///   last unsuppressed failure, the earlier ones through `source()`.
/// - [`pop_all`](ExitStack::pop_all) moves every pending cleanup to a new stack.
/// - Dropped unclosed, the whole remaining stack is adopted by the innermost frame as ONE cleanup,
///   so the order holds; callbacks then see [`ExitOutcome::Cancelled`] (or `Panicked`).
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::{AsyncClose, ExitStack};
/// use std::sync::{Arc, Mutex};
///
/// struct Conn(u32, Arc<Mutex<Vec<u32>>>);
/// impl AsyncClose for Conn {
///     type Error = std::convert::Infallible;
///     async fn close(self) -> Result<(), Self::Error> {
///         self.1.lock().unwrap().push(self.0);
///         Ok(())
///     }
/// }
///
/// let closed = Arc::new(Mutex::new(Vec::new()));
/// let mut stack = ExitStack::new();
/// let first = stack.enter(Conn(1, closed.clone()));
/// // Use what was entered while entering more.
/// let next = stack.get(first).0 + 1;
/// stack.enter(Conn(next, closed.clone()));
/// stack.close().await.unwrap();
/// assert_eq!(*closed.lock().unwrap(), [2, 1]);
/// # });
/// ```
#[derive(Default)]
pub struct ExitStack {
    entries: Vec<Entry>,
    // The identity its `Entered` handles carry, so that a handle is honoured only by the stack
    // that holds its entry: 0 until the first `enter`; moved with the entries by `pop_all`;
    // back to 0 when the entries leave (close, `pop_all`), so a later `enter` starts afresh.
    id: u64,
}

/// The source of stack identities (never 0): a handle from another stack, or from before a
/// close or `pop_all`, never matches, even at the same index with the same type.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A handle to a resource entered into an [`ExitStack`]: pass it to [`ExitStack::get`].
pub struct Entered<R> {
    stack: u64,
    index: usize,
    _r: PhantomData<fn() -> R>,
}

impl<R> Clone for Entered<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Entered<R> {}

impl<R> fmt::Debug for Entered<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entered").field("stack", &self.stack).field("index", &self.index).finish()
    }
}

/// How the body ended, as an exit callback sees it.
#[derive(Clone, Copy, Debug)]
pub enum ExitOutcome<'a> {
    /// Nothing is propagating: the body succeeded, or a callback that ran before suppressed
    /// the error.
    Ok,
    /// This error is propagating: the body's, or the one the last failing callback raised.
    /// Its `Display` is that failure's; its `source()` is the error it replaced (Python's
    /// `__context__`); [`ExitError::last`] gives the failure itself, to downcast it.
    Error(&'a ExitError),
    /// The stack was dropped unclosed: its owner was cancelled (or simply dropped it).
    Cancelled,
    /// The stack was dropped while its owner was panicking.
    Panicked,
}

type ExitFn = Box<
    dyn FnOnce(Option<Box<dyn Any + Send>>, &ExitOutcome<'_>) -> BoxFuture<Result<bool, BoxError>> + Send,
>;

struct Entry {
    value: Option<Box<dyn Any + Send>>,
    exit: ExitFn,
    token: Option<Token>,
}

/// The outcome the unwinding carries, owned: the error propagating, with its context.
enum Carried {
    Ok,
    Error(ExitError),
    Cancelled,
    Panicked,
}

impl Carried {
    fn view(&self) -> ExitOutcome<'_> {
        match self {
            Carried::Ok => ExitOutcome::Ok,
            Carried::Error(e) => ExitOutcome::Error(e),
            Carried::Cancelled => ExitOutcome::Cancelled,
            Carried::Panicked => ExitOutcome::Panicked,
        }
    }
}

impl ExitStack {
    /// An empty stack.
    pub fn new() -> Self {
        ExitStack::default()
    }

    /// How many cleanups are pending.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no cleanup is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Enters `res`: the stack owns it (counted in the tracker under `res.kind()`) and closes it
    /// when the stack closes, after everything entered later.
    pub fn enter<R: AsyncClose>(&mut self, res: R) -> Entered<R> {
        let token = Token::open(res.kind());
        let exit: ExitFn = Box::new(|value, _| {
            let res = value.and_then(|v| v.downcast::<R>().ok());
            Box::pin(async move {
                match res {
                    Some(res) => res.close().await.map(|()| false).map_err(|e| Box::new(e) as BoxError),
                    None => Ok(false),
                }
            })
        });
        self.entries.push(Entry { value: Some(Box::new(res)), exit, token: Some(token) });
        if self.id == 0 {
            // Relaxed: the counter only has to hand out distinct values.
            self.id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        }
        Entered { stack: self.id, index: self.entries.len() - 1, _r: PhantomData }
    }

    /// The resource behind `entered`.
    ///
    /// # Panics
    ///
    /// If the stack was closed or emptied by [`pop_all`](ExitStack::pop_all) since, or the
    /// handle comes from another stack. See [`try_get`](ExitStack::try_get).
    pub fn get<R: AsyncClose>(&self, entered: Entered<R>) -> &R {
        self.try_get(entered).expect("anyscope: this Entered handle does not belong to this ExitStack (closed, moved by pop_all, or another stack)")
    }

    /// The resource behind `entered`, mutably.
    ///
    /// # Panics
    ///
    /// As [`get`](ExitStack::get).
    pub fn get_mut<R: AsyncClose>(&mut self, entered: Entered<R>) -> &mut R {
        let mine = entered.stack == self.id;
        self.entries
            .get_mut(entered.index)
            .filter(|_| mine)
            .and_then(|e| e.value.as_mut())
            .and_then(|v| v.downcast_mut::<R>())
            .expect("anyscope: this Entered handle does not belong to this ExitStack (closed, moved by pop_all, or another stack)")
    }

    /// The resource behind `entered`, or `None` if it is not in this stack.
    pub fn try_get<R: AsyncClose>(&self, entered: Entered<R>) -> Option<&R> {
        if entered.stack != self.id {
            return None;
        }
        self.entries.get(entered.index)?.value.as_ref()?.downcast_ref::<R>()
    }

    /// Pushes an async callback, run when the stack closes (after everything pushed later).
    pub fn push_callback<F, Fut, E>(&mut self, callback: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let exit: ExitFn = Box::new(move |_, _| {
            let fut = callback();
            Box::pin(async move { fut.await.map(|()| false).map_err(Into::into) })
        });
        self.entries.push(Entry { value: None, exit, token: None });
    }

    /// Pushes an exit callback (`__aexit__`): it sees the error propagating when it runs —
    /// the body's, or one raised by a callback that ran before it — (synchronously, when it is
    /// called) and returns a future whose `Ok(true)` suppresses that error: callbacks that run
    /// after it then see [`ExitOutcome::Ok`]. A dropped stack's callbacks see
    /// [`ExitOutcome::Cancelled`] or [`ExitOutcome::Panicked`], which cannot be suppressed.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::exit_stack::{ExitOutcome, ExitStack};
    /// let mut stack = ExitStack::new();
    /// stack.push_exit(|outcome: &ExitOutcome<'_>| {
    ///     let suppress = matches!(outcome, ExitOutcome::Error(e) if e.to_string() == "retryable");
    ///     async move { Ok::<_, std::io::Error>(suppress) }
    /// });
    /// assert!(stack.close_with_error("retryable").await.is_ok());
    /// # });
    /// ```
    pub fn push_exit<F, Fut, E>(&mut self, callback: F)
    where
        F: FnOnce(&ExitOutcome<'_>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<bool, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let exit: ExitFn = Box::new(move |_, outcome| {
            let fut = callback(outcome);
            Box::pin(async move { fut.await.map_err(Into::into) })
        });
        self.entries.push(Entry { value: None, exit, token: None });
    }

    /// Moves every pending cleanup to a new stack and returns it; this one is left empty, and
    /// dropping it closes nothing. [`Entered`] handles keep working on the new stack.
    pub fn pop_all(&mut self) -> ExitStack {
        ExitStack { entries: std::mem::take(&mut self.entries), id: std::mem::take(&mut self.id) }
    }

    /// Closes everything, LIFO, with the body considered successful.
    ///
    /// Every callback runs even when some fail, and each sees the error propagating when it
    /// runs (one a callback that ran before it raised), as in CPython. Closing an empty (or
    /// already closed) stack does nothing.
    ///
    /// # Errors
    ///
    /// [`ExitError`]: the last unsuppressed failure, the earlier ones through `source()`.
    ///
    /// # Cancel safety
    ///
    /// The entries are taken from the stack when `close` is called. The closing is not
    /// shielded: a cancellation of the caller's scope cuts the caller off at a suspension
    /// point of a callback, like any body. The rest of the closing is then handed to the
    /// frame that cut it off, which runs it to its end, shielded, in order (what a dropped
    /// stack does). An error the cut-off caller can no longer receive is reported to the
    /// [`tracker`](crate::tracker) (counted as `errors_unreceived` of kind
    /// `anyscope::ExitStack`, and a `tracing` event with that feature), not lost and not
    /// printed. The resources that frame closes count as closed by it
    /// ([`closed_adopted`](crate::tracker::KindStats::closed_adopted) or `closed_detached`),
    /// those closed before as closed explicitly, as for a dropped
    /// [`Scoped::close`](crate::Scoped::close). A resource whose close panics counts as
    /// [`cleanup_panicked`](crate::tracker::KindStats::cleanup_panicked), once; the panic is
    /// reported as a failure of the close.
    pub fn close(&mut self) -> impl Future<Output = Result<(), ExitError>> + Send + 'static {
        self.close_carrying(Carried::Ok)
    }

    /// Closes everything, LIFO, with the body considered failed with `error`: CPython's
    /// `__aexit__` with an exception. The first callback to run sees it; a callback that fails
    /// replaces it (the callbacks after see the new one), and a callback that suppresses it
    /// clears it.
    ///
    /// # Errors
    ///
    /// [`ExitError`]: the error still propagating at the end — the body's if nothing failed
    /// or suppressed, else the last callback failure, with the ones it replaced through
    /// `source()`. `Ok(())` when a callback suppressed what was propagating and none failed
    /// after it.
    ///
    /// # Examples
    ///
    /// The chain CPython builds: callbacks A, B, C fail, one suppresses, D fails, the body
    /// fails with Z. D runs first and replaces Z; the suppressor clears D; then C, B, A fail.
    ///
    /// ```
    /// # anyscope_tokio::run(async {
    /// use anyscope_core::ExitStack;
    /// let mut stack = ExitStack::new();
    /// stack.push_callback(async || Err::<(), _>("A"));
    /// stack.push_callback(async || Err::<(), _>("B"));
    /// stack.push_callback(async || Err::<(), _>("C"));
    /// stack.push_exit(|_| async { Ok::<_, std::io::Error>(true) }); // suppresses
    /// stack.push_callback(async || Err::<(), _>("D"));
    /// let err = stack.close_with_error("Z").await.unwrap_err();
    /// assert_eq!(err.to_string(), "A");
    /// let chain: Vec<String> = err.errors().map(|e| e.to_string()).collect();
    /// assert_eq!(chain, ["C", "B", "A"]); // Z and D were suppressed
    /// assert!(err.body_error().is_none());
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As [`close`](ExitStack::close).
    pub fn close_with_error(
        &mut self,
        error: impl Into<BoxError>,
    ) -> impl Future<Output = Result<(), ExitError>> + Send + 'static {
        self.close_carrying(Carried::Error(ExitError::chain(None, error.into(), true)))
    }

    fn close_carrying(
        &mut self,
        outcome: Carried,
    ) -> impl Future<Output = Result<(), ExitError>> + Send + 'static {
        let entries = std::mem::take(&mut self.entries);
        self.id = 0;
        let orphaned = Arc::new(AtomicBool::new(false));
        let inner = Completing::new(KIND, unwind(entries, outcome, Some(orphaned.clone())), |r, ending| {
            if let (Err(e), crate::resource::Ending::Orphaned(_)) = (r, ending) {
                tracker::unreceived_error(KIND, e);
            }
        });
        Closing { inner, orphaned, finished: false }
    }
}

/// The future `close` returns: a [`Completing`] that, when its owner drops it unfinished, first
/// tells the unwinding so (the entries it closes from then on count as closed by the frame
/// that finishes it, not by their owner), then hands the rest to that frame.
struct Closing {
    inner: Completing<Result<(), ExitError>>,
    // Set (Release) when the owner drops the close unfinished; read (Acquire) by the unwinding
    // as each entry finishes, possibly on another thread (a detached cleanup task).
    orphaned: Arc<AtomicBool>,
    finished: bool,
}

impl Future for Closing {
    type Output = Result<(), ExitError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = Pin::new(&mut self.inner).poll(cx);
        if out.is_ready() {
            self.finished = true;
        }
        out
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        // Runs before `inner`'s own drop hands the unfinished unwinding to a frame.
        if !self.finished {
            self.orphaned.store(true, Ordering::Release);
        }
    }
}

/// Runs `entries` LIFO exactly as CPython's `AsyncExitStack.__aexit__`: each callback sees the
/// error propagating when it runs (the body's, or the last one a callback raised); a callback
/// that fails replaces it, with the one it replaced as its context (`earlier`); a callback
/// that suppresses clears it. The result is the error still propagating at the end.
///
/// `owner` is `Some` for an explicit close: its entries count as closed explicitly until the
/// flag says the owner dropped the close, by the cleanup machinery after that (and always, for
/// a dropped stack: `None`). A close that panics counts its resource as panicked, once.
async fn unwind(
    entries: Vec<Entry>,
    mut outcome: Carried,
    owner: Option<Arc<AtomicBool>>,
) -> Result<(), ExitError> {
    for entry in entries.into_iter().rev() {
        let Entry { value, exit, token } = entry;
        let result = match std::panic::catch_unwind(AssertUnwindSafe(|| exit(value, &outcome.view()))) {
            Ok(fut) => CatchUnwind::new(fut).await,
            Err(panic) => Err(panic),
        };
        let explicit = owner.as_ref().is_some_and(|o| !o.load(Ordering::Acquire));
        let failure: BoxError = match result {
            Ok(Ok(suppress)) => {
                if suppress && matches!(outcome, Carried::Error(_)) {
                    outcome = Carried::Ok;
                }
                if let Some(t) = token {
                    close_token(t, explicit);
                }
                continue;
            }
            Ok(Err(e)) => {
                if let Some(t) = token {
                    t.close_failed(&e);
                    close_token(t, explicit);
                }
                e
            }
            Err(panic) => {
                if let Some(t) = token {
                    // Counted as panicked (neither closed nor lost), as a panicking close of a
                    // `Scoped` is; the failure is still reported to the unwinding.
                    let kind = t.kind();
                    tracker::drop_panicked(kind, &*panic, 0, move || drop(t));
                }
                format!("an exit callback panicked: {}", panic_message(&*panic)).into()
            }
        };
        let context = match std::mem::replace(&mut outcome, Carried::Ok) {
            Carried::Error(e) => Some(e),
            _ => None,
        };
        outcome = Carried::Error(ExitError::chain(context, failure, false));
    }
    match outcome {
        Carried::Error(e) => Err(e),
        _ => Ok(()),
    }
}

fn close_token(token: Token, explicit: bool) {
    if explicit { token.closed_explicitly() } else { token.closed_via(frame::via()) }
}

impl Drop for ExitStack {
    fn drop(&mut self) {
        if self.entries.is_empty() {
            return;
        }
        let outcome = match drop_cause() {
            Some(DropCause::Panicked) => Carried::Panicked,
            _ => Carried::Cancelled,
        };
        let entries = std::mem::take(&mut self.entries);
        let rest = async move {
            if let Err(e) = unwind(entries, outcome, None).await {
                tracker::unreceived_error(KIND, &e);
            }
        };
        frame::dispose(Cleanup::new(KIND, Box::pin(rest)));
    }
}

impl fmt::Debug for ExitStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitStack").field("pending", &self.entries.len()).finish()
    }
}
