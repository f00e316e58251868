//! `run` waits for the detached cleanups of its own run, never for another run's (DESIGN §7,
//! issue 13 §5): an empty run, on tokio or smol, returns while a cleanup detached under another
//! run (of either runtime) in the same process is still pending. And on tokio, what code outside
//! any frame detaches on the run's own threads counts for the run, which waits for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Waker};
use std::time::Duration;

use anyscope_core::runtime::{self, TaskOutput};
use anyscope_core::sync::Event;
use anyscope_core::{AsyncClose, Scoped, sleep, tracker};

type Fut = Pin<Box<dyn Future<Output = ()> + Send>>;
type Runner = fn(Fut);

fn tokio(f: Fut) {
    anyscope_tokio::run(f)
}

fn tokio_current_thread(f: Fut) {
    anyscope_tokio::run_current_thread(f)
}

fn smol(f: Fut) {
    anyscope_smol::run(f)
}

fn unique_kind(what: &str) -> &'static str {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Box::leak(format!("run_scoped::{what}#{n}").into_boxed_str())
}

/// A resource whose close waits for `gate`, then records that it closed.
struct Gated {
    kind: &'static str,
    gate: Arc<Event>,
    closed: Arc<AtomicBool>,
}

impl AsyncClose for Gated {
    type Error = std::convert::Infallible;

    async fn close(self) -> Result<(), Self::Error> {
        self.gate.wait().await;
        self.closed.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn kind(&self) -> &'static str {
        self.kind
    }
}

/// Run A detaches a cleanup that waits for a gate; an empty run B must return while the gate is
/// still closed. Then the gate opens, and A returns only after its own cleanup closed.
fn empty_run_does_not_wait_for_another_runs_cleanup(a: Runner, b: Runner) {
    let kind = unique_kind("gated");
    let gate = Arc::new(Event::new());
    let closed = Arc::new(AtomicBool::new(false));
    let (pending_tx, pending_rx) = mpsc::channel();
    let run_a = {
        let (gate, closed) = (Arc::clone(&gate), Arc::clone(&closed));
        std::thread::spawn(move || {
            let closes = Arc::clone(&closed);
            a(Box::pin(async move {
                let rt = runtime::current();
                let guard = Scoped::new(Gated { kind, gate, closed: closes });
                // A root of this run, polled once and dropped on a thread with no frame: its
                // pending close goes to one detached cleanup task of this run.
                std::thread::spawn(move || {
                    let mut root = Box::pin(runtime::with_runtime(rt, async move {
                        let _guard = guard;
                        std::future::pending::<()>().await
                    }));
                    let mut cx = Context::from_waker(Waker::noop());
                    assert!(root.as_mut().poll(&mut cx).is_pending());
                    drop(root);
                })
                .join()
                .expect("dropping a root never panics");
                assert_eq!(tracker::kind(kind).closed_detached, 0, "the gate is closed");
                pending_tx.send(()).expect("the test waits for this");
            }));
            closed.load(Ordering::SeqCst)
        })
    };
    pending_rx.recv_timeout(Duration::from_secs(60)).expect("run A detached its cleanup");

    let (done_tx, done_rx) = mpsc::channel();
    let run_b = std::thread::spawn(move || {
        b(Box::pin(async {}));
        let _ = done_tx.send(());
    });
    // Generous: B has nothing to do. On a B that waits for every run's cleanups, this times out.
    let b_returned = done_rx.recv_timeout(Duration::from_secs(30)).is_ok();
    gate.set(); // A's cleanup (and a B that waits for it) can finish now
    run_b.join().expect("run B");
    assert!(b_returned, "an empty run waited for another run's detached cleanup");
    assert!(run_a.join().expect("run A"), "run A returned before its own detached cleanup closed");
    let stats = tracker::kind(kind);
    assert_eq!((stats.closed_detached, stats.lost, stats.open()), (1, 0, 0), "{stats:?}");
}

#[test]
fn tokio_run_beside_a_tokio_runs_pending_cleanup() {
    empty_run_does_not_wait_for_another_runs_cleanup(tokio, tokio);
}

#[test]
fn smol_run_beside_a_smol_runs_pending_cleanup() {
    empty_run_does_not_wait_for_another_runs_cleanup(smol, smol);
}

#[test]
fn smol_run_beside_a_tokio_runs_pending_cleanup() {
    empty_run_does_not_wait_for_another_runs_cleanup(tokio, smol);
}

#[test]
fn tokio_current_thread_run_beside_a_smol_runs_pending_cleanup() {
    empty_run_does_not_wait_for_another_runs_cleanup(smol, tokio_current_thread);
}

/// A resource whose close takes a little while, then records that it closed.
struct Slow {
    kind: &'static str,
    closed: Arc<AtomicBool>,
}

impl AsyncClose for Slow {
    type Error = std::convert::Infallible;

    async fn close(self) -> Result<(), Self::Error> {
        sleep(Duration::from_millis(20)).await;
        self.closed.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn kind(&self) -> &'static str {
        self.kind
    }
}

/// On tokio, a guard dropped in a raw task (no frame) on the run's own runtime is closed by a
/// detached task that the run waits for: nothing is lost when the runtime shuts down after.
fn run_waits_for_what_raw_tasks_on_its_runtime_detach(run: Runner) {
    let kind = unique_kind("raw-task");
    let closed = Arc::new(AtomicBool::new(false));
    let guard = Scoped::new(Slow { kind, closed: Arc::clone(&closed) });
    run(Box::pin(async move {
        let mut raw = runtime::current().spawn(Box::pin(async move {
            drop(guard); // no anyscope frame here
            Box::new(()) as TaskOutput
        }));
        std::future::poll_fn(|cx| raw.poll_join(cx)).await.expect("the raw task");
    }));
    assert!(closed.load(Ordering::SeqCst), "run returned before the detached close finished");
    let stats = tracker::kind(kind);
    assert_eq!((stats.closed_detached, stats.lost, stats.open()), (1, 0, 0), "{stats:?}");
}

#[test]
fn tokio_run_waits_for_what_raw_tasks_detach() {
    run_waits_for_what_raw_tasks_on_its_runtime_detach(tokio);
}

#[test]
fn tokio_current_thread_run_waits_for_what_raw_tasks_detach() {
    run_waits_for_what_raw_tasks_on_its_runtime_detach(tokio_current_thread);
}
