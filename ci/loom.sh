#!/usr/bin/env bash
# loom models of the core's concurrency state machines (issue 9): cancel propagation in the
# scope tree (core/src/loom_tests.rs) and the FIFO handoff of the async mutex and semaphore
# (core/tests/loom.rs). Under `cfg(loom)`, core/src/sync_shim.rs swaps the atomics and locks
# those state machines use for loom's, and loom runs each model once per interleaving.
#
# How `cfg(loom)` is set: only on anyscope-core (its lib, its unit tests and the `loom` test
# crate), never on the dependencies. `RUSTFLAGS="--cfg loom"` would set it on every crate, and
# event-listener then needs its `loom` feature, under which `Event::new` is no longer `const`
# (core/src/tracker.rs has a `static` Event). So the flag is added by a small rustc wrapper that
# cargo runs for workspace members only (RUSTC_WORKSPACE_WRAPPER); it also adds it to cargo's
# target-info probe (crate `___`), so that cargo resolves core's
# `[target.'cfg(loom)'.dependencies] loom`. The build goes to its own target directory
# ($CARGO_TARGET_DIR/loom), so loom artifacts never mix with normal ones. loom's `futures`
# feature (for `loom::future::block_on`) is turned on here, as core's manifest asks for none.
#
# LOOM_MAX_PREEMPTIONS bounds the interleavings explored. The default here, 3, checks each
# model in well under a second (the run is dominated by the build); 4 takes a few seconds;
# unbounded, the two-waiter mutex model does not finish in minutes.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"

LOOM_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/loom"
mkdir -p "$LOOM_TARGET"
LOOM_RUSTC="$LOOM_TARGET/rustc-cfg-loom"
cat >"$LOOM_RUSTC" <<'EOF'
#!/bin/sh
# Runs rustc ("$1") with `--cfg loom` for anyscope-core, its `loom` test and cargo's cfg probe.
case " $* " in
*" --crate-name ___ "* | *" --crate-name anyscope_core "* | *" --crate-name loom "*)
    exec "$@" --cfg loom
    ;;
esac
exec "$@"
EOF
chmod +x "$LOOM_RUSTC"

# loom_cargo ARGS...: cargo test on anyscope-core in release mode, `cfg(loom)` set as above.
loom_cargo() {
    CARGO_TARGET_DIR="$LOOM_TARGET" RUSTC_WORKSPACE_WRAPPER="$LOOM_RUSTC" \
        cargo test -p anyscope-core --release --features loom/futures "$@"
}

echo "ci: LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS"
step "loom: build" loom_cargo --lib --test loom --no-run
step "loom: scope tree (cancel propagation), counted regions, pool slot accounting and task cells" loom_cargo --lib loom_tests::
step "loom: mutex and semaphore handoff" loom_cargo --test loom
