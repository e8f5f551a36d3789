// Package semaphore holds a deployment's concurrency limit: one workflow
// per deployment (runinfo.SemaphoreWorkflowID) that admits the
// deployment's runs, at most Limit at a time, in the order they asked;
// and the activities around it. A run asks for a slot when it starts
// (RequestSlot, a signal-with-start, so the first run of a deployment
// starts its semaphore), and waits for the semaphore's answer (GrantSignal).
// A slot is held until its run closes in any way, a termination or a
// timeout included, when no code of the run itself executes: for each run
// it admits, the semaphore runs WatchHolder, an activity that waits for
// the run's close on the server (a long poll of its result, never a poll
// of visibility) and heartbeats meanwhile, so that a dead worker's watch
// is taken over by another.
//
// It must not import `internal/store`, `internal/source`, `activities` or
// `workflows`: it knows runs, not what they do.
package semaphore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// Names on the server.
const (
	// WorkflowType is the semaphore workflow's type.
	WorkflowType = "BlueprintConcurrency"
	// AcquireSignal carries a Request to the semaphore.
	AcquireSignal = "blueprint-acquire"
	// GrantSignal carries a Grant to the run that asked.
	GrantSignal = "blueprint-slot"
	// StateQuery answers with the State.
	StateQuery = "blueprint-concurrency-state"
	// RequestSlotActivity and WatchHolderActivity are the activities.
	RequestSlotActivity = "RequestSlot"
	WatchHolderActivity = "WatchHolder"
)

// Request is a run's request for a slot.
type Request struct {
	Concurrency runinfo.Concurrency `json:"concurrency"`
	Run         runinfo.RunRef      `json:"run"`
}

// Grant is the semaphore's answer: the run is admitted, queued (with the
// runs that hold the slots), or, with cancel_new, refused.
type Grant struct {
	Admitted bool     `json:"admitted,omitempty"`
	Refused  bool     `json:"refused,omitempty"`
	Limit    int      `json:"limit"`
	TakenBy  []string `json:"taken_by,omitempty"`
	Position int      `json:"position,omitempty"` // 1 = next in the queue
}

// Reason says why a run waits or was refused: "concurrency limit 1 of 1
// taken by <workflow id>".
func (g Grant) Reason() string {
	return fmt.Sprintf("concurrency limit %d of %d taken by %s", len(g.TakenBy), g.Limit, strings.Join(g.TakenBy, ", "))
}

// State is the semaphore's state, carried over its continue-as-new.
type State struct {
	Deployment string           `json:"deployment"`
	Limit      int              `json:"limit"`
	Holders    []runinfo.RunRef `json:"holders"`
	Queue      []runinfo.RunRef `json:"queue"`
}

// maxEvents bounds the semaphore's history before it continues as new.
const maxEvents = 2000

