# Sourced by bench/run.sh and bench/mailbox.sh: the one way they stop a server and pick a port.
# The caller sets PID to the server it started; stop_server also runs on exit.

PID=""

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
