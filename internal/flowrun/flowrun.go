// Package flowrun holds what every flow's workflow does besides its own
// work: keep its current details up to date for the Web UI, and end by
// recording its outcome in the run log and notifying the deployment's
// webhooks. It is deterministic workflow code only; the side effects are
// the EndRun and Notify activities.
//
// It must not import `internal/store`, `internal/source`, `activities` or
// `flows`: it runs inside workflow code.
package flowrun

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/failures"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// The versions of a run's ending, as marked in its history: histories
// recorded before EndRun replay without it (DefaultVersion), those of
// endActivity record the outcome with a regular activity, later ones with
// a local activity (endLocal): the outcome is one row, and a server round
// trip for it cost every run about a fifth of its latency (see
// docs/benchmarks.md). New runs give that local activity long enough to
// wait out a warehouse outage (endLocalWait).
const (
	endChange    = "blueprint-run-end"
	endActivity  = 1
	endLocal     = 2
	endLocalWait = 3
)

// MetadataQuery is the SDK's built-in query that answers with a run's
// sdk.v1.WorkflowMetadata, its current details included (the SDK does not
// export the name).
const MetadataQuery = "__temporal_workflow_metadata"

// Stage sets the run's current details (shown on its Web UI page): the
// stage it is in and what it has done so far, one fact per line.
func Stage(ctx workflow.Context, stage string, facts ...string) {
	workflow.SetCurrentDetails(ctx, strings.Join(append([]string{"**Stage:** " + stage}, facts...), "\n\n"))
}

// Details are a run's current details: Stage's, plus the stage's attempt
// while the server retries the stage's activity, and the wait while an
// activity waits for the warehouse.
type Details struct {
	stage    string
	facts    []string
	attempts []string // AttemptFacts of the stage's retry, if any
	wait     []string // WaitFacts of the wait in progress, if any
}

// FollowAttempts returns the run's Details (the flow wrapper's, see
// Begin, when there is one) and keeps them showing the
// retries its stages' activities announce with runinfo.AttemptSignal,
// and the waits for the warehouse its activities announce with
// runinfo.WarehouseWaitSignal. Receiving a signal issues no command, so
// histories recorded without them still replay.
func FollowAttempts(ctx workflow.Context) *Details {
	if r := runOf(ctx); r != nil {
		return r.details
	}
	return followAttempts(ctx)
}

func followAttempts(ctx workflow.Context) *Details {
	d := &Details{}
	attempts := workflow.GetSignalChannel(ctx, runinfo.AttemptSignal)
	waits := workflow.GetSignalChannel(ctx, runinfo.WarehouseWaitSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(attempts, func(c workflow.ReceiveChannel, _ bool) {
			var at runinfo.Attempt
			c.Receive(ctx, &at)
			if at.Stage == d.stage { // a late retry of a stage that ended changes nothing
				d.attempts = AttemptFacts(at)
				d.show(ctx)
			}
		})
		sel.AddReceive(waits, func(c workflow.ReceiveChannel, _ bool) {
			var w runinfo.WarehouseWait
			c.Receive(ctx, &w)
			d.wait = nil
			if !w.Over {
				d.wait = WaitFacts(w)
			}
			d.show(ctx)
		})
		for {
			sel.Select(ctx)
		}
	})
	return d
}

// Stage sets the run's current details to stage and its facts (see Stage);
// a new stage starts without an attempt or wait line (the activity that
// waited has ended).
func (d *Details) Stage(ctx workflow.Context, stage string, facts ...string) {
	d.stage, d.facts, d.attempts, d.wait = stage, facts, nil, nil
	Stage(ctx, stage, facts...)
}

func (d *Details) show(ctx workflow.Context) {
	facts := append(slices.Clone(d.facts), d.attempts...)
	Stage(ctx, d.stage, append(facts, d.wait...)...)
}

// WaitFacts are the current details' lines about a wait for the warehouse.
func WaitFacts(w runinfo.WarehouseWait) []string {
	return []string{fmt.Sprintf("**Waiting for the warehouse:** %s since %s (%s; it is retried until it is back, up to $BLUEPRINT_WAREHOUSE_WAIT)",
		w.Activity, w.Since.UTC().Format("2006-01-02 15:04:05 UTC"), w.Cause)}
}

