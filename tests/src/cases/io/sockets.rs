//! UDP and Unix socket cases, and signals.

use std::time::Duration;

use anyscope_core::move_on_after;
use anyscope_core::net::UdpSocket;
use anyscope_core::signal::{self, Signal};
use futures_lite::StreamExt;

/// A datagram goes to a peer and its answer comes back, on loopback.
pub async fn udp_round_trip() {
    if !super::util::net_supported() {
        return;
    }
    let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let echo = anyscope_core::spawn(async move {
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        b.send_to(&buf[..n], from).await.unwrap();
        from
    });
    assert_eq!(a.send_to(b"ping", ba).await.unwrap(), 4);
    let mut buf = [0u8; 64];
    let (n, from) =
        move_on_after(Duration::from_secs(10), a.recv_from(&mut buf)).await.expect("no answer").unwrap();
    assert_eq!((&buf[..n], from), (&b"ping"[..], ba));
    assert_eq!(echo.await.unwrap(), aa);
}

/// A Unix stream socket carries bytes both ways and its peer reads the end of the stream.
pub async fn unix_socket_echo() {
    if !super::util::net_supported() {
        return;
    }
    #[cfg(unix)]
    unix_echo().await;
}

#[cfg(unix)]
async fn unix_echo() {
    use anyscope_core::AsyncClose;
    use anyscope_core::net::{UnixListener, UnixStream};
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    let path = super::util::temp_path("sock");
    let listener = UnixListener::bind(&path).unwrap();
    assert_eq!(listener.path(), path.as_path());
    let server = anyscope_core::spawn(async move {
        let mut conn = listener.accept().await.unwrap();
        let mut req = Vec::new();
        conn.read_to_end(&mut req).await.unwrap();
        req.reverse();
        conn.write_all(&req).await.unwrap();
        conn.close().await.unwrap();
    });
    let mut c = UnixStream::connect(&path).await.unwrap();
    c.write_all(b"abc").await.unwrap();
    c.shutdown_write().unwrap();
    let mut back = Vec::new();
    c.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"cba");
    server.await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = UnixStream::connect(&path).await.unwrap_err();
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
}

/// Sends `sig` to this process with the `kill` command.
fn kill_self(sig: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(std::process::id().to_string())
        .status()
        .expect("running `kill`");
    assert!(status.success());
}

/// A signal sent to the process is delivered to a receiver of it.
pub async fn signal_delivered_to_a_receiver() {
    if !super::util::net_supported() {
        return;
    }
    if !cfg!(unix) {
        return;
    }
    let mut rx = signal::signals(&[Signal::User1]).unwrap();
    kill_self("USR1");
    let got = move_on_after(Duration::from_secs(10), rx.next()).await.expect("no signal arrived");
    assert_eq!(got, Some(Signal::User1));
}

/// A receiver of several signals tells which one arrived.
pub async fn signal_receiver_names_the_signal() {
    if !super::util::net_supported() {
        return;
    }
    if !cfg!(unix) {
        return;
    }
    let mut rx = signal::signals(&[Signal::User1, Signal::User2]).unwrap();
    kill_self("USR2");
    // Another case of the process may send USR1 meanwhile: wait for the USR2.
    let got = move_on_after(Duration::from_secs(10), async {
        loop {
            match rx.next().await {
                Some(Signal::User2) => return true,
                Some(_) => continue,
                None => return false,
            }
        }
    })
    .await;
    assert_eq!(got, Some(true));
}
