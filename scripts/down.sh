#!/usr/bin/env bash
# Stop the worker and the Temporal dev server that `make demo` started, by
# the pids it recorded in ./.data/pids, after checking each pid still runs
# the program it started (so nothing else is ever killed): SIGTERM, then
# SIGKILL after a timeout. The worker stops first, while the server can
# still take its last results. State in ./.data and ./data is kept; `make
# clean` removes it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
status=0
bp_stop worker "$BP_WORKER_STOP_TIMEOUT" || status=1
bp_stop server "$BP_SERVER_STOP_TIMEOUT" || status=1
exit "$status"