// AttemptFacts are the current details' lines about a retry.
func AttemptFacts(at runinfo.Attempt) []string {
	line := fmt.Sprintf("**Attempt:** %d", at.Attempt)
	if at.MaxAttempts > 0 {
		line += fmt.Sprintf(" of %d", at.MaxAttempts)
	}
	if at.Rows > 0 {
		line += fmt.Sprintf(" (resuming after %d rows)", at.Rows)
	} else {
		line += " (from the start)"
	}
	facts := []string{line}
	if at.PreviousError != "" {
		facts = append(facts, "**Previous attempt failed:** "+at.PreviousError)
	}
	return facts
}

// Failed describes a failed stage for the run's outcome: its status (failed,
// or cancelled when the run was cancelled) and the cause, without the
// activity error's event IDs.
func Failed(ctx workflow.Context, stage string, err error) runinfo.EndRunInput {
	status := runinfo.RunFailed
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		status = runinfo.RunCancelled
	}
	cause := Cause(err)
	// A cancellation that says why (a run refused by its deployment's
	// concurrency limit) gives its reason.
	var reason string
	if canceled != nil && canceled.HasDetails() && canceled.Details(&reason) == nil && reason != "" {
		cause = reason
	}
	return runinfo.EndRunInput{Status: status, Stage: stage, Error: cause}
}

// Cause is the cause of a stage's failure, for the run log and the
// notifications (see failures.Cause).
func Cause(err error) string { return failures.Cause(err) }

// endRetry is EndRun's retry policy in the histories of endActivity and
// endLocal: a few quick attempts.
var endRetry = temporal.RetryPolicy{InitialInterval: runinfo.RetryInterval, BackoffCoefficient: 1, MaximumAttempts: runinfo.MaxAttempts}

// bookkeepingRetry is the retry policy of the activities that record a
// run's outcome (FinishRun, EndRun): every attempt waits for an
// unreachable warehouse (see internal/store), and the attempts go on, with
// backoff, until the activity's schedule-to-close timeout.
var bookkeepingRetry = temporal.RetryPolicy{InitialInterval: runinfo.RetryInterval, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second}

// BookkeepingTimeout bounds the recording of a failed run (FinishRun),
// retries included: a day, far beyond any warehouse outage a worker waits
// out (runinfo.MaxWarehouseWait). A regular activity's retries cost the
// history nothing, and the run's outcome must not be lost.
const BookkeepingTimeout = 24 * time.Hour

// EndLocalWaitTimeout bounds the EndRun local activity, retries included:
// longer than the longest wait for the warehouse a worker may be told
// (runinfo.MaxWarehouseWait). A local activity holds its workflow task,
// which the worker extends every few seconds with events in the history,
// so it is not given a day.
const EndLocalWaitTimeout = runinfo.MaxWarehouseWait + 10*time.Minute

// FinishOptions are the options of the FinishRun activity, which records
// a failed or cancelled run: each attempt waits out a warehouse outage
// (heartbeating meanwhile, so a dead worker is still noticed within
// runinfo.HeartbeatWindow), and attempts go on for BookkeepingTimeout.
func FinishOptions() workflow.ActivityOptions {
	retry := bookkeepingRetry
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: BookkeepingTimeout,
		StartToCloseTimeout:    runinfo.MaxWarehouseWait + time.Minute,
		HeartbeatTimeout:       runinfo.HeartbeatWindow,
		RetryPolicy:            &retry,
		Summary:                "Record the failed or cancelled run in pipeline_runs",
	}
}

// EndOptions are the options of the EndRun activity in the histories of
// endActivity.
func EndOptions() workflow.ActivityOptions {
	retry := endRetry
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &retry,
		Summary:             "Record the run's outcome in its log",
	}
}

// EndLocalOptions are the options of the EndRun local activity in the
// histories of endLocal: its whole budget, retries included, stays under
// the workflow task timeout.
func EndLocalOptions() workflow.LocalActivityOptions {
	retry := endRetry
	return workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 8 * time.Second,
		StartToCloseTimeout:    2 * time.Second,
		RetryPolicy:            &retry,
		Summary:                "Record the run's outcome in its log",
	}
}

