//! A guided tour of anyscope: each stop shows one feature and prints what it does.
//!
//! ```text
//! cargo run --example tour                                        # on tokio (the default)
//! cargo run --example tour --no-default-features --features smol  # on smol
//! ```
//!
//! Each stop is one function; the tour grows a stop per feature.

use std::time::Duration;

use std::sync::Arc;

use anyscope::group::task_group;
use anyscope::{
    AsyncClose, CancelScope, Scoped, channel, checkpoint, move_on_after, run_blocking, shield, sleep, spawn,
};

fn main() {
    println!("anyscope tour (default runtime: {:?})", anyscope::RuntimeKind::DEFAULT);
    anyscope::run(async {
        stop("the ambient runtime", runtime_stop()).await;
        stop("spawning and joining tasks", tasks_stop()).await;
        stop("offloading a blocking call", blocking_stop()).await;
        stop("a timeout", timeout_stop()).await;
        stop("a shielded step inside a timeout", shield_stop()).await;
        stop("why was I cancelled?", reason_stop()).await;
        stop("a timeout cuts off a body that holds resources", resources_stop()).await;
        stop("a task group: one worker fails, the others are cancelled", group_stop()).await;
        stop("a stream between a producer and a group of consumers", stream_stop()).await;
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

/// A simulated connection whose close is awaited (it says goodbye to the server).
struct Conn(String);

impl Conn {
    fn open(name: &str) -> Scoped<Conn> {
        println!("  open {name}");
        Scoped::new(Conn(name.to_string()))
    }
}

impl AsyncClose for Conn {
    type Error = std::convert::Infallible;

    async fn close(self) -> Result<(), Self::Error> {
        sleep(Duration::from_millis(5)).await; // an awaited goodbye
        println!("  closed {} (awaited)", self.0);
        Ok(())
    }
}

/// A guard dropped unclosed hands its close to the scope, which runs it — shielded, in reverse
/// order of opening — before it returns, even when a deadline cut the body off.
async fn resources_stop() {
    let out = move_on_after(Duration::from_millis(20), async {
        let _db = Conn::open("db");
        let _cache = Conn::open("cache");
        let _queue = Conn::open("queue");
        println!("  working... (for an hour)");
        sleep(Duration::from_secs(3600)).await;
    })
    .await;
    println!("move_on_after returned {out:?}, after every close above had finished");
}

/// Workers share one resource opened around the group; one fails, the group cancels the others,
/// their cleanups run, the error comes back, and the shared resource closes last.
async fn group_stop() {
    let shared = Conn::open("shared db");
    let name = Arc::new(shared.0.clone());
    let result = task_group(|tg| async move {
        for i in 1..=3u64 {
            let name = Arc::clone(&name);
            tg.spawn(async move {
                let _scratch = Conn::open(&format!("worker {i} scratch table"));
                println!("  worker {i} queries {name}");
                sleep(Duration::from_millis(20 * i)).await;
                if i == 1 {
                    println!("  worker 1 fails");
                    return Err(format!("worker {i}: query failed"));
                }
                sleep(Duration::from_secs(3600)).await; // cancelled by the group
                Ok(())
            })
            .expect("the group is open");
        }
        Ok(())
    })
    .await;
    match result {
        Ok(()) => println!("the group succeeded"),
        Err(errors) => println!("the group reported: {errors}"),
    }
    shared.close().await.expect("closing the shared db");
    println!("the shared db closed after every worker had ended");
}

/// A producer feeds a bounded stream; a group of consumers shares the receiving end. When the
/// producer is done and drops its end, the consumers see the end of the stream.
async fn stream_stop() {
    let (tx, rx) = channel::<u32>(2);
    let result = task_group(|tg| async move {
        tg.spawn(async move {
            for item in 1..=6 {
                tx.send(item).await.map_err(|e| e.to_string())?;
                println!("  producer sent {item}");
            }
            println!("  producer done: its end closes");
            Ok(())
        })
        .expect("the group is open");
        for c in 1..=2 {
            let rx = rx.clone();
            tg.spawn(async move {
                while let Ok(item) = rx.recv().await {
                    println!("  consumer {c} got {item}");
                    sleep(Duration::from_millis(5)).await; // process it
                }
                println!("  consumer {c}: end of stream");
                Ok(())
            })
            .expect("the group is open");
        }
        Ok::<_, String>(())
    })
    .await;
    println!("the pipeline finished: {result:?}");
}
