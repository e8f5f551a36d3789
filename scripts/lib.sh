# shellcheck shell=bash
# Shared by scripts/up.sh, scripts/demo.sh and scripts/down.sh: where things
# live, and how to start, find and stop the local Temporal dev server and
# worker that `make demo` runs.
#
# Ownership is the point of this file. A process counts as "ours" only when
# its pid file names it AND its command line (/proc/PID/cmdline, or ps where
# there is no /proc) is the exact binary and arguments this checkout starts.
# So a reused pid, another checkout's server or anything else on port 7233 is
# never reused, and never killed: the scripts say what they found and stop.

BP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BP_DATA="$BP_ROOT/.data"
BP_LOGS="$BP_DATA/logs"
BP_PIDS="$BP_DATA/pids"
BP_BIN="$BP_ROOT/bin"
BP_TEMPORAL="${BLUEPRINT_TEMPORAL_BIN:-$BP_BIN/temporal}"
BP_CLI="$BP_BIN/blueprint"
BP_WORKER="$BP_BIN/blueprint-worker"
BP_SERVER_DB="$BP_DATA/temporal.db"

# The dev server's ports: the defaults of `temporal server start-dev`, which
# are also what the CLI and the Web UI links assume.
BP_GRPC_PORT=7233
BP_UI_PORT=8233
BP_UI_URL="http://localhost:$BP_UI_PORT"
BP_NAMESPACE=default
BP_TASK_QUEUE=local-process-pool
# How long the namespace keeps a closed run (history, `runs show`, the Web
# UI). The dev server's default namespace keeps them 24 h; a week of demos
# needs 7 days. `temporal operator namespace update --retention` changes it.
BP_RETENTION=168h

# BP_TUNED_ARGS must equal internal/devserver.TunedArgs (scripts/scripts_test.go
# checks it): the same low-latency settings the tests and benchmarks use.
BP_TUNED_ARGS=(
  --dynamic-config-value history.transferProcessorMaxPollRPS=1000
  --dynamic-config-value history.timerProcessorMaxPollRPS=1000
  --dynamic-config-value matching.numTaskqueueReadPartitions=1
  --dynamic-config-value matching.numTaskqueueWritePartitions=1
)

# How long to wait for things, in seconds.
BP_SERVER_START_TIMEOUT=${BP_SERVER_START_TIMEOUT:-90}
BP_WORKER_START_TIMEOUT=${BP_WORKER_START_TIMEOUT:-30}
# The worker lets running activities finish for up to 20 s after SIGTERM
# (internal/worker.StopTimeout); give it a little more before SIGKILL.
BP_WORKER_STOP_TIMEOUT=${BP_WORKER_STOP_TIMEOUT:-25}
BP_SERVER_STOP_TIMEOUT=${BP_SERVER_STOP_TIMEOUT:-15}

# bp_isolate_env points every Temporal client these scripts run (blueprint,
# the worker, the temporal CLI) at the local dev server, whatever the
# caller's shell says: a demo must never talk to a production cluster named by
# TEMPORAL_ADDRESS or a temporal.toml profile, nor encrypt with the caller's
# BLUEPRINT_ENCRYPTION_KEYS. The worker's warehouse (BLUEPRINT_DATABASE_URL)
# is left to the caller, SQLite by default.
bp_isolate_env() {
  local v
  while read -r v; do
    unset "$v"
  done < <(compgen -e | grep -E '^TEMPORAL_' || true)
  export TEMPORAL_ADDRESS="localhost:$BP_GRPC_PORT"
  export TEMPORAL_NAMESPACE="$BP_NAMESPACE"
  # An empty config file: no profile of the user's temporal.toml applies.
  export TEMPORAL_CONFIG_FILE=/dev/null
  export BLUEPRINT_UI_URL="$BP_UI_URL"
  unset BLUEPRINT_TASK_QUEUE # the worker must poll the manifest's queue
  # The demo runs unencrypted: its `temporal workflow execute` and Web UI show
  # payloads as stored, and the worker it may reuse has no keys.
  unset BLUEPRINT_ENCRYPTION_KEYS
}

bp_say() { printf '%s\n' "$*"; }
bp_err() { printf '%s\n' "$*" >&2; }

