//! Rows of real I/O (issue 15): TCP echo throughput with 64 KiB messages and connect+accept,
//! against raw tokio `TcpStream` and async-net; 1 MiB file write and read, against `tokio::fs`
//! and async-fs. Loopback only.
//!
//! Each side runs the same work on the same runtime: a server task echoing, a client writing a
//! message and reading it back; for files, a write of 1 MiB in 64 KiB writes then a close, and
//! a read to the end.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Config, Row, measure, per_unit};
use crate::rt::Runtimes;

type Sample = Pin<Box<dyn Future<Output = f64>>>;

const MSG: usize = 64 * 1024;
const FILE: usize = 1024 * 1024;

/// Measures ours and the baseline on tokio (against raw tokio) and on smol (against the
/// async-net / async-fs side on the same executor).
#[allow(clippy::too_many_arguments)]
fn pair(
    rts: &Runtimes,
    cfg: Config,
    rows: &mut Vec<Row>,
    id: &str,
    target: f64,
    ours: impl Fn() -> Sample,
    tok: impl Fn() -> Sample,
    tok_name: &'static str,
    sm: impl Fn() -> Sample,
    sm_name: &'static str,
) {
    let m = measure(cfg.rounds, &mut [&mut || rts.ours_tokio(ours()), &mut || rts.base_tokio(tok())]);
    rows.push(m.row(id, "tokio", tok_name, (0, 1), Some(target)));
    let m = measure(cfg.rounds, &mut [&mut || rts.ours_smol(ours()), &mut || rts.base_smol(sm())]);
    rows.push(m.row(id, "smol", sm_name, (0, 1), Some(target)));
}

fn loopback() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("loopback")
}

/// TCP echo: ns per byte echoed, 64 KiB messages.
pub(crate) fn tcp_echo(rts: &Runtimes, cfg: Config, rows: &mut Vec<Row>) {
    let msgs = cfg.pick(256, 32);
    let bytes = msgs * MSG;
    let ours = move || -> Sample {
        Box::pin(async move {
            use anyscope_core::net::{TcpListener, TcpStream};
            let l = TcpListener::bind(loopback()).expect("bind");
            let addr = l.local_addr().expect("addr");
            let server = anyscope_core::spawn(async move {
                let (mut s, _) = l.accept().await.expect("accept");
                let mut buf = vec![0u8; MSG];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => s.write_all(&buf[..n]).await.expect("echo"),
                    }
                }
            });
            let mut c = TcpStream::connect(addr).await.expect("connect");
            let (msg, mut back) = (vec![5u8; MSG], vec![0u8; MSG]);
            let t0 = Instant::now();
            for _ in 0..msgs {
                c.write_all(&msg).await.expect("write");
                c.read_exact(&mut back).await.expect("read");
            }
            let ns = per_unit(t0, bytes);
            c.shutdown_write().expect("shutdown");
            server.await.expect("server");
            ns
        })
    };
    let tok = move || -> Sample {
        Box::pin(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let l = tokio::net::TcpListener::bind(loopback()).await.expect("bind");
            let addr = l.local_addr().expect("addr");
            let server = tokio::spawn(async move {
                let (mut s, _) = l.accept().await.expect("accept");
                let mut buf = vec![0u8; MSG];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => s.write_all(&buf[..n]).await.expect("echo"),
                    }
                }
            });
            let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (msg, mut back) = (vec![5u8; MSG], vec![0u8; MSG]);
            let t0 = Instant::now();
            for _ in 0..msgs {
                c.write_all(&msg).await.expect("write");
                c.read_exact(&mut back).await.expect("read");
            }
            let ns = per_unit(t0, bytes);
            c.shutdown().await.expect("shutdown");
            server.await.expect("server");
            ns
        })
    };
    let ex = Arc::clone(&rts.smol);
    let sm = move || -> Sample {
        let ex = Arc::clone(&ex);
        Box::pin(async move {
            let l = async_net::TcpListener::bind(loopback()).await.expect("bind");
            let addr = l.local_addr().expect("addr");
            let server = ex.spawn(async move {
                let (mut s, _) = l.accept().await.expect("accept");
                let mut buf = vec![0u8; MSG];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => s.write_all(&buf[..n]).await.expect("echo"),
                    }
                }
            });
            let mut c = async_net::TcpStream::connect(addr).await.expect("connect");
            let (msg, mut back) = (vec![5u8; MSG], vec![0u8; MSG]);
            let t0 = Instant::now();
            for _ in 0..msgs {
                c.write_all(&msg).await.expect("write");
                c.read_exact(&mut back).await.expect("read");
            }
            let ns = per_unit(t0, bytes);
            c.shutdown(std::net::Shutdown::Write).expect("shutdown");
            server.await;
            ns
        })
    };
    pair(rts, cfg, rows, "tcp_echo_64k_per_byte", 1.10, ours, tok, "tokio TcpStream", sm, "async-net");
}

