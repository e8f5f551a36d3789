// Package flow is the contract every blueprint flow meets: a workflow
// function, its registered name (the workflow type), a parameter struct
// (JSON names, validator rules, defaults and a one-line description per
// field), its default task queue and a description.
//
// The contract is what the CLI, the starter, the manifest loader and the
// schedule reconciler read. It must not import `internal/store`,
// `internal/source`, `internal/runlog`, `activities`, `workflows` or
// `flows`: reading a manifest needs no database. The worker's half of a flow (the activities its workflow
// calls and what they are built on) is internal/worker's. The one list of
// flows is the top-level package flows; nothing else knows a flow by name.
//
// A flow's workflow receives its parameters already decoded and checked:
// New wraps it in a workflow that takes the raw input payload, so that a
// malformed start (from the Web UI or the Temporal CLI) ends with
// InvalidParameters naming every bad field, instead of a decoding error
// before any code of the flow could run. The wrapper also gives every
// flow what a run of blueprint has whatever its flow (internal/flowrun):
// current details, a run log for its workflow code, and an end that
// records the outcome, makes a failure readable and notifies the
// deployment's webhooks.
package flow

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Options describe a flow beyond its workflow function.
type Options struct {
	// Description is one line for `blueprint flows ls`.
	Description string
	// TaskQueue is where the flow's deployments run unless the manifest
	// says otherwise; default runinfo.TaskQueue.
	TaskQueue string
}

// Flow is a registered flow.
type Flow struct {
	// Name is the workflow type on the server.
	Name        string
	Description string
	TaskQueue   string
	// Params is the schema derived from the parameter struct.
	Params *Schema

	workflow any
}

// New defines a flow from its workflow function. P is the parameter
// struct; the function receives it decoded, defaulted and validated. New
// panics on a parameter struct it cannot describe: that is a mistake in
// the flow's code, caught by the first test or start of the program.
func New[P, R any](name string, fn func(workflow.Context, P) (R, error), o Options) *Flow {
	schema, err := NewSchema(reflect.TypeFor[P]())
	if err != nil {
		panic(fmt.Sprintf("flow %s: %v", name, err))
	}
	if o.TaskQueue == "" {
		o.TaskQueue = runinfo.TaskQueue
	}
	f := &Flow{Name: name, Description: o.Description, TaskQueue: o.TaskQueue, Params: schema}
	f.workflow = func(ctx workflow.Context, input converter.RawValue) (R, error) {
		var zero R
		ctx = flowrun.Begin(ctx)
		// Decoding is a pure function of the payload: the validator's
		// reflection and cache do not change its result, and problems are
		// sorted. workflowcheck cannot see through reflection.
		//workflowcheck:ignore
		p, err := schema.DecodePayload(input.Payload())
		if err != nil {
			// The one failure a scheduled deployment cannot show any
			// other way: it is logged and notified like any other.
			return zero, flowrun.Finish(ctx, nil, nil, temporal.NewNonRetryableApplicationError(err.Error(), runinfo.ErrInvalidParameters, nil))
		}
		params := *p.(*P)
		// A deployment's concurrency limit admits the run first.
		if err := flowrun.Admit(ctx); err != nil {
			return zero, flowrun.Finish(ctx, params, nil, err)
		}
		res, err := fn(ctx, params)
		return res, flowrun.Finish(ctx, params, res, err)
	}
	return f
}

// Workflow is the function registered under Name: it takes the raw input.
func (f *Flow) Workflow() any { return f.workflow }

// Registry is the set of flows a program knows.
type Registry struct {
	flows []*Flow
}

// NewRegistry checks that every flow has a name and no two the same.
func NewRegistry(flows ...*Flow) (*Registry, error) {
	seen := map[string]bool{}
	for _, f := range flows {
		if f == nil || f.Name == "" {
			return nil, errors.New("flow registry: a flow without a name")
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("flow registry: two flows are called %s", f.Name)
		}
		seen[f.Name] = true
	}
	return &Registry{flows: slices.Clone(flows)}, nil
}

// MustRegistry is NewRegistry for package-level lists.
func MustRegistry(flows ...*Flow) *Registry {
	r, err := NewRegistry(flows...)
	if err != nil {
		panic(err)
	}
	return r
}

// Flows lists the flows in registration order.
func (r *Registry) Flows() []*Flow { return slices.Clone(r.flows) }

// Names lists the flow names in registration order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.flows))
	for i, f := range r.flows {
		names[i] = f.Name
	}
	return names
}

// Get returns the flow called name. An unknown name is a
// *badinput.Error listing the flows and the nearest one.
func (r *Registry) Get(name string) (*Flow, error) {
	if f := r.Lookup(name); f != nil {
		return f, nil
	}
	return nil, badinput.Errorf("unknown flow %q (valid: %s)%s", name, strings.Join(r.Names(), ", "), suggest.DidYouMean(name, r.Names()))
}

// Lookup returns the flow called name, or nil.
func (r *Registry) Lookup(name string) *Flow {
	for _, f := range r.flows {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// RegisterWorkflows registers every flow's workflow under its name, on a
// replayer or, with the flows' activities, a worker (internal/worker).
func (r *Registry) RegisterWorkflows(w interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	for _, f := range r.flows {
		w.RegisterWorkflowWithOptions(f.workflow, workflow.RegisterOptions{Name: f.Name})
	}
}