# bp_cmdline PID prints the process's arguments, one per line; nothing if
# there is no such process.
bp_cmdline() {
  local pid=$1
  if [[ -r /proc/$pid/cmdline ]]; then
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null || true
  elif [[ ! -d /proc/self ]]; then
    # No /proc (macOS): ps gives one string, good enough to compare words.
    ps -o command= -p "$pid" 2>/dev/null | tr ' ' '\n' || true
  fi
}

# bp_is_ours KIND PID succeeds when PID runs KIND (server or worker) as this
# checkout starts it.
bp_is_ours() {
  local kind=$1 pid=$2 a args
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  args=()
  while IFS= read -r a; do
    args+=("$a")
  done < <(bp_cmdline "$pid")
  ((${#args[@]} > 0)) || return 1
  case $kind in
    server)
      [[ ${args[0]} == "$BP_TEMPORAL" && ${args[1]:-} == server && ${args[2]:-} == start-dev ]] || return 1
      for a in "${args[@]}"; do
        [[ $a == "$BP_SERVER_DB" ]] && return 0
      done
      return 1
      ;;
    worker)
      [[ ${args[0]} == "$BP_WORKER" ]]
      ;;
    *) return 1 ;;
  esac
}

bp_pidfile() { printf '%s/%s.pid' "$BP_PIDS" "$1"; }

# bp_running KIND prints the pid of our running KIND and succeeds, or fails
# (removing a pid file that names a dead or foreign process).
bp_running() {
  local kind=$1 file pid
  file=$(bp_pidfile "$kind")
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  if bp_is_ours "$kind" "$pid"; then
    printf '%s' "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

# bp_port_in_use PORT succeeds when something accepts connections on
# localhost:PORT.
bp_port_in_use() {
  local port=$1 host
  for host in 127.0.0.1 localhost; do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
      return 0
    fi
  done
  return 1
}

# bp_port_owner PORT describes who listens on PORT, when the system says.
bp_port_owner() {
  local port=$1 out=""
  if command -v ss >/dev/null 2>&1; then
    out=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'users:(.*)' | head -n1 |
      sed -E 's/^users:\(\("([^"]+)",pid=([0-9]+).*/\1 (pid \2)/' || true)
  fi
  if [[ -z $out ]] && command -v lsof >/dev/null 2>&1; then
    out=$(lsof -nP -iTCP:"$port" -sTCP:LISTEN 2>/dev/null | awk 'NR==2 {print $1" (pid "$2")"}' || true)
  fi
  if [[ -n $out ]]; then
    printf '%s' "$out"
  else
    printf 'an unknown process'
  fi
}

# bp_tail FILE prints the end of a log since the process's last start (the
# "=== ... starting" line bp_launch writes), indented, to stderr.
bp_tail() {
  local file=$1
  if [[ -s $file ]]; then
    bp_err "--- last lines of $file ---"
    awk '/^=== .*: starting /{n=0} {l[n++]=$0} END{for(i=(n>25?n-25:0);i<n;i++)print l[i]}' "$file" | sed 's/^/  | /' >&2
    bp_err "---"
  fi
}

# bp_launch KIND LOG CMD... starts CMD in the background in a session of its
# own (so the terminal's Ctrl-C and hang-up do not reach it), with its output
# appended to LOG, and records its pid.
bp_launch() {
  local kind=$1 log=$2
  shift 2
  mkdir -p "$BP_LOGS" "$BP_PIDS"
  printf '=== %s: starting %s: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$kind" "$*" >>"$log"
  local pid
  # The child closes every descriptor above 2 it inherited: a caller's saved
  # terminal (scripts/demo.sh keeps it on 3 and 4), its lock (9) or the pipe
  # to its tee (bash keeps a copy on 251) must not stay open in a process
  # that outlives the caller, or `make demo | tail` would never see EOF.
  # In a script (no job control) a background job is not a process group
  # leader, so setsid calls setsid(2) and execs without forking: $! is the
  # process itself, which bp_is_ours checks.
  (
    fds=()
    if [[ -n ${BASHPID:-} && -d /proc/${BASHPID:-}/fd ]]; then
      for fd in /proc/"$BASHPID"/fd/*; do
        fds+=("${fd##*/}")
      done
    else
      fds=(3 4 5 6 7 8 9)
    fi
    for fd in "${fds[@]}"; do
      if ((fd > 2)); then
        eval "exec $fd>&-" 2>/dev/null || true
      fi
    done
    if command -v setsid >/dev/null 2>&1; then
      exec setsid nohup "$@" >>"$log" 2>&1 </dev/null
    fi
    exec nohup "$@" >>"$log" 2>&1 </dev/null
  ) &
  pid=$!
  printf '%s\n' "$pid" >"$(bp_pidfile "$kind")"
  # Wait for exec so that the command line is the program's, not bash's.
  local i
  for ((i = 0; i < 50; i++)); do
    bp_is_ours "$kind" "$pid" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  printf '%s' "$pid"
}

