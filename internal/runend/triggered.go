package runend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/trigger"
)

// StartTriggered starts the downstream run of one trigger after its
// upstream run ended: its templated parameters rendered from the upstream
// run, under a workflow ID derived from the upstream run and the trigger
// (trigger.WorkflowID), which the server refuses to start twice, ever
// (REJECT_DUPLICATE). So whichever worker ends the upstream run, and
// however often this activity is retried or replayed, one downstream run
// starts. The upstream run's log says what was started, or why not.
func (a *Activities) StartTriggered(ctx context.Context, in runinfo.StartTriggeredInput) (string, error) {
	t, up := in.Trigger, in.Upstream
	id := trigger.WorkflowID(t.Deployment, t.Index, up.Run)
	once := fmt.Sprintf("trigger/%s/%d", t.Deployment, t.Index)
	logf := func(level, format string, args ...any) {
		_ = a.Log.Append(store.WithWait(ctx, notifyLogWait), up.Run, store.LogLine{Level: level, Stage: "trigger", Once: once, Message: fmt.Sprintf(format, args...)})
	}
	params, err := renderParams(t, in)
	if err != nil {
		logf(store.LogError, "trigger of %s (entry %d) not started: %v", t.Deployment, t.Index+1, err)
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("trigger of %s: %v", t.Deployment, err), runinfo.ErrInvalidParameters, nil)
	}
	if a.Client == nil {
		return "", temporal.NewNonRetryableApplicationError("trigger: the worker has no connection to the server", runinfo.ErrBadSource, nil)
	}
	by := up
	by.Trigger = t.Index
	details := t.Details
	if details != "" {
		details += "\n\n"
	}
	details += fmt.Sprintf("**Triggered by:** %s (%s, %s)", up.Run.WorkflowID, up.Deployment, up.Status)
	memo := map[string]any{runinfo.MemoTriggeredBy: by}
	if len(t.Notify) > 0 {
		memo[runinfo.MemoNotify] = t.Notify
	}
	if len(t.Triggers) > 0 {
		memo[runinfo.MemoTriggers] = t.Triggers
	}
	if t.Concurrency != nil {
		memo[runinfo.MemoConcurrency] = *t.Concurrency
	}
	_, err = a.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                t.TaskQueue,
		Memo:                                     memo,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(runinfo.DeploymentKey.ValueSet(t.Deployment)),
		StaticSummary:                            t.Summary,
		StaticDetails:                            details,
		StartDelay:                               t.Delay,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, t.Workflow, params)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		// An earlier attempt, or another worker, started it: once is
		// what the derived ID is for.
	case err != nil:
		return "", fmt.Errorf("trigger: start %s as %s: %w", t.Deployment, id, err)
	}
	when := ""
	if t.Delay > 0 {
		when = ", starting in " + t.Delay.String()
	}
	logf(store.LogInfo, "triggered %s: run %s%s", t.Deployment, id, when)
	return id, nil
}

// renderParams is the downstream run's parameters: the trigger's own,
// with its templates rendered from the upstream run.
func renderParams(t runinfo.Trigger, in runinfo.StartTriggeredInput) (map[string]any, error) {
	up := trigger.Upstream{Deployment: in.Upstream.Deployment, Run: in.Upstream.Run, Status: in.Upstream.Status}
	if len(in.Params) > 0 && json.Unmarshal(in.Params, &up.Params) != nil {
		up.Params = nil
	}
	if len(in.Result) > 0 && json.Unmarshal(in.Result, &up.Result) != nil {
		up.Result = nil
	}
	params := maps.Clone(t.Parameters)
	if params == nil {
		params = map[string]any{}
	}
	var problems []string
	for name, text := range t.Templates {
		v, err := trigger.Render(text, up)
		if err != nil {
			problems = append(problems, fmt.Sprintf("parameters.%s: %v", name, err))
			continue
		}
		params[name] = v
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return params, nil
}
