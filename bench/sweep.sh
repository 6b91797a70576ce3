#!/usr/bin/env bash
# Chat latency against offered load: W4 (500 clients, 5 receivers per send, 100-byte bodies)
# at each load, against every target, interleaved (hub nats redis minimal, hub nats … at one
# load, then the next load), so the machine's drift over minutes hits all alike. Writes the
# JSON lines and draws them (loadgen chart) as an SVG; `loadgen report` is not for these lines.
# Usage: bench/sweep.sh   (env: LOADS="1000 5000 …" deliveries/s, REPEAT=3, SCALE=1 (5 s a run),
#                          TARGETS="hub nats redis minimal", OUT=target/sweep, CHART=$OUT/sweep.svg)
set -euo pipefail
cd "$(dirname "$0")/.."

LOADS=${LOADS:-"1000 2000 5000 10000 20000 50000 100000 200000"}
REPEAT=${REPEAT:-3}
SCALE=${SCALE:-1}
TARGETS=${TARGETS:-"hub nats redis minimal"}
OUT=${OUT:-target/sweep}
CHART=${CHART:-$OUT/sweep.svg}
# start_target, stop_server, target_args, install, PID and PORT.
source bench/servers.sh
install nats-server redis-server
cargo build --release -p hub -p bench
ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"
RESULTS="$OUT/sweep.jsonl"
: >"$RESULTS"
for load in $LOADS; do
    # 500 clients × 5 receivers: a client sends load / 2,500 times a second.
    rate=$(awk -v l="$load" 'BEGIN { printf "%.6g", l / 2500 }')
    for _ in $(seq "$REPEAT"); do
        for target in $TARGETS; do
            start_target "$target" || start_target "$target" || { echo "   skipped" >&2; continue; }
            echo "== $load deliveries/s $target" >&2
            # shellcheck disable=SC2046 # target_args is several words
            timeout 300 target/release/loadgen run $(target_args "$target") --addr "127.0.0.1:$PORT" \
                --pid "$PID" --workload w4 --rate "$rate" --scale "$SCALE" >>"$RESULTS" \
                || echo "   $load against $target failed" >&2
            tail -n1 "$RESULTS" | cut -c1-200 >&2
            stop_server
        done
    done
done
target/release/loadgen chart "$RESULTS" --out "$CHART"
echo "results: $RESULTS  chart: $CHART"
