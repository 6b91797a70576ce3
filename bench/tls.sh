#!/usr/bin/env bash
# The tables of bench/README.md § "TLS against plain TCP" in one command: connection set-up
# (plain, TLS, each with and without login) against the hub, then W1–W4 against four servers
# in turn — the hub plain, the hub with --tls-self-signed, nats-server plain and nats-server
# with a tls block — a fresh server per run, runs interleaved (hub, hub TLS, NATS, NATS TLS,
# hub, …) so that the machine's drift hits all four alike, then W5 (idle memory) against the
# two hubs at 3,000 and 5,000 connections and the plain one at 10,000. Writes
# bench/results/$TAG-setup.jsonl, $TAG-fanout.jsonl and $TAG-idle.jsonl and prints the tables.
# Usage: bench/tls.sh   (env: REPEAT=3 SCALE=0.5 W3_SCALE=0.3 CONNECTIONS=3000
#                        WORKLOADS="w1 w2 w3 w4" TAG=tls3)
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${REPEAT:-3}          # runs of each workload on each side; the tables show medians
SCALE=${SCALE:-0.5}          # W1, W2 and W4 (W4's duration)
W3_SCALE=${W3_SCALE:-0.3}    # W3's 1 MiB bodies
CONNECTIONS=${CONNECTIONS:-3000}
WORKLOADS=${WORKLOADS:-"w1 w2 w3 w4"}
TAG=${TAG:-tls3}
OUT=${OUT:-target/bench-tls}
LOADGEN=target/release/loadgen
SETUP=bench/results/$TAG-setup.jsonl
RESULTS=bench/results/$TAG-fanout.jsonl
IDLE=bench/results/$TAG-idle.jsonl

# install, stop_server, pick_port, await_listening, PID and PORT.
source bench/servers.sh
install nats-server openssl
cargo build --release -p hub -p bench
# W5 holds 10,000 sockets in the server and as many in the load generator.
ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"
CERTS=$(mktemp -d)
trap 'stop_server; rm -rf "$CERTS"' EXIT
# nats-server's certificate: ECDSA P-256 like the hub's rcgen one, for the same handshake.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$CERTS/key.pem" -out "$CERTS/cert.pem" \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null

# start_side SIDE: a fresh server of SIDE (hub, hub-tls, nats, nats-tls) on a free port.
start_side() {
    PORT=$(pick_port)
    local hub=(target/release/hub --listen "127.0.0.1:$PORT" --stats-interval 0s)
    case $1 in
        hub) HUB_EPHEMERAL=true HUB_REGISTER_RATE=1000000 RUST_LOG=warn "${hub[@]}" \
                 >>"$OUT/hub.log" 2>&1 & ;;
        hub-tls) HUB_EPHEMERAL=true HUB_REGISTER_RATE=1000000 RUST_LOG=warn "${hub[@]}" \
                     --tls-self-signed >>"$OUT/hub.log" 2>&1 & ;;
        nats) nats-server -a 127.0.0.1 -p "$PORT" >>"$OUT/nats.log" 2>&1 & ;;
        # nats-server 2.9 has no min_version; with rustls it negotiates TLS 1.3 (printed below).
        nats-tls)
            printf 'listen: "127.0.0.1:%s"\ntls {\n  cert_file: "%s"\n  key_file: "%s"\n}\n' \
                "$PORT" "$CERTS/cert.pem" "$CERTS/key.pem" >"$CERTS/nats.conf"
            nats-server -c "$CERTS/nats.conf" >>"$OUT/nats.log" 2>&1 & ;;
    esac
    PID=$!
    await_listening "$1"
}

# side_args SIDE: loadgen's flags for SIDE's server.
side_args() {
    case $1 in
        hub) echo "--target hub" ;;
        hub-tls) echo "--target hub --tls" ;;
        nats) echo "--target nats" ;;
        nats-tls) echo "--target nats --tls" ;;
    esac
}

# run_one SIDE WORKLOAD SCALE [FILE]: one run against a fresh server, its line appended to
# FILE (RESULTS).
run_one() {
    local side=$1 workload=$2 scale=$3 file=${4:-$RESULTS} line
    start_side "$side" || start_side "$side" || { echo "   $side did not start" >&2; return 0; }
    echo "== $workload $side" >&2
    # shellcheck disable=SC2046 # side_args is several words
    if line=$(timeout 300 "$LOADGEN" run $(side_args "$side") --addr "127.0.0.1:$PORT" \
        --pid "$PID" --workload "$workload" --scale "$scale"); then
        echo "$line" >>"$file"
        echo "$line" | cut -c1-200 >&2
    else
        echo "   $workload against $side failed" >&2
    fi
    stop_server
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: >"$SETUP"
: >"$RESULTS"
: >"$IDLE"
start=$(date +%s)

for _ in $(seq "$REPEAT"); do
    for side in hub hub-tls; do
        start_side "$side"
        for login in "" --login; do
            tls=""
            [ "$side" = hub-tls ] && tls=--tls
            echo "== setup $side $login" >&2
            # $tls and $login are empty or one word.
            # shellcheck disable=SC2086
            "$LOADGEN" setup --addr "127.0.0.1:$PORT" --connections "$CONNECTIONS" \
                --concurrency 16 $tls $login >>"$SETUP" || echo "   failed" >&2
        done
        stop_server
    done
done

for workload in $WORKLOADS; do
    scale=$SCALE
    [ "$workload" = w3 ] && scale=$W3_SCALE
    for _ in $(seq "$REPEAT"); do
        for side in hub hub-tls nats nats-tls; do run_one "$side" "$workload" "$scale"; done
    done
done
# W5 at three sizes, to tell fixed costs from per-connection ones. A TLS connection holds three
# descriptors in the hub (its socket and the pump's socket pair), so 10,000 of them pass a
# 20,000-descriptor limit: the TLS hub stops at 5,000.
for scale in 0.3 0.5; do
    for side in hub hub-tls; do run_one "$side" w5 "$scale" "$IDLE"; done
done
run_one hub w5 1 "$IDLE"

# What nats-server negotiates with rustls (the loadgen's client) and with openssl.
start_side nats-tls
nats_tls=$(python3 -c '
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(4096)  # the INFO line, in plain text before the handshake
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
print(c.wrap_socket(s).version())' "$PORT" 2>/dev/null || echo "not known (python3 missing)")
stop_server

echo
echo "$(date -u +%F), $(nproc) cores, load average after: $(cut -d' ' -f1-3 /proc/loadavg);" \
     "$(nats-server --version) (TLS negotiated with python's ssl: $nats_tls);" \
     "$(($(date +%s) - start)) s"
echo
"$LOADGEN" report "$SETUP"
echo
"$LOADGEN" report "$RESULTS"
echo
echo "| W5 idle | connections | hub RSS before, MiB | after, MiB | KiB per connection |"
echo "|---|---:|---:|---:|---:|"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    side = "TLS" if r["tls"] else "plain"
    n, per = r["connections"], r["kib_per_connection"]
    before, after = r["rss_before_kib"] / 1024, r["rss_after_kib"] / 1024
    print(f"| {side} | {n:,} | {before:.1f} | {after:.1f} | {per:.1f} |")' "$IDLE"
