package worker

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/runend"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/semaphore"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// Deps are what a worker gives the activities of every flow. They live
// here, on the worker's side, and not in the flow's contract
// (internal/flow): the CLI and the manifest loader read the contract and
// must not need a database driver to do it.
type Deps struct {
	Store   *store.Store
	Sources source.Config
	// ChunkRecords overrides the pipeline's default chunk size (tests).
	ChunkRecords int
	// Log writes the run logs (nil: none are written).
	Log *runlog.Writer
	// Env looks up the worker's environment variables that hold webhook
	// URLs (os.LookupEnv when nil).
	Env func(string) (string, bool)
	// Client is the worker's connection to the server, for activities
	// that signal their workflow (nil: they do not).
	Client client.Client
}

// Activity is one activity a flow's workflow calls, by name.
type Activity struct {
	Name string
	// Func is the activity function, typically a method of a struct that
	// holds its dependencies.
	Func any
	// Bookkeeping marks an activity that records the run rather than
	// doing its work (DataPipeline's FinishRun): the worker does not open
	// its run log attempt ("<activity> started") for it.
	Bookkeeping bool
}

// Flow is a flow as a worker runs it: its contract (name, parameters,
// workflow, task queue) and the activities its workflow calls.
type Flow struct {
	*flow.Flow
	// Activities returns the activities the workflow calls, built on the
	// worker's dependencies. A flow that only starts child workflows has
	// none (nil).
	Activities func(Deps) []Activity
	// Tables are the flow's own tables in the warehouse, as versioned
	// migrations (see store.Migration): the worker applies those not yet
	// applied when it starts (Registry.MigrateTables), and the
	// activities write them with Deps.Store.Write. A flow's table may
	// not take the name of a built-in table or of a dataset.
	Tables []store.Migration
}

// Registry is the set of flows a worker runs, with their activities.
type Registry struct {
	flows    []Flow
	contract *flow.Registry
}

// NewRegistry checks the flows' names as flow.NewRegistry does, and their
// tables as far as that needs no database (store.CheckMigrations).
func NewRegistry(flows ...Flow) (*Registry, error) {
	contracts := make([]*flow.Flow, len(flows))
	for i, f := range flows {
		contracts[i] = f.Flow
	}
	reg, err := flow.NewRegistry(contracts...)
	if err != nil {
		return nil, err
	}
	for _, f := range flows {
		if err := store.CheckMigrations(f.Name, f.Tables); err != nil {
			return nil, err
		}
	}
	return &Registry{flows: append([]Flow(nil), flows...), contract: reg}, nil
}

// MustRegistry is NewRegistry for package-level lists.
func MustRegistry(flows ...Flow) *Registry {
	r, err := NewRegistry(flows...)
	if err != nil {
		panic(err)
	}
	return r
}

// Flows returns the flows' contracts, in registration order: what the
// CLI, the manifest loader, the starter and the schedules read.
func (r *Registry) Flows() *flow.Registry { return r.contract }

// Register registers every flow's workflow and activities on a worker (or
// a test environment), and the platform's, once for all flows: the
// activities every run ends with (internal/runend) and the semaphore of a
// deployment's concurrency limit (internal/semaphore). An activity two
// flows both declare (by sharing the function that declares it) is
// registered once.
//
// It returns, by name, whether each registered activity is bookkeeping
// (the platform's, and those marked Bookkeeping).
func (r *Registry) Register(w sdkworker.Registry, deps Deps) (bookkeeping map[string]bool) {
	r.contract.RegisterWorkflows(w)
	// The activities every run ends with (internal/runend) and those of a
	// deployment's concurrency limit (internal/semaphore, with its
	// workflow): the platform's, for every flow.
	end := &runend.Activities{Store: deps.Store, Log: deps.Log, Env: deps.Env, Client: deps.Client}
	sem := &semaphore.Activities{Client: deps.Client}
	w.RegisterWorkflowWithOptions(semaphore.Workflow, workflow.RegisterOptions{Name: semaphore.WorkflowType})
	platform := []Activity{
		{Name: runinfo.EndRunActivity, Func: end.EndRun, Bookkeeping: true},
		{Name: runinfo.NotifyActivity, Func: end.Notify, Bookkeeping: true},
		{Name: runinfo.StartTriggeredActivity, Func: end.StartTriggered, Bookkeeping: true},
		{Name: semaphore.RequestSlotActivity, Func: sem.RequestSlot, Bookkeeping: true},
		{Name: semaphore.WatchHolderActivity, Func: sem.WatchHolder, Bookkeeping: true},
	}
	bookkeeping = map[string]bool{}
	register := func(acts []Activity) {
		for _, a := range acts {
			if _, done := bookkeeping[a.Name]; done {
				continue
			}
			bookkeeping[a.Name] = a.Bookkeeping
			w.RegisterActivityWithOptions(a.Func, activity.RegisterOptions{Name: a.Name})
		}
	}
	register(platform)
	for _, f := range r.flows {
		if f.Activities != nil {
			register(f.Activities(deps))
		}
	}
	return bookkeeping
}

// MigrateTables brings every flow's own tables up to date in st, flow by
// flow in registration order (see store.MigrateTables), and stops at the
// first error, which names the flow. A worker calls it once it has its
// warehouse and before it polls: an activity must find its flow's tables
// as the code that declares them expects.
func (r *Registry) MigrateTables(ctx context.Context, st *store.Store) error {
	for _, f := range r.flows {
		// The error names the flow already.
		if err := st.MigrateTables(ctx, f.Name, f.Tables); err != nil {
			return err
		}
	}
	return nil
}
