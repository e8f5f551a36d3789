// Package worker builds the blueprint worker: the DataPipeline workflow and
// its activities registered on a task queue, configured from the
// environment. worker/main.go runs it; tests, benchmarks and the demo start
// the same worker in-process.
package worker

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/activities"
	"github.com/blueprint-etl/blueprint/internal/fleet"
	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/workflows"
)

// StopTimeout is how long a stopping worker lets running activities
// finish before cancelling them. Each chunk commits atomically, so a
// cancelled activity leaves nothing half-written either way.
const StopTimeout = 20 * time.Second

// DefaultMemoryLimit is the worker's soft heap limit unless GOMEMLIMIT sets
// one. The largest thing a worker holds is the Transform dedup set of a
// 1M-row run (about 70 MiB live); without a limit Go's default GC headroom
// doubles that: make bench measured a 223-292 MiB peak RSS, where a 100 MiB
// limit gave 189 MiB with no slowdown.
const DefaultMemoryLimit = 128 << 20

// LimitMemory applies DefaultMemoryLimit unless GOMEMLIMIT is set.
func LimitMemory() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}

// Config is the worker's configuration.
type Config struct {
	TaskQueue   string
	DatabaseURL string
	Sources     source.Config
	// ChunkRecords overrides activities.DefaultChunkRecords.
	ChunkRecords int
}

// ConfigFromEnv reads the BLUEPRINT_* variables. Temporal's own TEMPORAL_*
// variables are read by internal/conn.
func ConfigFromEnv() (Config, error) {
	c := Config{
		TaskQueue:   envOr("BLUEPRINT_TASK_QUEUE", pipeline.TaskQueue),
		DatabaseURL: os.Getenv("BLUEPRINT_DATABASE_URL"),
		Sources:     source.Config{FileRoot: os.Getenv("BLUEPRINT_FILE_ROOT")},
	}
	if v := os.Getenv("BLUEPRINT_HTTP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("BLUEPRINT_HTTP_TIMEOUT=%q: must be a positive duration like 30s", v)
		}
		c.Sources.HTTPTimeout = d
	}
	if v := os.Getenv("BLUEPRINT_MAX_RESPONSE_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("BLUEPRINT_MAX_RESPONSE_BYTES=%q: must be a positive integer", v)
		}
		c.Sources.MaxResponseBytes = n
	}
	if v := os.Getenv("BLUEPRINT_HTTP_BEARER_TOKEN"); v != "" {
		c.Sources.HTTPHeaders = map[string]string{"Authorization": "Bearer " + v}
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

// New returns a worker for cfg.TaskQueue with the pipeline registered on
// it; the caller starts and stops it.
func New(c client.Client, st *store.Store, cfg Config) sdkworker.Worker {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = pipeline.TaskQueue
	}
	w := sdkworker.New(c, cfg.TaskQueue, sdkworker.Options{
		WorkerStopTimeout: StopTimeout,
		// The warehouse's fingerprint in the identity lets the CLI see
		// workers of one task queue that write to different warehouses.
		Identity: fleet.Identity(st.Fingerprint()),
	})
	Register(w, &activities.Activities{Store: st, Sources: cfg.Sources, ChunkRecords: cfg.ChunkRecords})
	return w
}

// Register registers the workflow and the activities under the names the
// pipeline contract gives them.
func Register(r sdkworker.Registry, a *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.DataPipeline, workflow.RegisterOptions{Name: pipeline.WorkflowType})
	r.RegisterActivityWithOptions(a.Extract, activity.RegisterOptions{Name: pipeline.ExtractActivity})
	r.RegisterActivityWithOptions(a.Transform, activity.RegisterOptions{Name: pipeline.TransformActivity})
	r.RegisterActivityWithOptions(a.Load, activity.RegisterOptions{Name: pipeline.LoadActivity})
	r.RegisterActivityWithOptions(a.FinishRun, activity.RegisterOptions{Name: pipeline.FinishRunActivity})
}
