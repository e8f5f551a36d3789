// Package flowkit is everything a flow needs, in one place: what a flow
// author imports to write a flow that gets every guarantee the shipped
// flows have (docs/flows.md, "Write your own flow"). It is a thin front:
// each part is owned by a package of its own, and flowkit only names it
// for flow authors.
//
//   - Defining a flow: New (the workflow, its typed parameters) and Flow
//     (with its activities and its own tables).
//   - Run log: Log in workflow code (replay-safe), ActivityLog in
//     activities. `blueprint runs logs` shows the lines with their stage
//     and attempt.
//   - Live details: Stage sets the run's current details (the Web UI and
//     `blueprint run --watch` show them); WithActivity gives an activity
//     call its summary.
//   - Warehouse: Tables on a Flow (versioned migrations, per dialect where
//     they differ) and Deps.Store.Write / Query in activities.
//   - Reading sources: OpenSource reads any source URL or named source
//     page by page, with a cursor to resume from.
//   - Datasets: OpenDataset loads a run's records of a dataset (the
//     built-in orders, or one of the manifest's datasets:) chunk by chunk,
//     each record loaded or rejected with a reason, exactly once.
//   - Heartbeat and resume: Heartbeat records a cursor, Resume returns it
//     on the next attempt.
//   - Retry policy: RetryPolicy, the seed's 3 attempts 2 s apart.
//
// Every run of a flow made with New also ends the same way, with nothing
// to call: its outcome goes to the run log and the record of runs
// (flow_runs), a failure is made readable ("<Activity> failed after N
// attempts: <cause>"), and the deployment's webhooks are notified.
//
// It must not import `flows`, `workflows`, `activities`, `deployments` or
// `cmd`: flows are written with it, not the other way round.
package flowkit

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/loader"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// Defining a flow.
type (
	// Flow is a flow as the worker runs it: its contract (New), the
	// activities its workflow calls, and its own tables. Add it to the
	// list in the top-level flows package.
	Flow = worker.Flow
	// Activity is one activity of a flow, by name.
	Activity = worker.Activity
	// Deps are what the worker gives a flow's activities: the warehouse
	// (Store), the sources' configuration (Sources), the run logs.
	Deps = worker.Deps
	// Options describe a flow beyond its workflow function.
	Options = flow.Options
	// Migration is one version of a flow's own tables.
	Migration = store.Migration
	// Tx is a warehouse transaction of Store.Write.
	Tx = store.Tx
	// Time reads an instant the warehouse stored, on either database.
	Time = store.Time
)

// New defines a flow: its name (the workflow type), its workflow function
// and its parameter struct P, whose tags give each parameter its JSON
// name, rules (validate:), default (default:) and description (help:).
// The function receives P decoded, defaulted and checked.
func New[P, R any](name string, fn func(workflow.Context, P) (R, error), o Options) *flow.Flow {
	return flow.New(name, fn, o)
}

// Log is the run log of workflow code: Info, Warn and Error take the
// workflow's context and a format. It is replay-safe: a replay writes
// nothing twice.
func Log(ctx workflow.Context) *flowrun.Logger { return flowrun.Log(ctx) }

// Stage sets the run's current details: the stage it is in and facts
// about it, one per line (Markdown). The Web UI shows them on the run's
// page, and `blueprint run --watch` as the run's progress.
func Stage(ctx workflow.Context, stage string, facts ...string) {
	flowrun.SetStage(ctx, stage, facts...)
}

// ActivityLog is the run log of the running activity attempt: its lines
// carry the activity's stage (its lower-cased name) and attempt. A nil
// *runlog.Logger (no run log configured) writes nothing.
func ActivityLog(ctx context.Context) *runlog.Logger { return runlog.FromContext(ctx) }

// RetryPolicy is the seed's retry policy: 3 attempts, 2 s apart; the
// error types no retry can fix (bad parameters, a bad source, bad data)
// fail at once.
func RetryPolicy() *temporal.RetryPolicy { return runinfo.RetryPolicy() }

// HeartbeatTimeout is how soon a dead worker's activity is retried
// elsewhere when it heartbeats (Heartbeat).
const HeartbeatTimeout = runinfo.HeartbeatWindow

// WithActivity gives the activities called with the returned context the
// seed's retry policy, a heartbeat timeout (so that a worker killed in
// the middle is noticed within HeartbeatTimeout and the next attempt
// resumes from the last Heartbeat), timeout as their start-to-close
// timeout, and summary as the one line the Web UI shows for the call.
func WithActivity(ctx workflow.Context, summary string, timeout time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    HeartbeatTimeout,
		RetryPolicy:         RetryPolicy(),
		Summary:             summary,
	})
}

