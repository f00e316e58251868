//! The simulated runtime's own promises: same seed, same interleaving; virtual time that jumps
//! only when every task is blocked; blocking calls that hold the clock's jumps; failures that say
//! their seed; deadlocks that fail instead of hanging.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyscope_core::{checkpoint, current_time, fail_after, move_on_after, run_blocking, sleep, spawn};
use anyscope_sim::{Builder, wait_all_tasks_blocked};

/// Eight tasks that each log, yield and sleep a little, three times: the order of the log is the
/// interleaving the seed chose.
fn interleaving(seed: u64) -> Vec<u32> {
    Builder::new().seed(seed).run(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..8u32)
            .map(|i| {
                let log = log.clone();
                spawn(async move {
                    for round in 0..3u32 {
                        log.lock().unwrap().push(i * 10 + round);
                        checkpoint().await;
                        sleep(Duration::from_millis(u64::from(i % 3))).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        log.lock().unwrap().clone()
    })
}

#[test]
fn same_seed_same_interleaving_other_seeds_differ() {
    for seed in [1, 2, 99] {
        assert_eq!(interleaving(seed), interleaving(seed), "seed {seed} did not replay");
    }
    let base = interleaving(1);
    assert!((2..12).any(|s| interleaving(s) != base), "ten other seeds all gave seed 1's interleaving");
}

#[test]
fn an_hour_long_timeout_takes_exactly_an_hour_of_virtual_time() {
    let (elapsed, timed_out) = anyscope_sim::run(async {
        let start = current_time();
        let out = fail_after(Duration::from_secs(3600), sleep(Duration::from_secs(86_400))).await;
        (current_time() - start, out.is_err())
    });
    assert!(timed_out);
    assert_eq!(elapsed, Duration::from_secs(3600));
}

#[test]
fn the_clock_stands_still_while_tasks_are_ready() {
    anyscope_sim::run(async {
        let start = current_time();
        let t = spawn(async { (0..100u32).sum::<u32>() });
        assert_eq!(t.await.unwrap(), 4950);
        assert_eq!(current_time(), start, "no task slept and none yielded: no virtual time passed");
    });
}

#[test]
fn a_loop_that_only_yields_reaches_its_deadline() {
    let iterations = anyscope_sim::run(async {
        let mut n = 0u64;
        let out = move_on_after(Duration::from_millis(5), async {
            loop {
                n += 1;
                checkpoint().await;
            }
        })
        .await;
        assert_eq!(out, None::<()>);
        n
    });
    // A yield costs 1 µs of virtual time: the loop ends, after thousands of turns (about 5000
    // if every checkpoint yields).
    assert!(iterations >= 1000, "{iterations} iterations");
}

#[test]
fn wait_all_tasks_blocked_returns_before_the_clock_jumps() {
    anyscope_sim::run(async {
        let start = current_time();
        let reached = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let r = reached.clone();
                spawn(async move {
                    r.fetch_add(1, Ordering::SeqCst);
                    checkpoint().await;
                    r.fetch_add(1, Ordering::SeqCst);
                    sleep(Duration::from_secs(1)).await;
                    r.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        wait_all_tasks_blocked().await;
        assert_eq!(reached.load(Ordering::SeqCst), 8, "every task ran up to its sleep");
        assert!(current_time() - start < Duration::from_millis(1), "the clock did not jump to the sleeps");
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(reached.load(Ordering::SeqCst), 12);
    });
}

#[test]
fn a_running_blocking_call_holds_the_clock_jump() {
    anyscope_sim::run(async {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        // A virtual 10 s timeout around a real 50 ms thread: the clock may not jump past it.
        let out = fail_after(
            Duration::from_secs(10),
            run_blocking(move || {
                std::thread::sleep(Duration::from_millis(50));
                d.store(true, Ordering::SeqCst);
            }),
        )
        .await;
        assert!(out.is_ok(), "the deadline passed while the thread ran");
        assert!(done.load(Ordering::SeqCst));
    });
}

#[test]
fn a_failure_says_its_seed() {
    let payload = catch_unwind(AssertUnwindSafe(|| {
        Builder::new().seed(4242).run(async {
            let joined: Result<u32, _> = spawn(async {
                sleep(Duration::from_secs(1)).await;
                panic!("boom")
            })
            .await;
            if let Err(e) = joined {
                std::panic::resume_unwind(e.into_panic());
            }
        })
    }))
    .unwrap_err();
    let msg = payload.downcast_ref::<String>().expect("a string payload");
    assert!(msg.starts_with("boom"), "{msg}");
    assert!(msg.contains("ANYSCOPE_SEED=4242"), "{msg}");
}

#[test]
fn a_deadlock_fails_with_a_clear_message() {
    let payload = catch_unwind(AssertUnwindSafe(|| {
        Builder::new().seed(1).deadlock_grace(Duration::from_millis(20)).run(async {
            let event = anyscope_core::Event::new();
            event.wait().await; // nobody will ever set it
        })
    }))
    .unwrap_err();
    let msg = payload.downcast_ref::<String>().expect("a string payload");
    assert!(msg.contains("deadlock"), "{msg}");
    assert!(msg.contains("ANYSCOPE_SEED=1"), "{msg}");
}

#[test]
fn tasks_left_running_are_dropped_when_the_run_ends() {
    let dropped = Arc::new(AtomicBool::new(false));
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let d = SetOnDrop(dropped.clone());
    anyscope_sim::run(async move {
        drop(spawn(async move {
            let _d = d;
            std::future::pending::<()>().await;
        }));
    });
    assert!(dropped.load(Ordering::SeqCst));
}

/// How many times a task that never registers its waker is polled while the root yields 100
/// times: only spurious wakes reach it after its first poll.
fn polls_of_an_unwoken_task(spurious_per_mille: u32) -> usize {
    Builder::new().seed(3).spurious_wakeups(spurious_per_mille).run(async {
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let _detached = spawn(std::future::poll_fn(move |_| {
            p.fetch_add(1, Ordering::SeqCst);
            std::task::Poll::<()>::Pending
        }));
        for _ in 0..100 {
            checkpoint().await;
        }
        polls.load(Ordering::SeqCst)
    })
}

#[test]
fn spurious_wakeups_poll_tasks_nobody_woke() {
    assert_eq!(polls_of_an_unwoken_task(0), 1, "without spurious wakes, a task nobody wakes is polled once");
    assert!(polls_of_an_unwoken_task(1000) > 10, "every step adds a spurious wake");
}
