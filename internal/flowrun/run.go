package flowrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/failures"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// run is what the flow wrapper keeps for one execution of a flow's
// workflow: its current details and its run log from workflow code. It
// lives in the workflow's context (Begin), so every part of the flow's
// code reaches the same one.
type run struct {
	details *Details
	log     *Logger
	// attempts is the retry policy's maximum of each activity type the
	// run scheduled (NoteActivity), for its readable failure.
	attempts map[string]int
}

// NoteActivity records that the run scheduled activityType with a retry
// policy of maxAttempts (0: unlimited), so that its failure reads
// "<Activity> failed after <maxAttempts> attempts". The worker's
// interceptor calls it for every activity; without it the seed's
// runinfo.MaxAttempts is assumed.
func NoteActivity(ctx workflow.Context, activityType string, maxAttempts int) {
	if r := runOf(ctx); r != nil {
		if r.attempts == nil {
			r.attempts = map[string]int{}
		}
		r.attempts[activityType] = maxAttempts
	}
}

// maxAttempts is the retry policy's maximum of the activity err failed in.
func maxAttempts(ctx workflow.Context, err error) int {
	act := ownActivityError(err)
	if r := runOf(ctx); r != nil && act != nil && act.ActivityType() != nil {
		if n, ok := r.attempts[act.ActivityType().Name]; ok && n > 0 {
			return n
		}
	}
	return runinfo.MaxAttempts
}

type runKey struct{}

// Begin starts what every run of every flow has: current details that
// follow the retries and warehouse waits its activities announce
// (FollowAttempts), and a run log for workflow code (Log). internal/flow's
// wrapper calls it before the flow's own code; it issues no command, so
// histories recorded before it replay unchanged.
func Begin(ctx workflow.Context) workflow.Context {
	if _, ok := ctx.Value(runKey{}).(*run); ok {
		return ctx
	}
	r := &run{log: newLogger(ctx)}
	r.log.r = r
	ctx = workflow.WithValue(ctx, runKey{}, r)
	r.details = followAttempts(ctx)
	return ctx
}

func runOf(ctx workflow.Context) *run {
	if r, ok := ctx.Value(runKey{}).(*run); ok {
		return r
	}
	return nil
}

// StageFailure is how a flow that records its own failure says which of
// its stages failed: the run's log and notifications name Stage and
// Cause, and the run fails with Err (already made readable by the flow).
// Any other error a flow returns is made readable by Finish.
type StageFailure struct {
	Stage string
	Cause error
	Err   error
}

func (e *StageFailure) Error() string { return e.Err.Error() }
func (e *StageFailure) Unwrap() error { return e.Err }

// Summarizer is a flow result that says in one line what the run did;
// a completed run's log line and notifications carry it.
type Summarizer interface{ OneLine() string }

// Finish ends a run of any flow, after its code returned result and err:
// its current details show the outcome, EndRun records it (run log and
// flow_runs) and the deployment's webhooks hear of it (see end). It
// returns the error the run ends with: a failed activity's error is
// summarized as "<Activity> failed after N attempts: <cause>" (the
// first line the Web UI and `runs show` give), a cancellation is kept.
func Finish(ctx workflow.Context, params, result any, err error) error {
	info := workflow.GetInfo(ctx)
	var out runinfo.EndRunInput
	ret := err
	var sf *StageFailure
	switch {
	case err == nil:
		out = runinfo.EndRunInput{Status: runinfo.RunCompleted}
		if s, ok := result.(Summarizer); ok {
			out.Summary = s.OneLine()
		}
	case errors.As(err, &sf):
		out, ret = Failed(ctx, sf.Stage, sf.Cause), sf.Err
	default:
		out = Failed(ctx, StageOf(err), err)
		if out.Status != runinfo.RunCancelled && ownActivityError(err) != nil {
			ret = failures.SummarizeAttempts(err, maxAttempts(ctx, err))
		}
	}
	if r := runOf(ctx); r != nil && r.details.stage != runinfo.StageDone && r.details.stage != runinfo.StageFailed {
		switch {
		case out.Status == runinfo.RunCompleted && out.Summary != "":
			r.details.Stage(ctx, runinfo.StageDone, "**Result:** "+out.Summary)
		case out.Status == runinfo.RunCompleted:
			r.details.Stage(ctx, runinfo.StageDone)
		case out.Stage != "":
			r.details.Stage(ctx, runinfo.StageFailed, "**Failed in:** "+out.Stage, "**Error:** "+out.Error)
		default:
			r.details.Stage(ctx, runinfo.StageFailed, "**Error:** "+out.Error)
		}
	}
	out.Flow, out.Deployment = info.WorkflowType.Name, Deployment(ctx)
	out.Run = runinfo.RunRef{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}
	end(ctx, out)
	startTriggers(ctx, out, params, result)
	return ret
}

