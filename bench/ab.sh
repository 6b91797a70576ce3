#!/usr/bin/env bash
# A/B of two hub binaries on the same workloads, runs interleaved (A B A B …) so that the
# machine's drift over minutes hits both alike. Prints each side's table; compare the ratios.
# Usage: bench/ab.sh OLD_HUB_BINARY NEW_HUB_BINARY   (env: REPEAT=3 WORKLOADS="w1 w3 w4" SCALE=1)
#        LOGIN=1 bench/ab.sh HUB_BINARY             one binary, anonymous clients against
#                                                   clients logged in as accounts (run --login)
# PERF=1 adds the hub's CPU time to each result (perf stat task-clock, /proc user and system);
# VALGRIND=1 runs the hub under valgrind (cachegrind) and adds its instruction count, with a
# run of one message per round to take off start-up; use a small SCALE (0.05) with it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${LOGIN:-0}" = 1 ]; then
    [ $# -eq 1 ] || { echo "usage: LOGIN=1 $0 HUB_BINARY" >&2; exit 2; }
    sides=(anon login) binaries=("$1" "$1") flags=("" "--login")
else
    [ $# -eq 2 ] || { echo "usage: $0 OLD_HUB_BINARY NEW_HUB_BINARY" >&2; exit 2; }
    sides=(old new) binaries=("$1" "$2") flags=("" "")
fi
REPEAT=${REPEAT:-3}
WORKLOADS=${WORKLOADS:-"w1 w3 w4"}
SCALE=${SCALE:-1}
OUT=${OUT:-target/bench-ab}
PERF=${PERF:-0}
VALGRIND=${VALGRIND:-0}
LOADGEN=${CARGO_TARGET_DIR:-target}/release/loadgen
cargo build --release -p bench
# W5 holds 10,000 sockets in the server and as many in the load generator.
ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"
for side in "${sides[@]}"; do : >"$OUT/$side.jsonl"; done
# stop_server, port_open, pick_port, PID and PORT.
source bench/servers.sh

# The hub's user and system CPU seconds so far, from /proc/PID/stat.
cpu_seconds() {
    awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f %.2f", $14 / tck, $15 / tck }' "/proc/$PID/stat"
}

run() {
    local side=$1 binary=$2 flag=$3 workload=$4 scale=$5 wrap=() cg="" perf="" cpu0 cpu1 line
    PORT=$(pick_port)
    if [ "$VALGRIND" = 1 ]; then
        cg="$OUT/cachegrind.$side.$workload.$scale.$RANDOM"
        wrap=(valgrind --tool=cachegrind --cache-sim=no "--cachegrind-out-file=$cg")
    fi
    # Logged-in runs register one account per client, all from 127.0.0.1.
    HUB_EPHEMERAL=true HUB_REGISTER_RATE=1000000 RUST_LOG=warn "${wrap[@]}" "$binary" \
        --listen "127.0.0.1:$PORT" --stats-interval 0s >>"$OUT/$side.log" 2>&1 &
    PID=$!
    until port_open "$PORT"; do sleep 0.05; done
    echo "== $workload $side $flag" >&2
    if [ "$PERF" = 1 ]; then
        perf stat -x, -e task-clock -p "$PID" -o "$OUT/perf.txt" &
        perf=$!
        cpu0=$(cpu_seconds)
    fi
    # $flag is empty or one word.
    # shellcheck disable=SC2086
    line=$(timeout 300 "$LOADGEN" run --target hub --addr "127.0.0.1:$PORT" --pid "$PID" \
        --workload "$workload" --scale "$scale" $flag) || echo "   failed" >&2
    if [ -n "$perf" ]; then
        cpu1=$(cpu_seconds)
        kill -INT "$perf"
        wait "$perf" || true
        [ -n "$line" ] && line=$(awk -v a="$cpu0" -v b="$cpu1" -v line="$line" -F, '$3 == "task-clock" {
            split(a, x, " "); split(b, y, " ")
            printf "{\"cpu\":{\"task_clock_ms\":%s,\"user_s\":%.2f,\"sys_s\":%.2f},%s",
                $1, y[1] - x[1], y[2] - x[2], substr(line, 2) }' "$OUT/perf.txt")
    fi
    stop_server
    if [ -n "$cg" ] && [ -n "$line" ]; then
        grep -q '^summary:' "$cg" 2>/dev/null || { echo "   no instruction count in $cg" >&2; return 0; }
        line="{\"valgrind\":{\"instructions\":$(awk '/^summary:/ { print $2 }' "$cg")},${line#\{}"
    fi
    if [ -n "$line" ]; then echo "$line" >>"$OUT/$side.jsonl"; fi
}

for workload in $WORKLOADS; do
    for _ in $(seq "$REPEAT"); do
        for i in "${!sides[@]}"; do
            run "${sides[$i]}" "${binaries[$i]}" "${flags[$i]}" "$workload" "$SCALE"
            if [ "$VALGRIND" = 1 ]; then
                run "${sides[$i]}" "${binaries[$i]}" "${flags[$i]}" "$workload" 0.000001
            fi
        done
    done
done
if [ "${LOGIN:-0}" = 1 ]; then
    echo "## $1: anonymous, and logged in against anonymous"
    "$LOADGEN" report "$OUT/anon.jsonl" "$OUT/login.jsonl"
else
    echo "## old: $1"
    "$LOADGEN" report "$OUT/old.jsonl"
    echo
    echo "## new: $2"
    "$LOADGEN" report "$OUT/new.jsonl"
fi
