#!/usr/bin/env bash
# Tests and the tour: the tour on both runtimes, the facade with smol alone, a short soak, the
# benchmark's quick run, the PostgreSQL server (ci/postgres.sh) with the short money soak and the
# quick comparison with deadpool-postgres, then the whole
# workspace with every feature (the README's test command), which runs the conformance suite on
# the tokio, tokio_current_thread and smol runners. It goes last so that the run's output ends
# with cargo test's summary.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "tour on tokio (default features)" cargo run --example tour
step "tour on smol" cargo run --example tour --no-default-features --features smol
step "facade tests with smol alone" cargo test -p anyscope --no-default-features --features smol
step "soak, short (fault-injected pool on tokio and smol)" cargo run --release --example soak -- --ops 20000
step "benchmark, quick (keeps benches/compare.rs building and running)" cargo bench --bench compare -- --quick
step "benchmark, instruction and allocation counts (callgrind)" bash ci/bench_instructions.sh
step "core with the tracing feature (its events and its build)" cargo test -p anyscope-core --features tracing
step "conformance suite on the deterministic runner under a handful of seeds" ci/seeds.sh 5
step "the same with spurious wakes (10% of scheduling steps)" env ANYSCOPE_SIM_SPURIOUS=100 FIRST_SEED=1000 ci/seeds.sh 3
step "conformance suite wall time per runner" ci/suite_times.sh
step "echo example on tokio (TCP server + clients, graceful shutdown)" cargo run --example echo -- 1
step "echo example on smol" cargo run --example echo --no-default-features --features smol -- 1
step "PostgreSQL server for examples/postgres (ci/postgres.sh)" bash ci/postgres.sh
step "money soak, short (transfer_funds on PostgreSQL, tokio and smol)" cargo run --release -p anyscope-postgres-example --example money_soak -- --transfers 3000
step "PostgreSQL throughput vs deadpool-postgres, quick" cargo run --release -p anyscope-postgres-example --example throughput -- --secs 1 --rounds 1
step "respawn-chain soak, short (bounded state: flat RSS, the cancel reaches the last task)" cargo run --release --example respawn -- --links 200000
step "workspace tests, all features" cargo test --workspace --all-features