// Heartbeat records the activity's progress: cursor (any JSON value) is
// what Resume returns to the next attempt if this one dies. Call it after
// each unit of work is committed, never before.
func Heartbeat(ctx context.Context, cursor any) { activity.RecordHeartbeat(ctx, cursor) }

// Resume reads the cursor the previous attempt last recorded with
// Heartbeat into cursor (a pointer), and reports whether there was one.
// A first attempt, or one whose predecessor died before its first
// Heartbeat, starts from the beginning.
func Resume(ctx context.Context, cursor any) bool {
	if !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, cursor) == nil
}

// Reading sources.
type (
	// SourceDefinition is a named source of the manifest (its sources:).
	// A flow whose parameter has the source_url rule gets the definition
	// of a source:NAME in a member of this type tagged param:"-" (json
	// "source"): the CLI fills it from the manifest, so the worker needs
	// no copy of it.
	SourceDefinition = restapi.Definition
	// ReadOptions say where a read resumes (Cursor), which fields each
	// record carries (Fields, mapped by a named source's fields:) and how
	// many records at most (Limit, 0: all).
	ReadOptions = source.ReadOptions
	// Reader yields a source's pages: Next returns io.EOF itself when the
	// source is done, and each Page has its records (raw JSON objects) and
	// the Cursor to resume after it.
	Reader = source.Reader
	// Page is one page of records.
	Page = source.Page
)

// OpenSource opens ref, any source URL (http(s)://, file://, demo://) or
// source:NAME with its definition def (nil for a URL), for reading page
// by page with the worker's settings (deps.Sources): every pagination
// style, the records path, auth from the worker's environment,
// Retry-After. Its errors are typed for the retry policy (a bad source
// or bad data fails at once, a dropped connection is retried): an
// activity returns them as they are.
func OpenSource(ctx context.Context, deps Deps, ref string, def *SourceDefinition, opts ReadOptions) (Reader, error) {
	return source.OpenRef(ctx, ref, def, opts, deps.Sources)
}

// Datasets.
type (
	// DatasetDefinition is a dataset of the manifest (its datasets:). A
	// flow whose parameter has the dataset rule gets the definition of a
	// declared dataset it names in a member of this type tagged param:"-"
	// (json "dataset_definition"): the CLI fills it from the manifest, so
	// the worker needs no copy of it. A built-in dataset (orders) has none.
	DatasetDefinition = dataset.Definition
	// Dataset loads a run's records of one dataset, a chunk at a time:
	// Load(ctx, seq, records) checks each record by the dataset's rules
	// (loaded, or rejected with a reason naming the field and the rule;
	// duplicate keys across the run too), keeps the rejections, and
	// upserts the rest by the dataset's key, each chunk exactly once. Its
	// Fields are what to read the source for. A run loads one dataset.
	Dataset = loader.Dataset
	// DatasetTotals are what a run's load did so far: records read,
	// inserted, updated, unchanged and rejected (by reason).
	DatasetTotals = loader.Totals
)

// OpenDataset prepares the running activity's run to load the dataset
// called name (def is its definition, nil for a built-in dataset) from
// the source src (a source URL, or source:NAME with its definition
// srcDef): the records' namespace, as DataPipeline keys them. The
// dataset's table follows def first: created on the first run, a column
// added for a new field (the run log says so); a change it cannot take
// without losing data fails the activity at once, as does a second
// dataset in one run. Call it in every attempt, before reading.
func OpenDataset(ctx context.Context, deps Deps, name string, def *DatasetDefinition, src string, srcDef *SourceDefinition) (*Dataset, error) {
	key, err := source.RefKey(src, srcDef, deps.Sources)
	if err != nil {
		return nil, err
	}
	wf := activity.GetInfo(ctx).WorkflowExecution
	d, err := loader.Open(ctx, deps.Store, runinfo.RunRef{WorkflowID: wf.ID, RunID: wf.RunID}, key, name, def)
	if err != nil {
		return nil, err
	}
	if line := d.TableChange(); line != "" {
		ActivityLog(ctx).Info("%s", line)
	}
	return d, nil
}

// RedactURL is a source URL as a log line or the Web UI may show it: its
// credentials (user info, secret-looking query values) hidden.
func RedactURL(u string) string { return redact.URL(u) }

// RunID names the run of the running activity: "<workflow ID>/<run ID>",
// the same in every attempt, for a row that records which run wrote it.
func RunID(ctx context.Context) string {
	wf := activity.GetInfo(ctx).WorkflowExecution
	return runinfo.RunRef{WorkflowID: wf.ID, RunID: wf.RunID}.Key()
}
