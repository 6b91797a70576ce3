#!/usr/bin/env bash
# The tables of bench/README.md § "Many hubs over NATS" in one command.
#
# 1. W1–W4 and W4 light on five sides, a fresh set of servers per run, interleaved (cluster3,
#    cluster1, hub, nats, redis, cluster3, …) so that the machine's drift hits all alike:
#    - cluster3: nats-server -js and 3 hubs with --cluster; the workload's clients spread over
#      the 3 hubs (`loadgen run --also`: client i on hub i mod 3, the sender on hub 1);
#    - cluster1: nats-server -js and 1 hub with --cluster, every client on it;
#    - hub: 1 hub without --cluster; nats, redis: the servers alone (bench/servers.sh).
#    For the cluster sides nats-server's /varz (messages and bytes in and out) and the CPU
#    seconds of nats-server and of each hub are added to the run's line.
#    Then W4 at SWEEP_RATES on cluster3, cluster1 and hub: latency against load.
# 2. Presence convergence (`loadgen converge`): CLIENTS_CONVERGE clients on hub 2 of 3, watchers
#    on hubs 1 and 3; hub 2 is killed with SIGKILL; time until every watcher saw every leave.
# 3. Failover (`loadgen failover`): CLIENTS_FAILOVER clients on hub 1 of 2, each reconnecting to
#    hub 2 when it loses hub 1; hub 1 is killed with SIGKILL; time until all are on hub 2 and
#    hub 2 lists them all; hub 2's CPU seconds and peak RSS.
# Writes bench/results/$TAG.jsonl and prints the tables (`loadgen report`).
# Usage: bench/cluster.sh   (env: REPEAT=3 SCALE=0.5 W3_SCALE=0.3 WORKLOADS="w1 w2 w3 w4 w4l"
#                            SIDES="cluster3 cluster1 hub nats redis" PARTS="fanout sweep converge failover"
#                            CLIENTS_CONVERGE=1000 CLIENTS_FAILOVER=10000 TAG=cluster1)
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${REPEAT:-3}          # runs of each workload on each side, and of each of parts 2 and 3
SCALE=${SCALE:-0.5}          # W1, W2 and W4 (W4's duration)
W3_SCALE=${W3_SCALE:-0.3}    # W3's 1 MiB bodies
WORKLOADS=${WORKLOADS:-"w1 w2 w3 w4 w4l"}
SIDES=${SIDES:-"cluster3 cluster1 hub nats redis"}
PARTS=${PARTS:-"fanout sweep converge failover"}
SWEEP_RATES=${SWEEP_RATES:-"4 40"}   # part "sweep": W4 at 10,000 and 100,000 deliveries/s
CLIENTS_CONVERGE=${CLIENTS_CONVERGE:-1000}
CLIENTS_FAILOVER=${CLIENTS_FAILOVER:-10000}
TAG=${TAG:-cluster1}
OUT=${OUT:-target/bench-cluster}
RESULTS=bench/results/$TAG.jsonl
BUILT=${CARGO_TARGET_DIR:-target}/release

# install, start_target, stop_server, pick_port, await_listening, PID and PORT.
source bench/servers.sh
install nats-server redis-server
HUB=$OUT/bin/hub
LOADGEN=$OUT/bin/loadgen
mkdir -p "$OUT/bin"
# Copies of this build's binaries, made right after it: the target dir may be shared with other
# worktrees, whose builds would otherwise swap the hub under a running benchmark. NO_BUILD=1
# runs the copies of an earlier build.
if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release -p hub -p bench
    cp "$BUILT/hub" "$BUILT/loadgen" "$OUT/bin/"
fi
"$HUB" --help | grep -q -- --cluster || { echo "$HUB has no --cluster: not this branch's hub" >&2; exit 1; }
# 10,000 failing-over clients hold as many sockets in the load generator and in each hub.
ulimit -n "$(ulimit -Hn)"

# The cluster's processes: nats-server first, then the hubs (HUBS: their pids; HUB_PORTS).
NATS_PID="" NATS_PORT="" NATS_HTTP="" NATS_DIR=""
HUBS=() HUB_PORTS=()

stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_cluster() {
    local pid
    for pid in "${HUBS[@]}"; do stop_pid "$pid"; done
    [ -n "$NATS_PID" ] && stop_pid "$NATS_PID"
    [ -n "$NATS_DIR" ] && rm -rf "$NATS_DIR"
    HUBS=() HUB_PORTS=() NATS_PID="" NATS_DIR=""
}
trap 'stop_cluster; stop_server' EXIT

