# Sourced by bench/run.sh, bench/sweep.sh and bench/mailbox.sh: the one way they start (the compared servers) and stop
# a server and pick a port. start_target sets PID and PORT (logs go to $OUT); a caller that
# starts its own server sets PID itself. stop_server also runs on exit.

PID=""

# install COMMAND…: the Debian packages of the same names, for those not on PATH.
install() {
    local missing=() sudo=""
    for c in "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
    ((${#missing[@]})) || return 0
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
}

# SIGTERM, then up to 10 s to exit, then SIGKILL.
stop_server() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
    fi
    [ -n "$PID" ] && wait "$PID" 2>/dev/null || true
    PID=""
}
trap stop_server EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A loopback port nobody listens on, below Linux's ephemeral range (32768 and up) so that no
# client socket can be holding it, picked afresh for every server (others share this machine).
pick_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 12000))
        port_open "$port" || { echo "$port"; return 0; }
    done
    echo "no free loopback port found" >&2
    exit 1
}
PORT=""

# start_target TARGET: a fresh server of TARGET (hub, nats, redis, minimal) on a free loopback port.
start_target() {
    local target=$1
    PORT=$(pick_port)
    case $target in
        hub) HUB_EPHEMERAL=true RUST_LOG=warn target/release/hub --listen "127.0.0.1:$PORT" --stats-interval 0s \
                 >>"$OUT/hub.log" 2>&1 & ;;
        nats) nats-server -a 127.0.0.1 -p "$PORT" >>"$OUT/nats.log" 2>&1 & ;;
        # The yardstick: the smallest correct relay of the hub's protocol (bench/src/minrelay.rs).
        minimal) target/release/loadgen minrelay --listen "127.0.0.1:$PORT" >>"$OUT/minimal.log" 2>&1 & ;;
        redis) redis-server --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no \
                   --protected-mode no --maxclients 10100 >>"$OUT/redis.log" 2>&1 & ;;
    esac
    PID=$!
    await_listening "$target"
}

# await_listening NAME: wait up to 5 s for the server just started (PID) to listen on PORT;
# if it does not, stop it and fail.
await_listening() {
    for _ in $(seq 100); do
        sleep 0.05
        # Alive and listening: not some other process that took the port meanwhile.
        if port_open "$PORT" && sleep 0.1 && kill -0 "$PID" 2>/dev/null; then return 0; fi
    done
    echo "$1 did not start listening on $PORT" >&2
    stop_server
    return 1
}

# The load generator's flags for `target`: the minimal relay speaks the hub's protocol.
target_args() {
    case $1 in
        minimal) echo "--target hub --name minimal" ;;
        *) echo "--target $1" ;;
    esac
}
