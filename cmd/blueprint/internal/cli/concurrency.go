package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/semaphore"
)

// concurrencyState is the semaphore's answer: the runs holding a slot and
// those waiting for one, in the order they will get it.
type concurrencyState struct {
	Holders []runinfo.RunRef `json:"holders"`
	Queue   []runinfo.RunRef `json:"queue"`
}

// semaphoreState asks a deployment's semaphore which runs hold its slots
// and which wait. Without a running semaphore no run holds a slot (it
// starts with the first run of the deployment and ends when idle). A
// semaphore whose worker does not answer within detailsWait is an error.
func semaphoreState(ctx context.Context, c client.Client, deployment string) (concurrencyState, error) {
	id := runinfo.SemaphoreWorkflowID(deployment)
	state := concurrencyState{Holders: []runinfo.RunRef{}, Queue: []runinfo.RunRef{}}
	desc, err := describeRun(ctx, c, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return state, nil
	case err != nil:
		return state, fmt.Errorf("describe the concurrency semaphore %s: %w", id, err)
	case desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return state, nil
	}
	qctx, cancel := context.WithTimeout(ctx, detailsWait)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, "", semaphore.StateQuery)
	if err != nil {
		return state, fmt.Errorf("query the concurrency semaphore %s (is a worker of task queue %s running?): %w",
			id, desc.GetWorkflowExecutionInfo().GetTaskQueue(), err)
	}
	if err := v.Get(&state); err != nil {
		return state, fmt.Errorf("decode the state of the concurrency semaphore %s: %w", id, err)
	}
	state.Holders, state.Queue = nonNil(state.Holders), nonNil(state.Queue)
	return state, nil
}

// formatSlots is inspect's line about the slots: "1 of 2 taken by X (run
// R)", or "none taken (no run holds a slot)".
func formatSlots(limit int, holders []runinfo.RunRef) string {
	if len(holders) == 0 {
		return fmt.Sprintf("0 of %d taken (no run holds a slot)", limit)
	}
	return fmt.Sprintf("%d of %d taken by %s", len(holders), limit, formatRefs(holders))
}

// formatRefs lists runs as "X (run R), Y (run S)".
func formatRefs(refs []runinfo.RunRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = fmt.Sprintf("%s (run %s)", r.WorkflowID, r.RunID)
	}
	return strings.Join(parts, ", ")
}