# start_cluster N [HUB FLAG…]: a fresh nats-server with JetStream and N hubs on it. NATS's
# max_payload is raised from 1 MiB to 8 MiB: a relay of W3's 1 MiB body is that body plus the
# frame and the headers, which the default refuses (the hub logs "max payload size exceeded"
# and answers `dropped`).
start_cluster() {
    local n=$1 i
    shift
    NATS_PORT=$(pick_port)
    NATS_HTTP=$(pick_port)
    NATS_DIR=$(mktemp -d "$OUT/nats.XXXXXX")
    printf 'listen: "127.0.0.1:%s"\nhttp: "127.0.0.1:%s"\nmax_payload: 8MB\njetstream { store_dir: "%s" }\n' \
        "$NATS_PORT" "$NATS_HTTP" "$NATS_DIR/js" >"$NATS_DIR/nats.conf"
    nats-server -c "$NATS_DIR/nats.conf" >>"$OUT/nats.log" 2>&1 &
    NATS_PID=$!
    PID=$NATS_PID PORT=$NATS_PORT await_listening nats-server || { PID=""; return 1; }
    PID=""
    for i in $(seq "$n"); do
        PORT=$(pick_port)
        HUB_EPHEMERAL=true RUST_LOG=warn "$HUB" --listen "127.0.0.1:$PORT" --stats-interval 0s \
            --cluster "nats://127.0.0.1:$NATS_PORT" "$@" >>"$OUT/hub-$i.log" 2>&1 &
        PID=$!
        HUBS+=("$PID")
        HUB_PORTS+=("$PORT")
        await_listening "hub $i" || { PID=""; return 1; }
        PID=""
    done
}

# start_hub: one hub of this build without --cluster (PID, PORT), as servers.sh starts one.
start_hub() {
    PORT=$(pick_port)
    HUB_EPHEMERAL=true RUST_LOG=warn "$HUB" --listen "127.0.0.1:$PORT" --stats-interval 0s \
        >>"$OUT/hub.log" 2>&1 &
    PID=$!
    await_listening hub
}

# varz: nats-server's counters now, as one JSON object.
varz() {
    curl -s "http://127.0.0.1:$NATS_HTTP/varz" |
        jq -c '{in_msgs, out_msgs, in_bytes, out_bytes}'
}

# cpu_s PID: the user plus system CPU seconds of process PID so far (/proc/PID/stat, fields 14
# and 15, in ticks of 1/100 s; counted from after the command name, which may hold spaces).
cpu_s() { sed 's/.*) //' "/proc/$1/stat" | awk '{printf "%.2f", ($12 + $13) / 100}'; }

