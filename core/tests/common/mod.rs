//! What the diagnostics tests share: a resource whose close succeeds, fails or panics, counted
//! under a kind of its own.

#![allow(dead_code)] // each test file uses its own part

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyscope_core::AsyncClose;

/// How [`Res::close`] ends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ends {
    Ok,
    Fails,
    Panics,
    /// Never ends (until its runtime drops it).
    Hangs,
}

/// A resource whose close ends as told, counted under `kind`.
pub(crate) struct Res {
    pub(crate) kind: &'static str,
    pub(crate) ends: Ends,
}

/// The error of a failing [`Res::close`].
#[derive(Debug)]
pub(crate) struct CloseFailed;

impl fmt::Display for CloseFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("close failed on purpose")
    }
}

impl std::error::Error for CloseFailed {}

impl AsyncClose for Res {
    type Error = CloseFailed;

    async fn close(self) -> Result<(), CloseFailed> {
        anyscope_core::checkpoint().await; // a real suspension point
        match self.ends {
            Ends::Ok => Ok(()),
            Ends::Fails => Err(CloseFailed),
            Ends::Panics => panic!("close panics on purpose"),
            Ends::Hangs => std::future::pending().await,
        }
    }

    fn kind(&self) -> &'static str {
        self.kind
    }
}

/// A kind no other test uses.
pub(crate) fn unique_kind(what: &str) -> &'static str {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Box::leak(format!("diag::{what}#{n}").into_boxed_str())
}
