// Package worker is the worker's side of blueprint: the worker's half of
// a flow (the activities its workflow calls and the dependencies they are
// built on: the warehouse, the sources, the run logs) and the worker
// itself, every flow of a registry registered on a task queue, configured
// from the environment. worker/main.go runs it with the flows of the
// top-level flows package; tests, benchmarks and the demo start the same
// worker in-process. Nothing that only reads a flow's contract (the CLI,
// the manifest loader) may import it: it brings the database drivers.
//
// It must not import `cmd`, `flows` or `deployments`: it is given the flows
// to register.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/fleet"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// StopTimeout is how long a stopping worker lets running activities
// finish before cancelling them. Each chunk commits atomically, so a
// cancelled activity leaves nothing half-written either way.
const StopTimeout = 20 * time.Second

// DefaultMemoryLimit is the worker's soft heap limit unless GOMEMLIMIT sets
// one. The largest thing a worker holds is a Transform's duplicate check,
// at most about store.MemoryKeys ids of 16 bytes (20-40 MiB live), beside
// a few staged chunks per running stage; without a limit Go's default GC
// headroom doubles what is live (make bench once measured a 223-292 MiB
// peak RSS for a 70 MiB set, where a 100 MiB limit gave 189 MiB with no
// slowdown).
const DefaultMemoryLimit = 128 << 20

// DefaultGCPercent is the worker's GOGC while DefaultMemoryLimit bounds
// its heap (GOMEMLIMIT and GOGC unset). A running stage's live heap is
// small (a few chunks, 10-40 MiB) and it allocates a chunk's records over
// and over: at Go's default of 100 it collected every few chunks, which
// cost a million-row run a fifth of its CPU, and Load's upserts waited on
// the collections. At 400 the heap grows further between collections, and
// the limit still caps it: measured on 2 cores, a million orders took
// 8.5-9.1 s instead of 10.4-10.9 s, with a peak RSS 28 MiB higher.
const DefaultGCPercent = 400

// LimitMemory applies DefaultMemoryLimit unless GOMEMLIMIT is set, and
// then DefaultGCPercent unless GOGC is set: without the limit, a higher
// GOGC would let the heap grow to five times what is live.
func LimitMemory() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	debug.SetMemoryLimit(DefaultMemoryLimit)
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(DefaultGCPercent)
	}
}

// Config is the worker's configuration.
type Config struct {
	TaskQueue   string
	DatabaseURL string
	Sources     source.Config
	// ChunkRecords overrides the pipeline's default chunk size.
	ChunkRecords int
	// RunLog bounds the run logs.
	RunLog runlog.Config
	// WarehouseWait bounds how long a warehouse call waits for an
	// unreachable warehouse (store.EnvWait): 0 means
	// runinfo.DefaultWarehouseWait, a negative value no waiting.
	WarehouseWait time.Duration
	// Env looks up the variables holding webhook URLs (os.LookupEnv when
	// nil; tests give their own).
	Env func(string) (string, bool)
	// DataConverter is the one the worker's client encodes payloads with;
	// workflow code decodes the run's memo (its webhooks) with it. nil
	// means the one BLUEPRINT_ENCRYPTION_KEYS gives (conn.DataConverter),
	// as for every client of this program.
	DataConverter converter.DataConverter
	// Gates is where tests hold an activity at its start (gate.Activity);
	// "" (always, outside tests) holds nothing and costs nothing.
	Gates gate.Dir
	// Tasks sizes how the worker takes tasks from the server.
	Tasks Tasks
}

// Tasks are the worker's pollers and slots; a zero field takes its
// default (DefaultTasks).
type Tasks struct {
	// WorkflowPollers and ActivityPollers are the long polls the worker
	// keeps open for workflow and activity tasks.
	WorkflowPollers int
	ActivityPollers int
	// MaxActivities bounds the activities running at once.
	MaxActivities int
}

// DefaultTasks are the settings measured best on a 2-core machine that runs
// the dev server beside the worker (docs/operations.md, "Tuning the
// worker"). Eight pollers of each kind, where the SDK opens two, completed
// 10-13% more of 200 runs started at once per second, of the pipeline and
// of the floor alike: a task that finds a poller waiting is handed over
// at once, and the server stores fewer tasks on their way. The SDK's 1000
// activity slots stay: 8 or 32 slots made such bursts no faster.
var DefaultTasks = Tasks{WorkflowPollers: 8, ActivityPollers: 8, MaxActivities: 1000}

// The variables that set Tasks, each one owned here.
const (
	EnvWorkflowPollers = "BLUEPRINT_WORKFLOW_POLLERS"
	EnvActivityPollers = "BLUEPRINT_ACTIVITY_POLLERS"
	EnvMaxActivities   = "BLUEPRINT_MAX_ACTIVITIES"
)

// tasksFromEnv reads Tasks; the SDK refuses a single workflow poller (it
// alternates between the sticky and the normal queue).
func tasksFromEnv() (Tasks, error) {
	var t Tasks
	for _, v := range []struct {
		key string
		min int
		to  *int
	}{
		{EnvWorkflowPollers, 2, &t.WorkflowPollers},
		{EnvActivityPollers, 1, &t.ActivityPollers},
		{EnvMaxActivities, 1, &t.MaxActivities},
	} {
		s := os.Getenv(v.key)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < v.min {
			return t, fmt.Errorf("%s=%q: must be an integer of at least %d", v.key, s, v.min)
		}
		*v.to = n
	}
	return t, nil
}

