#!/usr/bin/env bash
# Make assets/screenshot.png from a real run: a hub, three clients in tmux, a short
# scripted conversation, then the 80x24 screen of one client rendered to PNG.
# Usage: bash assets/screenshot.sh   (from the workspace root)
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v tmux >/dev/null || need+=(tmux)
/usr/bin/python3 -c "import PIL" 2>/dev/null || need+=(python3-pil)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update && apt-get install -y "${need[@]}"
fi
cargo build -q -p hub -p tui-client
work=/tmp/hubbub-demo
rm -rf "$work" && mkdir -p "$work"
port=$((20000 + RANDOM % 20000))
hub="127.0.0.1:$port"
./target/debug/hub --listen "$hub" --stats-interval 0s >"$work/hub.log" 2>&1 &
hub_pid=$!
T="tmux -L hubbub-shot"
cleanup() { $T kill-server 2>/dev/null || true; kill "$hub_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
sleep 0.5
for c in a b c; do
    $T new-session -d -s "$c" -x 80 -y 24 \
        "./target/debug/tui-client --hub $hub --download-dir $work/$c --log-file $work/$c.log"
    sleep 0.5
done
printf 'draft of the release notes\n' >"$work/notes.md"
# b and c write to a; a answers both and sends a file.
$T send-keys -t b C-Space && $T send-keys -t b -l "morning! is the hub build green on your side?" && $T send-keys -t b Enter
sleep 0.3
$T send-keys -t c C-Space && $T send-keys -t c -l "yes, relay tests pass; the fan-out bench looks good too" && $T send-keys -t c Enter
sleep 0.3
$T send-keys -t b -l "great, I will tag it after lunch" && $T send-keys -t b Enter
sleep 0.3
$T send-keys -t a M-a && $T send-keys -t a -l "thanks both, notes attached" && $T send-keys -t a Enter
$T send-keys -t a C-o && $T send-keys -t a -l "$work/notes.md" && $T send-keys -t a Enter Enter
sleep 0.5
$T send-keys -t c -l "got it, reading now" && $T send-keys -t c Enter
sleep 0.3
$T send-keys -t a -l "next: the terminal client" 
sleep 0.5
$T capture-pane -e -p -t a >"$work/screen.ansi"
/usr/bin/python3 assets/ansi2png.py "$work/screen.ansi" assets/screenshot.png
echo "wrote assets/screenshot.png"
