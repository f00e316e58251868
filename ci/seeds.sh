#!/usr/bin/env bash
# Runs the conformance suite on the deterministic runner (`sim::`) under N seeds (default 20),
# starting at FIRST_SEED (default 1), and prints each failing case with the seed that replays it:
#   ci/seeds.sh 200
#   ANYSCOPE_SEED=<seed> cargo test -p anyscope-conformance --test suite sim::<area>::<case>
# Exits non-zero if any seed failed. ANYSCOPE_SIM_SPURIOUS=<thousandths> adds spurious wakes
# (polls of tasks nobody woke), which futures must tolerate.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${1:-20}"
FIRST="${FIRST_SEED:-1}"
FILTER="${SEED_FILTER:-sim::}"

# Build once; run the test binary directly for each seed.
bin=$(cargo test -p anyscope-conformance --test suite --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "ci: could not build the conformance suite" >&2
    exit 1
fi

failed=0
for ((seed = FIRST; seed < FIRST + N; seed++)); do
    out=$(ANYSCOPE_SEED=$seed timeout -k 10 600 "$bin" "$FILTER" 2>&1) && rc=0 || rc=$?
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        echo "seed $seed: FAILED (status $rc)"
        printf '%s\n' "$out" | grep -E '^test .* FAILED$|^    [a-z_:]+$' | sed "s/^/  seed $seed: /" || true
    fi
done
echo "seeds: $N run (from $FIRST, spurious wakes ${ANYSCOPE_SIM_SPURIOUS:-0}/1000), $failed failed"
[ "$failed" -eq 0 ]