// The versions of a run's triggers, as marked in the history of a run
// that had some: runs recorded before triggers had none in their memo,
// and never get here.
const (
	triggersChange  = "blueprint-triggers"
	triggersStarted = 1
)

// StartTriggeredOptions are the options of the StartTriggered activity:
// a start is one request to the server, retried with backoff while the
// server is unreachable, for up to an hour; a template that cannot be
// rendered fails at once.
func StartTriggeredOptions(t runinfo.Trigger) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: time.Hour,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: []string{runinfo.ErrInvalidParameters, runinfo.ErrBadSource}},
		Summary: fmt.Sprintf("Start %s (trigger %d)", t.Deployment, t.Index+1),
	}
}

// startTriggers starts, through StartTriggered, one run of each trigger
// in the run's memo whose `on` has the run's status. A trigger that
// cannot start is logged; it never changes the run's outcome.
func startTriggers(ctx workflow.Context, out runinfo.EndRunInput, params, result any) {
	var matching []runinfo.Trigger
	for _, t := range Triggers(ctx) {
		if slices.Contains(t.On, out.Status) {
			matching = append(matching, t)
		}
	}
	if len(matching) == 0 || workflow.GetVersion(ctx, triggersChange, workflow.DefaultVersion, triggersStarted) == workflow.DefaultVersion {
		return
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	in := runinfo.StartTriggeredInput{Upstream: runinfo.TriggeredBy{Deployment: out.Deployment, Run: out.Run, Status: out.Status}}
	// Encoding the parameters and the result is a pure function of them;
	// workflowcheck cannot see through encoding/json's reflection.
	//workflowcheck:ignore
	in.Params, _ = json.Marshal(params)
	if out.Status == runinfo.RunCompleted {
		//workflowcheck:ignore
		in.Result, _ = json.Marshal(result)
	}
	var futures []workflow.Future
	for _, t := range matching {
		in.Trigger = t
		futures = append(futures, workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, StartTriggeredOptions(t)), runinfo.StartTriggeredActivity, in))
	}
	for i, f := range futures {
		if err := f.Get(dctx, nil); err != nil {
			Log(ctx).Error(ctx, "the trigger of %s did not start it: %s", matching[i].Deployment, Cause(err))
		}
	}
}

// Triggers reads the run's triggers from its memo, with the worker
// client's data converter (see WithConverter).
func Triggers(ctx workflow.Context) []runinfo.Trigger {
	var ts []runinfo.Trigger
	memoValue(ctx, runinfo.MemoTriggers, &ts, "the deployment's triggers", "none is started")
	return ts
}

// StageOf names the stage an error of a flow's code failed in: the
// activity whose failure it carries (lower-cased, as the run log names
// an activity's stage), or "" when it carries none.
func StageOf(err error) string {
	if act := ownActivityError(err); act != nil && act.ActivityType() != nil {
		return strings.ToLower(act.ActivityType().Name)
	}
	return ""
}

// ownActivityError is the failure of one of the run's own activities that
// err carries, not looking into a child run's failure (whose activity is
// the child's stage, not the parent's), or nil.
func ownActivityError(err error) *temporal.ActivityError {
	for err != nil {
		switch e := err.(type) {
		case *temporal.ChildWorkflowExecutionError:
			return nil
		case *temporal.ActivityError:
			return e
		}
		err = errors.Unwrap(err)
	}
	return nil
}

// Deployment is the run's deployment, from its search attribute ("" when
// it was started without one).
func Deployment(ctx workflow.Context) string {
	d, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(runinfo.DeploymentKey)
	return d
}

// Stage sets the run's current details (Details.Stage) from any flow code
// that has the workflow's context.
func SetStage(ctx workflow.Context, stage string, facts ...string) {
	if r := runOf(ctx); r != nil {
		r.details.Stage(ctx, stage, facts...)
		return
	}
	Stage(ctx, stage, facts...)
}

type converterKey struct{}

// WithConverter gives the workflow code of ctx the data converter of the
// worker's client (the worker's interceptor does it), with which the
// run's memo was encoded: with BLUEPRINT_ENCRYPTION_KEYS set, the default
// converter could not read the webhooks in it. Search attributes are
// always plaintext and need none.
func WithConverter(ctx workflow.Context, dc converter.DataConverter) workflow.Context {
	return workflow.WithValue(ctx, converterKey{}, dc)
}

func converterOf(ctx workflow.Context) converter.DataConverter {
	if dc, ok := ctx.Value(converterKey{}).(converter.DataConverter); ok && dc != nil {
		return dc
	}
	return converter.GetDefaultDataConverter()
}
