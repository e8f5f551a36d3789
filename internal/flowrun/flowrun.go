// Package flowrun holds what every flow's workflow does besides its own
// work: keep its current details up to date for the Web UI, and end by
// recording its outcome in the run log and notifying the deployment's
// webhooks. It is deterministic workflow code only; the side effects are
// the EndRun and Notify activities.
package flowrun

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/failures"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// The versions of a run's ending, as marked in its history: histories
// recorded before EndRun replay without it (DefaultVersion), those of
// endActivity record the outcome with a regular activity, and new runs with
// a local activity (endLocal): the outcome is one row, and a server round
// trip for it cost every run about a fifth of its latency (see the
// docs/benchmarks.md).
const (
	endChange   = "blueprint-run-end"
	endActivity = 1
	endLocal    = 2
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

// Details are a DataPipeline-like run's current details: Stage's, plus the
// stage's attempt while the server retries the stage's activity.
type Details struct {
	stage string
	facts []string
}

// FollowAttempts returns the run's Details and keeps them showing the
// retries its stages' activities announce with datapipeline.AttemptSignal.
// Receiving a signal issues no command, so histories recorded without it
// still replay.
func FollowAttempts(ctx workflow.Context) *Details {
	d := &Details{}
	ch := workflow.GetSignalChannel(ctx, datapipeline.AttemptSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var at datapipeline.Attempt
			ch.Receive(ctx, &at)
			if at.Stage == d.stage { // a late retry of a stage that ended changes nothing
				Stage(ctx, d.stage, append(slices.Clone(d.facts), AttemptFacts(at)...)...)
			}
		}
	})
	return d
}

// Stage sets the run's current details to stage and its facts (see Stage);
// a new stage starts without an attempt line.
func (d *Details) Stage(ctx workflow.Context, stage string, facts ...string) {
	d.stage, d.facts = stage, facts
	Stage(ctx, stage, facts...)
}

// AttemptFacts are the current details' lines about a retry.
func AttemptFacts(at datapipeline.Attempt) []string {
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
	return runinfo.EndRunInput{Status: status, Stage: stage, Error: Cause(err)}
}

// Cause is the cause of a stage's failure, for the run log and the
// notifications (see failures.Cause).
func Cause(err error) string { return failures.Cause(err) }

// endRetry is EndRun's retry policy: a few quick attempts.
var endRetry = temporal.RetryPolicy{InitialInterval: runinfo.RetryInterval, BackoffCoefficient: 1, MaximumAttempts: runinfo.MaxAttempts}

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

// EndLocalOptions are the options of the EndRun local activity: it runs in
// the workflow task, so its whole budget, retries included, stays well under
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

// End finishes a run: it records the outcome in the run log (EndRun) and
// POSTs it to each of the deployment's webhooks that asked for it
// (Notify), even when the run was cancelled. Neither can change the run's
// outcome: their failures are only logged. deployment may be "".
func End(ctx workflow.Context, deployment string, out runinfo.EndRunInput) {
	version := workflow.GetVersion(ctx, endChange, workflow.DefaultVersion, endLocal)
	if version == workflow.DefaultVersion {
		return
	}
	info := workflow.GetInfo(ctx)
	out.Run = runinfo.RunRef{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	log := workflow.GetLogger(ctx)
	var recorded workflow.Future
	if version == endActivity {
		recorded = workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, EndOptions()), runinfo.EndRunActivity, out)
	} else {
		recorded = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(dctx, EndLocalOptions()), runinfo.EndRunActivity, out)
	}
	if err := recorded.Get(dctx, nil); err != nil {
		log.Error("could not record the run's outcome in its log", "error", err)
	}
	var futures []workflow.Future
	for _, hook := range Webhooks(info) {
		if !slices.Contains(hook.Events, out.Status) {
			continue
		}
		in := runinfo.NotifyInput{Webhook: hook, Deployment: deployment, Workflow: info.WorkflowType.Name, Namespace: info.Namespace, End: out}
		futures = append(futures, workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, NotifyOptions(hook)), runinfo.NotifyActivity, in))
	}
	for _, f := range futures {
		if err := f.Get(dctx, nil); err != nil {
			log.Warn("a notification was not delivered", "error", err)
		}
	}
}

// Webhooks reads the deployment's webhooks from the run's memo.
func Webhooks(info *workflow.Info) []runinfo.Webhook {
	p := info.Memo.GetFields()[runinfo.MemoNotify]
	if p == nil {
		return nil
	}
	var hooks []runinfo.Webhook
	// Decoding a memo payload is a pure function of the history;
	// workflowcheck cannot see through encoding/json's reflection.
	//workflowcheck:ignore
	if err := converter.GetDefaultDataConverter().FromPayload(p, &hooks); err != nil {
		return nil
	}
	return hooks
}
