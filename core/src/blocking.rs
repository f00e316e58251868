//! Offloading blocking calls to a thread (AnyIO's `to_thread.run_sync`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use crate::cancel::CancelReason;
use crate::cancel::node::Node;
use crate::frame::{self, Cleanup};
use crate::runtime::{self, RawTask, thread};
use crate::sync::{BorrowerId, CapacityLimiter};

/// AnyIO's default number of blocking calls running at once.
const DEFAULT_TOKENS: usize = 40;

/// The limiter blocking calls take a token from unless given another one (AnyIO's
/// `current_default_thread_limiter`): 40 tokens, shared by the whole process.
///
/// Change its size with [`CapacityLimiter::set_total_tokens`], or give a call a limiter of its
/// own with [`RunBlocking::limiter`].
///
/// # Examples
///
/// ```
/// let limiter = anyscope_core::default_thread_limiter();
/// assert_eq!(limiter.total_tokens(), 40);
/// ```
pub fn default_thread_limiter() -> Arc<CapacityLimiter> {
    static DEFAULT: OnceLock<Arc<CapacityLimiter>> = OnceLock::new();
    Arc::clone(DEFAULT.get_or_init(|| Arc::new(CapacityLimiter::new(DEFAULT_TOKENS))))
}

/// Runs the blocking function `f` on a thread where blocking is allowed, and awaits its result.
///
/// The call takes a token from a [`CapacityLimiter`] first ([`default_thread_limiter`], 40
/// tokens, unless [`limiter`](RunBlocking::limiter) gives another), and gives it back when `f`
/// returns. A checkpoint: inside a cancelled scope, `f` is not started.
///
/// **Structured by default** (AnyIO's `abandon_on_cancel=False`): a thread cannot be
/// interrupted, so a caller cancelled while `f` runs waits for `f` to end — its scope returns
/// only after `f` has returned, and `f`'s result is discarded. `f` can notice the cancellation
/// with [`from_thread::check_cancelled`](crate::from_thread::check_cancelled).
/// [`abandon_on_cancel`](RunBlocking::abandon_on_cancel) opts out: the caller then goes on at
/// once and `f` finishes on its own.
///
/// On the blocking thread the caller's runtime stays ambient: a resource guard dropped there is
/// closed on the runtime, and [`from_thread::run`](crate::from_thread::run) runs async code on
/// it.
///
/// # Panics
///
/// If no runtime is available. A panic in `f` is resumed in the caller.
///
/// # Cancel safety
///
/// Dropping the future before `f` started means `f` never runs. Dropping it after (a
/// cancellation, or any other drop) hands the wait for `f` to the enclosing frame, which
/// completes only after `f` has returned; with `abandon_on_cancel`, `f` completes on its own
/// and its result is dropped there.
///
/// The enclosing frame is the innermost cancel scope or task around the call. When that frame
/// is itself dropped from outside rather than cancelled — a task aborted through
/// [`JoinHandle::abort`](crate::JoinHandle::abort), a scope's future dropped by a foreign
/// combinator — it passes the wait on as it passes every cleanup it holds: to the frame around
/// it, or, with none (the root of an aborted task), to one detached cleanup that the run waits
/// for before it returns. So an aborted task's handle can report it cancelled while `f` still
/// runs; to wait for `f`, cancel the task's scope (a task group does) instead of aborting it.
/// Either way `f` is told: once its caller stops waiting, the call counts as cancelled —
/// [`from_thread::check_cancelled`](crate::from_thread::check_cancelled) says so, and async code
/// `f` runs through [`from_thread::run`](crate::from_thread::run) is cancelled, so a call
/// blocked there returns instead of waiting forever.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// let sum = anyscope_core::run_blocking(|| (1..=10u64).sum::<u64>()).await;
/// assert_eq!(sum, 55);
/// # });
/// ```
pub fn run_blocking<F, T>(f: F) -> RunBlocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    RunBlocking {
        job: Some(Box::new(f)),
        limiter: None,
        abandon: false,
        acquiring: None,
        task: None,
        call: None,
    }
}

/// [`run_blocking`] abandoned on cancel (name resolution: nothing to clean up after it).
pub(crate) fn run_blocking_abandoning<F, T>(f: F) -> RunBlocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    run_blocking(f).abandon_on_cancel()
}

type Acquiring = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The future of [`run_blocking`].
///
/// # Cancel safety
///
/// See [`run_blocking`].
#[must_use = "futures do nothing unless polled"]
pub struct RunBlocking<T> {
    job: Option<Box<dyn FnOnce() -> T + Send>>,
    limiter: Option<Arc<CapacityLimiter>>,
    abandon: bool,
    /// Waiting for a token, on behalf of the borrower the call will release it as.
    acquiring: Option<(Acquiring, BorrowerId)>,
    task: Option<Box<dyn RawTask>>,
    /// The call's own scope, under the caller's: what `from_thread` on the call's thread sees.
    /// Cancelled when the caller stops waiting for the call without its scope being cancelled
    /// (its task aborted, the future dropped by a combinator), so that async code the call runs
    /// through `from_thread::run` is cancelled and `check_cancelled` tells the call to stop,
    /// instead of running on under a scope that has ended.
    call: Option<Arc<Node>>,
}

