#!/usr/bin/env bash
# Presence at scale: CLIENTS watching clients connect at once to a fresh hub (loadgen storm),
# REPEAT times; prints a JSON line per run: when every watcher held the complete list, the
# presence frames that took, the hub's CPU seconds and peak RSS.
# VERSION is what the watchers ask for (default: loadgen's PROTOCOL_VERSION, 6, where the hub
# coalesces presence; an older hub answers with its own highest version).
# Usage: bench/storm.sh [HUB_BINARY]
#   (env: CLIENTS=10000 REPEAT=3 OUT=target/storm VERSION=6 LOADGEN=target/release/loadgen)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
HUB=${1:-$TARGET/release/hub}
LOADGEN=${LOADGEN:-$TARGET/release/loadgen}
CLIENTS=${CLIENTS:-10000}
REPEAT=${REPEAT:-3}
OUT=${OUT:-target/storm}
[ -n "${NO_BUILD:-}" ] || cargo build --release -p hub -p bench
# The hub holds CLIENTS sockets, and the load generator as many.
ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"
# stop_server, pick_port, port_open, PID and PORT.
source bench/servers.sh
for _ in $(seq "$REPEAT"); do
    PORT=$(pick_port)
    HUB_EPHEMERAL=true RUST_LOG=warn "$HUB" --listen "127.0.0.1:$PORT" --stats-interval 0s \
        >>"$OUT/hub.log" 2>&1 &
    PID=$!
    until port_open "$PORT"; do sleep 0.05; done
    timeout 300 "$LOADGEN" storm --addr "127.0.0.1:$PORT" --pid "$PID" \
        --clients "$CLIENTS" ${VERSION:+--version "$VERSION"} | tee -a "$OUT/storm.jsonl"
    stop_server
done
