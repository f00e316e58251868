#!/usr/bin/env bash
# Tests and the tour: the tour on both runtimes, the facade with smol alone, then the whole
# workspace with every feature (the README's test command), which runs the conformance suite on
# the tokio, tokio_current_thread and smol runners. It goes last so that the run's output ends
# with cargo test's summary.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "tour on tokio (default features)" cargo run --example tour
step "tour on smol" cargo run --example tour --no-default-features --features smol
step "facade tests with smol alone" cargo test -p anyscope --no-default-features --features smol
step "workspace tests, all features" cargo test --workspace --all-features
