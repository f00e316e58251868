//! The attribute macros of [anyscope](https://docs.rs/anyscope), used through its `macros`
//! feature as `#[anyscope::test]` and `#[anyscope::main]`. They expand to calls into the
//! `anyscope` facade, which must be a dependency of the crate that uses them.
#![forbid(unsafe_code)]

mod main_fn;
mod options;
mod test_fn;

use proc_macro::TokenStream;

/// Runs an async test once per enabled runtime, as separately named tests, and fails it when it
/// leaves a resource open or lost.
///
/// `#[anyscope::test] async fn name() { .. }` keeps `name` (the async fn) and adds a module
/// `name` with one `#[test]` per runtime: `name::tokio`, `name::smol`, `name::sim` — those whose
/// feature of `anyscope` is on (AnyIO's parametrized backends). Each runs the test on its
/// runtime, then compares the resource tracker with its state before: a kind with more
/// resources open or lost fails the test with a message that names it. Tests with the leak
/// check run one at a time (the tracker is process-wide).
///
/// The function takes no arguments and returns `()` or `Result<(), E>` with `E: Debug`.
/// `#[should_panic]` and `#[ignore]` written under the attribute apply to each generated test.
///
/// # Options
///
/// - `runtimes = [tokio, tokio_current_thread, tokio_paused, smol, sim]`: the runtimes (default:
///   `tokio`, `smol` and `sim`; those whose feature is off are left out). `sim` (feature `sim`)
///   and `tokio_paused` (feature `tokio-paused`, tokio's paused test clock) have virtual time;
///   the others run on the real clock;
/// - `seed = 42`: the seed of the deterministic runtime (default: `ANYSCOPE_SEED`, else random;
///   a failing run prints its seed);
/// - `time_limit = std::time::Duration::from_secs(10)`: a deadline on the runtime's clock (virtual
///   on `sim`) for the whole test, which fails it with a message;
/// - `leak_check = false`: do not check the tracker (and run in parallel with other tests).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// // Instant on the runtimes with a virtual clock.
/// #[anyscope::test(runtimes = [sim, tokio_paused], time_limit = Duration::from_secs(7200))]
/// async fn a_one_hour_timeout() {
///     let out = anyscope::fail_after(Duration::from_secs(3600), anyscope::sleep(Duration::from_secs(7200))).await;
///     assert!(out.is_err());
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_fn::expand(args.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Runs `async fn main` on the runtime that `anyscope`'s features choose (`anyscope::run`:
/// tokio by default, else smol).
///
/// # Examples
///
/// ```
/// #[anyscope::main]
/// async fn main() {
///     anyscope::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_fn::expand(args.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}
