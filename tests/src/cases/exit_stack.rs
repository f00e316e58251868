//! Area `exit_stack`.

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_exit_stack {
    ($runner:expr) => {
        $crate::__area!($runner; exit_stack;);
    };
}
