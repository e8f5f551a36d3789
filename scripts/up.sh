#!/usr/bin/env bash
# Start the local Temporal dev server and the blueprint worker in the
# background, or reuse the ones already running, and wait until both are
# ready. `make demo` does this and then runs the scenario (scripts/demo.sh);
# `make down` (scripts/down.sh) stops them. Needs ./bin/temporal (make tools)
# and ./bin/blueprint, ./bin/blueprint-worker (make build).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
bp_isolate_env
bp_start_server
bp_start_worker
bp_say "Ready: Temporal at $TEMPORAL_ADDRESS, Web UI at $BP_UI_URL, worker polling $BP_TASK_QUEUE. Stop both with: make down"
