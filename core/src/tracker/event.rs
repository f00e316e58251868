//! The tracker's events as [`tracing`](https://docs.rs/tracing) events, with the `tracing`
//! feature; without it, these functions do nothing and the counters are the whole record.
//!
//! Every event has the target `anyscope` and a field `event` naming what happened (`"lost"`,
//! `"abandoned"`, `"close_failed"`, `"cleanup_lost"`, `"cleanup_panicked"`,
//! `"unreceived_error"`, `"unreceived_panic"`, `"cancel_delivered"`), plus `kind` (the resource
//! kind) where there is one. Emitting an event never panics on our side: nothing here writes to
//! a stream, and `tracing` without a subscriber does nothing.

#![cfg_attr(not(feature = "tracing"), allow(unused_variables))]

use std::fmt;

/// Emits one event at `$level` under the target `anyscope`, only with the `tracing` feature.
macro_rules! emit {
    ($level:ident, $($rest:tt)+) => {
        #[cfg(feature = "tracing")]
        {
            tracing::$level!(target: "anyscope", $($rest)+);
        }
    };
}

pub(super) fn lost(kind: &'static str) {
    emit!(warn, event = "lost", kind, "a resource was lost: no runtime could close it");
}

pub(super) fn abandoned(kind: &'static str) {
    emit!(debug, event = "abandoned", kind, "a close was abandoned by the scope that bounds its cleanups");
}

pub(super) fn close_failed(kind: &'static str, error: &dyn fmt::Display) {
    emit!(warn, event = "close_failed", kind, error = %error, "closing a resource after its owner had gone failed");
}

pub(super) fn cleanup_lost(kind: &'static str) {
    emit!(
        warn,
        event = "cleanup_lost",
        kind,
        "a cleanup was dropped unfinished: no runtime could run it to its end"
    );
}

pub(super) fn cleanup_panicked(kind: &'static str, message: &str) {
    emit!(
        error,
        event = "cleanup_panicked",
        kind,
        panic = message,
        "a cleanup panicked; the other cleanups still run"
    );
}

pub(super) fn unreceived_error(kind: &'static str, error: &dyn fmt::Display) {
    emit!(warn, event = "unreceived_error", kind, error = %error, "an error nobody can receive was dropped");
}

pub(super) fn unreceived_panic(kind: &'static str, message: &str) {
    emit!(error, event = "unreceived_panic", kind, panic = message, "a panic nobody can resume was dropped");
}

#[cfg(feature = "tracing")]
pub(super) fn cancel_delivered(reason: &crate::cancel::CancelReason) {
    emit!(debug, event = "cancel_delivered", reason = %reason, "a cancel scope caught its cancellation");
}
