#!/usr/bin/env bash
# Runs every workload against the hub, nats-server and redis-server on this machine, one server
# at a time on loopback, and prints one markdown table. Not part of CI (it measures, it does not
# test). Usage: bench/run.sh   (env: REPEAT=3 SCALE=1 WORKLOADS="w1 … w6" TARGETS="hub nats redis")
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${REPEAT:-3}            # runs of W1–W4; the table shows medians
SCALE=${SCALE:-1}              # multiplies message counts and W4's duration
WORKLOADS=${WORKLOADS:-"w1 w2 w3 w4 w4l w5 w6"}
TARGETS=${TARGETS:-"hub nats redis minimal"}
OUT=${OUT:-target/bench}

# start_target, stop_server, target_args, install, PID and PORT.
source bench/servers.sh
install nats-server redis-server iperf3
cargo build --release -p hub -p bench
# W5 holds 10,000 sockets in the server and as many in the load generator.
ulimit -n "$(ulimit -Hn)"

mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"

# One fresh server per run, so that peak RSS (VmHWM) belongs to that run alone.
run_one() {
    local target=$1 workload=$2
    start_target "$target" || start_target "$target" || { echo "   skipped" >&2; return 0; }
    echo "== $workload $target" >&2
    # Every workload bounds itself; this is the backstop.
    # shellcheck disable=SC2046 # target_args is several words
    if ! timeout 300 target/release/loadgen run $(target_args "$target") --addr "127.0.0.1:$PORT" \
        --pid "$PID" --workload "$workload" --scale "$SCALE" >>"$RESULTS"; then
        echo "   $workload against $target failed" >&2
    fi
    tail -n1 "$RESULTS" | cut -c1-300 >&2
    stop_server
}

run_iperf() {
    local port
    port=$(pick_port)
    iperf3 -s -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    local server=$!
    sleep 0.5 # a probe connection would count as iperf3's test client
    echo "{\"iperf\": $(iperf3 -c 127.0.0.1 -p "$port" -t 3 -J | tr -d '\n')}" >>"$RESULTS"
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}

start=$(date +%s)
for workload in $WORKLOADS; do
    repeat=1
    case $workload in w1 | w2 | w3 | w4 | w4l) repeat=$REPEAT ;; esac
    for _ in $(seq "$repeat"); do
        for target in $TARGETS; do run_one "$target" "$workload"; done
        [ "$workload" = w3 ] && run_iperf
    done
done

echo
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -h | awk '/Mem:/ {print $2}') RAM;" \
     "$(nats-server --version), redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/');" \
     "$(($(date +%s) - start)) s"
echo
target/release/loadgen report "$RESULTS"
