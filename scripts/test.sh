#!/usr/bin/env bash
# The test command: sets up what is missing, then runs every check and every test
# (the integration tests against a real spacetimedb-standalone 1.2.0). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh

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

step "pytest (unit and real-server integration tests)"
.venv/bin/pytest "$@"
