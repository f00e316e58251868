//! Edge cases of the `io` area found by review: bad input, cancellation, use after close, a close
//! from another task during a pending write, 1,000 blocking calls through a small limiter.

use std::io::SeekFrom;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyscope_core::fs::{File, TempDir, open_file};
use anyscope_core::net::{TcpListener, TcpStream, UdpSocket};
use anyscope_core::sync::CapacityLimiter;
use anyscope_core::{AsyncClose, move_on_after, run_blocking};
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// A seek relative to the position counts every byte accepted by a write, including those
/// queued behind the write in flight.
pub async fn file_seek_counts_queued_writes() {
    let dir = TempDir::new().await.unwrap();
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true);
    let mut f = open_file(dir.path().join("q"), &opts).await.unwrap();
    let mut total = 0u64;
    for i in 0..200u32 {
        let piece = format!("{i};");
        f.write_all(piece.as_bytes()).await.unwrap();
        total += piece.len() as u64;
    }
    assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), total);
    assert_eq!(f.seek(SeekFrom::End(0)).await.unwrap(), total);
    f.seek(SeekFrom::Start(0)).await.unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).await.unwrap();
    assert!(s.starts_with("0;1;2;") && s.ends_with("199;"), "{s}");
    f.close().await.unwrap();
}

/// A read cut off by a deadline (of zero, or short) loses no byte: reading on afterwards sees
/// the whole file in order.
pub async fn file_read_cut_off_loses_nothing() {
    let dir = TempDir::new().await.unwrap();
    let path = dir.path().join("r");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    anyscope_core::fs::write(&path, &data).await.unwrap();
    let mut f = File::open(&path).await.unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1000];
    for round in 0..400u32 {
        let limit = if round % 2 == 0 { Duration::ZERO } else { Duration::from_micros(50) };
        if let Some(r) = move_on_after(limit, f.read(&mut buf)).await {
            let n = r.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
    }
    f.read_to_end(&mut got).await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes lost or reordered");
}

/// Reading a file opened for writing only is an error naming the path, not a hang.
pub async fn file_read_on_write_only_is_an_error() {
    let dir = TempDir::new().await.unwrap();
    let path = dir.path().join("w");
    let mut f = File::create(&path).await.unwrap();
    let mut buf = [0u8; 4];
    let err = move_on_after(Duration::from_secs(20), f.read(&mut buf)).await.expect("hung").unwrap_err();
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    f.close().await.unwrap();
}

/// Closing a stream from another task while a write is pending (the peer reads nothing, the
/// buffers are full) fails the write with the "closed" error.
pub async fn close_from_another_task_fails_a_pending_write() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (_server, _) = listener.accept().await.unwrap();
    let handle = client.close_handle();
    let closer = anyscope_core::spawn(async move {
        anyscope_core::sleep(Duration::from_millis(200)).await;
        handle.close();
    });
    let chunk = vec![7u8; 64 * 1024];
    let res = move_on_after(Duration::from_secs(30), async {
        loop {
            client.write_all(&chunk).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    })
    .await
    .expect("a pending write was not woken by a close from another task");
    let err = res.unwrap_err();
    assert!(anyscope_core::net::is_closed(&err), "{err}");
    closer.await.unwrap();
    // Use after close is an error too.
    let err = client.write(b"x").await.unwrap_err();
    assert!(anyscope_core::net::is_closed(&err), "{err}");
}

/// A datagram larger than UDP allows is an error at once, not a hang.
pub async fn udp_oversized_datagram_is_an_error() {
    if !super::util::net_supported() {
        return;
    }
    let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let big = vec![0u8; 70_000];
    let res = move_on_after(Duration::from_secs(20), a.send_to(&big, b.local_addr().unwrap())).await;
    assert!(res.expect("hung").is_err());
    // The socket still works.
    assert_eq!(a.send_to(b"ok", b.local_addr().unwrap()).await.unwrap(), 2);
    let mut buf = [0u8; 8];
    let (n, _) = b.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"ok");
}

/// Inside a cancelled scope a blocking call is not started (it is a checkpoint).
pub async fn run_blocking_in_a_cancelled_scope_does_not_start() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let past = anyscope_core::current_time() - Duration::from_secs(1);
    let out = anyscope_core::move_on_at(past, run_blocking(move || r.store(true, Ordering::SeqCst))).await;
    assert!(out.is_none());
    assert!(!ran.load(Ordering::SeqCst));
}