// Workflow is the semaphore of one deployment. It ends when no run holds
// or waits for a slot (the next request starts it again).
func Workflow(ctx workflow.Context, st State) (State, error) {
	log := workflow.GetLogger(ctx)
	if err := workflow.SetQueryHandler(ctx, StateQuery, func() (State, error) { return st, nil }); err != nil {
		return st, err
	}
	acquire := workflow.GetSignalChannel(ctx, AcquireSignal)
	sel := workflow.NewSelector(ctx)
	watchCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    runinfo.HeartbeatWindow,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
		Summary:             "Wait for a run that holds a slot to close",
	})
	grant := func(run runinfo.RunRef, g Grant) {
		if err := workflow.SignalExternalWorkflow(ctx, run.WorkflowID, run.RunID, GrantSignal, g).Get(ctx, nil); err != nil {
			log.Warn("could not answer a run", "run", run.Key(), "error", err)
		}
	}
	takenBy := func() []string {
		ids := make([]string, len(st.Holders))
		for i, h := range st.Holders {
			ids[i] = h.WorkflowID
		}
		return ids
	}
	var admit func(run runinfo.RunRef)
	release := func(run runinfo.RunRef) {
		for i, h := range st.Holders {
			if h == run {
				st.Holders = append(st.Holders[:i:i], st.Holders[i+1:]...)
				break
			}
		}
		for len(st.Holders) < st.Limit && len(st.Queue) > 0 {
			next := st.Queue[0]
			st.Queue = st.Queue[1:]
			admit(next)
		}
	}
	admit = func(run runinfo.RunRef) {
		st.Holders = append(st.Holders, run)
		grant(run, Grant{Admitted: true, Limit: st.Limit, TakenBy: takenBy()})
		sel.AddFuture(workflow.ExecuteActivity(watchCtx, WatchHolderActivity, run), func(f workflow.Future) {
			if err := f.Get(ctx, nil); err != nil {
				log.Warn("the watch of a run ended in an error; its slot is freed", "run", run.Key(), "error", err)
			}
			release(run)
		})
	}
	// Runs that held slots before a continue-as-new are watched again.
	for _, h := range st.Holders {
		run := h
		sel.AddFuture(workflow.ExecuteActivity(watchCtx, WatchHolderActivity, run), func(f workflow.Future) { release(run) })
	}
	sel.AddReceive(acquire, func(c workflow.ReceiveChannel, _ bool) {
		var r Request
		c.Receive(ctx, &r)
		if r.Concurrency.Limit > 0 {
			st.Limit = r.Concurrency.Limit // the newest deployed limit
		}
		for _, h := range append(append([]runinfo.RunRef(nil), st.Holders...), st.Queue...) {
			if h == r.Run {
				return // a repeated request (the run's activity was retried)
			}
		}
		switch {
		case len(st.Holders) < st.Limit:
			admit(r.Run)
		case r.Concurrency.Strategy == runinfo.CollisionCancelNew:
			grant(r.Run, Grant{Refused: true, Limit: st.Limit, TakenBy: takenBy()})
		default:
			st.Queue = append(st.Queue, r.Run)
			grant(r.Run, Grant{Limit: st.Limit, TakenBy: takenBy(), Position: len(st.Queue)})
		}
	})
	for {
		sel.Select(ctx)
		if len(st.Holders) == 0 && len(st.Queue) == 0 {
			// Nothing held or waited for: end, unless a request came in
			// meanwhile (it would be lost with the run).
			for sel.HasPending() {
				sel.Select(ctx)
			}
			if len(st.Holders) == 0 && len(st.Queue) == 0 {
				return st, nil
			}
		}
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > maxEvents && !sel.HasPending() {
			return st, workflow.NewContinueAsNewError(ctx, WorkflowType, st)
		}
	}
}

// Activities are RequestSlot and WatchHolder, on the worker's client.
type Activities struct {
	Client client.Client
}

// RequestSlot sends a run's request to its deployment's semaphore,
// starting the semaphore when it is not running (signal-with-start).
func (a *Activities) RequestSlot(ctx context.Context, r Request) error {
	if a.Client == nil {
		return temporal.NewNonRetryableApplicationError("concurrency limit: the worker has no connection to the server", runinfo.ErrBadSource, nil)
	}
	c := r.Concurrency
	_, err := a.Client.SignalWithStartWorkflow(ctx, runinfo.SemaphoreWorkflowID(c.Deployment), AcquireSignal, r, client.StartWorkflowOptions{
		ID:                       runinfo.SemaphoreWorkflowID(c.Deployment),
		TaskQueue:                c.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            fmt.Sprintf("Concurrency limit of %s: %d (%s)", c.Deployment, c.Limit, c.Strategy),
	}, WorkflowType, State{Deployment: c.Deployment, Limit: c.Limit})
	if err != nil {
		return fmt.Errorf("concurrency limit of %s: ask for a slot: %w", c.Deployment, err)
	}
	return nil
}

// watchEvery is how often WatchHolder heartbeats while it waits.
const watchEvery = runinfo.HeartbeatWindow / 4

// WatchHolder returns when run has closed, in any way. It waits on the
// server's long poll of the run's result, heartbeating meanwhile.
func (a *Activities) WatchHolder(ctx context.Context, run runinfo.RunRef) error {
	done := make(chan error, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { done <- a.Client.GetWorkflow(wctx, run.WorkflowID, run.RunID).Get(wctx, nil) }()
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			activity.RecordHeartbeat(ctx)
		case err := <-done:
			if err == nil {
				return nil
			}
			// The run's failure, cancellation, termination or timeout
			// is its close; anything else (the server went away) is
			// not: ask again.
			desc, derr := a.Client.DescribeWorkflow(ctx, run.WorkflowID, run.RunID)
			var nf *serviceerror.NotFound
			switch {
			case errors.As(derr, &nf):
				return nil // gone: nothing holds the slot
			case derr != nil:
				return fmt.Errorf("watch %s: %w", run.Key(), err)
			case desc.RawResponse.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
				return nil
			}
			return fmt.Errorf("watch %s: %w", run.Key(), err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
