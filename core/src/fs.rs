//! Files on any runtime, on the blocking offload (AnyIO's `open_file` and `Path` helpers).
//!
//! Files are not part of the runtime contract: every operation runs the `std::fs` call through
//! [`run_blocking`](crate::run_blocking), taking a token from the
//! [default thread limiter](crate::default_thread_limiter), exactly as AnyIO, tokio and
//! async-fs do (the OS has no portable async file I/O). Errors name the path.
//!
//! | you want | use |
//! |---|---|
//! | a file to read, write and seek, closed (flushed, optionally synced) as a resource | [`open_file`], [`File`] |
//! | a whole file at once | [`read`], [`read_to_string`], [`write()`] |
//! | directories | [`create_dir_all`], [`read_dir`] (a [`Stream`](futures_core::Stream)), [`remove_dir_all`] |
//! | a scratch file or directory removed when closed | [`TempFile`], [`TempDir`] |
//!
//! # Examples
//!
//! ```
//! # anyscope_tokio::run(async {
//! use anyscope_core::fs;
//! use anyscope_core::AsyncClose;
//!
//! let dir = fs::TempDir::new().await.unwrap();
//! let path = dir.path().join("hello.txt");
//! fs::write(&path, "hello").await.unwrap();
//! assert_eq!(fs::read_to_string(&path).await.unwrap(), "hello");
//! dir.close().await.unwrap(); // removed with its contents
//! assert!(!path.exists());
//! # });
//! ```

mod dir;
mod error;
mod file;
mod temp;

pub use dir::{
    ReadDir, create_dir_all, metadata, read, read_dir, read_to_string, remove_dir_all, remove_file, rename,
    write,
};
pub use error::PathError;
pub use file::{File, open_file};
pub use temp::{TempDir, TempFile};
