//! Area `sync`.

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_sync {
    ($runner:expr) => {
        $crate::__area!($runner; sync;);
    };
}
