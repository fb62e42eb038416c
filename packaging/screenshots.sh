#!/usr/bin/env bash
# Take the README's screenshots of the real app on a virtual X display.
# Needs: apt-get install xvfb xdotool imagemagick   (and an installed .venv)
#   bash packaging/screenshots.sh [OUT_DIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/resources/screenshots}"
mkdir -p "$out"
home="$(mktemp -d)"
display=":${ANYLLM_SCREENSHOT_DISPLAY:-97}"

Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true; rm -rf "$home"' EXIT
export DISPLAY="$display"
sleep 1

"$repo/.venv/bin/anyllm-desktop" --home "$home" &
app=$!
window=""
for _ in $(seq 1 50); do
    window="$(xdotool search --name '^anyllm-desktop$' 2>/dev/null | head -n 1 || true)"
    [ -n "$window" ] && break
    sleep 0.2
done
[ -n "$window" ] || { echo "the window did not appear" >&2; exit 1; }
sleep "${ANYLLM_SCREENSHOT_WAIT:-6}"   # let the warm-up finish ("Ready.")
import -window "$window" "$out/main-window.png"
echo "saved $out/main-window.png"
