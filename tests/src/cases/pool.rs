//! Area `pool`.

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_pool {
    ($runner:expr) => {
        $crate::__area!($runner; pool;);
    };
}
