//! The cell driven by hand (no runtime): each party's step and what the others then see.

use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::{Join, Task, new};
use crate::runtime::JoinError;

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn waker() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count::default());
    (Arc::clone(&c), Waker::from(c))
}

/// Counts its polls and drops; pending `pending` times, then ready with 7.
struct Probe {
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
    pending: usize,
}

impl Future for Probe {
    type Output = Result<u32, JoinError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.pending == 0 {
            return Poll::Ready(Ok(7));
        }
        self.pending -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn probe(pending: usize) -> (Task, Arc<dyn Join<u32>>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (polls, drops) = (Arc::default(), Arc::default());
    let p = Probe { polls: Arc::clone(&polls), drops: Arc::clone(&drops), pending };
    let (task, join) = new(p);
    (task, join, polls, drops)
}

fn poll<F: Future + Unpin>(f: &mut F, w: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(w))
}

fn join_now(join: &Arc<dyn Join<u32>>) -> Poll<Result<u32, JoinError>> {
    let (_, w) = waker();
    join.poll_join(&mut Context::from_waker(&w))
}

#[test]
fn completes_and_the_handle_gets_the_output_once_the_future_is_dropped() {
    let (mut task, join, polls, drops) = probe(1);
    let (joins, jw) = waker();
    assert!(join.poll_join(&mut Context::from_waker(&jw)).is_pending());
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_pending());
    assert!(!join.is_finished());
    assert!(poll(&mut task, &w).is_ready());
    assert_eq!((polls.load(Ordering::SeqCst), drops.load(Ordering::SeqCst)), (2, 1));
    assert_eq!(joins.0.load(Ordering::SeqCst), 1, "the waiting handle was woken");
    assert!(join.is_finished());
    assert_eq!(join_now(&join).map(Result::unwrap), Poll::Ready(7));
    // The runtime polls a finished task again, or drops it: nothing happens.
    assert!(poll(&mut task, &w).is_ready());
    drop(task);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn abort_before_the_first_poll_drops_the_future_unpolled() {
    let (mut task, join, polls, drops) = probe(0);
    join.abort();
    assert!(!join.is_finished(), "finished only once the runtime dropped the future");
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_ready());
    assert_eq!((polls.load(Ordering::SeqCst), drops.load(Ordering::SeqCst)), (0, 1));
    match join_now(&join) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn abort_of_a_suspended_task_wakes_it_and_its_next_poll_drops_it() {
    let (mut task, join, polls, drops) = probe(usize::MAX);
    let (wakes, w) = waker();
    assert!(poll(&mut task, &w).is_pending());
    let before = wakes.0.load(Ordering::SeqCst);
    join.abort();
    assert_eq!(wakes.0.load(Ordering::SeqCst), before + 1, "abort wakes the task");
    assert_eq!(drops.load(Ordering::SeqCst), 0, "never dropped on the aborter's thread");
    assert!(poll(&mut task, &w).is_ready());
    assert_eq!((polls.load(Ordering::SeqCst), drops.load(Ordering::SeqCst)), (1, 1));
    assert!(matches!(join_now(&join), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn a_task_that_aborts_and_joins_itself_in_its_poll_does_not_deadlock() {
    let slot: Arc<std::sync::Mutex<Option<Arc<dyn Join<()>>>>> = Arc::default();
    let s = Arc::clone(&slot);
    let body = poll_fn(move |cx| {
        let own = s.lock().unwrap().clone().expect("handle stored");
        assert!(own.poll_join(cx).is_pending());
        assert!(!own.is_finished());
        own.abort();
        Poll::<Result<(), JoinError>>::Pending
    });
    let (mut task, join) = new(body);
    *slot.lock().unwrap() = Some(Arc::clone(&join));
    let (_, w) = waker();
    // The abort made during the poll is seen right after it: the future is dropped at once.
    assert!(poll(&mut task, &w).is_ready());
    slot.lock().unwrap().take();
    let (_, w2) = waker();
    assert!(matches!(join.poll_join(&mut Context::from_waker(&w2)), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn a_panic_is_the_join_result_and_never_leaves_the_poll() {
    let (mut task, join) = new(poll_fn(|_| -> Poll<Result<u8, JoinError>> { panic!("boom in a cell") }));
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_ready());
    let Poll::Ready(Err(e)) = join.poll_join(&mut Context::from_waker(&w)) else { panic!("not ready") };
    assert!(e.is_panic());
    assert_eq!(crate::runtime::panic_message(&*e.into_panic()), "boom in a cell");
}

#[test]
fn a_task_dropped_by_the_runtime_unfinished_is_cancelled() {
    let (task, join, polls, drops) = probe(0);
    drop(task);
    assert_eq!((polls.load(Ordering::SeqCst), drops.load(Ordering::SeqCst)), (0, 1));
    assert!(join.is_finished());
    assert!(matches!(join_now(&join), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn abort_after_the_end_keeps_the_output() {
    let (mut task, join, _, _) = probe(0);
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_ready());
    join.abort();
    assert_eq!(join_now(&join).map(Result::unwrap), Poll::Ready(7));
}

#[test]
fn a_drop_that_panics_while_aborted_is_reported_as_that_panic() {
    let (mut task, join) = new(holding(OnDrop(|| panic!("boom in a drop")), false));
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_pending());
    join.abort();
    assert!(poll(&mut task, &w).is_ready(), "the drop's panic stays inside the cell");
    let Poll::Ready(Err(e)) = join.poll_join(&mut Context::from_waker(&w)) else { panic!("not ready") };
    assert!(e.is_panic());
}

#[test]
fn polling_the_handle_after_its_result_panics_with_a_message() {
    let (mut task, join, _, _) = probe(0);
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_ready());
    assert!(join_now(&join).is_ready());
    let err = catch_unwind(AssertUnwindSafe(|| join_now(&join))).unwrap_err();
    assert!(crate::runtime::panic_message(&*err).contains("polled after it returned"));
}

// ---- Adversarial cases (review 4): wakers that re-enter the handle, panics in odd places,
// drops that abort or join, self-aborts on the fast path. ----

/// A waker that runs `hook` on each of its clone, wake and drop (the `&str` says which).
struct Hook(Box<dyn Fn(&str) + Send + Sync>);

fn hook_waker(hook: impl Fn(&str) + Send + Sync + 'static) -> Waker {
    use std::task::{RawWaker, RawWakerVTable};
    unsafe fn clone(p: *const ()) -> RawWaker {
        // SAFETY: `p` is from `Arc::into_raw` of a live `Arc<Hook>`.
        let a = unsafe { Arc::<Hook>::from_raw(p.cast()) };
        (a.0)("clone");
        let b = Arc::clone(&a);
        std::mem::forget(a);
        RawWaker::new(Arc::into_raw(b).cast(), &VTABLE)
    }
    unsafe fn wake(p: *const ()) {
        // SAFETY: as in `clone`; this consumes the reference.
        let a = unsafe { Arc::<Hook>::from_raw(p.cast()) };
        (a.0)("wake");
        (a.0)("drop");
    }
    unsafe fn wake_by_ref(p: *const ()) {
        // SAFETY: as in `clone`.
        let a = unsafe { &*p.cast::<Hook>() };
        (a.0)("wake");
    }
    unsafe fn drop_w(p: *const ()) {
        // SAFETY: as in `clone`; this consumes the reference.
        let a = unsafe { Arc::<Hook>::from_raw(p.cast()) };
        (a.0)("drop");
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_w);
    let a = Arc::new(Hook(Box::new(hook)));
    // SAFETY: the vtable keeps the `Arc` count right.
    unsafe { Waker::from_raw(RawWaker::new(Arc::into_raw(a).cast(), &VTABLE)) }
}

/// Runs `f` on a thread; fails (instead of hanging the suite) if it deadlocks.
fn no_deadlock(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(()) => t.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(t.join().unwrap_err())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("deadlock: {what}"),
    }
}

type Shared<T> = Arc<std::sync::Mutex<Option<Arc<dyn Join<T>>>>>;

fn shared_handle<T>() -> Shared<T> {
    Arc::new(std::sync::Mutex::new(None))
}

fn with_handle<T>(s: &Shared<T>, f: impl FnOnce(&Arc<dyn Join<T>>)) {
    let h = s.lock().unwrap().clone();
    if let Some(h) = h {
        f(&h);
    }
}

#[test]
fn a_task_waker_that_looks_at_the_handle_on_clone_wake_and_drop_does_not_deadlock() {
    no_deadlock("task waker re-entering the handle", || {
        // Pending forever, never waking itself: only the test's wakers run hooks.
        let (mut task, join) = new(std::future::pending::<Result<u32, JoinError>>());
        let s = shared_handle::<u32>();
        *s.lock().unwrap() = Some(Arc::clone(&join));
        let seen = Arc::new(AtomicUsize::new(0));
        let (s2, seen2) = (Arc::clone(&s), Arc::clone(&seen));
        let w = hook_waker(move |_| {
            with_handle(&s2, |h| {
                assert!(!h.is_finished());
                seen2.fetch_add(1, Ordering::SeqCst);
            })
        });
        // The first pending poll clones the waker (stores it for `abort`).
        assert!(poll(&mut task, &w).is_pending());
        assert!(seen.load(Ordering::SeqCst) >= 1, "the clone hook ran");
        // A second task waker, which aborts on wake: the stored one is replaced and dropped.
        let s3 = Arc::clone(&s);
        let w2 = hook_waker(move |what| {
            if what == "wake" {
                with_handle(&s3, |h| h.abort());
            }
        });
        assert!(poll(&mut task, &w2).is_pending());
        // Abort wakes (and drops) the stored waker, which aborts again from inside.
        join.abort();
        assert!(poll(&mut task, &w2).is_ready());
        s.lock().unwrap().take();
        assert!(matches!(join_now(&join), Poll::Ready(Err(e)) if e.is_cancelled()));
    });
}

#[test]
fn a_join_waker_that_polls_the_handle_on_clone_wake_and_drop_does_not_deadlock() {
    no_deadlock("join waker re-entering the handle", || {
        let (mut task, join, _, _) = probe(1);
        let s = shared_handle::<u32>();
        *s.lock().unwrap() = Some(Arc::clone(&join));
        let (s2, s3) = (Arc::clone(&s), Arc::clone(&s));
        let w = hook_waker(move |_| with_handle(&s2, |h| assert!(!h.is_finished() || h.is_finished())));
        assert!(join.poll_join(&mut Context::from_waker(&w)).is_pending());
        // A new join waker replaces (and drops) the old one; on wake it aborts (after the end:
        // a no-op) and reads the state.
        let w2 = hook_waker(move |what| {
            with_handle(&s3, |h| {
                if what != "clone" {
                    h.abort();
                }
                if what == "wake" {
                    assert!(h.is_finished(), "woken only once the result is stored");
                }
            })
        });
        assert!(join.poll_join(&mut Context::from_waker(&w2)).is_pending());
        let (_, tw) = waker();
        assert!(poll(&mut task, &tw).is_pending());
        assert!(poll(&mut task, &tw).is_ready());
        s.lock().unwrap().take();
        assert_eq!(join_now(&join).map(Result::unwrap), Poll::Ready(7));
    });
}

#[test]
fn a_task_that_aborts_itself_on_the_fast_path_wakes_itself_and_ends_at_its_next_poll() {
    // The second poll has the same waker as the first: the pending poll takes no lock, so the
    // abort made during it must have woken the stored waker.
    let s = shared_handle::<()>();
    let s2 = Arc::clone(&s);
    let mut polls = 0;
    let body = poll_fn(move |_| {
        polls += 1;
        if polls == 2 {
            with_handle(&s2, |h| h.abort());
        }
        Poll::<Result<(), JoinError>>::Pending
    });
    let (mut task, join) = new(body);
    *s.lock().unwrap() = Some(Arc::clone(&join));
    let (wakes, w) = waker();
    assert!(poll(&mut task, &w).is_pending());
    assert!(poll(&mut task, &w).is_pending(), "the same waker: the fast path");
    assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the self-abort woke the task");
    assert!(!join.is_finished());
    assert!(poll(&mut task, &w).is_ready(), "the next poll drops the future");
    s.lock().unwrap().take();
    assert!(matches!(join_now_unit(&join), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn a_future_whose_drop_aborts_and_polls_its_own_handle_does_not_deadlock() {
    struct OnDrop(Shared<()>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            with_handle(&self.0, |h| {
                h.abort();
                assert!(!h.is_finished(), "not finished while the future is being dropped");
                let (_, w) = waker();
                assert!(h.poll_join(&mut Context::from_waker(&w)).is_pending());
            });
        }
    }
    for how in ["abort", "shutdown", "complete"] {
        no_deadlock(how, move || {
            let s = shared_handle::<()>();
            let guard = OnDrop(Arc::clone(&s));
            let body = poll_fn(move |_| {
                let _keep = &guard;
                if how == "complete" { Poll::Ready(Ok(())) } else { Poll::Pending }
            });
            let (mut task, join) = new(body);
            *s.lock().unwrap() = Some(Arc::clone(&join));
            let (_, w) = waker();
            match how {
                "abort" => {
                    assert!(poll(&mut task, &w).is_pending());
                    join.abort();
                    assert!(poll(&mut task, &w).is_ready());
                }
                "shutdown" => {
                    assert!(poll(&mut task, &w).is_pending());
                    drop(task);
                }
                _ => assert!(poll(&mut task, &w).is_ready()),
            }
            s.lock().unwrap().take();
            let r = join_now_unit(&join);
            match how {
                "complete" => assert!(matches!(r, Poll::Ready(Ok(())))),
                _ => assert!(matches!(r, Poll::Ready(Err(e)) if e.is_cancelled())),
            }
        });
    }
}

fn join_now_unit(join: &Arc<dyn Join<()>>) -> Poll<Result<(), JoinError>> {
    let (_, w) = waker();
    join.poll_join(&mut Context::from_waker(&w))
}

/// Runs its function when dropped (each case's panicking drop).
struct OnDrop(fn());

impl Drop for OnDrop {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// A body that holds `guard` and is pending forever, or (`panics`) panics with "boom in the
/// poll" at its first poll.
fn holding(guard: OnDrop, panics: bool) -> impl Future<Output = Result<(), JoinError>> + Send + 'static {
    poll_fn(move |_| {
        let _keep = &guard;
        if panics {
            panic!("boom in the poll");
        }
        Poll::Pending
    })
}

#[test]
fn a_panic_in_the_poll_and_in_the_drop_reports_the_polls_payload() {
    let (mut task, join) = new(holding(OnDrop(|| panic!("boom in the drop")), true));
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_ready(), "neither panic leaves the poll");
    let Poll::Ready(Err(e)) = join_now_unit(&join) else { panic!("not ready") };
    assert_eq!(crate::runtime::panic_message(&*e.into_panic()), "boom in the poll");
}

#[test]
fn a_drop_that_panics_at_shutdown_stays_inside_the_task() {
    let (mut task, join) = new(holding(OnDrop(|| panic!("boom at shutdown")), false));
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_pending());
    assert!(catch_unwind(AssertUnwindSafe(|| drop(task))).is_ok(), "the runtime's drop never panics");
    let Poll::Ready(Err(e)) = join_now_unit(&join) else { panic!("not ready") };
    assert_eq!(crate::runtime::panic_message(&*e.into_panic()), "boom at shutdown");
}

/// An output whose `Drop` panics.
struct PanicOnDrop;
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("an output whose drop panics");
    }
}

#[test]
fn a_detached_tasks_output_whose_drop_panics_never_reaches_the_runtime() {
    // Handle dropped first: the runtime's `Task` holds the last reference, so the output is
    // dropped when the runtime drops the task (tokio catches such a panic; smol would not).
    run_detached_to_its_end(std::future::ready(Ok::<_, JoinError>(PanicOnDrop)));
}

/// Spawns `body` with its handle dropped at once, polls it to its end and drops it, as a
/// runtime would: neither the poll nor the drop may panic.
fn run_detached_to_its_end<T: Send + 'static>(
    body: impl Future<Output = Result<T, JoinError>> + Send + 'static,
) {
    let (mut task, join) = new(body);
    drop(join);
    let (_, w) = waker();
    let polled = catch_unwind(AssertUnwindSafe(|| poll(&mut task, &w)));
    assert!(matches!(polled, Ok(Poll::Ready(()))));
    assert!(catch_unwind(AssertUnwindSafe(|| drop(task))).is_ok(), "the runtime's drop of the task panicked");
}

#[test]
fn abort_never_drops_the_future_and_join_stays_pending_until_the_runtime_does() {
    let (mut task, join, _, drops) = probe(usize::MAX);
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_pending());
    join.abort();
    join.abort();
    let (joins, jw) = waker();
    assert!(join.poll_join(&mut Context::from_waker(&jw)).is_pending());
    assert!(!join.is_finished());
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert!(poll(&mut task, &w).is_ready());
    assert_eq!(joins.0.load(Ordering::SeqCst), 1, "the join is woken once the future is dropped");
    assert!(join.is_finished());
    assert!(matches!(join_now(&join), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn a_handle_moved_to_another_waiter_wakes_the_new_one() {
    let (mut task, join, _, _) = probe(1);
    let (first, w1) = waker();
    let (second, w2) = waker();
    assert!(join.poll_join(&mut Context::from_waker(&w1)).is_pending());
    assert!(join.poll_join(&mut Context::from_waker(&w2)).is_pending());
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_pending());
    assert!(poll(&mut task, &w).is_ready());
    assert_eq!((first.0.load(Ordering::SeqCst), second.0.load(Ordering::SeqCst)), (0, 1));
}

#[test]
fn a_task_waker_that_changes_between_polls_is_the_one_abort_wakes() {
    let (mut task, join, _, _) = probe(usize::MAX);
    let (a, wa) = waker();
    let (b, wb) = waker();
    assert!(poll(&mut task, &wa).is_pending());
    assert!(poll(&mut task, &wb).is_pending());
    let (a0, b0) = (a.0.load(Ordering::SeqCst), b.0.load(Ordering::SeqCst));
    join.abort();
    assert_eq!((a.0.load(Ordering::SeqCst), b.0.load(Ordering::SeqCst)), (a0, b0 + 1));
    assert!(poll(&mut task, &wb).is_ready());
}

/// A panic payload whose own `Drop` panics (with a plain `&str`).
struct BadPayload;
impl Drop for BadPayload {
    fn drop(&mut self) {
        panic!("a panic payload whose drop panics");
    }
}

#[test]
fn a_detached_tasks_panic_payload_whose_drop_panics_never_reaches_the_runtime() {
    run_detached_to_its_end(poll_fn(|_| -> Poll<Result<(), JoinError>> {
        std::panic::panic_any(BadPayload)
    }));
}

#[test]
fn a_panic_in_the_poll_then_a_drop_panicking_with_a_bad_payload_stays_inside_the_task() {
    // The drop's payload is not reported (the poll's is): it is dropped by the cell, and its
    // own drop's panic must not leave the poll either.
    let (mut task, join) = new(holding(OnDrop(|| std::panic::panic_any(BadPayload)), true));
    let (_, w) = waker();
    let polled = catch_unwind(AssertUnwindSafe(|| poll(&mut task, &w)));
    assert!(matches!(polled, Ok(Poll::Ready(()))), "a panic left the task's poll");
    let Poll::Ready(Err(e)) = join_now_unit(&join) else { panic!("not ready") };
    assert_eq!(crate::runtime::panic_message(&*e.into_panic()), "boom in the poll");
}

#[test]
fn the_task_stays_two_words_wide() {
    assert_eq!(std::mem::size_of::<Task>(), 2 * std::mem::size_of::<usize>());
}

#[test]
fn a_handle_dropped_unawaited_after_an_output_whose_drop_panics_does_not_panic() {
    // The runtime dropped its task first: the handle drops the cell, and the output with it.
    let (mut task, join) = new(std::future::ready(Ok::<_, JoinError>(PanicOnDrop)));
    let (_, w) = waker();
    assert!(poll(&mut task, &w).is_ready());
    drop(task);
    assert!(join.is_finished());
    assert!(catch_unwind(AssertUnwindSafe(|| drop(join))).is_ok(), "dropping the handle panicked");
}

#[test]
fn a_repeated_pending_poll_with_the_same_waker_clones_nothing() {
    let clones = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&clones);
    let w = hook_waker(move |what| {
        if what == "clone" {
            c.fetch_add(1, Ordering::SeqCst);
        }
    });
    let (mut task, join) = new(std::future::pending::<Result<u32, JoinError>>());
    assert!(poll(&mut task, &w).is_pending());
    let after_first = clones.load(Ordering::SeqCst);
    assert_eq!(after_first, 2, "one copy for `abort`, one for the fast path");
    assert!(poll(&mut task, &w).is_pending());
    assert!(poll(&mut task, &w).is_pending());
    assert_eq!(clones.load(Ordering::SeqCst), after_first, "the task's fast path");
    assert!(join.poll_join(&mut Context::from_waker(&w)).is_pending());
    assert_eq!(clones.load(Ordering::SeqCst), after_first + 1);
    assert!(join.poll_join(&mut Context::from_waker(&w)).is_pending());
    assert_eq!(clones.load(Ordering::SeqCst), after_first + 1, "the same join waker is kept");
}