# run_one SIDE WORKLOAD SCALE [RATE]: one run against a fresh set of servers, its line appended
# to RESULTS; with RATE, W4 at RATE sends a second per client, recorded as workload "w4sweep".
run_one() {
    local side=$1 workload=$2 scale=$3 rate=${4:-} line args=() before after nats_cpu hub_cpu pid i
    case $side in
        cluster3 | cluster1)
            local n=${side#cluster}
            start_cluster "$n" || { stop_cluster; start_cluster "$n"; } ||
                { echo "   $side did not start" >&2; stop_cluster; return 0; }
            args=(--target hub --name "$side" --addr "127.0.0.1:${HUB_PORTS[0]}" --pid "${HUBS[0]}")
            if [ "$n" -gt 1 ]; then
                args+=(--also "$(printf '127.0.0.1:%s,' "${HUB_PORTS[@]:1}" | sed 's/,$//')")
            fi
            before=$(varz)
            nats_cpu=$(cpu_s "$NATS_PID")
            hub_cpu=()
            for pid in "${HUBS[@]}"; do hub_cpu+=("$(cpu_s "$pid")"); done
            ;;
        hub)
            start_hub || start_hub || { echo "   hub did not start" >&2; return 0; }
            args=(--target hub --addr "127.0.0.1:$PORT" --pid "$PID")
            ;;
        *)
            start_target "$side" || start_target "$side" || { echo "   $side did not start" >&2; return 0; }
            # shellcheck disable=SC2207 # target_args is words
            args=($(target_args "$side") --addr "127.0.0.1:$PORT" --pid "$PID")
            ;;
    esac
    [ -n "$rate" ] && args+=(--rate "$rate")
    echo "== $workload $side $rate" >&2
    if line=$(timeout 300 "$LOADGEN" run "${args[@]}" --workload "$workload" --scale "$scale"); then
        [ -n "$rate" ] && line=$(jq -c '.workload = "w4sweep"' <<<"$line")
        case $side in
            cluster*)
                after=$(varz)
                local cpus=() now
                for i in "${!HUBS[@]}"; do
                    now=$(cpu_s "${HUBS[$i]}")
                    cpus+=("$(awk "BEGIN {printf \"%.2f\", $now - ${hub_cpu[$i]}}")")
                done
                line=$(jq -c --argjson b "$before" --argjson a "$after" \
                    --argjson nc "$(awk "BEGIN {printf \"%.2f\", $(cpu_s "$NATS_PID") - $nats_cpu}")" \
                    --argjson hc "[$(IFS=,; echo "${cpus[*]}")]" \
                    '. + {nats: {in_msgs: ($a.in_msgs - $b.in_msgs), out_msgs: ($a.out_msgs - $b.out_msgs),
                                in_bytes: ($a.in_bytes - $b.in_bytes), out_bytes: ($a.out_bytes - $b.out_bytes),
                                cpu_s: $nc}, hubs_cpu_s: $hc}' <<<"$line")
                ;;
        esac
        echo "$line" >>"$RESULTS"
        echo "$line" | cut -c1-240 >&2
    else
        echo "   $workload against $side failed" >&2
    fi
    stop_cluster
    stop_server
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: >"$RESULTS"
start=$(date +%s)

if [[ " $PARTS " == *" fanout "* ]]; then
    for workload in $WORKLOADS; do
        scale=$SCALE
        [ "$workload" = w3 ] && scale=$W3_SCALE
        for _ in $(seq "$REPEAT"); do
            for side in $SIDES; do run_one "$side" "$workload" "$scale"; done
        done
    done
fi

# Latency against load: W4 at SWEEP_RATES sends a second per client (2,500 times that in
# deliveries/s), on the 3 hubs, the 1 clustered hub and the plain hub.
if [[ " $PARTS " == *" sweep "* ]]; then
    for _ in $(seq "$REPEAT"); do
        for rate in $SWEEP_RATES; do
            for side in cluster3 cluster1 hub; do run_one "$side" w4 "$SCALE" "$rate"; done
        done
    done
fi

if [[ " $PARTS " == *" converge "* ]]; then
    for _ in $(seq "$REPEAT"); do
        start_cluster 3 || { echo "   the cluster did not start" >&2; stop_cluster; continue; }
        echo "== converge $CLIENTS_CONVERGE" >&2
        "$LOADGEN" converge --addr "127.0.0.1:${HUB_PORTS[0]}" \
            --victim "127.0.0.1:${HUB_PORTS[1]}" --victim-pid "${HUBS[1]}" \
            --also "127.0.0.1:${HUB_PORTS[2]}" --clients "$CLIENTS_CONVERGE" \
            --heartbeat-s 1 --dead-after 3 | tee -a "$RESULTS" | cut -c1-240 >&2 ||
            echo "   converge failed" >&2
        stop_cluster
    done
fi

if [[ " $PARTS " == *" failover "* ]]; then
    for _ in $(seq "$REPEAT"); do
        # The clients and the run's probe (hub's default limit is 10,000 connections).
        start_cluster 2 --max-connections $((CLIENTS_FAILOVER + 100)) ||
            { echo "   the cluster did not start" >&2; stop_cluster; continue; }
        echo "== failover $CLIENTS_FAILOVER" >&2
        "$LOADGEN" failover --addr "127.0.0.1:${HUB_PORTS[0]}" --pid "${HUBS[0]}" \
            --to "127.0.0.1:${HUB_PORTS[1]}" --to-pid "${HUBS[1]}" \
            --clients "$CLIENTS_FAILOVER" | tee -a "$RESULTS" | cut -c1-240 >&2 ||
            echo "   failover failed" >&2
        stop_cluster
    done
fi

echo
echo "$(date -u +%F), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average after:" \
     "$(cut -d' ' -f1-3 /proc/loadavg); $(nats-server --version)," \
     "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'); $(($(date +%s) - start)) s"
echo
"$LOADGEN" report "$RESULTS"
