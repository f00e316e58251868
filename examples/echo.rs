//! A TCP echo server and its clients in one process, with graceful shutdown on Ctrl-C or after
//! a few seconds — on tokio or smol, whichever the facade's features pick:
//!
//! ```text
//! cargo run --example echo                                           # tokio, 3 s
//! cargo run --example echo --no-default-features --features smol -- 1.5
//! ```
//!
//! The server is `TcpListener::serve`: each connection's handler is a task of its group. The
//! clients and the server run under one cancel scope; shutting down cancels that scope, and
//! when it returns every connection has been closed (the server's and the clients').

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyscope::net::{TcpListener, connect_tcp};
use anyscope::{CancelScope, TaskGroup, move_on_after, signal, spawn, task_group};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

const CLIENTS: u64 = 8;

/// Whether a client's error means the server closed the connection.
fn server_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), UnexpectedEof | ConnectionReset | BrokenPipe | ConnectionAborted)
}

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let run_for = Duration::from_secs_f64(secs);
    anyscope::run(async move {
        let listener =
            TcpListener::bind("127.0.0.1:0".parse().expect("a loopback address")).expect("binding");
        let addr = listener.local_addr().expect("the listener's address");
        println!("echo: listening on {addr}, runtime {}", anyscope::runtime::current().name());

        // Shut down on Ctrl-C, or after `run_for`.
        let scope = CancelScope::new();
        let trigger = scope.clone();
        let shutdown = spawn(async move {
            let why = match move_on_after(run_for, signal::ctrl_c()).await {
                Some(Ok(())) => "Ctrl-C",
                Some(Err(_)) | None => "time is up",
            };
            trigger.cancel_with(why);
            why
        });

        let round_trips = Arc::new(AtomicU64::new(0));
        let rt = round_trips.clone();
        let out = scope
            .run(task_group(move |tg: TaskGroup<std::io::Error>| async move {
                tg.spawn(async move {
                    listener
                        .serve(|mut conn| async move {
                            let mut buf = vec![0u8; 16 * 1024];
                            loop {
                                match conn.read(&mut buf).await {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => {
                                        if conn.write_all(&buf[..n]).await.is_err() {
                                            break;
                                        }
                                    }
                                }
                            }
                        })
                        .await
                })
                .expect("the group is open while its body runs");
                for id in 0..CLIENTS {
                    let rt = rt.clone();
                    tg.spawn(async move {
                        let mut conn = connect_tcp("127.0.0.1", addr.port()).await?;
                        let mut back = [0u8; 8];
                        for i in 0u64.. {
                            let sent = conn.write_all(&(id * 1_000_000_000 + i).to_le_bytes()).await;
                            match sent.and(conn.read_exact(&mut back).await) {
                                Ok(()) => {}
                                // The server shut down first (at shutdown, who goes first varies).
                                Err(e) if server_gone(&e) => return Ok(()),
                                Err(e) => return Err(e),
                            }
                            assert_eq!(u64::from_le_bytes(back), id * 1_000_000_000 + i, "a wrong echo");
                            rt.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(())
                    })
                    .expect("the group is open while its body runs");
                }
                Ok(())
            }))
            .await;
        let why = shutdown.await.expect("the shutdown task");
        match out {
            // Cancelled: the scope catches the cancellation at the group's exit (`None`) when it
            // cut a task off, as Trio's nursery does; `Some(Ok(()))` if every task happened to
            // end on its own first. Either way every client and handler ended and every
            // connection is closed.
            None | Some(Ok(())) => println!(
                "echo: shut down ({why}) after {} round trips by {CLIENTS} clients; every connection closed",
                round_trips.load(Ordering::Relaxed)
            ),
            Some(Err(e)) => {
                eprintln!("echo: failed: {e:?}");
                std::process::exit(1);
            }
        }
    });
}
