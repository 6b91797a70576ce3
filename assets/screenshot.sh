#!/usr/bin/env bash
# Make assets/screenshot.png from a real run: a hub, three logged-in clients in tmux, a short
# scripted exchange in two conversations, then the 80x24 screen of one client (side panes shown
# with F2) rendered to PNG.
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
# Three accounts, each client with its own identity and history under $work.
declare -A name=([a]=alice [b]=bob [c]=carol)
for c in a b c; do
    XDG_CONFIG_HOME="$work/$c-config" ./target/debug/tui-client --hub "$hub" \
        --log-file "$work/$c.log" register "${name[$c]}" >/dev/null 2>&1
done
for c in a b c; do
    $T new-session -d -s "$c" -x 80 -y 24 \
        "env XDG_CONFIG_HOME=$work/$c-config XDG_DATA_HOME=$work/$c-data ./target/debug/tui-client --hub $hub --download-dir $work/$c --log-file $work/$c.log"
    sleep 0.5
done
printf 'draft of the release notes\n' >"$work/notes.md"
say() { $T send-keys -t "$1" -l "$2" && $T send-keys -t "$1" Enter && sleep 0.3; }
# bob and carol write to alice; alice answers bob in his conversation and sends a file,
# then carol writes again, naming her, while alice is in bob's conversation.
say b "/query alice"
say b "morning! is the hub build green on your side?"
say c "/query alice"
say c "yes, relay tests pass; the fan-out bench looks good too"
say a "/query bob"
say a "green here too; notes attached"
$T send-keys -t a C-o && $T send-keys -t a -l "$work/notes.md" && $T send-keys -t a Enter Enter
sleep 0.5
say b "great, I will tag it after lunch"
say c "alice: can you review the client PR first?"
say c "it is small"
# 80 columns is narrow: F2 shows the conversation and peer lists beside the conversation.
$T send-keys -t a F2
$T send-keys -t a -l "next: the terminal client"
sleep 0.5
$T capture-pane -e -p -t a >"$work/screen.ansi"
/usr/bin/python3 assets/ansi2png.py "$work/screen.ansi" assets/screenshot.png
echo "wrote assets/screenshot.png"
