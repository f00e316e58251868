//! Area `task_group`.

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_task_group {
    ($runner:expr) => {
        $crate::__area!($runner; task_group;);
    };
}
