//! `#[anyscope::test]` and `#[anyscope::main]` as users write them.

use std::sync::Mutex;
use std::time::Duration;

use anyscope::{current_time, fail_after, sleep};

/// The runtimes the default test ran on (each generated test records its own).
static RAN_ON: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

#[anyscope::test]
async fn runs_on_every_enabled_runtime() {
    let name = anyscope::runtime::current().name();
    RAN_ON.lock().unwrap().push(name);
    assert!(["tokio", "smol", "sim"].contains(&name), "{name}");
}

#[test]
fn the_default_gives_one_named_test_per_runtime() {
    // The generated tests are ordinary functions: call each, as the harness does.
    runs_on_every_enabled_runtime::tokio();
    runs_on_every_enabled_runtime::smol();
    runs_on_every_enabled_runtime::sim();
    let ran = RAN_ON.lock().unwrap().clone();
    for rt in ["tokio", "smol", "sim"] {
        assert!(ran.contains(&rt), "{rt} missing from {ran:?}");
    }
}

/// The README's test: a one-hour timeout, in milliseconds, on the runtimes with a virtual clock
/// (smol has none: there the hour would be real).
#[anyscope::test(runtimes = [sim, tokio_paused], time_limit = Duration::from_secs(7200))]
async fn a_one_hour_timeout_runs_in_milliseconds() {
    let start = current_time();
    let out = fail_after(Duration::from_secs(3600), sleep(Duration::from_secs(86_400))).await;
    assert!(out.is_err());
    assert!(current_time() - start >= Duration::from_secs(3600));
}

#[anyscope::test(runtimes = [sim], seed = 7)]
async fn the_seed_option_fixes_the_sim_seed() {
    assert_eq!(anyscope::anyscope_sim::seed(), Some(7));
}

#[anyscope::test(runtimes = [tokio_current_thread, sim])]
async fn returns_a_result() -> Result<(), std::io::Error> {
    anyscope::run_blocking(|| Ok::<_, std::io::Error>(())).await
}

#[anyscope::test(runtimes = [sim], time_limit = Duration::from_secs(60))]
#[should_panic(expected = "did not finish within its time limit of 60s")]
async fn the_time_limit_fails_a_slow_test() {
    sleep(Duration::from_secs(3600)).await;
}

#[anyscope::test(runtimes = [sim])]
#[should_panic(expected = "the test returned an error")]
async fn an_error_fails_the_test() -> Result<(), String> {
    Err("no".to_owned())
}

#[anyscope::test]
async fn wait_all_tasks_blocked_lets_spawned_tasks_reach_their_wait() {
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = reached.clone();
    let event = std::sync::Arc::new(anyscope::Event::new());
    let e = event.clone();
    let task = anyscope::spawn(async move {
        r.store(true, std::sync::atomic::Ordering::SeqCst);
        e.wait().await;
    });
    anyscope::test_util::wait_all_tasks_blocked().await;
    if anyscope::runtime::current().name() == "sim" {
        // Exact there; a best effort elsewhere (so only checked on sim).
        assert!(reached.load(std::sync::atomic::Ordering::SeqCst));
    }
    event.set();
    task.await.unwrap();
}

#[anyscope::main]
async fn entry() -> u32 {
    anyscope::spawn(async { 6 * 7 }).await.unwrap()
}

#[test]
fn main_runs_on_the_default_runtime() {
    assert_eq!(entry(), 42);
}
