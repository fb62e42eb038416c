#!/usr/bin/env bash
# Build the installers: `bash packaging/build.sh bundle` (PyInstaller one-folder bundle, as
# dist/anyllm-desktop-<version>-linux-x86_64.tar.gz) or `bash packaging/build.sh deb`
# (dist/anyllm-desktop_<version>_amd64.deb, built from the bundle with dpkg-deb).
# Uses the project's .venv (made by packaging/bootstrap.sh) and its `packaging` extra.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
VERSION=$("$PY" -c 'import anyllm_desktop; print(anyllm_desktop.__version__)')
BUNDLE_DIR=$ROOT/dist/anyllm-desktop
TARBALL=$ROOT/dist/anyllm-desktop-$VERSION-linux-x86_64.tar.gz

build_bundle() {
    if ! "$PY" -c 'import PyInstaller' 2>/dev/null; then
        echo "PyInstaller is missing: installing the packaging extra into $(dirname "$PY")"
        "$PY" -m pip install --quiet -e ".[packaging]"
    fi
    "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/anyllm-desktop.spec
    install -m 0755 packaging/launcher.sh "$BUNDLE_DIR/anyllm-desktop.sh"
    tar -C "$ROOT/dist" -czf "$TARBALL" anyllm-desktop
    echo "bundle: $BUNDLE_DIR ($(du -sh "$BUNDLE_DIR" | cut -f1)), archive: $TARBALL"
}

build_deb() {
    [ -x "$BUNDLE_DIR/anyllm" ] || build_bundle
    "$PY" packaging/make_deb.py --bundle "$BUNDLE_DIR" --version "$VERSION" \
        --out "$ROOT/dist/anyllm-desktop_${VERSION}_amd64.deb"
}

case "${1:-}" in
    bundle) build_bundle ;;
    deb) build_deb ;;
    *) echo "usage: bash packaging/build.sh bundle|deb" >&2; exit 2 ;;
esac
