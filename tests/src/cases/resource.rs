//! Area `resource`.

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_resource {
    ($runner:expr) => {
        $crate::__area!($runner; resource;);
    };
}
