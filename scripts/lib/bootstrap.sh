# Sourced by scripts/test.sh and scripts/demo.sh: installs what is missing, then
# leaves a ready virtualenv in .venv and a ready machine (`inner-universe setup`).
set -euo pipefail

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

# rustup's cargo is where rustup installs it, even when a login shell did not add it to PATH.
if [ -d "$HOME/.cargo/bin" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need_apt+=(python3-venv)
fi
command -v git >/dev/null 2>&1 || need_apt+=(git)
if [ ${#need_apt[@]} -gt 0 ]; then
    step "installing ${need_apt[*]}"
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "missing: ${need_apt[*]}; install them (e.g. sudo apt-get install ${need_apt[*]}) and rerun" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "Python >= 3.11 is required; found $(python3 --version)" >&2
    exit 1
}

if [ ! -x .venv/bin/python ]; then
    step "creating .venv"
    python3 -m venv .venv
fi
step "installing nerv-inner-universe into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'

step "inner-universe setup (server 1.2.0, wasm32 toolchain, module)"
.venv/bin/inner-universe setup
