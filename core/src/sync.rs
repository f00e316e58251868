//! Synchronization primitives with AnyIO's cancel-safety guarantees (issue 6: being built).
