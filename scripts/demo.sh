#!/usr/bin/env bash
# The end-to-end scenario of `make demo`: the 30 tasks of the Prefect
# blueprint, walked against a local Temporal dev server and worker, in three
# phases (local setup, orchestration, triggering and monitoring).
#
# It starts the server and the worker when they are not running (and reuses
# them when they are), so it is safe to run again: deploy is idempotent, and
# re-running only adds runs. It stops at the first task that fails, naming
# the task and the log. Everything it prints also goes to
# ./.data/logs/demo-<time>.log. `make down` stops the server and the worker.
#
# Needs ./bin/temporal (make tools) and ./bin/blueprint, ./bin/blueprint-worker
# (make build): `make demo` does both first.

# BLUEPRINT_DATABASE_URL is exported only in the subshell that starts the
# worker, on purpose:
# shellcheck disable=SC2031
set -Eeuo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$BP_ROOT"
bp_isolate_env

readonly TOTAL=30
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
readonly STAMP
LOG="$BP_LOGS/demo-$STAMP.log"
WORK="$BP_DATA/demo-$STAMP"
mkdir -p "$BP_LOGS" "$WORK"

# One demo at a time: two would race to start the same server.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BP_DATA/demo.lock"
  if ! flock -n 9; then
    bp_err "Another 'make demo' is running in this checkout; wait for it to finish."
    exit 1
  fi
fi

# Everything goes to the terminal and the log. The EXIT trap waits for tee,
# so the last lines are on screen before make prints its prompt.
exec 3>&1 4>&2
exec > >(tee -a "$LOG") 2>&1
TEE_PID=$!

TASK_NO=0
TASK_TITLE=""
TASK_START=$SECONDS
LAST_CMD=""
DEMO_START=$SECONDS

finish() {
  local rc=$?
  rm -rf "$WORK"
  exec 1>&3 2>&4
  wait "$TEE_PID" 2>/dev/null || true
  exit "$rc"
}
trap finish EXIT

# die reports the task that failed, why, and where to look, and exits 1.
die() {
  if ((BASH_SUBSHELL > 0)); then
    # In $(...): say why on stderr; the caller's ERR trap reports the task.
    printf '  %s\n' "$@" >&2
    exit 1
  fi
  trap - ERR
  printf '\n✗ Task %d/%d failed: %s\n' "$TASK_NO" "$TOTAL" "$TASK_TITLE"
  printf '  %s\n' "$@"
  if ((TASK_NO >= 8)); then
    bp_tail "$BP_LOGS/worker.log" 2>&1
  fi
  printf '  Demo log:   %s\n' "$LOG"
  printf '  Server log: %s\n' "$BP_LOGS/temporal.log"
  printf '  Worker log: %s\n' "$BP_LOGS/worker.log"
  printf '  Fix the cause and run make demo again (it reuses what is running); make down stops everything.\n'
  exit 1
}

on_err() {
  local rc=$1 cmd=$2
  ((BASH_SUBSHELL == 0)) || exit "$rc"
  [[ $cmd == return* && -n $LAST_CMD ]] && cmd=$LAST_CMD
  die "This command failed with exit code $rc: $cmd"
}
trap 'on_err $? "$BASH_COMMAND"' ERR
trap 'die "Interrupted."' INT TERM

phase() { printf '\n=== %s ===\n' "$1"; }

task() {
  TASK_NO=$((TASK_NO + 1))
  TASK_TITLE=$1
  TASK_START=$SECONDS
  printf '\nTask %d/%d: %s\n' "$TASK_NO" "$TOTAL" "$TASK_TITLE"
}

ok() {
  printf '✓ Task %d/%d: %s (%ds)\n' "$TASK_NO" "$TOTAL" "$*" "$((SECONDS - TASK_START))"
}