/// 1,000 blocking calls at once through a limiter of 4 never run more than 4 at a time, and
/// all of them run.
pub async fn thousand_blocking_calls_respect_their_limiter() {
    let limiter = Arc::new(CapacityLimiter::new(4));
    let (now, max, done) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    anyscope_core::task_group(|tg| {
        let (limiter, now, max, done) = (limiter.clone(), now.clone(), max.clone(), done.clone());
        async move {
            for _ in 0..1000 {
                let (l, now, max, done) = (limiter.clone(), now.clone(), max.clone(), done.clone());
                tg.spawn(async move {
                    run_blocking(move || {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(n, Ordering::SeqCst);
                        std::thread::yield_now();
                        now.fetch_sub(1, Ordering::SeqCst);
                        done.fetch_add(1, Ordering::SeqCst);
                    })
                    .limiter(l)
                    .await;
                    Ok::<(), std::convert::Infallible>(())
                })
                .unwrap();
            }
            Ok::<(), std::convert::Infallible>(())
        }
    })
    .await
    .unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 1000);
    assert!(max.load(Ordering::SeqCst) <= 4, "{} at once", max.load(Ordering::SeqCst));
    assert_eq!(limiter.borrowed_tokens(), 0);
}

/// `from_thread` outside a blocking call is an error, not a hang or a panic.
pub async fn from_thread_outside_a_blocking_call_is_an_error() {
    let outcome = std::thread::spawn(|| {
        let r = anyscope_core::from_thread::run(async { 1 });
        (r.is_err(), anyscope_core::from_thread::check_cancelled().is_err())
    })
    .join()
    .unwrap();
    assert_eq!(outcome, (true, true));
    assert!(anyscope_core::from_thread::run(async { 1 }).is_err());
}

/// Binding a Unix listener where a file exists is an error naming the path.
pub async fn unix_bind_on_an_existing_path_names_it() {
    if !super::util::net_supported() {
        return;
    }
    #[cfg(unix)]
    {
        let path = super::util::temp_path("exists");
        std::fs::write(&path, b"x").unwrap();
        let err = anyscope_core::net::UnixListener::bind(&path).unwrap_err();
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        std::fs::remove_file(&path).unwrap();
    }
}

/// A read into an empty buffer returns 0 at once with no data pending (as `std`), not when data
/// arrives.
pub async fn empty_read_returns_at_once() {
    if !super::util::net_supported() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (_server, _) = listener.accept().await.unwrap();
    let n = move_on_after(Duration::from_secs(10), client.read(&mut [])).await;
    assert_eq!(n.expect("an empty read waits for data").unwrap(), 0);
}

/// Every anyscope awaitable is a checkpoint (DESIGN): inside a scope whose deadline has passed,
/// an accept, a read, a write, a send and a receive do not complete, even when ready.
pub async fn socket_operations_are_checkpoints() {
    if !super::util::net_supported() {
        return;
    }
    let past = || anyscope_core::current_time() - Duration::from_secs(1);
    let ready = || anyscope_core::sleep(Duration::from_millis(100));
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ready().await;
    assert!(anyscope_core::move_on_at(past(), listener.accept()).await.is_none(), "accept");
    let (mut server, _) = listener.accept().await.unwrap();
    server.write_all(b"abc").await.unwrap();
    ready().await;
    let mut buf = [0u8; 3];
    assert!(anyscope_core::move_on_at(past(), client.read(&mut buf)).await.is_none(), "read");
    assert!(anyscope_core::move_on_at(past(), client.write(b"x")).await.is_none(), "write");
    // Nothing was lost: the bytes are still there.
    client.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"abc");
    let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let to = b.local_addr().unwrap();
    assert!(anyscope_core::move_on_at(past(), a.send_to(b"x", to)).await.is_none(), "send_to");
    a.send_to(b"y", to).await.unwrap();
    ready().await;
    assert!(anyscope_core::move_on_at(past(), b.recv_from(&mut buf)).await.is_none(), "recv_from");
    let (n, _) = b.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"y");
}
