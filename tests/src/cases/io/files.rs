//! File cases.

use std::io::SeekFrom;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyscope_core::fs::{self, File, TempDir, TempFile, open_file};
use anyscope_core::{AsyncClose, move_on_after};
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, StreamExt};

use super::util::temp_path;

/// Whether any descriptor of the process is open on `path`.
fn fd_open_on(path: &std::path::Path) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return false };
    dir.flatten().any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == path))
}

/// A file is written, seeked and read back; reads after a seek see the right bytes.
pub async fn file_write_seek_read() {
    let dir = TempDir::new().await.unwrap();
    let path = dir.path().join("data");
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true);
    let mut f = open_file(&path, &opts).await.unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    f.write_all(&data).await.unwrap();
    f.flush().await.unwrap();
    assert_eq!(f.seek(SeekFrom::Start(1000)).await.unwrap(), 1000);
    let mut buf = vec![0u8; 10];
    f.read_exact(&mut buf).await.unwrap();
    assert_eq!(buf, data[1000..1010]);
    // A seek relative to the position counts what was read, not what was read ahead.
    assert_eq!(f.seek(SeekFrom::Current(5)).await.unwrap(), 1015);
    f.read_exact(&mut buf).await.unwrap();
    assert_eq!(buf, data[1015..1025]);
    // A write after a read lands where the reader stopped.
    f.write_all(b"XY").await.unwrap();
    f.seek(SeekFrom::Start(1025)).await.unwrap();
    f.read_exact(&mut buf[..2]).await.unwrap();
    assert_eq!(&buf[..2], b"XY");
    f.set_sync_on_close(true);
    f.close().await.unwrap();
    let back = fs::read(&path).await.unwrap();
    assert_eq!(back.len(), data.len());
    assert_eq!(&back[1025..1027], b"XY");

    // Many small writes (queued behind the one in flight), then a seek and a read: every byte
    // lands in order.
    let mut f = File::create(dir.path().join("small")).await.unwrap();
    let mut expect = Vec::new();
    for i in 0..5000u32 {
        let piece = format!("{i},");
        f.write_all(piece.as_bytes()).await.unwrap();
        expect.extend_from_slice(piece.as_bytes());
    }
    f.close().await.unwrap();
    assert_eq!(fs::read(dir.path().join("small")).await.unwrap(), expect);
    let mut f = open_file(dir.path().join("small"), &opts).await.unwrap();
    f.seek(SeekFrom::End(0)).await.unwrap();
    f.write_all(b"end").await.unwrap();
    f.seek(SeekFrom::Start(0)).await.unwrap();
    let mut all = Vec::new();
    f.read_to_end(&mut all).await.unwrap();
    expect.extend_from_slice(b"end");
    assert_eq!(all, expect);
    drop(f);

    // The file is an `AsyncBufRead`: read by lines, and a relative seek after a partial
    // `fill_buf`/`consume` counts only what was consumed.
    fs::write(dir.path().join("lines"), "alpha\nbeta\ngamma\n").await.unwrap();
    let lines: Vec<String> =
        File::open(dir.path().join("lines")).await.unwrap().lines().map(|l| l.unwrap()).collect().await;
    assert_eq!(lines, ["alpha", "beta", "gamma"]);
    let mut f = File::open(dir.path().join("lines")).await.unwrap();
    let mut first = String::new();
    f.read_line(&mut first).await.unwrap();
    assert_eq!(first, "alpha\n");
    assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 6);
    dir.close().await.unwrap();
}

/// A file whose writer is cut off by a deadline is flushed and closed before the scope returns:
/// every byte a write accepted is in the file, and no descriptor is open on it.
pub async fn file_cut_off_by_a_deadline_is_flushed_and_closed() {
    let path = temp_path("cut-off");
    let accepted = Arc::new(AtomicU64::new(0));
    let acc = accepted.clone();
    let p = path.clone();
    let out = move_on_after(Duration::from_millis(100), async move {
        let mut f = File::create(&p).await.unwrap();
        let chunk = vec![1u8; 256 * 1024];
        loop {
            let n = f.write(&chunk).await.unwrap();
            acc.fetch_add(n as u64, Ordering::SeqCst);
        }
    })
    .await;
    assert!(out.is_none());
    assert!(!fd_open_on(&path), "the file is still open after its scope returned");
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(len, accepted.load(Ordering::SeqCst), "bytes accepted were not all written");
    assert!(len > 0);
    std::fs::remove_file(&path).unwrap();
}

/// A bad path gives an error of the right kind that names the path.
pub async fn bad_path_error_names_it() {
    let missing = temp_path("missing").join("nothing-here.txt");
    let shown = missing.to_string_lossy().into_owned();
    for err in [
        File::open(&missing).await.unwrap_err(),
        fs::read(&missing).await.unwrap_err(),
        fs::read_to_string(&missing).await.unwrap_err(),
        fs::metadata(&missing).await.unwrap_err(),
        fs::remove_file(&missing).await.unwrap_err(),
        fs::read_dir(&missing).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(err.to_string().contains(&shown), "{err}");
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<fs::PathError>()).expect("a PathError");
        assert_eq!(inner.path(), missing.as_path());
    }
}

/// The helpers: write, read, metadata, rename, read_dir as a stream, remove.
pub async fn fs_helpers_and_read_dir() {
    let dir = TempDir::new().await.unwrap();
    let sub = dir.path().join("a/b");
    fs::create_dir_all(&sub).await.unwrap();
    for i in 0..150 {
        fs::write(sub.join(format!("f{i}")), format!("file {i}")).await.unwrap();
    }
    assert_eq!(fs::read_to_string(sub.join("f7")).await.unwrap(), "file 7");
    assert_eq!(fs::metadata(sub.join("f7")).await.unwrap().len(), 6);
    fs::rename(sub.join("f7"), sub.join("seven")).await.unwrap();
    assert_eq!(fs::read(sub.join("seven")).await.unwrap(), b"file 7");
    let mut names: Vec<String> = fs::read_dir(&sub)
        .await
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
        .await;
    names.sort();
    assert_eq!(names.len(), 150);
    assert!(names.contains(&"seven".to_string()) && !names.contains(&"f7".to_string()));
    fs::remove_file(sub.join("seven")).await.unwrap();
    fs::remove_dir_all(dir.path().join("a")).await.unwrap();
    assert!(!dir.path().join("a").exists());
    dir.close().await.unwrap();
}

/// Temporary files and directories are removed when closed, and when dropped inside a scope
/// that is cut off, before that scope returns.
pub async fn temp_file_and_dir_removed_on_close() {
    let mut t = TempFile::new().await.unwrap();
    t.file().write_all(b"scratch").await.unwrap();
    let tp = t.path().to_owned();
    assert!(tp.exists());
    t.close().await.unwrap();
    assert!(!tp.exists());

    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let out = move_on_after(Duration::from_millis(50), async move {
        let d = TempDir::new().await.unwrap();
        let t = TempFile::new().await.unwrap();
        std::fs::write(d.path().join("x"), b"x").unwrap();
        s2.lock().unwrap().extend([d.path().to_owned(), t.path().to_owned()]);
        anyscope_core::sleep(Duration::from_secs(3600)).await;
        drop((d, t));
    })
    .await;
    assert!(out.is_none());
    for p in seen.lock().unwrap().iter() {
        assert!(!p.exists(), "{} was left behind", p.display());
    }
}
