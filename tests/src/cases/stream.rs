//! Area `stream`.

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_stream {
    ($runner:expr) => {
        $crate::__area!($runner; stream;);
    };
}
