# Shared shell helpers for scripts/*. Source it; do not run it.
# shellcheck shell=bash

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

# Reuse a cargo target directory between runs: the repository's own target/ when it exists (a developer
# checkout), else a per-user cache that survives fresh clones (CI). CARGO_TARGET_DIR always wins.
if [[ -z "${CARGO_TARGET_DIR:-}" ]]; then
    if [[ -d "$REPO_ROOT/target" ]]; then
        CARGO_TARGET_DIR="$REPO_ROOT/target"
    else
        CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/clusterctl/target"
    fi
fi
export CARGO_TARGET_DIR
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# CI builds each commit once: incremental caches only cost time and gigabytes of disk there.
if [[ "${CI:-}" == true ]]; then
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi
# 2-core machines: one link job at a time keeps peak memory sane.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-$(nproc)}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Elapsed-time wrapper: `timed "label" cmd args...`
timed() {
    local label="$1"; shift
    local start=$SECONDS
    log "$label"
    "$@"
    log "$label: done in $((SECONDS - start))s"
}

need_root() {
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null || die "run as root (or install sudo): $*"
        SUDO=sudo
    else
        SUDO=
    fi
}
