//! Unix stream sockets.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::raw::RawListener;
use super::stream::{Shared, stream_traits};
use crate::runtime;

/// A connected Unix stream socket on the ambient runtime's reactor. The same API as
/// [`TcpStream`](super::TcpStream), without the TCP options.
///
/// # Examples
///
/// ```
/// # anyscope_tokio::run(async {
/// use anyscope_core::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("anyscope-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("sock");
/// let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path).unwrap();
/// let _client = UnixStream::connect(&path).await.unwrap();
/// let _server = listener.accept().await.unwrap();
/// std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
pub struct UnixStream {
    pub(crate) shared: Arc<Shared>,
}

stream_traits!(UnixStream);

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The OS's error, naming the path.
    ///
    /// # Panics
    ///
    /// If no runtime is available.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the half-open socket at once.
    pub fn connect(path: impl AsRef<Path>) -> impl Future<Output = io::Result<UnixStream>> + Send {
        let path: PathBuf = path.as_ref().to_owned();
        async move {
            let shown = path.display().to_string();
            match runtime::current().connect_unix(path).await {
                Ok(raw) => Ok(UnixStream { shared: Shared::new(raw) }),
                Err(e) => Err(super::error::at("connecting to the Unix socket", shown, e)),
            }
        }
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream").finish_non_exhaustive()
    }
}

/// A listening Unix stream socket on the ambient runtime's reactor.
///
/// The socket file is not removed when the listener is dropped (as with `std`).
pub struct UnixListener {
    raw: Box<dyn RawListener>,
    path: PathBuf,
}

impl UnixListener {
    /// Binds a listener at `path`.
    ///
    /// # Errors
    ///
    /// The OS's error (the path exists, ...), naming the path.
    ///
    /// # Panics
    ///
    /// If no runtime is available.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let raw = runtime::current()
            .bind_unix(path)
            .map_err(|e| super::error::at("binding a Unix listener at", path.display(), e))?;
        Ok(UnixListener { raw, path: path.to_owned() })
    }

    /// Accepts the next connection.
    ///
    /// # Errors
    ///
    /// The OS's error; the listener keeps working.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is taken from the OS only when it is returned.
    pub async fn accept(&self) -> io::Result<UnixStream> {
        let raw = std::future::poll_fn(|cx| {
            std::task::ready!(crate::frame::poll_proceed(cx)); // a checkpoint
            self.raw.poll_accept(cx)
        })
        .await?;
        Ok(UnixStream { shared: Shared::new(raw) })
    }

    /// The path the listener is bound at.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").field("path", &self.path).finish()
    }
}
