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
    struct Boom;
    impl Drop for Boom {
        fn drop(&mut self) {
            panic!("boom in a drop");
        }
    }
    let boom = Boom;
    let body = poll_fn(move |_| {
        let _keep = &boom;
        Poll::<Result<(), JoinError>>::Pending
    });
    let (mut task, join) = new(body);
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
