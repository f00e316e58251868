//! TCP cases.

use std::net::SocketAddr;
use std::time::Duration;

use anyscope_core::net::{TcpListener, TcpStream, connect_tcp, is_closed};
use anyscope_core::{AsyncClose, CancelScope, move_on_after, sleep, spawn, task_group};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use super::util::own_connecting_to;
use crate::support::{Flag, wait_until};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A server echoes what a client sends, over loopback, in both directions.
pub async fn tcp_echo_on_loopback() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = conn.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            conn.write_all(&buf[..n]).await.unwrap();
        }
    });
    let client = connect_tcp("127.0.0.1", port).await.unwrap();
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    let msg: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let (mut rd, mut wr) = client.into_split();
    let sent = msg.clone();
    let writer = spawn(async move {
        wr.write_all(&sent).await.unwrap();
        wr.shutdown_write().unwrap();
    });
    let mut back = Vec::new();
    rd.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, msg);
    writer.await.unwrap();
    server.await.unwrap();
}

/// After the client shuts its write half down, the server reads the end of the stream and can
/// still answer.
pub async fn tcp_half_close_lets_the_peer_answer() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(async move {
        let (mut conn, peer) = listener.accept().await.unwrap();
        let mut req = Vec::new();
        conn.read_to_end(&mut req).await.unwrap();
        conn.write_all(format!("got {} bytes from {}", req.len(), peer.ip()).as_bytes()).await.unwrap();
        conn.close().await.unwrap();
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    assert_eq!(client.peer_addr().unwrap(), addr);
    client.write_all(b"hello").await.unwrap();
    client.shutdown_write().unwrap();
    let mut reply = String::new();
    client.read_to_string(&mut reply).await.unwrap();
    assert_eq!(reply, "got 5 bytes from 127.0.0.1");
    server.await.unwrap();
}

/// A connection refused is an error naming the address tried and why it failed, convertible to
/// an `io::Error` of kind `ConnectionRefused`.
pub async fn connection_refused_names_the_address() {
    if !super::util::net_supported() {
        return;
    }
    // A port that was free a moment ago: bind, read it, close.
    let port = TcpListener::bind(loopback()).unwrap().local_addr().unwrap().port();
    let err = connect_tcp("127.0.0.1", port).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert_eq!(err.attempts().len(), 1);
    assert!(!err.is_resolve());
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    let err = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// A connect that cannot complete (the listener's accept queue is full, so the kernel drops its
/// SYN) is cut off by a deadline, and no socket of it stays open: none of the process's
/// descriptors (`/proc/self/fd`) is a socket still connecting.
pub async fn connect_cut_off_by_a_deadline_leaves_no_socket_open() {
    if !super::util::net_supported() {
        return;
    }
    if !cfg!(target_os = "linux") {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the accept queue: connects succeed until it is full, then hang.
    let mut fillers = Vec::new();
    let mut hung = false;
    for _ in 0..5000 {
        match move_on_after(Duration::from_millis(500), TcpStream::connect(addr)).await {
            Some(Ok(s)) => fillers.push(s),
            Some(Err(e)) => panic!("filling the accept queue failed: {e}"),
            None => {
                hung = true;
                break;
            }
        }
    }
    assert!(hung, "the accept queue never filled");
    assert_eq!(own_connecting_to(addr.port()), 0);
    // Watch a hanging connect while it is in flight, then cut it off by its scope's deadline. (On a loaded machine a
    // filler may have timed out before the queue was full: a connect that succeeds is one more
    // filler, and the next one is tried.)
    for _ in 0..200 {
        let scope = CancelScope::new();
        let (seen, stop) = (Flag::new(), Flag::new());
        let (s2, seen2, stop2) = (scope.clone(), seen.clone(), stop.clone());
        let watcher = spawn(async move {
            while !stop2.is_set() {
                if own_connecting_to(addr.port()) > 0 {
                    seen2.set();
                    // The deadline passes now: it cuts the connect off.
                    s2.set_deadline(Some(anyscope_core::current_time()));
                    return;
                }
                sleep(Duration::from_millis(2)).await;
            }
        });
        let out = scope.run(connect_tcp("127.0.0.1", addr.port())).await;
        stop.set();
        watcher.await.unwrap();
        match out {
            Some(Ok(s)) => fillers.push(s),
            Some(Err(e)) => panic!("connecting failed: {e}"),
            None => {
                assert!(seen.is_set());
                assert_eq!(
                    own_connecting_to(addr.port()),
                    0,
                    "a socket of the cut-off connect is still open"
                );
                return;
            }
        }
    }
    panic!("no connect ever hung");
}

/// `serve` runs a handler per connection; when its scope is cancelled, every connection is
/// closed before the scope returns: each client then reads the end of the stream at once.
pub async fn serve_cancelled_closes_every_connection_before_the_scope_returns() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let scope = CancelScope::new();
    let handled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h2 = handled.clone();
    let server = scope.clone();
    let served = spawn(async move {
        server
            .run(listener.serve(move |mut conn| {
                let h = h2.clone();
                async move {
                    // Counted before the greeting: a client that read it sees the count.
                    h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    conn.write_all(b"hi").await.unwrap();
                    sleep(Duration::from_secs(3600)).await; // holds the connection open
                }
            }))
            .await
    });
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        let mut hi = [0u8; 2];
        c.read_exact(&mut hi).await.unwrap();
        clients.push(c);
    }
    assert_eq!(handled.load(std::sync::atomic::Ordering::SeqCst), 5);
    scope.cancel();
    assert!(served.await.unwrap().is_none());
    // The scope has returned: every server side is closed already, so each read ends now.
    for mut c in clients {
        let mut rest = Vec::new();
        let n = move_on_after(Duration::from_secs(10), c.read_to_end(&mut rest)).await;
        assert!(matches!(n, Some(Ok(0)) | Some(Err(_))), "a connection was left open: {n:?}");
    }
    // And the listener is closed: a new connect is refused.
    assert!(TcpStream::connect(addr).await.is_err());
}

/// A thousand connections at once, each echoing one message.
pub async fn thousand_concurrent_connections() {
    if !super::util::net_supported() {
        return;
    }
    const N: usize = 1000;
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let res: Result<(), std::io::Error> = task_group(|tg| async move {
        tg.spawn(async move {
            for _ in 0..N {
                let (mut conn, _) = listener.accept().await?;
                drop(spawn(async move {
                    let mut b = [0u8; 8];
                    conn.read_exact(&mut b).await.unwrap();
                    conn.write_all(&b).await.unwrap();
                }));
            }
            Ok(())
        })
        .unwrap();
        for i in 0..N as u64 {
            tg.spawn(async move {
                let mut c = TcpStream::connect(addr).await?;
                c.write_all(&i.to_le_bytes()).await?;
                let mut b = [0u8; 8];
                c.read_exact(&mut b).await?;
                assert_eq!(u64::from_le_bytes(b), i);
                Ok(())
            })
            .unwrap();
        }
        Ok(())
    })
    .await
    .map_err(|e| e.into_first().unwrap());
    res.unwrap();
}

/// A burst of connections waits in the listener's queue: 1,000 connects complete before the
/// server accepts any (the bundled adapters listen with a backlog of 1,024; std's 128 would leave
/// the rest of the burst waiting for SYN retries, or reset on a loaded machine).
pub async fn a_burst_of_connects_is_queued_before_any_accept() {
    if !super::util::net_supported() {
        return;
    }
    const N: usize = 1000;
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let connected = move_on_after(Duration::from_secs(20), async move {
        let mut clients = Vec::with_capacity(N);
        for _ in 0..N {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        clients
    })
    .await
    .expect("connects beyond the listen backlog waited for the server to accept");
    for mut c in connected {
        let (mut conn, _) = listener.accept().await.unwrap();
        c.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        conn.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"x");
    }
}

/// Closing a stream from another task (through its close handle) makes a read pending in the
/// owner fail with the "closed" error, instead of hanging.
pub async fn close_from_another_task_fails_a_pending_read() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let (_server, _) = listener.accept().await.unwrap(); // sends nothing
    let handle = client.close_handle();
    let reading = Flag::new();
    let r2 = reading.clone();
    let reader = spawn(async move {
        r2.set();
        let mut b = [0u8; 16];
        client.read(&mut b).await
    });
    wait_until("the read is pending", || reading.is_set()).await;
    sleep(Duration::from_millis(20)).await;
    handle.close();
    let res = move_on_after(Duration::from_secs(10), reader).await.expect("the read hung").unwrap();
    let err = res.unwrap_err();
    assert!(is_closed(&err), "{err}");
    assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
}