impl<T> RunBlocking<T> {
    /// A caller cancelled while the call runs goes on at once instead of waiting for the call
    /// (AnyIO's `abandon_on_cancel=True`); the call finishes on its thread, its result dropped.
    pub fn abandon_on_cancel(mut self) -> Self {
        self.abandon = true;
        self
    }

    /// Takes the token from `limiter` instead of [`default_thread_limiter`].
    pub fn limiter(mut self, limiter: Arc<CapacityLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }
}

/// Gives the call's token back when dropped: after `f` returned or panicked on its thread, or
/// with the job if it never ran.
struct Release {
    limiter: Arc<CapacityLimiter>,
    borrower: BorrowerId,
}

impl Drop for Release {
    fn drop(&mut self) {
        let _ = self.limiter.release_on_behalf_of(&self.borrower);
    }
}

impl<T: Send + 'static> RunBlocking<T> {
    /// Takes a token: `Ready` with the borrower holding it.
    fn poll_token(&mut self, cx: &mut Context<'_>, limiter: &Arc<CapacityLimiter>) -> Poll<BorrowerId> {
        if self.acquiring.is_none() {
            let borrower = BorrowerId::new();
            if limiter.try_acquire_on_behalf_of(&borrower).is_ok() {
                return Poll::Ready(borrower);
            }
            let (l, b) = (Arc::clone(limiter), borrower.clone());
            let fut: Acquiring = Box::pin(async move {
                // A fresh borrower never already holds a token: the only error cannot happen.
                let _ = l.acquire_on_behalf_of(&b).await;
            });
            self.acquiring = Some((fut, borrower));
        }
        let Some((fut, _)) = self.acquiring.as_mut() else { unreachable!() };
        std::task::ready!(fut.as_mut().poll(cx));
        let Some((_, borrower)) = self.acquiring.take() else { unreachable!() };
        Poll::Ready(borrower)
    }

    fn start(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let limiter = self.limiter.clone().unwrap_or_else(default_thread_limiter);
        let borrower = std::task::ready!(self.poll_token(cx, &limiter));
        let release = Release { limiter, borrower };
        let Some(f) = self.job.take() else { panic!("anyscope: RunBlocking polled after completion") };
        let rt = runtime::current();
        let call = Arc::new(Node::new(0, None, None));
        if let Some(parent) = frame::current_node() {
            call.link(parent, false);
        }
        let caller = thread::Caller { rt: rt.clone(), node: Some(Arc::clone(&call)) };
        self.call = Some(call);
        let job: Box<dyn FnOnce() -> runtime::TaskOutput + Send> = Box::new(move || {
            let _release = release;
            let _ambient = thread::enter(caller);
            Box::new(f())
        });
        self.task = Some(rt.spawn_blocking(job));
        Poll::Ready(())
    }
}

impl<T: Send + 'static> Future for RunBlocking<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = &mut *self;
        if this.task.is_none() {
            // Not started: a checkpoint, which spends from the task's budget.
            if frame::poll_proceed(cx).is_pending() {
                return Poll::Pending;
            }
            std::task::ready!(this.start(cx));
        } else if this.abandon && frame::cancelled_for(cx) {
            return Poll::Pending;
        }
        let Some(task) = this.task.as_mut() else { unreachable!() };
        let out = std::task::ready!(task.poll_join(cx));
        this.task = None;
        match out {
            Ok(any) => match any.downcast::<T>() {
                Ok(v) => Poll::Ready(*v),
                Err(_) => panic!("anyscope: a runtime adapter returned a blocking result of the wrong type"),
            },
            Err(e) => match e.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(e) => panic!("anyscope: the blocking call was cancelled by the runtime: {e}"),
            },
        }
    }
}

impl<T> Drop for RunBlocking<T> {
    fn drop(&mut self) {
        let Some(mut task) = self.task.take() else { return };
        if task.is_finished() {
            return;
        }
        // The caller stops waiting while the call runs. Unless its scope was cancelled (then
        // the call sees that reason already), the call is cancelled here.
        if let Some(call) = self.call.take() {
            if call.effective_reason().is_none() {
                call.cancel(CancelReason::Explicit(Some(Arc::from(
                    "the caller stopped waiting for the blocking call",
                ))));
            }
        }
        if self.abandon {
            return;
        }
        // Structured: whoever encloses the caller waits for the call to end.
        let wait = std::future::poll_fn(move |cx| task.poll_join(cx).map(|_| ()));
        frame::dispose(Cleanup::new("anyscope::run_blocking", Box::pin(wait)));
    }
}

impl<T> fmt::Debug for RunBlocking<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunBlocking")
            .field("started", &self.task.is_some())
            .field("abandon_on_cancel", &self.abandon)
            .finish()
    }
}
