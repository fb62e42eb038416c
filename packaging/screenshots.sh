#!/usr/bin/env bash
# Take the README's screenshots of the real app on a virtual X display.
# Needs: apt-get install xvfb   (and an installed .venv)
#   bash packaging/screenshots.sh [OUT_DIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
display=":${ANYLLM_SCREENSHOT_DISPLAY:-97}"
Xvfb "$display" -screen 0 1440x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY="$display" QT_QPA_PLATFORM=xcb "$repo/.venv/bin/python" "$repo/packaging/screenshots.py" "$@"
