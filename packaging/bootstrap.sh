#!/usr/bin/env bash
# Install anyllm-desktop into .venv/ at the repository root, then start the app or run the tests.
#
#   bash packaging/bootstrap.sh app  [ARGS...]   install, then start the desktop app
#   bash packaging/bootstrap.sh test [ARGS...]   install with test tools, then run pytest
#   bash packaging/bootstrap.sh install          install only
#
# Safe to run again: when nothing changed it only checks the environment and starts.
# The only network it uses is the Python package index (and Debian's, for missing system
# libraries when run as root).
set -euo pipefail

LLAMA_CPP_VERSION="0.3.36"
# A native build uses every instruction the build machine has. On CPUs with AMX it picks ggml's
# AMX kernels, and generation dies with SIGSEGV (see shared ENVIRONMENT.md). A portable build still
# uses AVX2/FMA/F16C and runs everywhere.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF"

mode="${1:-app}"
[ $# -gt 0 ] && shift
case "$mode" in app|test|install) ;; *)
    echo "usage: bash packaging/bootstrap.sh app|test|install [ARGS...]" >&2; exit 2 ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/anyllm-desktop"
wheelhouse="$cache/wheels/llama-cpp-python-$LLAMA_CPP_VERSION-portable"

say() { printf '\033[1m[anyllm]\033[0m %s\n' "$*" >&2; }

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    return 1
}

# Qt needs a few shared libraries that minimal Linux installs may lack; compiling llama.cpp
# needs a C++ compiler. Install what is missing where we can (apt as root or with sudo).
# Arguments name further packages to install.
ensure_system_packages() {
    [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null 2>&1 || return 0
    local missing=("$@") pair lib
    local -a needs=(libEGL.so.1:libegl1 libGL.so.1:libgl1 libfontconfig.so.1:libfontconfig1
                    libxkbcommon.so.0:libxkbcommon0 libxkbcommon-x11.so.0:libxkbcommon-x11-0
                    libdbus-1.so.3:libdbus-1-3 libxcb-cursor.so.0:libxcb-cursor0
                    libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1
                    libxcb-shape.so.0:libxcb-shape0 libxcb-image.so.0:libxcb-image0
                    libxcb-render-util.so.0:libxcb-render-util0)
    local libs; libs="$(/sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null || true)"
    for pair in "${needs[@]}"; do
        lib="${pair%%:*}"
        grep -qF "$lib" <<<"$libs" || missing+=("${pair#*:}")
    done
    command -v c++ >/dev/null 2>&1 || missing+=(g++)
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    say "installing system packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null ||
        say "warning: could not install ${missing[*]}; the app may not start without them"
}

# The e2e tests watch the native engines' sockets with strace (tests/e2e/test_native_offline.py).
ensure_test_tools() {
    command -v strace >/dev/null 2>&1 || ensure_system_packages strace
}

llama_wheel() { compgen -G "$wheelhouse/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl" | head -n 1; }

build_llama_wheel() {
    [ -n "$(llama_wheel)" ] && return 0
    say "building llama-cpp-python $LLAMA_CPP_VERSION for this CPU (portable; about 5 minutes, once)"
    mkdir -p "$wheelhouse"
    # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS and could hand back a native build.
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
        "$venv/bin/python" -m pip wheel --quiet --no-deps --no-cache-dir \
        --wheel-dir "$wheelhouse" "llama-cpp-python==$LLAMA_CPP_VERSION"
}

# The stamp records what was installed (a fingerprint of pyproject.toml and this script, and the
# extras); when it matches, a re-run installs nothing.
install_environment() {
    local extras="$1" stamp="$venv/.anyllm-bootstrap" fingerprint installed
    fingerprint="$(cat "$repo/pyproject.toml" "$repo/packaging/bootstrap.sh" | sha256sum | cut -c1-64)"
    installed="$(cat "$stamp" 2>/dev/null || true)"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import anyllm_desktop, llama_cpp' 2>/dev/null &&
       { [ "$installed" = "$fingerprint $extras" ] || [ "$installed" = "$fingerprint [test]" ]; }; then
        return 0
    fi
    ensure_system_packages
    if ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
        local python
        python="$(find_python)" || { say "Python 3.11 or newer is required"; exit 1; }
        say "creating $venv with $python"
        rm -rf "$venv"
        "$python" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    build_llama_wheel
    say "installing anyllm-desktop and its dependencies into .venv"
    "$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$(llama_wheel)"
    "$venv/bin/python" -m pip install --quiet -e "$repo$extras"
    echo "$fingerprint $extras" > "$stamp"
}

cd "$repo"
case "$mode" in
    app)
        install_environment ""
        exec "$venv/bin/anyllm-desktop" "$@" ;;
    test)
        install_environment "[test]"
        ensure_test_tools
        exec "$venv/bin/python" -m pytest "$@" ;;
    install)
        install_environment "[test]" ;;
esac