// EndLocalWaitOptions are the options of the EndRun local activity of new
// runs (endLocalWait): as fast as EndLocalOptions when the warehouse
// answers, and when it does not, each attempt waits for it and attempts
// go on for EndLocalWaitTimeout, so the outcome is written once it is
// back. The SDK extends the workflow task while the local activity runs.
func EndLocalWaitOptions() workflow.LocalActivityOptions {
	retry := bookkeepingRetry
	return workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: EndLocalWaitTimeout,
		StartToCloseTimeout:    EndLocalWaitTimeout,
		RetryPolicy:            &retry,
		Summary:                "Record the run's outcome in its log",
	}
}

// NotifyAttempts is how often a webhook is tried before the notification
// is given up (the run's outcome never depends on it).
const NotifyAttempts = 5

// NotifyOptions are the options of one Notify activity: retried with
// backoff, bounded so a dead endpoint cannot hold the run for long.
func NotifyOptions(hook runinfo.Webhook) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second,
			MaximumAttempts: NotifyAttempts, NonRetryableErrorTypes: []string{runinfo.ErrBadSource},
		},
		Summary: "Notify the webhook in $" + hook.URLEnv + " that the run " + strings.Join(hook.Events, "/"),
	}
}

// end finishes a run (see Finish, which fills out's run, flow and
// deployment): it records the outcome in the run log (EndRun) and POSTs
// it to each of the deployment's webhooks that asked for it (Notify), even
// when the run was cancelled. Neither can change the run's outcome: their
// failures are only logged.
func end(ctx workflow.Context, out runinfo.EndRunInput) {
	version := workflow.GetVersion(ctx, endChange, workflow.DefaultVersion, endLocalWait)
	if version == workflow.DefaultVersion {
		return
	}
	info := workflow.GetInfo(ctx)
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	log := workflow.GetLogger(ctx)
	var recorded workflow.Future
	switch version {
	case endActivity:
		recorded = workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, EndOptions()), runinfo.EndRunActivity, out)
	case endLocal:
		recorded = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(dctx, EndLocalOptions()), runinfo.EndRunActivity, out)
	default:
		recorded = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(dctx, EndLocalWaitOptions()), runinfo.EndRunActivity, out)
	}
	if err := recorded.Get(dctx, nil); err != nil {
		log.Error("could not record the run's outcome in its log", "error", err)
	}
	var futures []workflow.Future
	for _, hook := range Webhooks(ctx) {
		if !slices.Contains(hook.Events, out.Status) {
			continue
		}
		in := runinfo.NotifyInput{Webhook: hook, Deployment: out.Deployment, Workflow: info.WorkflowType.Name, Namespace: info.Namespace, End: out}
		futures = append(futures, workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, NotifyOptions(hook)), runinfo.NotifyActivity, in))
	}
	for _, f := range futures {
		if err := f.Get(dctx, nil); err != nil {
			log.Warn("a notification was not delivered", "error", err)
		}
	}
}

// Webhooks reads the deployment's webhooks from the run's memo.
func Webhooks(ctx workflow.Context) []runinfo.Webhook {
	var hooks []runinfo.Webhook
	memoValue(ctx, runinfo.MemoNotify, &hooks, "the deployment's webhooks", "none is notified")
	return hooks
}

// memoValue decodes the run's memo entry key into v, with the worker
// client's data converter (see WithConverter), and reports whether it was
// there. One it cannot read is a line of the run's log that names what
// (and says so what: the consequence), never a failure of the run.
func memoValue(ctx workflow.Context, key string, v any, what, soWhat string) bool {
	p := workflow.GetInfo(ctx).Memo.GetFields()[key]
	if p == nil {
		return false
	}
	// Decoding a memo payload is a pure function of the history;
	// workflowcheck cannot see through encoding/json's reflection.
	//workflowcheck:ignore
	if err := converterOf(ctx).FromPayload(p, v); err != nil {
		Log(ctx).Error(ctx, "%s could not be read from the run's memo, so %s: %v", what, soWhat, err)
		return false
	}
	return true
}