// withDefaults fills the zero fields of t from DefaultTasks.
func (t Tasks) withDefaults() Tasks {
	if t.WorkflowPollers == 0 {
		t.WorkflowPollers = DefaultTasks.WorkflowPollers
	}
	if t.ActivityPollers == 0 {
		t.ActivityPollers = DefaultTasks.ActivityPollers
	}
	if t.MaxActivities == 0 {
		t.MaxActivities = DefaultTasks.MaxActivities
	}
	return t
}

// ConfigFromEnv reads the BLUEPRINT_* variables. Temporal's own TEMPORAL_*
// variables are read by internal/conn.
func ConfigFromEnv() (Config, error) {
	rl, err := runlog.ConfigFromEnv()
	if err != nil {
		return Config{}, err
	}
	wait, err := store.WaitFromEnv(nil)
	if err != nil {
		return Config{}, err
	}
	if wait == 0 {
		wait = -1 // no waiting, as the variable says
	}
	c := Config{
		RunLog:        rl,
		WarehouseWait: wait,
		TaskQueue:     envOr("BLUEPRINT_TASK_QUEUE", runinfo.TaskQueue),
		DatabaseURL:   os.Getenv("BLUEPRINT_DATABASE_URL"),
		Gates:         gate.FromEnv(),
	}
	if c.Sources, err = source.ConfigFromEnv(); err != nil {
		return c, err
	}
	if c.Tasks, err = tasksFromEnv(); err != nil {
		return c, err
	}
	if v := os.Getenv("BLUEPRINT_CHUNK_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("BLUEPRINT_CHUNK_RECORDS=%q: must be a positive integer", v)
		}
		c.ChunkRecords = n
	}
	return c, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// New returns a worker for cfg.TaskQueue with every flow of reg
// registered on it; the caller starts and stops it. It sets st's wait for
// an unreachable warehouse (cfg.WarehouseWait), and its activities
// heartbeat, show and log such a wait (see waits).
func New(c client.Client, st *store.Store, cfg Config, reg *Registry) sdkworker.Worker {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = runinfo.TaskQueue
	}
	switch {
	case cfg.WarehouseWait == 0:
		st.SetWait(runinfo.DefaultWarehouseWait)
	case cfg.WarehouseWait > 0:
		st.SetWait(cfg.WarehouseWait)
	default:
		st.SetWait(0)
	}
	log := &runlog.Writer{Store: st, Config: cfg.RunLog, Client: c}
	dc := cfg.DataConverter
	if dc == nil {
		dc = conn.PayloadConverter()
	}
	rt := &runs{dc: dc, log: log, gates: cfg.Gates, lines: &workflowLines{w: log, logger: sdklog.NewStructuredLogger(slog.Default())}}
	tasks := cfg.Tasks.withDefaults()
	w := sdkworker.New(c, cfg.TaskQueue, sdkworker.Options{
		WorkerStopTimeout: StopTimeout,
		// The warehouse's fingerprint in the identity lets the CLI see
		// workers of one task queue that write to different warehouses.
		Identity: fleet.Identity(st.Fingerprint()),
		// waits is outermost: the run log attempt that rt opens already
		// waits for an unreachable warehouse visibly.
		Interceptors: []interceptor.WorkerInterceptor{&waits{client: c, log: log}, rt},
		// An activity without a heartbeat timeout heartbeats only while it
		// waits for the warehouse (see waits): the wait's start and end
		// reach the server within this, not the SDK's default 30 s.
		DefaultHeartbeatThrottleInterval:   runinfo.HeartbeatWindow * 4 / 5,
		MaxConcurrentWorkflowTaskPollers:   tasks.WorkflowPollers,
		MaxConcurrentActivityTaskPollers:   tasks.ActivityPollers,
		MaxConcurrentActivityExecutionSize: tasks.MaxActivities,
	})
	rt.quiet = reg.Register(w, Deps{Store: st, Sources: cfg.Sources, ChunkRecords: cfg.ChunkRecords,
		Log: log, Env: cfg.Env, Client: c})
	return w
}

// Interceptor is the interceptor New gives a worker (without its waits
// for an unreachable warehouse), for a test environment of flows
// registered with Registry.Register, whose result is quiet: every
// activity attempt of every flow gets its run log Logger from log, and
// workflow code its data converter, as on a worker. Workflow code's own
// run log lines are not written.
func Interceptor(log *runlog.Writer, quiet map[string]bool) interceptor.WorkerInterceptor {
	return &runs{dc: conn.PayloadConverter(), log: log, quiet: quiet}
}

// RunLogSweep is how often the worker deletes run log lines older than the
// retention period.
const RunLogSweep = time.Hour

// PruneRunLogs deletes the run log lines older than retention now and then
// every RunLogSweep until ctx is done, reporting each sweep to report
// (deleted lines, or the error). Several workers doing it at once is
// harmless.
func PruneRunLogs(ctx context.Context, st *store.Store, retention time.Duration, report func(deleted int64, err error)) {
	if retention <= 0 {
		retention = store.DefaultRunLogRetention
	}
	t := time.NewTicker(RunLogSweep)
	defer t.Stop()
	for {
		n, err := st.DeleteLogsBefore(ctx, time.Now().Add(-retention))
		if ctx.Err() != nil {
			return
		}
		report(n, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
