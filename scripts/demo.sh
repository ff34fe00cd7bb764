#!/usr/bin/env bash
# The main job: sets up what is missing, starts Inner Universe and runs the example end to end
# (a first run that writes, then a restart that restores everything by replay).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh

step "example: agent workflow persisted in Inner Universe"
.venv/bin/python examples/agent_workflow.py "$@"
