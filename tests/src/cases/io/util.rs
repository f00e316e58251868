//! Helpers of the `io` cases.

use std::collections::HashSet;

/// Whether the ambient runtime has the I/O part of the contract: an adapter without it (the
/// trait's defaults answer `Unsupported`) skips the socket and signal cases.
pub(crate) fn net_supported() -> bool {
    let rt = anyscope_core::runtime::current();
    !matches!(rt.bind_tcp("127.0.0.1:0".parse().unwrap()), Err(e) if e.kind() == std::io::ErrorKind::Unsupported)
}

/// The inodes of this process's open sockets (from `/proc/self/fd`), on Linux.
pub(crate) fn own_socket_inodes() -> HashSet<u64> {
    let mut out = HashSet::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return out };
    for entry in dir.flatten() {
        if let Ok(link) = std::fs::read_link(entry.path()) {
            let link = link.to_string_lossy().into_owned();
            if let Some(inode) = link.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                out.extend(inode.parse::<u64>().ok());
            }
        }
    }
    out
}

/// The inodes of TCP sockets in state SYN_SENT towards `port` on this machine (`/proc/net/tcp`
/// and `tcp6`).
pub(crate) fn connecting_to(port: u16) -> HashSet<u64> {
    let mut out = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 {
                continue;
            }
            let rem_port = cols[2].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            // State 02 is SYN_SENT.
            if rem_port == Some(port) && cols[3] == "02" {
                out.extend(cols[9].parse::<u64>().ok());
            }
        }
    }
    out
}

/// This process's sockets still connecting to `port`.
pub(crate) fn own_connecting_to(port: u16) -> usize {
    let own = own_socket_inodes();
    connecting_to(port).intersection(&own).count()
}

/// The number of entries of `/proc/self/fd`.
#[allow(dead_code)]
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// A fresh path in the temporary directory for a case (removed by the case).
pub(crate) fn temp_path(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("anyscope-io-{}-{n}-{name}", std::process::id()))
}
