#!/usr/bin/env bash
# Is the full-screen client responsive during a presence storm? A fresh hub, one tui-client in
# tmux (watching, as it does), then CLIENTS watchers connecting at once (loadgen storm). Every
# half second a word is typed into the client and the time until tmux shows it is printed,
# with the peer count on its status bar.
# Usage: bench/storm_tui.sh   (env: CLIENTS=10000 PORT=17950)
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-10000}
PORT=${PORT:-17950}
command -v tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux; }
cargo build --release -q -p hub -p bench -p tui-client
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
T="tmux -L hubbub-storm"
HUB_EPHEMERAL=true HUB_MAX_CONNECTIONS=$((CLIENTS + 100)) RUST_LOG=warn target/release/hub \
    --listen "127.0.0.1:$PORT" --stats-interval 0s >"$work/hub.log" 2>&1 &
hub=$!
trap '$T kill-server 2>/dev/null || true; kill $hub 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 0.5
$T new-session -d -s s -x 120 -y 30 "env XDG_CONFIG_HOME=$work/cfg XDG_DATA_HOME=$work/data \
    target/release/tui-client --hub 127.0.0.1:$PORT --log-file $work/tui.log"
sleep 1.5
target/release/loadgen storm --addr "127.0.0.1:$PORT" --pid "$hub" --clients "$CLIENTS" \
    >"$work/storm.jsonl" &
storm=$!
start=$(date +%s%N)
for i in 1 2 3 4 5 6 7 8; do
    word="probe$i"
    t0=$(date +%s%N)
    $T send-keys -t s -l "$word "
    until $T capture-pane -p -t s | grep -q "$word"; do sleep 0.01; done
    t1=$(date +%s%N)
    peers=$($T capture-pane -p -t s | grep -o '[0-9]* peers' | head -1)
    echo "keystroke $i at +$(( (t0 - start) / 1000000 )) ms: shown after $(( (t1 - t0) / 1000000 )) ms ($peers)"
    sleep 0.5
done
wait "$storm"
echo "storm: $(cut -c1-200 "$work/storm.jsonl")"
