#!/usr/bin/env bash
# The installer's automated check (run as root on a Debian machine, after
# `bash packaging/build.sh deb`): install the .deb, start the app from its menu entry's Exec line
# under Xvfb with a fresh HOME and no network, answer one question with the installed
# `anyllm ask`, purge the package and check that none of its files remain. Also measures the
# bundle's size and the cold start of `anyllm --version` and of one `anyllm ask`, bundle vs the
# source install (.venv), and appends them to tests/benchmarks/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=$(.venv/bin/python -c 'import anyllm_desktop; print(anyllm_desktop.__version__)')
DEB=$ROOT/dist/anyllm-desktop_${VERSION}_amd64.deb
[ -f "$DEB" ] || { echo "check_deb: $DEB is missing; run bash packaging/build.sh deb" >&2; exit 1; }
WORK=$(mktemp -d)
XVFB_PID=""
cleanup() {
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
    dpkg -s anyllm-desktop >/dev/null 2>&1 && dpkg --purge anyllm-desktop >/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "check_deb: FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# No network for the app: a new network namespace has only a loopback device.
if unshare -n true 2>/dev/null; then NONET=(unshare -n); else NONET=(); echo "no unshare -n"; fi
command -v Xvfb >/dev/null || apt-get install -y -q xvfb >/dev/null

# Paths of the package that did not exist before it was installed must be gone after purge.
dpkg-deb -c "$DEB" | sed -E 's/^([^ ]+ +){5}//; s/ -> .*//; s|^\./|/|; s|/$||' \
    | grep -v '^$' > "$WORK/paths"
while read -r path; do [ -e "$path" ] || [ -L "$path" ] || echo "$path"; done \
    < "$WORK/paths" > "$WORK/new-paths"

start=$(now)
apt-get install -y -q "$DEB" > "$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "install"; }
install_s=$(elapsed "$start" "$(now)")
dpkg -L anyllm-desktop > "$WORK/dpkg-L"
echo "installed in ${install_s} s: $(wc -l < "$WORK/dpkg-L") paths"
for name in anyllm anyllm-desktop; do command -v "$name" | grep -q /usr/bin/ || fail "$name not on PATH"; done
bundle_size=$(du -sh /opt/anyllm-desktop | cut -f1)
deb_size=$(du -h "$DEB" | cut -f1)

# A fresh user: empty HOME, no XDG folders from this shell, no ANYLLM_HOME.
export HOME=$WORK/home
mkdir -p "$HOME"
unset ANYLLM_HOME XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME

# Start the app the way the desktop does: the Exec line, its field codes with no files.
DESKTOP=/usr/share/applications/anyllm-desktop.desktop
EXEC=$(sed -n 's/^Exec=//p' "$DESKTOP" | sed 's/ *%[fFuU]//g')
Xvfb :97 -screen 0 1280x800x24 -nolisten tcp > "$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 50); do [ -e /tmp/.X11-unix/X97 ] && break; sleep 0.1; done
start=$(now)
# shellcheck disable=SC2086  # the Exec line is split into words as the desktop does
DISPLAY=:97 QT_QPA_PLATFORM=xcb timeout 180 "${NONET[@]}" $EXEC --quit-after-start \
    > "$WORK/gui.log" 2>&1 || { cat "$WORK/gui.log"; fail "the app did not start from '$EXEC'"; }
grep -q "window shown" "$WORK/gui.log" || { cat "$WORK/gui.log"; fail "no window"; }
gui_s=$(elapsed "$start" "$(now)")
echo "window from the menu entry: $(grep 'window shown' "$WORK/gui.log") (${gui_s} s in all)"
[ -d "$HOME/.local/share/anyllm-desktop" ] || fail "the app made no data folder in the fresh HOME"

# One question with the installed CLI, on a small ingested file, no network.
cat > "$WORK/release.md" <<'DOC'
# Release names

The codename of the unstable distribution is **sid**. Packages enter sid first,
then move to testing after they have had no release-critical bugs for a few days.
DOC
QUESTION="What is the codename of the unstable distribution?"
timed_as() {  # timed_as NAME CMD...: run once, output in $WORK/NAME.*, print seconds
    local name=$1 t0
    shift
    t0=$(now)
    "${NONET[@]}" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || {
        cat "$WORK/$name.err" >&2; fail "$*"; }
    elapsed "$t0" "$(now)"; }
bundle_version_s=$(timed_as version anyllm --version)
timed_as create anyllm workspace create Check > /dev/null
timed_as ingest anyllm ingest -w Check "$WORK/release.md" > /dev/null
bundle_ask_s=$(timed_as ask anyllm ask -w Check "$QUESTION" --json)
python3 - "$WORK/ask.out" <<'PY' || fail "the installed anyllm ask gave no cited answer"
import json, sys
answer = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print("bundle answer:", answer["answer"][:120].replace("\n", " "), "| citations:", len(answer["citations"]))
sys.exit(0 if answer["answer"].strip() and answer["citations"] else 1)
PY

# The same two commands from the source install, same machine, same run.
export HOME=$WORK/home-src
mkdir -p "$HOME"
source_version_s=$(timed_as sversion "$ROOT/.venv/bin/anyllm" --version)
timed_as screate "$ROOT/.venv/bin/anyllm" workspace create Check > /dev/null
timed_as singest "$ROOT/.venv/bin/anyllm" ingest -w Check "$WORK/release.md" > /dev/null
source_ask_s=$(timed_as sask "$ROOT/.venv/bin/anyllm" ask -w Check "$QUESTION" --json)
source_size=$(du -sh "$ROOT/.venv" | cut -f1)

# Removal: purge, then nothing of the package may remain; the user's data stays.
start=$(now)
dpkg --purge anyllm-desktop > "$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "purge"; }
purge_s=$(elapsed "$start" "$(now)")
left=0
while read -r path; do
    if [ -e "$path" ] || [ -L "$path" ]; then echo "left behind: $path"; left=$((left + 1)); fi
done < "$WORK/new-paths"
[ ! -e /opt/anyllm-desktop ] || { echo "left behind: /opt/anyllm-desktop"; left=$((left + 1)); }
[ "$left" -eq 0 ] || fail "$left paths of the package remain after dpkg --purge"
[ -d "$WORK/home/.local/share/anyllm-desktop" ] || fail "purge removed the user's data"
echo "purged in ${purge_s} s; none of its $(wc -l < "$WORK/new-paths") new paths remain"

cat >> "$ROOT/tests/benchmarks/RESULTS.md" <<MD

## Installers: the .deb and the PyInstaller bundle vs the source install ($(date -u +%Y-%m-%d))

\`bash packaging/check_deb.sh\` on this machine ($(nproc) cores), one run, each command run once
right after install (first start, files possibly in the page cache from the build), no network
(\`unshare -n\`), fresh HOME.

| | bundle (.deb, /opt/anyllm-desktop) | source install (.venv) |
|---|---|---|
| size on disk | **$bundle_size** (.deb $deb_size) | $source_size |
| \`anyllm --version\` | **${bundle_version_s} s** | ${source_version_s} s |
| \`anyllm ask\` (embedded model, 1 small file) | **${bundle_ask_s} s** | ${source_ask_s} s |

- install (apt-get) ${install_s} s; window shown from the menu entry's Exec line under Xvfb:
  ${gui_s} s from launch to exit (${EXEC} --quit-after-start); purge ${purge_s} s, no file left.
MD
echo "check_deb: OK (bundle $bundle_size, --version ${bundle_version_s} s vs ${source_version_s} s," \
    "ask ${bundle_ask_s} s vs ${source_ask_s} s)"
