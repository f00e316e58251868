# Shared helpers for the CI scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
#
# Runs on a clean machine with a Rust toolchain (cargo, rustfmt, clippy); installs what is
# missing. Never hardcodes a target dir: CARGO_TARGET_DIR is honoured when set.

set -euo pipefail

export CARGO_TERM_COLOR=never
export LC_ALL=C
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# The workspace root (the parent of ci/).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# A step that runs longer than this (seconds) is killed and fails: a hung test must not eat the
# whole CI budget.
STEP_TIMEOUT="${STEP_TIMEOUT:-1200}"

# step TITLE CMD [ARGS...]: prints a header, runs the command (a program under `timeout`, or a
# shell function), prints its outcome and elapsed seconds. Returns the command's status (so
# `set -e` stops the script on a failed step).
step() {
    local title=$1
    shift
    printf '\n==== step: %s\n' "$title"
    local start=$SECONDS rc=0
    if [ "$(type -t "$1")" = function ]; then
        "$@" || rc=$?
    else
        timeout -k 30 "$STEP_TIMEOUT" "$@" || rc=$?
        if [ "$rc" -eq 124 ]; then
            echo "ci: step '$title' did not finish within ${STEP_TIMEOUT}s and was killed" >&2
        fi
    fi
    local took=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        printf '==== step: %s: ok (%ds)\n' "$title" "$took"
    else
        printf '==== step: %s: FAILED with status %d (%ds)\n' "$title" "$rc" "$took"
    fi
    return "$rc"
}

# ensure_components: rustfmt and clippy, installed through rustup if missing.
ensure_components() {
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if [ "${#missing[@]}" -gt 0 ]; then
        if ! command -v rustup >/dev/null 2>&1; then
            echo "ci: missing ${missing[*]} and no rustup to install them" >&2
            return 1
        fi
        echo "ci: installing ${missing[*]}"
        rustup component add "${missing[@]}"
    fi
    cargo --version
    cargo fmt --version
    cargo clippy --version
}
