#!/usr/bin/env bash
# Tests and the tour: the tour on both runtimes, the facade with smol alone, a short soak, the
# benchmark's quick run, then the whole
# workspace with every feature (the README's test command), which runs the conformance suite on
# the tokio, tokio_current_thread and smol runners. It goes last so that the run's output ends
# with cargo test's summary.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "tour on tokio (default features)" cargo run --example tour
step "tour on smol" cargo run --example tour --no-default-features --features smol
step "facade tests with smol alone" cargo test -p anyscope --no-default-features --features smol
step "soak, short (fault-injected pool on tokio and smol)" cargo run --release --example soak -- --ops 20000
step "benchmark, quick (keeps benches/compare.rs building and running)" cargo bench --bench compare -- --quick
step "respawn-chain soak, short (bounded state: flat RSS, the cancel reaches the last task)" cargo run --release --example respawn -- --links 200000
step "workspace tests, all features" cargo test --workspace --all-features