# bp_server_healthy succeeds when the dev server answers SERVING and its
# namespace exists.
bp_server_healthy() {
  "$BP_TEMPORAL" operator cluster health --address "$TEMPORAL_ADDRESS" 2>/dev/null | grep -qw SERVING &&
    "$BP_TEMPORAL" operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$BP_NAMESPACE" >/dev/null 2>&1
}

# bp_start_server starts the dev server, or reuses ours, and waits until it
# is healthy. Prints what it did.
bp_start_server() {
  local pid log="$BP_LOGS/temporal.log"
  if pid=$(bp_running server); then
    bp_say "Temporal dev server already running (pid $pid), reusing it."
  else
    [[ -x $BP_TEMPORAL ]] || {
      bp_err "The Temporal CLI is missing at $BP_TEMPORAL: run 'make tools' (or 'make demo', which installs it)."
      return 1
    }
    local port
    for port in "$BP_GRPC_PORT" "$BP_UI_PORT"; do
      if bp_port_in_use "$port"; then
        bp_err "Port $port is already in use by $(bp_port_owner "$port"), which is not a server this checkout started."
        bp_err "The demo needs ports $BP_GRPC_PORT (Temporal) and $BP_UI_PORT (Web UI). Stop that process, or run 'make down' in the checkout that started it, then retry."
        return 1
      fi
    done
    mkdir -p "$BP_DATA"
    pid=$(bp_launch server "$log" "$BP_TEMPORAL" server start-dev \
      --db-filename "$BP_SERVER_DB" \
      --ui-port "$BP_UI_PORT" --port "$BP_GRPC_PORT" \
      --search-attribute BlueprintDeployment=Keyword \
      --search-attribute BlueprintRetryOf=Keyword \
      --log-level warn \
      "${BP_TUNED_ARGS[@]}")
    bp_say "Started the Temporal dev server (pid $pid; log $log; state $BP_SERVER_DB)."
  fi
  bp_await server "$pid" "$log" "$BP_SERVER_START_TIMEOUT" "The Temporal dev server" "is not healthy" bp_server_healthy || return 1
  bp_set_retention
}

# bp_set_retention makes the namespace keep closed runs BP_RETENTION (the
# dev server's default namespace keeps them only 24 h).
bp_set_retention() {
  local current
  current=$("$BP_TEMPORAL" operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$BP_NAMESPACE" 2>/dev/null |
    awk '/WorkflowExecutionRetentionTtl/{print $2}')
  [[ $current == "${BP_RETENTION%h}h0m0s" ]] && return 0
  "$BP_TEMPORAL" operator namespace update --address "$TEMPORAL_ADDRESS" -n "$BP_NAMESPACE" --retention "$BP_RETENTION" >/dev/null ||
    { bp_err "Could not set the retention of namespace $BP_NAMESPACE to $BP_RETENTION."; return 1; }
  bp_say "Namespace $BP_NAMESPACE keeps closed runs for $BP_RETENTION (was ${current:-unknown})."
}

# bp_worker_polling PID succeeds when the worker with that pid polls the
# task queue (the SDK's default identity is PID@HOST@).
bp_worker_polling() {
  local pid=$1
  "$BP_CLI" work-pool ls -o json 2>/dev/null | grep -q "\"identity\": *\"$pid@"
}

