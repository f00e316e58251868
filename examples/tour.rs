//! A guided tour of anyscope: each stop shows one feature and prints what it does.
//!
//! ```text
//! cargo run --example tour                                        # on tokio (the default)
//! cargo run --example tour --no-default-features --features smol  # on smol
//! ```
//!
//! Each stop is one function; the tour grows a stop per feature.

use std::time::Duration;

use anyscope::{CancelScope, checkpoint, move_on_after, run_blocking, shield, sleep, spawn};

fn main() {
    println!("anyscope tour (default runtime: {:?})", anyscope::RuntimeKind::DEFAULT);
    anyscope::run(async {
        stop("the ambient runtime", runtime_stop()).await;
        stop("spawning and joining tasks", tasks_stop()).await;
        stop("offloading a blocking call", blocking_stop()).await;
        stop("a timeout", timeout_stop()).await;
        stop("a shielded step inside a timeout", shield_stop()).await;
        stop("why was I cancelled?", reason_stop()).await;
    });
    println!("\nend of the tour");
}

/// Prints a stop's title, then runs it.
async fn stop(title: &str, body: impl Future<Output = ()>) {
    println!("\n== {title}");
    body.await;
}

/// Core functions find the runtime without a parameter: `anyscope::run` made it ambient.
async fn runtime_stop() {
    let rt = anyscope::runtime::current();
    println!("running on {}", rt.name());
    let in_task = spawn(async { anyscope::runtime::current().name() }).await.unwrap();
    println!("a spawned task sees the same runtime: {in_task}");
}

/// Tasks run in parallel on the runtime; their handles give back their outputs.
async fn tasks_stop() {
    let handles: Vec<_> = (1..=3u64)
        .map(|i| {
            println!("spawning task {i} (sleeps {} ms)", 40 - 10 * i);
            spawn(async move {
                sleep(Duration::from_millis(40 - 10 * i)).await;
                println!("  task {i} finished");
                i * 10
            })
        })
        .collect();
    let mut outputs = Vec::new();
    for h in handles {
        outputs.push(h.await.expect("the task neither panicked nor was cancelled"));
    }
    println!("joined all three, in spawn order: {outputs:?}");
}

/// A blocking function runs on a thread of its own, not on the async threads.
async fn blocking_stop() {
    let caller = std::thread::current().id();
    let (sum, thread) = run_blocking(|| {
        std::thread::sleep(Duration::from_millis(20)); // stands for blocking I/O or heavy CPU work
        ((1..=1_000_000u64).sum::<u64>(), std::thread::current().id())
    })
    .await;
    println!("run_blocking summed 1..=1e6 = {sum} on {thread:?} (the caller runs on {caller:?})");
}

/// `move_on_after` gives up on a body after a while, quietly: `None` means the deadline hit.
async fn timeout_stop() {
    let start = anyscope::current_time();
    let out = move_on_after(Duration::from_millis(50), async {
        sleep(Duration::from_secs(3600)).await;
        "slept an hour"
    })
    .await;
    println!("move_on_after(50 ms, sleep(1 h)) -> {out:?} after {:?}", start.elapsed());
}

/// A shielded step finishes even though the deadline around it passes in the middle; the
/// cancellation is delivered at the first unshielded suspension after it.
async fn shield_stop() {
    let out = move_on_after(Duration::from_millis(20), async {
        let saved = shield(async {
            sleep(Duration::from_millis(60)).await; // outlives the 20 ms deadline
            println!("  the shielded step finished (saving state)");
            "saved"
        })
        .await;
        println!("  after the shield: {saved}, the deadline is delivered at the next sleep");
        sleep(Duration::from_secs(3600)).await;
        println!("  never printed");
    })
    .await;
    println!("move_on_after(20 ms, shielded 60 ms step, then sleep(1 h)) -> {out:?}");
}

/// A scope cancelled with a reason: the reason is there to read after it caught.
async fn reason_stop() {
    let scope = CancelScope::new();
    let handle = scope.clone();
    let out = scope
        .run(async move {
            handle.cancel_with("user pressed stop");
            checkpoint().await; // the cancellation is delivered here
            "not reached"
        })
        .await;
    println!("the scope returned {out:?}, caught: {}", scope.cancelled_caught());
    match scope.cancel_reason() {
        Some(reason) => println!("reason: {reason} (message: {:?})", reason.message()),
        None => panic!("the scope was cancelled, it must have a reason"),
    }
}
