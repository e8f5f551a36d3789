// Package flowstest starts a real in-process blueprint worker, with every
// flow of the registry it is given (flows.Registry in the module's tests),
// for tests; and holds Kinds, a test flow with a parameter of each kind.
//
// It must not import `cmd`.
package flowstest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// Start runs a worker of the flows of reg on taskQueue, backed by a fresh
// SQLite warehouse in a temporary directory, and stops it when the test
// ends.
func Start(t testing.TB, c client.Client, taskQueue string, reg *worker.Registry) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	if err != nil {
		t.Fatalf("open warehouse: %v", err)
	}
	// Cleanups run last-in first-out: the worker stops before the store closes.
	t.Cleanup(func() { _ = st.Close() })
	StartWith(t, c, st, worker.Config{TaskQueue: taskQueue}, reg)
	return st
}

// StartWith runs a worker of the flows of reg with the given store and
// configuration, after bringing the flows' own tables up to date in the
// store, as the worker program does.
func StartWith(t testing.TB, c client.Client, st *store.Store, cfg worker.Config, reg *worker.Registry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := reg.MigrateTables(ctx, st); err != nil {
		t.Fatalf("migrate the flows' tables: %v", err)
	}
	w := worker.New(c, st, cfg, reg)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
}

// KindsParams has one parameter of each kind a flow's parameters may have,
// for tests of everything that reads a flow's schema (the CLI's --param
// and --params, the manifest loader). No shipped flow has them all.
type KindsParams struct {
	Name    string        `json:"name" validate:"required,max=20" default:"kinds" help:"a text"`
	Count   int           `json:"count" validate:"min=1,max=10" default:"3" help:"an integer"`
	Ratio   float64       `json:"ratio" validate:"gte=0,lte=1" default:"0.5" help:"a number"`
	Dry     bool          `json:"dry" default:"false" help:"a boolean"`
	Timeout time.Duration `json:"timeout" validate:"min=1s,max=1h" default:"30s" help:"a duration, 1s to 1h"`
	Day     flow.Date     `json:"day" help:"a date"`
	At      time.Time     `json:"at" help:"a date-time"`
	Mode    string        `json:"mode" validate:"oneof=fast safe" default:"safe" help:"an enum"`
	Sources []string      `json:"sources" validate:"max=3,dive,source_url" default:"[\"demo://orders\"]" help:"a list of strings"`
	Window  KindsWindow   `json:"window" help:"a nested object"`
}

// KindsWindow is KindsParams' nested object.
type KindsWindow struct {
	Start flow.Date `json:"start" help:"first day"`
	Days  int       `json:"days" validate:"min=1,max=31" default:"1" help:"how many days"`
}

// KindsWorkflow returns its parameters as it received them: decoded,
// defaulted and checked.
func KindsWorkflow(_ workflow.Context, p KindsParams) (KindsParams, error) { return p, nil }

// Kinds is the flow of KindsParams. It is in no shipped registry: a test
// gives the code it tests WithKinds's.
var Kinds = flow.New("FlowstestKinds", KindsWorkflow, flow.Options{Description: "Echo one parameter of each kind (tests only)"})

// WithKinds returns a new registry of reg's flows and Kinds, last.
func WithKinds(reg *flow.Registry) *flow.Registry {
	return flow.MustRegistry(append(reg.Flows(), Kinds)...)
}