/// A stream used after it was closed (through a handle) reports the "closed" error on reads and
/// writes alike.
pub async fn use_after_close_is_an_error() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    client.close_handle().close();
    client.close_handle().close(); // idempotent
    let mut b = [0u8; 4];
    assert!(is_closed(&client.read(&mut b).await.unwrap_err()));
    assert!(is_closed(&client.write_all(b"x").await.unwrap_err()));
}

/// The two halves of a split stream work from two tasks at once.
pub async fn split_halves_work_from_two_tasks() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (mut crd, mut cwr) = client.into_split();
    let (mut srd, mut swr) = server.into_split();
    // Each side writes 1 MiB while reading the other's: neither blocks the other.
    let mb: Vec<u8> = vec![7u8; 1 << 20];
    let (m1, m2) = (mb.clone(), mb.clone());
    let w1 = spawn(async move { cwr.write_all(&m1).await.map(|_| cwr) });
    let w2 = spawn(async move { swr.write_all(&m2).await.map(|_| swr) });
    let mut b1 = vec![0u8; 1 << 20];
    let mut b2 = vec![0u8; 1 << 20];
    srd.read_exact(&mut b1).await.unwrap();
    crd.read_exact(&mut b2).await.unwrap();
    assert!(w1.await.unwrap().is_ok() && w2.await.unwrap().is_ok());
    assert_eq!(b1, mb);
    assert_eq!(b2, mb);
}

/// `connect_tcp` resolves a name (on the blocking offload) and connects to one of its
/// addresses.
pub async fn connect_tcp_resolves_localhost() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let port = listener.local_addr().unwrap().port();
    // `localhost` may resolve to ::1 first, where nothing listens: Happy Eyeballs goes on to
    // 127.0.0.1.
    let client = connect_tcp("localhost", port).await.unwrap();
    assert_eq!(client.peer_addr().unwrap().port(), port);
    let (_conn, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    let err = connect_tcp("name.that.does.not.resolve.invalid", port).await.unwrap_err();
    assert!(err.is_resolve(), "{err}");
    assert!(err.to_string().contains("name.that.does.not.resolve.invalid"));
}

/// A stream is an `AsyncClose` resource: `using` closes it gracefully after the body, and the
/// peer reads an orderly end of the stream; a closed listener refuses connections.
pub async fn tcp_stream_is_an_async_close_resource() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind(loopback()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let res = anyscope_core::using(client, async |c: &mut TcpStream| c.set_nodelay(true)).await;
    assert!(res.is_ok());
    let mut rest = Vec::new();
    assert_eq!(server.read_to_end(&mut rest).await.unwrap(), 0);
    // A listener is a resource too: closed, it refuses connections.
    let addr = listener.local_addr().unwrap();
    listener.close().await.unwrap();
    assert_eq!(TcpStream::connect(addr).await.unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);
}
