package flowrun

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/semaphore"
)

// The versions of a run's admission, as marked in the history of a run
// whose deployment has a concurrency limit: runs recorded before limits
// had none in their memo, and never get here.
const (
	admitChange   = "blueprint-concurrency"
	admitThrough  = 1
	waitingStage  = "waiting"
	admittedStage = "admitted"
)

// Admit holds a run of a deployment with a concurrency limit (its memo's
// runinfo.MemoConcurrency) until its deployment's semaphore gives it a
// slot (see internal/semaphore), whatever started the run. While it
// waits, its current details and its memo (runinfo.MemoWaiting, which
// `blueprint runs ls` shows) say why. With the cancel_new strategy a run
// over the limit is not queued: Admit returns a CanceledError with the
// reason, and the run ends cancelled. The flow wrapper calls it before
// the flow's own code.
func Admit(ctx workflow.Context) error {
	c := concurrencyOf(ctx)
	if c == nil || c.Limit <= 0 || workflow.GetVersion(ctx, admitChange, workflow.DefaultVersion, admitThrough) == workflow.DefaultVersion {
		return nil
	}
	info := workflow.GetInfo(ctx)
	run := runinfo.RunRef{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}
	grants := workflow.GetSignalChannel(ctx, semaphore.GrantSignal)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: time.Hour,
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: []string{runinfo.ErrBadSource}},
		Summary:                fmt.Sprintf("Ask for a slot of %s's concurrency limit (%d)", c.Deployment, c.Limit),
	})
	if err := workflow.ExecuteActivity(actx, semaphore.RequestSlotActivity, semaphore.Request{Concurrency: *c, Run: run}).Get(ctx, nil); err != nil {
		return err
	}
	log := Log(ctx)
	waiting := false
	for {
		// A run cancelled while it waits ends at once (its request stays
		// in the queue; once admitted, the watch of the closed run frees
		// the slot).
		var g semaphore.Grant
		cancelled := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(grants, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &g) })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
		sel.Select(ctx)
		if cancelled {
			return temporal.NewCanceledError("cancelled while waiting for a slot of the concurrency limit")
		}
		switch {
		case g.Admitted:
			if waiting {
				if err := workflow.UpsertMemo(ctx, map[string]any{runinfo.MemoWaiting: nil}); err != nil {
					return err
				}
			}
			SetStage(ctx, admittedStage, fmt.Sprintf("**Concurrency limit:** slot %d of %d", len(g.TakenBy), g.Limit))
			log.Info(ctx, "admitted: slot %d of %d of %s's concurrency limit", len(g.TakenBy), g.Limit, c.Deployment)
			return nil
		case g.Refused:
			reason := g.Reason() + " (collision_strategy: cancel_new)"
			log.Warn(ctx, "not run: %s", reason)
			return temporal.NewCanceledError(reason)
		default:
			waiting = true
			SetStage(ctx, waitingStage, "**Waiting:** "+g.Reason(), fmt.Sprintf("**Queue:** position %d", g.Position))
			if err := workflow.UpsertMemo(ctx, map[string]any{runinfo.MemoWaiting: g.Reason()}); err != nil {
				return err
			}
			log.Info(ctx, "waiting: %s (position %d in the queue)", g.Reason(), g.Position)
		}
	}
}

// concurrencyOf reads the deployment's concurrency limit from the run's
// memo (nil when it has none).
func concurrencyOf(ctx workflow.Context) *runinfo.Concurrency {
	var c runinfo.Concurrency
	if !memoValue(ctx, runinfo.MemoConcurrency, &c, "the deployment's concurrency limit", "it is not applied") {
		return nil
	}
	return &c
}
