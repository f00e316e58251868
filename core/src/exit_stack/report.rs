//! Errors of an unwinding nobody can receive any more (the stack was dropped unclosed, or the
//! caller of `close` was cut off): reported to the [`tracker`](crate::tracker), never printed.

use std::fmt;

use crate::tracker::Token;

/// Counts `error` in the tracker under `kind` as a failed close (the kind's `close_failed`),
/// through the tracker's per-resource counts: the record of an error no caller receives.
pub(crate) fn unreceived(kind: &'static str, error: &dyn fmt::Display) {
    let token = Token::open(kind);
    token.close_failed(error);
    token.closed_explicitly();
}
