#!/bin/sh
# Launcher of the portable bundle: `./anyllm-desktop.sh [FILES]` opens the window,
# `./anyllm-desktop.sh --cli ARGS` runs the `anyllm` command line from the same folder.
HERE=$(dirname "$(readlink -f "$0")")
if [ "${1:-}" = "--cli" ]; then
    shift
    exec "$HERE/anyllm" "$@"
fi
exec "$HERE/anyllm-desktop" "$@"
