#!/usr/bin/env bash
# A/B of two hub binaries on the same workloads, runs interleaved (A B A B …) so that the
# machine's drift over minutes hits both alike. Prints each side's table; compare the ratios.
# Usage: bench/ab.sh OLD_HUB_BINARY NEW_HUB_BINARY   (env: REPEAT=3 WORKLOADS="w1 w3 w4" SCALE=1)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 OLD_HUB_BINARY NEW_HUB_BINARY" >&2; exit 2; }
old=$1 new=$2
REPEAT=${REPEAT:-3}
WORKLOADS=${WORKLOADS:-"w1 w3 w4"}
SCALE=${SCALE:-1}
OUT=${OUT:-target/bench-ab}
cargo build --release -p bench
mkdir -p "$OUT"
: >"$OUT/old.jsonl"
: >"$OUT/new.jsonl"
PID=""
stop() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=""
}
trap stop EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

run() {
    local side=$1 binary=$2 workload=$3 port
    port=$((20000 + RANDOM % 12000))
    while port_open "$port"; do port=$((20000 + RANDOM % 12000)); done
    HUB_EPHEMERAL=true RUST_LOG=warn "$binary" --listen "127.0.0.1:$port" --stats-interval 0s >>"$OUT/$side.log" 2>&1 &
    PID=$!
    until port_open "$port"; do sleep 0.05; done
    echo "== $workload $side" >&2
    timeout 300 target/release/loadgen run --target hub --addr "127.0.0.1:$port" --pid "$PID" \
        --workload "$workload" --scale "$SCALE" >>"$OUT/$side.jsonl" || echo "   failed" >&2
    stop
}

for workload in $WORKLOADS; do
    for _ in $(seq "$REPEAT"); do
        run old "$old" "$workload"
        run new "$new" "$workload"
    done
done
echo "## old: $old"
target/release/loadgen report "$OUT/old.jsonl"
echo
echo "## new: $new"
target/release/loadgen report "$OUT/new.jsonl"