# quote prints its arguments as one copy-pasteable shell command line.
quote() {
  local out="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      out+="$a "
    elif [[ $a == *\'* && $a != *[\"\$\`\\]* ]]; then
      out+="\"$a\" "
    else
      out+="'${a//\'/\'\\\'\'}' "
    fi
  done
  printf '%s' "${out% }"
}

print_cmd() {
  local line
  line=$(quote "$@")
  line=${line//"$BP_ROOT/"/}
  LAST_CMD=$line
  printf '  $ %s\n' "$line"
}

# show runs a command, printing it first.
show() {
  print_cmd "$@"
  "$@"
}

# capture FILE CMD... runs a command like show, keeping a copy of its output
# (stdout and stderr) in FILE, and returns its exit code.
capture() {
  local file=$1
  shift
  print_cmd "$@"
  if "$@" 2>&1 | tee "$file"; then
    return 0
  else
    return "$?"
  fi
}

# expect_code WANT GOT WHAT fails the task unless the exit code is WANT.
expect_code() {
  [[ $2 == "$1" ]] || die "$3 exited with code $2; expected $1."
}

# expect FILE REGEX WHAT fails the task unless FILE has a line matching REGEX.
expect() {
  grep -Eq -- "$2" "$1" || die "$3: no line of the output matches /$2/."
}

# field FILE KEY prints a top-level string or number of the CLI's JSON
# output (pretty-printed with two-space indentation), without needing jq.
field() {
  sed -nE "s/^  \"$2\": \"?([^\",]*)\"?,?$/\1/p" "$1" | head -n 1
}

# workflow_id FILE prints the workflow ID from `blueprint run` output, and
# fails the task if there is none.
workflow_id() {
  local id
  id=$(sed -nE 's/^ *Workflow ID: +([^ ]+)$/\1/p' "$1" | head -n 1)
  [[ -n $id ]] || die "the output has no 'Workflow ID:' line."
  printf '%s' "$id"
}

# wait_for WHAT SECONDS CMD... retries CMD (quietly) until it succeeds. For
# the visibility store, which lags a moment behind the server.
wait_for() {
  local what=$1 timeout=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "Timed out after ${timeout}s waiting for $what."
    sleep 0.5
  done
}

# run_status ID prints a run's status (running, completed, failed, ...).
run_status() {
  "$BP_CLI" runs show "$1" -o json >"$WORK/status.json" 2>/dev/null || return 1
  field "$WORK/status.json" status
}

run_has_ended() {
  local s
  s=$(run_status "$1") && [[ -n $s && $s != running ]]
}

listed() { # listed ID CMD...: CMD's output mentions ID
  local id=$1
  shift
  "$@" 2>/dev/null | grep -qF -- "$id"
}

# The warehouse, when it is the default SQLite file and sqlite3 is installed;
# otherwise the run summaries stand in for SQL.
WAREHOUSE=""
if [[ -z ${BLUEPRINT_DATABASE_URL:-} ]] && command -v sqlite3 >/dev/null 2>&1; then
  WAREHOUSE="$BP_ROOT/data/warehouse.db"
fi
sql() { sqlite3 -cmd '.timeout 30000' "$WAREHOUSE" "$@"; }

BP=bin/blueprint
TEMPORAL=${BP_TEMPORAL#"$BP_ROOT/"}
SOURCE_KEY='demo://orders?seed=1' # how the warehouse names demo://orders' records

printf 'blueprint demo: the 30 tasks, against a local Temporal dev server (%s)\n' "$(date '+%Y-%m-%d %H:%M:%S %Z')"
printf 'Log: %s\n' "$LOG"

# ---------------------------------------------------------------------------
phase "Phase 1: local setup"

task "Go toolchain is installed"
command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go $(sed -nE 's/^go ([0-9.]+)$/\1/p' go.mod) or newer from https://go.dev/dl/"
show go version
printf '  go.mod asks for go %s\n' "$(sed -nE 's/^go ([0-9.]+)$/\1/p' go.mod)"
ok "Go toolchain present"

task "Temporal CLI is installed"
[[ -x $BP_TEMPORAL ]] || die "$BP_TEMPORAL is missing: run make tools (make demo installs it)."
show "$TEMPORAL" --version
ok "Temporal CLI present"

task "blueprint binaries are built"
[[ -x $BP_CLI && -x $BP_WORKER ]] || die "bin/blueprint or bin/blueprint-worker is missing: run make build (make demo builds them)."
show "$BP" version
printf '  bin/blueprint and bin/blueprint-worker are built (make build rebuilds what changed)\n'
ok "bin/blueprint and bin/blueprint-worker built"

task "Temporal dev server is running and healthy"
bp_start_server || die "The Temporal dev server could not be started (see above)."
show "$TEMPORAL" operator cluster health
ok "server at $TEMPORAL_ADDRESS is SERVING (state kept in ${BP_SERVER_DB#"$BP_ROOT/"})"

task "Namespace default exists, with blueprint's search attribute"
print_cmd "$TEMPORAL" operator namespace describe -n "$BP_NAMESPACE"
"$BP_TEMPORAL" operator namespace describe -n "$BP_NAMESPACE" >"$WORK/ns.txt" 2>&1 || { cat "$WORK/ns.txt"; die "namespace $BP_NAMESPACE not found."; }
grep -E 'NamespaceInfo.Name|NamespaceInfo.State|Config.WorkflowExecutionRetentionTtl' "$WORK/ns.txt" | sed 's/^/  /' || true
print_cmd "$TEMPORAL" operator search-attribute list
"$BP_TEMPORAL" operator search-attribute list >"$WORK/sa.txt" 2>&1 || { cat "$WORK/sa.txt"; die "could not list the search attributes."; }
printf '  (%d attributes; blueprint tags the runs of a deployment with this one:)\n' "$(($(wc -l <"$WORK/sa.txt") - 1))"
grep -E 'BlueprintDeployment' "$WORK/sa.txt" | sed 's/^/  /' || true
expect "$WORK/sa.txt" 'BlueprintDeployment +Keyword' "the BlueprintDeployment search attribute"
expect "$WORK/ns.txt" "WorkflowExecutionRetentionTtl +${BP_RETENTION%h}h0m0s" "the namespace's run retention"
ok "namespace $BP_NAMESPACE exists, keeps closed runs $BP_RETENTION; BlueprintDeployment (Keyword) registered"

task "Temporal Web UI is reachable"
print_cmd curl -fsS -o /dev/null -w '%{http_code}' "$BP_UI_URL"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$BP_UI_URL" || true)
printf '  HTTP %s\n' "$code"
[[ $code == 200 ]] || die "the Web UI at $BP_UI_URL answered '$code'; expected 200."
ok "Web UI answers at $BP_UI_URL"

task "Worker is running"
bp_start_worker || die "The worker could not be started (see above)."
WORKER_PID=$(bp_running worker)
printf '  pid %s, identity %s@%s@, log %s\n' "$WORKER_PID" "$WORKER_PID" "$(hostname)" "${BP_LOGS#"$BP_ROOT/"}/worker.log"
ok "worker (pid $WORKER_PID) polls task queue $BP_TASK_QUEUE"

task "A first local run of the pipeline completes"
LOCAL_ID="local-run-$STAMP"
print_cmd "$TEMPORAL" workflow execute --type DataPipeline --task-queue "$BP_TASK_QUEUE" \
  --workflow-id "$LOCAL_ID" --input '{"batch_size":1000,"source_url":"demo://orders"}'
"$BP_TEMPORAL" workflow execute --type DataPipeline --task-queue "$BP_TASK_QUEUE" \
  --workflow-id "$LOCAL_ID" --input '{"batch_size":1000,"source_url":"demo://orders"}' >"$WORK/local.txt" 2>&1 ||
  { cat "$WORK/local.txt"; die "the local run failed."; }
# The event table is long: summarise it (the Web UI shows every event).
events=$(grep -cE '^ +[0-9]+ +[0-9TZ:-]+ +[A-Za-z]+ *$' "$WORK/local.txt" || true)
grep -vE '^ +([0-9]+ +[0-9TZ:-]+ +[A-Za-z]+|ID +Time +Type) *$' "$WORK/local.txt" |
  sed "s/^Progress:\$/Progress: $events history events, from WorkflowExecutionStarted to WorkflowExecutionCompleted/"
expect "$WORK/local.txt" 'Status +COMPLETED' "the local run"
ok "workflow $LOCAL_ID completed"

task "The run is visible in Temporal and in blueprint"
wait_for "run $LOCAL_ID to be listed" 15 listed "$LOCAL_ID" "$BP_TEMPORAL" workflow list --query "WorkflowId='$LOCAL_ID'"
show "$TEMPORAL" workflow list --query "WorkflowId='$LOCAL_ID'"
wait_for "run $LOCAL_ID in blueprint runs ls" 15 listed "$LOCAL_ID" "$BP_CLI" runs ls --limit 20
show "$BP" runs ls --limit 3
ok "$LOCAL_ID listed by temporal workflow list and blueprint runs ls"

task "Rows are in the warehouse"
if [[ -n $WAREHOUSE ]]; then
  print_cmd sqlite3 data/warehouse.db "SELECT status, extracted, valid, rejected, inserted, updated, unchanged FROM pipeline_runs WHERE workflow_id = '$LOCAL_ID'"
  sql -header -column "SELECT status, extracted, valid, rejected, inserted, updated, unchanged FROM pipeline_runs WHERE workflow_id = '$LOCAL_ID'" | sed 's/^/  /'
  [[ $(sql "SELECT status FROM pipeline_runs WHERE workflow_id = '$LOCAL_ID'") == completed ]] || die "pipeline_runs has no completed row for $LOCAL_ID."
  print_cmd sqlite3 data/warehouse.db "SELECT reason, count(*) FROM rejected_records WHERE run_key LIKE '$LOCAL_ID/%' GROUP BY reason"
  sql -header -column "SELECT reason, count(*) AS records FROM rejected_records WHERE run_key LIKE '$LOCAL_ID/%' GROUP BY reason ORDER BY reason" | sed 's/^/  /'
  ROWS_BEFORE=$(sql "SELECT count(*) FROM orders WHERE source = '$SOURCE_KEY'")
  printf '  $ sqlite3 data/warehouse.db "SELECT count(*) FROM orders WHERE source = %s"\n  %s\n' "'$SOURCE_KEY'" "$ROWS_BEFORE"
  VALID=$(sql "SELECT valid FROM pipeline_runs WHERE workflow_id = '$LOCAL_ID'")
  ((ROWS_BEFORE >= VALID && VALID > 0)) || die "orders has $ROWS_BEFORE rows of $SOURCE_KEY; the run loaded $VALID valid records."
  ok "$ROWS_BEFORE order rows in data/warehouse.db; the run is recorded in pipeline_runs"
else
  capture "$WORK/local-show.txt" "$BP" runs show "$LOCAL_ID"
  expect "$WORK/local-show.txt" '^ *Loaded: +[0-9]+ inserted' "the run's summary"
  if [[ -n ${BLUEPRINT_DATABASE_URL:-} ]]; then
    ok "the run's summary reports the rows it loaded into the BLUEPRINT_DATABASE_URL warehouse"
  else
    ok "the run's summary reports the rows it loaded (install sqlite3 to query the warehouse itself)"
  fi
fi

task "Running it again adds no duplicate rows"
AGAIN_ID="local-run-again-$STAMP"
print_cmd "$TEMPORAL" workflow execute --type DataPipeline --task-queue "$BP_TASK_QUEUE" \
  --workflow-id "$AGAIN_ID" --input '{"batch_size":1000,"source_url":"demo://orders"}'
"$BP_TEMPORAL" workflow execute --type DataPipeline --task-queue "$BP_TASK_QUEUE" \
  --workflow-id "$AGAIN_ID" --input '{"batch_size":1000,"source_url":"demo://orders"}' >"$WORK/again.txt" 2>&1 ||
  { cat "$WORK/again.txt"; die "the second local run failed."; }
printf '  (history omitted)\n'
grep -E '^ *(Status|Result) ' "$WORK/again.txt" || true
expect "$WORK/again.txt" '^ *Result .*"loaded":\{[^}]*"inserted":0,' "the second run's result"
if [[ -n $WAREHOUSE ]]; then
  ROWS_AFTER=$(sql "SELECT count(*) FROM orders WHERE source = '$SOURCE_KEY'")
  printf '  orders rows of %s: %s before, %s after\n' "$SOURCE_KEY" "$ROWS_BEFORE" "$ROWS_AFTER"
  [[ $ROWS_AFTER == "$ROWS_BEFORE" ]] || die "the row count changed from $ROWS_BEFORE to $ROWS_AFTER."
fi
ok "same records, same rows: 0 inserted, every record unchanged"

# ---------------------------------------------------------------------------
phase "Phase 2: orchestration"

task "The work pool (task queue) has a worker polling it"
capture "$WORK/pool.txt" "$BP" work-pool ls
expect "$WORK/pool.txt" "^$BP_TASK_QUEUE .* $WORKER_PID@" "work-pool ls"
ok "task queue $BP_TASK_QUEUE is served by worker $WORKER_PID"

task "Deploy the manifest's schedules"
capture "$WORK/deploy1.txt" "$BP" deploy
expect "$WORK/deploy1.txt" '^production-etl +(created|updated|unchanged)' "deploy"
ok "production-etl $(sed -nE 's/^production-etl +([a-z]+).*/\1/p' "$WORK/deploy1.txt")"

task "Deploying again changes nothing"
capture "$WORK/deploy2.txt" "$BP" deploy
expect "$WORK/deploy2.txt" '^production-etl +unchanged' "the second deploy"
expect "$WORK/deploy2.txt" '^0 created, 0 updated, [1-9][0-9]* unchanged, 0 deleted' "the second deploy"
ok "idempotent: no new schedule, no extra run"

task "The deployment is registered"
capture "$WORK/ls.txt" "$BP" deployment ls
expect "$WORK/ls.txt" '^production-etl +DataPipeline +local-process-pool +0 9 \* \* \* America/Chicago +(active|paused)' "deployment ls"
ok "production-etl is deployed ($(grep -oE '(active|paused)' "$WORK/ls.txt" | head -n 1))"

task "The schedule runs daily at 09:00 America/Chicago"
show "$BP" deployment inspect production-etl
"$BP_CLI" deployment inspect production-etl -o json >"$WORK/inspect.json"
expect "$WORK/inspect.json" '"cron": "0 9 \* \* \*"' "the schedule's cron"
expect "$WORK/inspect.json" '"timezone": "America/Chicago"' "the schedule's time zone"
NEXT=$(grep -oE '"local": "[^"]+"' "$WORK/inspect.json" | head -n 1 | cut -d'"' -f4)
[[ $NEXT == *T09:00:00* ]] || die "the next run is at $NEXT; expected 09:00 local time."
ok "cron 0 9 * * * in America/Chicago; next run $NEXT"

task "The schedule is in the Temporal Web UI"
show "$TEMPORAL" schedule list
SCHEDULE_URL="$BP_UI_URL/namespaces/$BP_NAMESPACE/schedules/production-etl"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$SCHEDULE_URL" || true)
printf '  %s -> HTTP %s\n' "$SCHEDULE_URL" "$code"
[[ $code == 200 ]] || die "$SCHEDULE_URL answered '$code'; expected 200."
ok "schedule production-etl listed by the server and served at $SCHEDULE_URL"

task "A paused schedule stays paused across deploys"
if grep -q '"paused": true' "$WORK/inspect.json"; then
  # Paused by someone else: show that deploy keeps it so, and leave it.
  capture "$WORK/deploy3.txt" "$BP" deploy
  "$BP_CLI" deployment inspect production-etl -o json >"$WORK/inspect2.json"
  grep -q '"paused": true' "$WORK/inspect2.json" || die "deploy resumed a paused schedule."
  ok "production-etl was paused before the demo and deploy left it paused (resume it with: bin/blueprint deployment resume production-etl)"
else
  show "$BP" deployment pause production-etl --note "make demo: checking that deploy keeps the pause"
  paused_ok=1
  capture "$WORK/deploy3.txt" "$BP" deploy || paused_ok=0
  "$BP_CLI" deployment inspect production-etl -o json >"$WORK/inspect2.json" || paused_ok=0
  grep -q '"paused": true' "$WORK/inspect2.json" || paused_ok=0
  grep -E '"(paused|note)"' "$WORK/inspect2.json" | sed 's/^ */  after deploy: /'
  show "$BP" deployment resume production-etl
  ((paused_ok)) || die "the schedule was not paused after deploy."
  ok "deploy kept the pause; the schedule is active again"
fi

# ---------------------------------------------------------------------------
phase "Phase 3: triggering and monitoring"

task "Run the deployment with its default parameters"
capture "$WORK/run1.txt" "$BP" run production-etl --watch
RUN1=$(workflow_id "$WORK/run1.txt")
expect "$WORK/run1.txt" '^ *Extracted: +1000$' "the run's summary"
ok "run $RUN1 completed (batch_size 1000 from the manifest)"

task "Override a parameter with --param"
capture "$WORK/run2.txt" "$BP" run production-etl --param batch_size=5000 --watch
RUN2=$(workflow_id "$WORK/run2.txt")
expect "$WORK/run2.txt" '^ *Extracted: +5000$' "the run's summary"
ok "run $RUN2 completed with batch_size=5000"

task "Pass parameters as JSON with --params"
capture "$WORK/run3.txt" "$BP" run production-etl --params '{"batch_size":2000}' --watch
RUN3=$(workflow_id "$WORK/run3.txt")
expect "$WORK/run3.txt" '^ *Extracted: +2000$' "the run's summary"
ok "run $RUN3 completed with batch_size=2000"

task "List the deployment's runs"
for id in "$RUN1" "$RUN2" "$RUN3"; do
  wait_for "run $id in runs ls" 15 listed "$id" "$BP_CLI" runs ls --deployment production-etl --limit 50
done
show "$BP" runs ls --deployment production-etl --limit 5
"$BP_CLI" runs ls --deployment production-etl --limit 50 >"$WORK/runs.txt"
for id in "$RUN1" "$RUN2" "$RUN3"; do
  expect "$WORK/runs.txt" "^$id +.* completed " "runs ls"
done
ok "the three runs are listed, completed"

task "Show one run's details"
capture "$WORK/show2.txt" "$BP" runs show "$RUN2"
expect "$WORK/show2.txt" '^ *Status: +completed' "runs show"
expect "$WORK/show2.txt" '^ *Load +completed' "runs show"
ok "parameters, activities, attempts, rows and the Web UI link of $RUN2"

task "Transient source failures are retried until the run completes"
RETRY_ID="production-etl-retry-$STAMP"
capture "$WORK/retry.txt" "$BP" run production-etl --param 'source_url=demo://orders?failure_rate=1' --id "$RETRY_ID" --watch
capture "$WORK/retry-show.txt" "$BP" runs show "$RETRY_ID"
expect "$WORK/retry-show.txt" '^ *Extract +completed +3/3 ' "the Extract activity's attempts"
ok "the source failed twice; attempt 3 of 3 succeeded and the run completed"

task "An invalid parameter is refused before anything starts"
REFUSED_ID="production-etl-refused-$STAMP"
rc=0
capture "$WORK/refused.txt" "$BP" run production-etl --param source_url=ftp://x --id "$REFUSED_ID" --watch || rc=$?
expect_code 2 "$rc" "blueprint run with source_url=ftp://x"
if "$BP_CLI" runs show "$REFUSED_ID" >/dev/null 2>&1; then
  die "a run $REFUSED_ID exists: the refused start was not refused."
fi
ok "exit code 2 and no run started"

task "A source that stays down fails the run after exactly 3 attempts"
DOWN_ID="production-etl-down-$STAMP"
rc=0
capture "$WORK/down.txt" "$BP" run production-etl --param 'source_url=demo://orders?fail=always' --id "$DOWN_ID" --watch || rc=$?
expect_code 1 "$rc" "blueprint run --watch of a failing run"
ok "the run failed and --watch exited with code 1"

task "runs show and runs logs explain the failure"
capture "$WORK/down-show.txt" "$BP" runs show "$DOWN_ID"
expect "$WORK/down-show.txt" '^ *Status: +failed' "runs show"
expect "$WORK/down-show.txt" '^ *Extract +failed +3/3 ' "the Extract activity's attempts"
expect "$WORK/down-show.txt" '^ *Extract attempt 1 failed: .*fail=always' "the first attempt's error"
expect "$WORK/down-show.txt" '^Failure: .*fail=always' "the failure message"
capture "$WORK/down-logs.txt" "$BP" runs logs "$DOWN_ID"
expect "$WORK/down-logs.txt" ' warn +extract +2 +attempt 1 failed: .*fail=always' "the run log's first retry"
expect "$WORK/down-logs.txt" ' error +run +- +run failed in extract: .*fail=always' "the run log's outcome"
ok "status failed, Extract failed 3/3, every attempt's error in runs show and runs logs"

task "Trigger the schedule now"
capture "$WORK/trigger.txt" "$BP" deployment trigger production-etl
TRIGGERED=$(workflow_id "$WORK/trigger.txt")
wait_for "the triggered run $TRIGGERED to end" 60 run_has_ended "$TRIGGERED"
capture "$WORK/trigger-show.txt" "$BP" runs show "$TRIGGERED"
expect "$WORK/trigger-show.txt" '^ *Status: +completed' "the triggered run"
ok "the schedule started $TRIGGERED, which completed"

task "Cancel a run in progress"
CANCEL_ID="adhoc-etl-cancel-$STAMP"
show "$BP" run adhoc-etl --param batch_size=100000 --param 'source_url=demo://orders?latency=1s' --id "$CANCEL_ID"
wait_for "run $CANCEL_ID to start" 15 run_status "$CANCEL_ID"
show "$BP" runs cancel "$CANCEL_ID"
wait_for "run $CANCEL_ID to end" 30 run_has_ended "$CANCEL_ID"
status=$(run_status "$CANCEL_ID")
printf '  status: %s\n' "$status"
[[ $status == cancelled ]] || die "run $CANCEL_ID ended $status; expected cancelled."
ok "run $CANCEL_ID was cancelled"

task "blueprint status: everything is in order"
capture "$WORK/status.txt" "$BP" status
ok "server, namespace, Web UI, worker and schedule all pass"

((TASK_NO == TOTAL)) || die "the demo ran $TASK_NO tasks; expected $TOTAL."

# ---------------------------------------------------------------------------
# path_hint says how to type a bare `blueprint`, as the README and the CLI's
# hints do.
path_hint() {
  local bin found
  bin=$(go env GOBIN 2>/dev/null)
  [[ -n $bin ]] || bin="$(go env GOPATH 2>/dev/null)/bin"
  found=$(command -v blueprint 2>/dev/null || true)
  if [[ -n $found ]]; then
    printf 'blueprint is on your PATH (%s); make install updates it from this checkout.' "$found"
  elif [[ ":$PATH:" == *":$bin:"* ]]; then
    printf 'Get blueprint on your PATH: make install   (installs blueprint and blueprint-worker into %s)' "$bin"
  else
    printf 'Get blueprint on your PATH: make install   (installs blueprint and blueprint-worker into %s),\nthen: export PATH="$PATH:%s"   (or type bin/blueprint instead of blueprint)' "$bin" "$bin"
  fi
}

ui_link() { # ui_link ID: the Web UI page of a run
  "$BP_CLI" runs show "$1" -o json 2>/dev/null | sed -nE 's/^  "ui_url": "([^"]+)",?$/\1/p' | head -n 1
}
RETRY_URL=$(ui_link "$RETRY_ID")
DOWN_URL=$(ui_link "$DOWN_ID")

cat <<EOF

All $TOTAL tasks passed in $((SECONDS - DEMO_START))s. The server and the worker keep running.

Where to look (Temporal Web UI):
  Runs:                $BP_UI_URL/namespaces/$BP_NAMESPACE/workflows
  Schedules:           $BP_UI_URL/namespaces/$BP_NAMESPACE/schedules
  production-etl:      $SCHEDULE_URL
  A run with retries:  $RETRY_URL
  The failed run:      $DOWN_URL

$(path_hint)

More runs:
  blueprint run production-etl --param batch_size=1000 --watch
  blueprint deployment trigger production-etl
  blueprint runs ls --deployment production-etl
  blueprint status

Logs: $LOG
      ${BP_LOGS#"$BP_ROOT/"}/temporal.log, ${BP_LOGS#"$BP_ROOT/"}/worker.log
Stop the server and the worker: make down   (make clean also deletes ./data and ./.data)
EOF
