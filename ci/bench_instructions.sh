#!/usr/bin/env bash
# Instruction and allocation counts of the one-thread benchmark rows, under callgrind
# (benches/compare/counted.rs): installs valgrind if it is missing, runs
# `cargo bench --bench compare -- --only-counts` (it fails if a group could not be counted) and
# checks that every counted row came out. The figures themselves are not asserted: they are read
# (docs/performance.md), not gated.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_valgrind() {
    if ! command -v valgrind >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        echo "ci: installing valgrind"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
    fi
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "ci: valgrind is missing and could not be installed" >&2
        return 1
    fi
    valgrind --version
}

# check_counts: counts.json holds as many allocation rows as instruction rows, and some of each.
check_counts() {
    local file="${CARGO_TARGET_DIR:-$ROOT/target}/anyscope-bench/counts.json" instr allocs
    instr=$(grep -c '"unit": "instr/op"' "$file" || true)
    allocs=$(grep -c '"unit": "allocs/op"' "$file" || true)
    echo "ci: $file: $instr instruction rows, $allocs allocation rows"
    if [ "$instr" -eq 0 ] || [ "$instr" -ne "$allocs" ]; then
        echo "ci: the counted rows are missing from $file" >&2
        return 1
    fi
}

step "valgrind" ensure_valgrind
step "benchmark counts (callgrind)" cargo bench --bench compare -- --only-counts
step "benchmark counts: every row" check_counts
