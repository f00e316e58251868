//! `Entered` handles are honoured only by the stack that holds their entry: as documented on
//! `ExitStack::get` ("# Panics") and `try_get` ("`None` if it is not in this stack"), a handle
//! from another stack, or from before a `pop_all` or a close, finds nothing — even when that
//! stack now holds a resource of the same type at the same index.

use anyscope_core::exit_stack::ExitStack;

use crate::fixtures::{TestRes, assert_clean, closes, unique_kind};
use crate::support::Log;

/// Handles stay with their entries: a handle moved by `pop_all` works on the new stack and not
/// on the old one (which has a new entry at the same index), a handle from another stack finds
/// nothing, and after a close the stack's new entries are not reached by old handles.
pub async fn entered_handle_works_only_on_the_stack_holding_its_entry() {
    let kind = unique_kind("exit_stack::handles");
    let log = Log::new();
    let mut first = ExitStack::new();
    let a = first.enter(TestRes::open(kind, "a", &log));
    let mut moved = first.pop_all();
    let b = first.enter(TestRes::open(kind, "b", &log));
    assert_eq!(moved.get(a).name, "a", "the handle follows its entry");
    assert!(first.try_get(a).is_none(), "the old stack holds b at that index, not a");
    assert_eq!(first.get(b).name, "b");
    assert!(moved.try_get(b).is_none(), "b is not in the moved stack");

    let mut other = ExitStack::new();
    let c = other.enter(TestRes::open(kind, "c", &log));
    assert!(other.try_get(a).is_none() && other.try_get(b).is_none());
    assert!(first.try_get(c).is_none());
    let wrong = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| first.get_mut(c).name.clone()));
    assert!(wrong.is_err(), "get_mut with another stack's handle panics");

    other.close().await.unwrap();
    let d = other.enter(TestRes::open(kind, "d", &log));
    assert!(other.try_get(c).is_none(), "c was closed: its handle does not reach d");
    assert_eq!(other.get(d).name, "d");

    other.close().await.unwrap();
    first.close().await.unwrap();
    moved.close().await.unwrap();
    assert_eq!(closes(&log), ["closed c", "closed d", "closed b", "closed a"]);
    assert_clean(kind).await;
}
