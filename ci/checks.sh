#!/usr/bin/env bash
# Static checks: formatting, clippy, docs, and the core's dependency tree.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Crates anyscope-core must never depend on, even indirectly: it knows no runtime.
FORBIDDEN_IN_CORE="tokio smol async-io async-executor async-global-executor async-std blocking"
# DESIGN §1: the core's normal dependency tree holds at most this many crates (itself included).
MAX_CORE_CRATES=10

# core_deps PACKAGE: fails if PACKAGE's normal dependency tree names a runtime crate, holds more
# than MAX_CORE_CRATES crates, or holds a proc-macro.
core_deps() {
    local pkg=$1 tree names plain count
    tree=$(cargo tree -p "$pkg" -e normal --prefix none) || return 1
    echo "$tree"
    # Lines read `name vX.Y.Z [(path)] [(*)]`: the crate names, deduplicated.
    names=$(printf '%s\n' "$tree" | awk 'NF { print $1 }' | sort -u)
    local bad=0 name
    for name in $FORBIDDEN_IN_CORE; do
        if printf '%s\n' "$names" | grep -qx -- "$name"; then
            echo "ci: $pkg depends on the runtime crate '$name'" >&2
            bad=1
        fi
    done
    count=$(printf '%s\n' "$names" | grep -c .)
    echo "ci: $pkg's normal dependency tree holds $count crates (at most $MAX_CORE_CRATES allowed)"
    if [ "$count" -gt "$MAX_CORE_CRATES" ]; then
        echo "ci: $pkg's dependency tree is too heavy" >&2
        bad=1
    fi
    # The same tree without proc-macro edges: any crate that disappears is a proc-macro (or is
    # reached only through one).
    plain=$(cargo tree -p "$pkg" -e normal,no-proc-macro --prefix none | awk 'NF { print $1 }' | sort -u) \
        || return 1
    local macros
    macros=$(comm -23 <(printf '%s\n' "$names") <(printf '%s\n' "$plain"))
    if [ -n "$macros" ]; then
        echo "ci: $pkg depends on proc-macro crates: $(echo "$macros" | tr '\n' ' ')" >&2
        bad=1
    fi
    return "$bad"
}

step "toolchain" ensure_components
step "fmt" cargo fmt --all --check -- --color=never
step "clippy" cargo clippy --workspace --all-targets --all-features -- -D warnings
step "doc" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features
step "core dependencies" core_deps anyscope-core

# The crates that are published: each packages and builds from its packaged sources (workspace
# dev-dependencies are path-only, so they are dropped from the published manifests and make no
# cycle). Listed, not `--workspace`: recipe crates (publish = false) are not packaged.
PUBLISHED="anyscope-core anyscope-tokio anyscope-smol anyscope-sim anyscope-macros anyscope anyscope-conformance"
package_published() {
    local args=() pkg dir rc=0
    for pkg in $PUBLISHED; do
        args+=(-p "$pkg")
    done
    # A fresh target dir: the packaged crates are built as registry crates of version 0.1.0,
    # which cargo never rebuilds once built, so a reused target dir would verify against stale
    # builds of an earlier packaging.
    dir=$(mktemp -d)
    CARGO_TARGET_DIR="$dir" cargo package --allow-dirty "${args[@]}" || rc=$?
    rm -rf "$dir"
    return "$rc"
}
step "package" package_published
