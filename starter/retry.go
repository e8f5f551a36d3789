package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// RetryRequest is what `blueprint runs retry` was asked to start again.
type RetryRequest struct {
	// WorkflowID and RunID name the run to retry; an empty RunID is the
	// workflow ID's latest run.
	WorkflowID string
	RunID      string
	// NewWorkflowID is the retry's workflow ID; empty generates one.
	NewWorkflowID string
}

// Retry starts a new run of an ended run's deployment, with its flow, task
// queue and exactly the parameters it received (read from its history, so
// encrypted parameters are decrypted and encrypted again by this process's
// data converter). The retry carries what any start of the deployment
// carries (Options) and links to the original: RetryOfSearchAttribute and
// MemoRetryOf hold runinfo.RetryOf of the original's workflow and run IDs,
// and its Web UI details begin with "Retry of".
//
// Only a run that has ended can be retried: a running one (or a scheduled
// one, not started yet) is refused, since two runs of the same parameters at
// once is rarely what anyone wants; cancel it first. Bad input (an unknown
// run, a running one, a run that no deployment started, a deployment no
// longer in m, a flow m's registry does not know) is a *badinput.Error and
// starts nothing. m is the loaded manifest (deployments.Load).
func Retry(ctx context.Context, c client.Client, namespace string, m *deployments.Manifest, req RetryRequest) (Started, error) {
	if err := checkWorkflowID(req.NewWorkflowID); err != nil {
		return Started{}, err
	}
	name := req.WorkflowID
	if req.RunID != "" {
		name += " (run " + req.RunID + ")"
	}
	desc, err := c.DescribeWorkflow(ctx, req.WorkflowID, req.RunID)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return Started{}, badinput.Errorf("no run %s in namespace %s (list runs with: blueprint runs ls)", name, namespace)
		}
		return Started{}, fmt.Errorf("describe run %s: %w", name, err)
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return Started{}, badinput.Errorf("run %s (run %s) has not ended; only an ended run can be retried (cancel it first: blueprint runs cancel %s)", req.WorkflowID, runID, req.WorkflowID)
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return Started{}, badinput.Errorf("run %s (run %s) continued as a new run; retry the workflow's latest run (leave --run-id out)", req.WorkflowID, runID)
	}
	deployment, _ := desc.TypedSearchAttributes.GetKeyword(runinfo.DeploymentKey)
	if deployment == "" {
		return Started{}, badinput.Errorf("run %s (run %s) has no deployment (search attribute %s): it was not started by blueprint or a schedule, so there is no deployment to start again; start it again the way it was started (e.g. temporal workflow start)",
			req.WorkflowID, runID, runinfo.DeploymentSearchAttribute)
	}
	d, err := m.Get(deployment)
	if err != nil {
		return Started{}, badinput.Errorf("run %s is a run of deployment %q: %w", req.WorkflowID, deployment, err)
	}
	workflow := info.GetType().GetName()
	f, err := m.Flows.Get(workflow)
	if err != nil {
		return Started{}, badinput.Errorf("run %s: %w", req.WorkflowID, err)
	}
	// The original's flow and task queue, whatever the manifest says now:
	// its parameters are that flow's.
	d.Workflow, d.TaskQueue = f.Name, info.GetTaskQueue()

	doc, err := startInput(ctx, c, req.WorkflowID, runID)
	if err != nil {
		return Started{}, err
	}
	values, problems := f.Params.ParseJSON(doc)
	var params map[string]any
	if len(problems) == 0 {
		params, err = f.Params.Check(values)
	} else {
		err = fmt.Errorf("%s", joinProblems(problems))
	}
	if err != nil {
		return Started{}, badinput.Errorf("run %s (run %s): its parameters do not pass the %s flow's rules, so a retry would fail the same way: %w", req.WorkflowID, runID, f.Name, err)
	}

	opts := Options(d, req.NewWorkflowID, params)
	link := runinfo.RetryOf(req.WorkflowID, runID)
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(opts.TypedSearchAttributes.Copy(), RetryOfKey.ValueSet(link))
	if opts.Memo == nil {
		opts.Memo = map[string]any{}
	}
	opts.Memo[runinfo.MemoRetryOf] = link
	// The run's page says it first: the rest is what any run of d shows.
	opts.StaticDetails = truncate(fmt.Sprintf("**Retry of:** %s (run %s)\n\n", codeSpan(req.WorkflowID), codeSpan(runID))+opts.StaticDetails, MaxDetailsBytes)
	return execute(ctx, c, namespace, d, f.Name, opts, params)
}

// startInput returns the parameter document a run was started with, as
// JSON, decoded by this process's data converter (conn.PayloadConverter);
// nil when it had no input.
func startInput(ctx context.Context, c client.Client, workflowID, runID string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, fmt.Errorf("read the history of run %s (run %s): it is empty", workflowID, runID)
	}
	ev, err := it.Next()
	if err != nil {
		return nil, fmt.Errorf("read the history of run %s (run %s): %w", workflowID, runID, err)
	}
	started := ev.GetWorkflowExecutionStartedEventAttributes()
	if started == nil {
		return nil, fmt.Errorf("read the history of run %s (run %s): its first event is %s, not the start", workflowID, runID, ev.GetEventType())
	}
	payloads := started.GetInput().GetPayloads()
	if len(payloads) == 0 {
		return nil, nil
	}
	if len(payloads) > 1 {
		return nil, badinput.Errorf("run %s (run %s) was started with %d arguments; a blueprint flow takes one parameter document", workflowID, runID, len(payloads))
	}
	var doc json.RawMessage
	if err := conn.PayloadConverter().FromPayload(payloads[0], &doc); err != nil {
		return nil, fmt.Errorf("decode the parameters of run %s (run %s) (encrypted with a key this process does not have? see BLUEPRINT_ENCRYPTION_KEYS): %w", workflowID, runID, err)
	}
	return doc, nil
}