# bp_stale_binary PID succeeds when the program PID runs has been rebuilt
# since it started (Linux marks the replaced executable "(deleted)").
bp_stale_binary() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ $exe == *" (deleted)" ]]
}

# bp_start_worker starts the worker, or reuses ours (restarting it when
# `make build` replaced its binary), and waits until it polls the task queue.
bp_start_worker() {
  local pid log="$BP_LOGS/worker.log"
  local db="${BLUEPRINT_DATABASE_URL:-$BP_ROOT/data/warehouse.db}"
  # The warehouse the worker was started with, as a checksum (the URL may
  # hold a password, which has no business in a file).
  local dbsum dbfile="$BP_PIDS/worker.db"
  dbsum=$(printf '%s' "$db" | cksum)
  if pid=$(bp_running worker); then
    if bp_stale_binary "$pid"; then
      bp_say "The worker (pid $pid) runs an older build; restarting it."
      bp_stop worker "$BP_WORKER_STOP_TIMEOUT" || return 1
      pid=""
    elif [[ ! -f $dbfile || $(<"$dbfile") != "$dbsum" ]]; then
      bp_say "The worker (pid $pid) uses another warehouse than BLUEPRINT_DATABASE_URL says; restarting it."
      bp_stop worker "$BP_WORKER_STOP_TIMEOUT" || return 1
      pid=""
    else
      bp_say "Worker already running (pid $pid), reusing it."
    fi
  fi
  if [[ -z $pid ]]; then
    [[ -x $BP_WORKER ]] || {
      bp_err "The worker is not built at $BP_WORKER: run 'make build'."
      return 1
    }
    mkdir -p "$BP_ROOT/data" "$BP_PIDS"
    pid=$(cd "$BP_ROOT" && export BLUEPRINT_DATABASE_URL="$db" && bp_launch worker "$log" "$BP_WORKER")
    printf '%s\n' "$dbsum" >"$dbfile"
    bp_say "Started the worker (pid $pid; log $log)."
  fi
  bp_await worker "$pid" "$log" "$BP_WORKER_START_TIMEOUT" "The worker" "does not poll task queue $BP_TASK_QUEUE" bp_worker_polling "$pid"
}

# bp_await KIND PID LOG TIMEOUT NAME NOT_READY CHECK...: waits until the
# command CHECK... succeeds. When our KIND process PID exits first, or
# TIMEOUT seconds pass, it says so ("NAME (pid PID) NOT_READY after ..."),
# shows the tail of LOG and fails.
bp_await() {
  local kind=$1 pid=$2 log=$3 timeout=$4 name=$5 not_ready=$6
  shift 6
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if ! bp_is_ours "$kind" "$pid"; then
      bp_err "$name (pid $pid) exited during start-up."
      bp_tail "$log"
      rm -f "$(bp_pidfile "$kind")"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      bp_err "$name (pid $pid) $not_ready after ${timeout}s."
      bp_tail "$log"
      return 1
    fi
    sleep 0.5
  done
}

# bp_stop KIND TIMEOUT stops our KIND: SIGTERM, then SIGKILL after TIMEOUT
# seconds. A pid file naming anything else is removed, nothing is killed.
bp_stop() {
  local kind=$1 timeout=$2 file pid
  file=$(bp_pidfile "$kind")
  if [[ ! -f $file ]]; then
    bp_say "No $kind started by make demo is recorded."
    return 0
  fi
  pid=$(<"$file")
  if ! bp_is_ours "$kind" "$pid"; then
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      bp_say "The recorded $kind pid $pid now belongs to another program; leaving it alone."
    else
      bp_say "The recorded $kind (pid $pid) is no longer running; nothing to stop."
    fi
    rm -f "$file"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while bp_is_ours "$kind" "$pid"; do
    if ((SECONDS >= deadline)); then
      bp_say "The $kind (pid $pid) did not stop within ${timeout}s; killing it."
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  if bp_is_ours "$kind" "$pid"; then
    bp_err "Could not stop the $kind (pid $pid)."
    return 1
  fi
  rm -f "$file" "$BP_PIDS/$kind.db"
  bp_say "Stopped the $kind (pid $pid)."
}
