#!/usr/bin/env bash
# Run the whole test suite N times (default 5) while `stress-ng --cpu 2` keeps both cores busy:
# the suite must not depend on the machine being fast. Stops at the first failing run.
#
#   scripts/stress-test.sh [N] [extra cargo test arguments...]
set -euo pipefail

runs="${1:-5}"
shift || true
cd "$(dirname "$0")/.."

if ! command -v stress-ng >/dev/null 2>&1; then
    echo "stress-ng is missing; installing it with apt-get" >&2
    apt-get update
    apt-get install -y stress-ng
fi

# Build first, unloaded: what is measured is the tests, not the compiler.
cargo test --workspace --no-run "$@"

stress-ng --cpu 2 --quiet &
stress_pid=$!
trap 'kill "$stress_pid" 2>/dev/null || true; wait "$stress_pid" 2>/dev/null || true' EXIT

started=$(date +%s)
for run in $(seq 1 "$runs"); do
    run_started=$(date +%s)
    if ! cargo test --workspace "$@"; then
        echo "stress-test: run $run of $runs FAILED after $(($(date +%s) - run_started)) s" >&2
        exit 1
    fi
    echo "stress-test: run $run of $runs passed in $(($(date +%s) - run_started)) s" >&2
done
echo "stress-test: $runs of $runs runs passed under stress-ng --cpu 2 in $(($(date +%s) - started)) s" >&2
