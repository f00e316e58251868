//! AnyIO's `tests/test_sockets.py`, the subset `net` documents and the earlier cases left out:
//! the end of the stream after the peer closed (every read, not just the first) and a write to
//! a closed peer failing instead of hanging, a large transfer read in small pieces, reads and
//! datagram receives cut off by deadlines losing nothing, and a close through a handle seen by
//! the peer as the end of the stream.

use std::net::SocketAddr;
use std::time::Duration;

use anyscope_core::net::{TcpListener, TcpStream, UdpSocket};
use anyscope_core::{AsyncClose, fail_after, move_on_after, spawn};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use super::util::net_supported;

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A connected pair on loopback: (client, server side).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(loopback()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// `test_receive_after_close`-like: once the peer has closed, what it sent before is read, then
/// every read returns the end of the stream (0), not an error; a write to the closed peer fails
/// within a few attempts (the peer's socket is gone), never hangs.
pub async fn tcp_read_after_the_peer_closed_is_end_of_stream_every_time() {
    if !net_supported() {
        return;
    }
    let (mut client, mut server) = pair().await;
    server.write_all(b"last words").await.unwrap();
    server.close().await.unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"last words");
    let mut buf = [0u8; 16];
    for _ in 0..3 {
        assert_eq!(client.read(&mut buf).await.unwrap(), 0, "end of stream again");
    }
    let failed = fail_after(Duration::from_secs(20), async {
        loop {
            if let Err(e) = client.write(b"anyone there?").await {
                break e;
            }
            anyscope_core::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("writes to a closed peer never failed");
    assert!(
        matches!(failed.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset),
        "{failed:?}"
    );
}

/// `test_send_large_buffer`: 4 MiB written at once arrive whole and in order, read in small
/// pieces.
pub async fn tcp_large_write_arrives_whole() {
    if !net_supported() {
        return;
    }
    let (mut client, mut server) = pair().await;
    let data: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 241) as u8).collect();
    let sent = data.clone();
    let writer = spawn(async move {
        server.write_all(&sent).await.unwrap();
        server.close().await.unwrap();
    });
    let mut got = Vec::with_capacity(data.len());
    let mut buf = [0u8; 1500];
    loop {
        let n = client.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    writer.await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes reordered or corrupted");
}

/// `test_receive_timeout`: reads cut off by deadlines (zero, or short) while the peer writes in
/// pieces lose no byte: reading on afterwards sees everything in order.
pub async fn tcp_reads_cut_off_lose_no_byte() {
    if !net_supported() {
        return;
    }
    let (mut client, mut server) = pair().await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 239) as u8).collect();
    let sent = data.clone();
    let writer = spawn(async move {
        for piece in sent.chunks(7_000) {
            server.write_all(piece).await.unwrap();
            anyscope_core::sleep(Duration::from_micros(200)).await;
        }
        server.close().await.unwrap();
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 3000];
    let mut cut = 0u32;
    for round in 0..100_000u32 {
        let limit = Duration::from_micros([0, 100, 5_000_000][(round % 3) as usize]);
        match move_on_after(limit, client.read(&mut buf)).await {
            Some(Ok(0)) => break,
            Some(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Some(Err(e)) => panic!("read failed: {e}"),
            None => cut += 1,
        }
    }
    writer.await.unwrap();
    assert!(cut > 0, "no read was cut off");
    assert_eq!(got.len(), data.len(), "bytes lost");
    assert!(got == data, "bytes reordered");
}

/// Datagram receives cut off by deadlines lose no datagram: each one sent is received once.
pub async fn udp_receives_cut_off_lose_no_datagram() {
    if !net_supported() {
        return;
    }
    let a = UdpSocket::bind(loopback()).unwrap();
    let b = UdpSocket::bind(loopback()).unwrap();
    let to = b.local_addr().unwrap();
    const N: u32 = 200;
    let sender = spawn(async move {
        for i in 0..N {
            a.send_to(&i.to_be_bytes(), to).await.unwrap();
            if i % 8 == 0 {
                anyscope_core::sleep(Duration::from_micros(300)).await;
            }
        }
        a
    });
    let mut seen = Vec::new();
    let mut buf = [0u8; 16];
    let mut cut = 0u32;
    let mut round = 0u32;
    while seen.len() < N as usize {
        round += 1;
        let limit = Duration::from_micros([0, 50, 20_000_000][(round % 3) as usize]);
        match move_on_after(limit, b.recv_from(&mut buf)).await {
            Some(r) => {
                let (n, _) = r.unwrap();
                assert_eq!(n, 4);
                seen.push(u32::from_be_bytes(buf[..4].try_into().unwrap()));
            }
            None => cut += 1,
        }
    }
    let _a = sender.await.unwrap();
    assert!(cut > 0, "no receive was cut off");
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "a datagram lost or received twice");
}

/// A stream closed through its close handle (from another task, the stream itself still held)
/// gives the peer blocked in a read the end of the stream, not a hang.
pub async fn close_handle_gives_the_peer_the_end_of_stream() {
    if !net_supported() {
        return;
    }
    let (client, mut server) = pair().await;
    let reader = spawn(async move {
        let mut buf = [0u8; 8];
        server.read(&mut buf).await
    });
    anyscope_core::sleep(Duration::from_millis(10)).await;
    let handle = client.close_handle();
    spawn(async move { handle.close() }).await.unwrap();
    let n = fail_after(Duration::from_secs(20), reader).await.expect("the peer's read hung");
    assert_eq!(n.unwrap().unwrap(), 0);
    drop(client);
}

/// `test_close_during_receive` on a Unix socket: closing it through its handle from another
/// task makes the owner's pending read fail with the "closed" error, and the peer reads the end
/// of the stream.
pub async fn unix_close_from_another_task_fails_a_pending_read() {
    if !net_supported() {
        return;
    }
    #[cfg(unix)]
    {
        use anyscope_core::net::{UnixListener, UnixStream, is_closed};

        let path = super::util::temp_path("close-during-receive");
        let listener = UnixListener::bind(&path).unwrap();
        let mut client = UnixStream::connect(&path).await.unwrap();
        let mut server = listener.accept().await.unwrap();
        let handle = client.close_handle();
        let reading = spawn(async move {
            let mut buf = [0u8; 8];
            client.read(&mut buf).await
        });
        anyscope_core::sleep(Duration::from_millis(10)).await;
        spawn(async move { handle.close() }).await.unwrap();
        let err =
            fail_after(Duration::from_secs(20), reading).await.expect("the read hung").unwrap().unwrap_err();
        assert!(is_closed(&err), "{err:?}");
        let mut buf = [0u8; 8];
        assert_eq!(fail_after(Duration::from_secs(20), server.read(&mut buf)).await.unwrap().unwrap(), 0);
        std::fs::remove_file(&path).unwrap();
    }
}
