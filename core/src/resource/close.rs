use std::future::Future;

/// A resource with an async close, such as a connection or a file being flushed.
///
/// Implement it for a resource and wrap the resource in a [`Scoped`](crate::Scoped) guard to get
/// structured async drop.
///
/// # Examples
///
/// ```
/// use anyscope_core::AsyncClose;
///
/// struct Conn;
///
/// impl AsyncClose for Conn {
///     type Error = std::io::Error;
///     async fn close(self) -> Result<(), std::io::Error> {
///         // send a goodbye, flush, ...
///         Ok(())
///     }
/// }
/// ```
pub trait AsyncClose: Send + 'static {
    /// What a failed close reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Closes the resource.
    ///
    /// Runs to completion once started, even when its owner is being cancelled: a close cut off
    /// at a suspension point is handed to the frame that cut it off, and frames run adopted
    /// closes shielded. Bound a close that may hang with a `move_on_after` inside it, or with
    /// a grace period on the scope whose body leaves it behind
    /// ([`CancelScope::set_cleanup_grace`](crate::CancelScope::set_cleanup_grace)): a deadline
    /// that cuts an explicit close off hands the rest to the frame, which runs it to its end.
    fn close(self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The kind under which the [`tracker`](crate::tracker) counts this resource. Defaults to the
    /// type's name.
    fn kind(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// Why a value is being dropped by a frame: its holder was cancelled, or panicked.
///
/// Outcome-aware guards (a pool connection, a transaction) use [`drop_cause`] in their `Drop` to
/// decide between a plain return and a check or rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropCause {
    /// A cancel scope is dropping the body that held the value (or the body's future was dropped
    /// from outside).
    Cancelled,
    /// The body panicked and its frame is dropping it, or a panic is unwinding.
    Panicked,
}

/// Why the value being dropped now is dropped, when a frame is dropping a body: call it from a
/// `Drop` impl. `None` for an ordinary drop (the body went past the value's scope).
///
/// # Examples
///
/// ```
/// use anyscope_core::resource::{drop_cause, DropCause};
///
/// struct Tx;
/// impl Drop for Tx {
///     fn drop(&mut self) {
///         if drop_cause() == Some(DropCause::Cancelled) {
///             // roll back instead of committing
///         }
///     }
/// }
/// drop(Tx);
/// assert_eq!(drop_cause(), None);
/// ```
pub fn drop_cause() -> Option<DropCause> {
    crate::frame::drop_cause()
}
