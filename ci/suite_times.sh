#!/usr/bin/env bash
# Wall time of the conformance suite on each runner, side by side: the same cases, run by one
# test binary with a filter per runner, first one test at a time (what a case costs), then with
# the harness's default parallelism. Sleeps cost nothing on the deterministic runner (`sim`).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bin=$(cargo test -p anyscope-conformance --test suite --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "ci: could not build the conformance suite" >&2
    exit 1
fi

# wall FILTER ARGS...: runs the suite's cases matching FILTER, prints "<passed> cases <seconds> s"
# (and the failed cases, if any: this step measures; the test step judges).
wall() {
    local filter=$1 start end out
    shift
    start=$(date +%s%N)
    out=$("$bin" "$filter" "$@" 2>&1) || true
    end=$(date +%s%N)
    local passed failed
    passed=$(printf '%s\n' "$out" | sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed.*/\1/p')
    failed=$(printf '%s\n' "$out" | sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' | tr '\n' ' ')
    printf '%4s cases %7.2f s' "$passed" "$(echo "($end - $start) / 1000000000" | bc -l)"
    if [ -n "$failed" ]; then
        printf ' (FAILED: %s)' "$failed"
    fi
}

printf '%-22s %-24s %s\n' runner "one at a time" "parallel"
for runner in tokio tokio_current_thread smol sim; do
    serial=$(wall "$runner::" --test-threads=1)
    parallel=$(wall "$runner::")
    printf '%-22s %-24s %s\n' "$runner" "$serial" "$parallel"
done
