#!/usr/bin/env bash
# The test command: sets up what is missing, then runs every check and every test
# (the integration tests against a real spacetimedb-standalone 1.2.0). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh

# The benchmark smoke run needs eventsourcing (the `bench` extra, part of `dev`, installed
# above) and a PostgreSQL from Debian's package (the script runs a private one).
if ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "missing: postgresql (for benchmarks/compare.py); install it (e.g. sudo apt-get install postgresql) and rerun" >&2
        exit 1
    fi
    step "installing postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi

step "python: ruff, mypy"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

step "module: cargo fmt, clippy, unit tests"
lint_target="${NERV_INNER_UNIVERSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nerv-inner-universe}/lint-target"
(
    cd spacetime
    cargo fmt --all --check
    CARGO_TARGET_DIR="$lint_target" cargo clippy --workspace --all-targets --locked -- -D warnings
    CARGO_TARGET_DIR="$lint_target" cargo test -p inner-universe-rules --locked
)

step "benchmarks/compare.py --smoke (every benchmark path at tiny sizes; measures, asserts no speed)"
.venv/bin/python benchmarks/compare.py --smoke

step "benchmarks/restore.py --smoke (restore at the head beside the full restore, tiny sizes)"
.venv/bin/python benchmarks/restore.py --smoke

step "benchmarks/engine_depth.py --smoke (the engine's cost per event as the log grows, tiny sizes)"
.venv/bin/python benchmarks/engine_depth.py --smoke

step "benchmarks/replay_decoding.py --rows 200 (client CPU per replayed row, no server, tiny size)"
.venv/bin/python benchmarks/replay_decoding.py --rows 200

step "pytest (unit and real-server integration tests)"
.venv/bin/pytest "$@"