/// Connect + accept: ns per connection, one at a time.
pub(crate) fn tcp_connect(rts: &Runtimes, cfg: Config, rows: &mut Vec<Row>) {
    let n = cfg.pick(2_000, 200);
    let ours = move || -> Sample {
        Box::pin(async move {
            let l = anyscope_core::net::TcpListener::bind(loopback()).expect("bind");
            let addr = l.local_addr().expect("addr");
            let t0 = Instant::now();
            for _ in 0..n {
                let c = anyscope_core::net::TcpStream::connect(addr).await.expect("connect");
                let (s, _) = l.accept().await.expect("accept");
                drop((c, s));
            }
            per_unit(t0, n)
        })
    };
    let tok = move || -> Sample {
        Box::pin(async move {
            let l = tokio::net::TcpListener::bind(loopback()).await.expect("bind");
            let addr = l.local_addr().expect("addr");
            let t0 = Instant::now();
            for _ in 0..n {
                let c = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let (s, _) = l.accept().await.expect("accept");
                drop((c, s));
            }
            per_unit(t0, n)
        })
    };
    let sm = move || -> Sample {
        Box::pin(async move {
            let l = async_net::TcpListener::bind(loopback()).await.expect("bind");
            let addr = l.local_addr().expect("addr");
            let t0 = Instant::now();
            for _ in 0..n {
                let c = async_net::TcpStream::connect(addr).await.expect("connect");
                let (s, _) = l.accept().await.expect("accept");
                drop((c, s));
            }
            per_unit(t0, n)
        })
    };
    pair(rts, cfg, rows, "tcp_connect_accept", 1.2, ours, tok, "tokio TcpStream", sm, "async-net");
}

/// Reads `f` to its end in 64 KiB reads (the same loop on every side: the row measures the file,
/// not a `read_to_end` helper), returning the bytes read.
async fn drain(mut f: impl futures_lite::AsyncRead + Unpin) -> usize {
    let mut buf = vec![0u8; MSG];
    let mut total = 0;
    loop {
        match f.read(&mut buf).await.expect("read") {
            0 => return total,
            n => total += n,
        }
    }
}

/// A scratch path for a file row.
fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("anyscope-bench-{}-{name}", std::process::id()))
}

/// 1 MiB file write (64 KiB writes, then flush/close) and read (64 KiB reads to the end): ns
/// per MiB.
pub(crate) fn files(rts: &Runtimes, cfg: Config, rows: &mut Vec<Row>) {
    let reps = cfg.pick(20, 4);
    let data = Arc::new(vec![9u8; FILE]);
    let (p_ours, p_tok, p_sm) = (scratch("ours"), scratch("tokio"), scratch("asyncfs"));
    let (d, p) = (data.clone(), p_ours.clone());
    let ours = move || -> Sample {
        let (d, p) = (d.clone(), p.clone());
        Box::pin(async move {
            use anyscope_core::AsyncClose;
            let t0 = Instant::now();
            for _ in 0..reps {
                let mut f = anyscope_core::fs::File::create(&p).await.expect("create");
                for chunk in d.chunks(MSG) {
                    f.write_all(chunk).await.expect("write");
                }
                f.close().await.expect("close");
            }
            per_unit(t0, reps)
        })
    };
    let (d, p) = (data.clone(), p_tok.clone());
    let tok = move || -> Sample {
        let (d, p) = (d.clone(), p.clone());
        Box::pin(async move {
            use tokio::io::AsyncWriteExt as _;
            let t0 = Instant::now();
            for _ in 0..reps {
                let mut f = tokio::fs::File::create(&p).await.expect("create");
                for chunk in d.chunks(MSG) {
                    f.write_all(chunk).await.expect("write");
                }
                f.flush().await.expect("flush");
            }
            per_unit(t0, reps)
        })
    };
    let (d, p) = (data.clone(), p_sm.clone());
    let sm = move || -> Sample {
        let (d, p) = (d.clone(), p.clone());
        Box::pin(async move {
            let t0 = Instant::now();
            for _ in 0..reps {
                let mut f = async_fs::File::create(&p).await.expect("create");
                for chunk in d.chunks(MSG) {
                    f.write_all(chunk).await.expect("write");
                }
                f.close().await.expect("close");
            }
            per_unit(t0, reps)
        })
    };
    pair(rts, cfg, rows, "file_write_1m", 1.0, ours, tok, "tokio::fs", sm, "async-fs");

    let p = p_ours.clone();
    let ours = move || -> Sample {
        let p = p.clone();
        Box::pin(async move {
            let t0 = Instant::now();
            for _ in 0..reps {
                let f = anyscope_core::fs::File::open(&p).await.expect("open");
                assert_eq!(drain(f).await, FILE);
            }
            per_unit(t0, reps)
        })
    };
    let p = p_tok.clone();
    let tok = move || -> Sample {
        let p = p.clone();
        Box::pin(async move {
            use tokio::io::AsyncReadExt as _;
            let t0 = Instant::now();
            for _ in 0..reps {
                let mut f = tokio::fs::File::open(&p).await.expect("open");
                let mut buf = vec![0u8; MSG];
                let mut total = 0;
                loop {
                    match f.read(&mut buf).await.expect("read") {
                        0 => break,
                        n => total += n,
                    }
                }
                assert_eq!(total, FILE);
            }
            per_unit(t0, reps)
        })
    };
    let p = p_sm.clone();
    let sm = move || -> Sample {
        let p = p.clone();
        Box::pin(async move {
            let t0 = Instant::now();
            for _ in 0..reps {
                let f = async_fs::File::open(&p).await.expect("open");
                assert_eq!(drain(f).await, FILE);
            }
            per_unit(t0, reps)
        })
    };
    pair(rts, cfg, rows, "file_read_1m", 1.0, ours, tok, "tokio::fs", sm, "async-fs");
    for p in [p_ours, p_tok, p_sm] {
        let _ = std::fs::remove_file(p);
    }
}
