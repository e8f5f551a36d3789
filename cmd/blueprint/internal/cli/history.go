package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/failures"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// Run statuses as the CLI spells them (flag values and output).
const (
	statusRunning    = "running"
	statusCompleted  = "completed"
	statusFailed     = "failed"
	statusCanceled   = runinfo.RunCancelled // the warehouse's spelling; Temporal's is "Canceled"
	statusTerminated = "terminated"
	statusTimedOut   = "timed_out"
	// statusScheduled is a run created with a start delay (run --start-in
	// or --start-at) whose start time has not come: Temporal says Running.
	statusScheduled = "scheduled"
	// statusWaiting is a running run waiting for a slot of its
	// deployment's concurrency limit: its memo holds why
	// (runinfo.MemoWaiting), which the run upserts while it waits. It is
	// not a filter of runs ls (a memo cannot be queried): --status running
	// lists it.
	statusWaiting = "waiting"
)

// statusNames maps the server's statuses to the CLI's, and statusQueries
// the CLI's to visibility's ExecutionStatus values.
var (
	statusNames = map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:          statusRunning,
		enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:        statusCompleted,
		enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:           statusFailed,
		enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:         statusCanceled,
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       statusTerminated,
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        statusTimedOut,
		enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "continued_as_new",
	}
	statusQueries = map[string]string{
		statusScheduled:  "Running",
		statusRunning:    "Running",
		statusCompleted:  "Completed",
		statusFailed:     "Failed",
		statusCanceled:   "Canceled",
		statusTerminated: "Terminated",
		statusTimedOut:   "TimedOut",
	}
	statusOrder = []string{statusScheduled, statusRunning, statusCompleted, statusFailed, statusCanceled, statusTerminated, statusTimedOut}
)

func statusName(s enumspb.WorkflowExecutionStatus) string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_"))
}

// runStatus is a run's status as the CLI shows it: statusName, except that
// a running run whose execution time is still ahead is scheduled. A start
// delay sets the execution time (the server dispatches the first workflow
// task then, and the run does nothing before); for any other run it is the
// start time. `runs ls`, `runs show` and `run --watch` all decide it here.
func runStatus(info *workflowpb.WorkflowExecutionInfo, now time.Time) string {
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if at := delayedStart(info); at != nil && at.After(now) {
			return statusScheduled
		}
		if waitingOf(info.GetMemo()) != "" {
			return statusWaiting
		}
	}
	return statusName(info.GetStatus())
}

// waitingOf reads why a run waits (runinfo.MemoWaiting, "concurrency
// limit 1 of 1 taken by <workflow ID>"): "" for a run that does not.
func waitingOf(memo *commonpb.Memo) string {
	p := memo.GetFields()[runinfo.MemoWaiting]
	if p == nil {
		return ""
	}
	var why string
	if conn.PayloadConverter().FromPayload(p, &why) != nil {
		return ""
	}
	return why
}

// statusText is a status as the tables and runs show print it: a waiting
// run's says why, "waiting (concurrency limit 1 of 1 taken by X)".
func statusText(status, waiting string) string {
	if status == statusWaiting && waiting != "" {
		return status + " (" + waiting + ")"
	}
	return status
}

// delayedStart is when a run created with a start delay starts or
// started, nil for a run that started when it was created.
func delayedStart(info *workflowpb.WorkflowExecutionInfo) *time.Time {
	if info.GetExecutionTime() == nil || info.GetStartTime() == nil {
		return nil
	}
	at := info.GetExecutionTime().AsTime()
	if !at.After(info.GetStartTime().AsTime()) {
		return nil
	}
	return &at
}

// activityView is one activity of a run: how many attempts it took and
// what the failed attempts said.
type activityView struct {
	Activity string `json:"activity"`
	// Status: scheduled, running, retrying, completed, failed, timed_out,
	// cancelled.
	Status      string           `json:"status"`
	Attempts    int32            `json:"attempts"`
	MaxAttempts int32            `json:"max_attempts,omitempty"`
	Failures    []attemptFailure `json:"failures"`
	ScheduledAt time.Time        `json:"scheduled_at"`
	ClosedAt    *time.Time       `json:"closed_at"`
	// Checkpoint is the last heartbeat of an activity in progress.
	Checkpoint *datapipeline.Checkpoint `json:"checkpoint,omitempty"`
	Worker     string                   `json:"worker,omitempty"`

	// cancelRequested: the workflow gave up on the activity because the
	// run was cancelled.
	cancelRequested bool
}

// waiting is the activity's wait for the warehouse, from its last
// heartbeat, while it runs; nil when it does not wait.
func (av activityView) waiting() *runinfo.WarehouseWait {
	if av.Checkpoint == nil || av.Checkpoint.Waiting == nil || av.ClosedAt != nil {
		return nil
	}
	return av.Checkpoint.Waiting
}

// attemptFailure is why one attempt failed. Temporal's history keeps the
// last attempt's failure and the one before it; `runs show` adds the
// earlier ones from the run log (see addLoggedFailures).
type attemptFailure struct {
	Attempt int32  `json:"attempt"`
	Message string `json:"message"`
}

// runDetail is `runs show`.
type runDetail struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Deployment string `json:"deployment"`
	Workflow   string `json:"workflow"`
	TaskQueue  string `json:"task_queue"`
	// Status is runStatus's; Waiting, for a waiting run, why.
	Status    string     `json:"status"`
	Waiting   string     `json:"waiting,omitempty"`
	StartedAt time.Time  `json:"started_at"`
	ClosedAt  *time.Time `json:"closed_at"`
	// ScheduledFor, for a run created with a start delay, is when it
	// starts (status scheduled) or started; StartedAt is when it was
	// created.
	ScheduledFor *time.Time     `json:"scheduled_for,omitempty"`
	Parameters   map[string]any `json:"parameters"`
	// RetryOf is the run this one retries (blueprint runs retry); Retries
	// are the retries of this one, newest first.
	RetryOf *runRef  `json:"retry_of,omitempty"`
	Retries []runRow `json:"retries,omitempty"`
	// TriggeredBy is the upstream run whose end started this one (a
	// deployment's triggers:).
	TriggeredBy *triggeredBy   `json:"triggered_by,omitempty"`
	Activities  []activityView `json:"activities"`
	// Children are the child runs the run started (a flow that composes
	// others, such as NightlyETL).
	Children []childView `json:"children,omitempty"`
	// Summary is a completed DataPipeline run's result; Result is any
	// other flow's, as its JSON.
	Summary *datapipeline.Summary `json:"summary"`
	Result  any                   `json:"result,omitempty"`
	Failure string                `json:"failure,omitempty"`
	UIURL   string                `json:"ui_url"`
	// WaitingForWorker, for a running run with a task no worker has
	// picked up, says that no live worker polls its task queue.
	WaitingForWorker string `json:"waiting_for_worker,omitempty"`

	needsWorker bool
}

// childView is one child run of a run.
type childView struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id,omitempty"`
	Workflow   string `json:"workflow"`
	// Status: starting, running, completed, failed, canceled, terminated,
	// timed_out, or start_failed.
	Status  string `json:"status"`
	Failure string `json:"failure,omitempty"`
	UIURL   string `json:"ui_url,omitempty"`
}

// notFoundRun turns the server's NotFound into bad input: the ID is wrong.
func notFoundRun(err error, ns, workflowID string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return usagef("no run with workflow ID %q in namespace %s (list runs with: blueprint runs ls)", workflowID, ns)
	}
	return fmt.Errorf("describe run %s: %w", workflowID, err)
}

// describeRun returns the server's description of a run.
func describeRun(ctx context.Context, c client.Client, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := c.DescribeWorkflow(ctx, workflowID, runID)
	if err != nil {
		return nil, err
	}
	return d.RawResponse, nil
}

// loadRun reads a run's description and history.
func loadRun(ctx context.Context, c client.Client, ns, workflowID, runID string) (runDetail, error) {
	desc, err := describeRun(ctx, c, workflowID, runID)
	if err != nil {
		return runDetail{}, notFoundRun(err, ns, workflowID)
	}
	info := desc.GetWorkflowExecutionInfo()
	r := runDetail{
		WorkflowID:   info.GetExecution().GetWorkflowId(),
		RunID:        info.GetExecution().GetRunId(),
		Deployment:   deploymentOf(info.GetSearchAttributes()),
		Workflow:     info.GetType().GetName(),
		TaskQueue:    info.GetTaskQueue(),
		Status:       runStatus(info, time.Now()),
		StartedAt:    info.GetStartTime().AsTime(),
		ScheduledFor: delayedStart(info),
		Parameters:   map[string]any{},
		RetryOf:      retryOfRef(ns, info.GetSearchAttributes()),
		TriggeredBy:  triggeredByOf(ns, info.GetMemo()),
		Activities:   []activityView{},
	}
	if r.Status == statusWaiting {
		r.Waiting = waitingOf(info.GetMemo())
	}
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime()
		r.ClosedAt = &t
	}
	r.UIURL = uiLink(ns, r.WorkflowID, r.RunID)
	r.needsWorker = needsWorker(desc)

	byID := map[string]int{}   // activity ID -> index in r.Activities
	byEvent := map[int64]int{} // scheduled event ID -> index
	byChild := map[int64]int{} // initiated event ID -> index in r.Children
	it := c.GetWorkflowHistory(ctx, r.WorkflowID, r.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return r, fmt.Errorf("read the history of %s: %w", workflowID, err)
		}
		switch {
		case ev.GetWorkflowExecutionStartedEventAttributes() != nil:
			a := ev.GetWorkflowExecutionStartedEventAttributes()
			if p := a.GetInput().GetPayloads(); len(p) > 0 {
				var m map[string]any
				if conn.PayloadConverter().FromPayload(p[0], &m) == nil {
					r.Parameters = redact.Object(m)
				}
			}
		case ev.GetActivityTaskScheduledEventAttributes() != nil:
			a := ev.GetActivityTaskScheduledEventAttributes()
			r.Activities = append(r.Activities, activityView{
				Activity: a.GetActivityType().GetName(), Status: "scheduled",
				ScheduledAt: ev.GetEventTime().AsTime(), Failures: []attemptFailure{},
				MaxAttempts: a.GetRetryPolicy().GetMaximumAttempts(),
			})
			byID[a.GetActivityId()] = len(r.Activities) - 1
			byEvent[ev.GetEventId()] = len(r.Activities) - 1
		case ev.GetActivityTaskStartedEventAttributes() != nil:
			a := ev.GetActivityTaskStartedEventAttributes()
			if i, ok := byEvent[a.GetScheduledEventId()]; ok {
				av := &r.Activities[i]
				av.Status, av.Attempts, av.Worker = "running", a.GetAttempt(), a.GetIdentity()
				if f := a.GetLastFailure(); f != nil && a.GetAttempt() > 1 {
					av.Failures = append(av.Failures, attemptFailure{Attempt: a.GetAttempt() - 1, Message: failureChain(f)})
				}
			}
		case ev.GetActivityTaskCompletedEventAttributes() != nil:
			closeActivity(&r, byEvent, ev, ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId(), statusCompleted, nil)
		case ev.GetActivityTaskFailedEventAttributes() != nil:
			a := ev.GetActivityTaskFailedEventAttributes()
			status := statusFailed
			if i, ok := byEvent[a.GetScheduledEventId()]; ok && r.Activities[i].cancelRequested &&
				a.GetFailure().GetApplicationFailureInfo().GetType() == runinfo.ErrRunFinished {
				// The attempt learned of the cancel from the warehouse
				// (the run was already recorded as cancelled) before a
				// heartbeat told it: the cancel interrupted it all the same.
				status = statusCanceled
			}
			closeActivity(&r, byEvent, ev, a.GetScheduledEventId(), status, a.GetFailure())
		case ev.GetActivityTaskTimedOutEventAttributes() != nil:
			a := ev.GetActivityTaskTimedOutEventAttributes()
			closeActivity(&r, byEvent, ev, a.GetScheduledEventId(), statusTimedOut, a.GetFailure())
		case ev.GetActivityTaskCanceledEventAttributes() != nil:
			closeActivity(&r, byEvent, ev, ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId(), statusCanceled, nil)
		case ev.GetActivityTaskCancelRequestedEventAttributes() != nil:
			// The workflow gave up on the activity (the run was cancelled).
			// An attempt in flight writes no Started event until it ends,
			// and it may never end, so this is the last word unless a close
			// event follows.
			if i, ok := byEvent[ev.GetActivityTaskCancelRequestedEventAttributes().GetScheduledEventId()]; ok {
				r.Activities[i].cancelRequested = true
			}
			closeActivity(&r, byEvent, ev, ev.GetActivityTaskCancelRequestedEventAttributes().GetScheduledEventId(), statusCanceled, nil)
		case childEvent(ev, &r, byChild, ns):
		default:
			if _, out, failure, ok := closeOutcome(ev, r.Workflow); ok {
				r.Summary, r.Result, r.Failure = out.summary, out.result, failure
			}
		}
	}
	// Activities in progress: the server holds their attempt and last
	// failure until they finish; the history does not have them yet. A
	// closed run may still list the activity it abandoned: its history
	// already said how that ended.
	pending := desc.GetPendingActivities()
	if r.ClosedAt != nil {
		pending = nil
	}
	for _, pa := range pending {
		i, ok := byID[pa.GetActivityId()]
		if !ok {
			continue
		}
		av := &r.Activities[i]
		applyPending(av, pa)
	}
	return r, nil
}

func closeActivity(r *runDetail, byEvent map[int64]int, ev *historypb.HistoryEvent, scheduled int64, status string, f *failurepb.Failure) {
	i, ok := byEvent[scheduled]
	if !ok {
		return
	}
	av := &r.Activities[i]
	av.Status = status
	t := ev.GetEventTime().AsTime()
	av.ClosedAt = &t
	if av.Attempts == 0 {
		av.Attempts = 1
	}
	if f != nil {
		av.Failures = append(av.Failures, attemptFailure{Attempt: av.Attempts, Message: failureChain(f)})
	}
}

// applyPending fills an activity view from the server's pending activity.
func applyPending(av *activityView, pa *workflowpb.PendingActivityInfo) {
	av.Attempts = max(pa.GetAttempt(), 1)
	av.MaxAttempts = pa.GetMaximumAttempts()
	av.Worker = pa.GetLastWorkerIdentity()
	switch {
	case pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED:
		av.Status = "running"
	case pa.GetAttempt() > 1:
		av.Status = "retrying"
	default:
		av.Status = "scheduled"
	}
	if f := pa.GetLastFailure(); f != nil && pa.GetAttempt() > 1 {
		prev := attemptFailure{Attempt: pa.GetAttempt() - 1, Message: failureChain(f)}
		known := false
		for _, e := range av.Failures {
			known = known || e.Attempt == prev.Attempt
		}
		if !known {
			av.Failures = append(av.Failures, prev)
		}
	}
	av.Checkpoint = checkpointOf(pa.GetHeartbeatDetails())
}

// checkpointOf decodes an activity's heartbeat, a datapipeline.Checkpoint.
func checkpointOf(p *commonpb.Payloads) *datapipeline.Checkpoint {
	if len(p.GetPayloads()) == 0 {
		return nil
	}
	var cp datapipeline.Checkpoint
	if conn.PayloadConverter().FromPayload(p.GetPayloads()[0], &cp) != nil {
		return nil
	}
	return &cp
}

// outcome is a completed run's result: a DataPipeline Summary, or any
// other flow's result as decoded JSON.
type outcome struct {
	summary *datapipeline.Summary
	result  any
}

// closeOutcome reads a workflow's close event: its status, the result of
// a completed run, or the failure of any other.
func closeOutcome(ev *historypb.HistoryEvent, workflowType string) (status string, out outcome, failure string, ok bool) {
	switch {
	case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
		if p := ev.GetWorkflowExecutionCompletedEventAttributes().GetResult().GetPayloads(); len(p) > 0 {
			out = decodeResult(workflowType, p[0])
		}
		return statusCompleted, out, "", true
	case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
		return statusFailed, out, failureChain(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure()), true
	case ev.GetWorkflowExecutionTimedOutEventAttributes() != nil:
		return statusTimedOut, out, "the run timed out", true
	case ev.GetWorkflowExecutionCanceledEventAttributes() != nil:
		// A run that says why it ended cancelled (a run refused by its
		// deployment's concurrency limit) gives its reason.
		msg := "the run was cancelled"
		var why string
		if p := ev.GetWorkflowExecutionCanceledEventAttributes().GetDetails().GetPayloads(); len(p) > 0 &&
			conn.PayloadConverter().FromPayload(p[0], &why) == nil && why != "" {
			msg += ": " + oneLine(why)
		}
		return statusCanceled, out, msg, true
	case ev.GetWorkflowExecutionTerminatedEventAttributes() != nil:
		a := ev.GetWorkflowExecutionTerminatedEventAttributes()
		msg := "the run was terminated"
		if a.GetReason() != "" {
			msg += ": " + a.GetReason()
		}
		if a.GetIdentity() != "" {
			msg += " (by " + a.GetIdentity() + ")"
		}
		return statusTerminated, out, msg, true
	case ev.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
		return "continued_as_new", out, "", true
	}
	return "", out, "", false
}

// decodeResult reads a run's result: DataPipeline's as its Summary, any
// other flow's generically.
func decodeResult(workflowType string, p *commonpb.Payload) outcome {
	dc := conn.PayloadConverter()
	if workflowType == datapipeline.WorkflowType {
		var s datapipeline.Summary
		if dc.FromPayload(p, &s) == nil {
			return outcome{summary: &s}
		}
		return outcome{}
	}
	var v any
	if dc.FromPayload(p, &v) == nil {
		if m, ok := v.(map[string]any); ok {
			return outcome{result: redact.Object(m)}
		}
		return outcome{result: redact.Value(v)}
	}
	return outcome{}
}

// childEvent applies a child-workflow event to r; false when ev is not one.
func childEvent(ev *historypb.HistoryEvent, r *runDetail, byChild map[int64]int, ns string) bool {
	closed := func(initiated int64, status string, f *failurepb.Failure) {
		if i, ok := byChild[initiated]; ok {
			r.Children[i].Status = status
			if f != nil {
				r.Children[i].Failure = failureChain(f)
			}
		}
	}
	switch {
	case ev.GetStartChildWorkflowExecutionInitiatedEventAttributes() != nil:
		a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes()
		r.Children = append(r.Children, childView{WorkflowID: a.GetWorkflowId(), Workflow: a.GetWorkflowType().GetName(), Status: "starting"})
		byChild[ev.GetEventId()] = len(r.Children) - 1
	case ev.GetStartChildWorkflowExecutionFailedEventAttributes() != nil:
		a := ev.GetStartChildWorkflowExecutionFailedEventAttributes()
		if i, ok := byChild[a.GetInitiatedEventId()]; ok {
			r.Children[i].Status = "start_failed"
			r.Children[i].Failure = strings.ToLower(strings.TrimPrefix(a.GetCause().String(), "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_"))
		}
	case ev.GetChildWorkflowExecutionStartedEventAttributes() != nil:
		a := ev.GetChildWorkflowExecutionStartedEventAttributes()
		if i, ok := byChild[a.GetInitiatedEventId()]; ok {
			c := &r.Children[i]
			c.Status, c.RunID = statusRunning, a.GetWorkflowExecution().GetRunId()
			c.UIURL = uiLink(ns, c.WorkflowID, c.RunID)
		}
	case ev.GetChildWorkflowExecutionCompletedEventAttributes() != nil:
		closed(ev.GetChildWorkflowExecutionCompletedEventAttributes().GetInitiatedEventId(), statusCompleted, nil)
	case ev.GetChildWorkflowExecutionFailedEventAttributes() != nil:
		a := ev.GetChildWorkflowExecutionFailedEventAttributes()
		closed(a.GetInitiatedEventId(), statusFailed, a.GetFailure())
	case ev.GetChildWorkflowExecutionCanceledEventAttributes() != nil:
		closed(ev.GetChildWorkflowExecutionCanceledEventAttributes().GetInitiatedEventId(), statusCanceled, nil)
	case ev.GetChildWorkflowExecutionTimedOutEventAttributes() != nil:
		closed(ev.GetChildWorkflowExecutionTimedOutEventAttributes().GetInitiatedEventId(), statusTimedOut, nil)
	case ev.GetChildWorkflowExecutionTerminatedEventAttributes() != nil:
		closed(ev.GetChildWorkflowExecutionTerminatedEventAttributes().GetInitiatedEventId(), statusTerminated, nil)
	default:
		return false
	}
	return true
}

// failureChain writes a failure and its causes on one line (see
// failures.Chain).
func failureChain(f *failurepb.Failure) string { return failures.Chain(f) }

// runRef names one run of a workflow ID.
type runRef struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	UIURL      string `json:"ui_url"`
}

// retryOfRef reads the BlueprintRetryOf search attribute: the run a retry
// retries, nil on any other run.
func retryOfRef(ns string, sa *commonpb.SearchAttributes) *runRef {
	wf, run, ok := runinfo.ParseRetryOf(keywordOf(sa, runinfo.RetryOfSearchAttribute))
	if !ok {
		return nil
	}
	return &runRef{WorkflowID: wf, RunID: run, UIURL: uiLink(ns, wf, run)}
}

// deploymentOf reads the BlueprintDeployment search attribute.
func deploymentOf(sa *commonpb.SearchAttributes) string {
	return keywordOf(sa, runinfo.DeploymentSearchAttribute)
}

// keywordOf reads a Keyword search attribute ("" when absent). Search
// attributes are never encrypted: the server indexes them.
func keywordOf(sa *commonpb.SearchAttributes, name string) string {
	p := sa.GetIndexedFields()[name]
	if p == nil {
		return ""
	}
	var s string
	if converter.GetDefaultDataConverter().FromPayload(p, &s) == nil {
		return s
	}
	var list []string // keyword lists decode as arrays
	if converter.GetDefaultDataConverter().FromPayload(p, &list) == nil && len(list) > 0 {
		return list[0]
	}
	return ""
}

// triggeredBy is the upstream run of a triggered run, as `runs show` gives it.
type triggeredBy struct {
	runRef
	Deployment string `json:"deployment,omitempty"`
	Status     string `json:"status"`
	// Trigger is the downstream deployment's triggers: entry, from 1.
	Trigger int `json:"trigger"`
}

// triggeredByOf reads the blueprint.triggered-by memo a trigger's run
// starts with; nil for any other run.
func triggeredByOf(ns string, memo *commonpb.Memo) *triggeredBy {
	p := memo.GetFields()[runinfo.MemoTriggeredBy]
	if p == nil {
		return nil
	}
	var by runinfo.TriggeredBy
	if conn.PayloadConverter().FromPayload(p, &by) != nil {
		return nil
	}
	return &triggeredBy{
		runRef:     runRef{WorkflowID: by.Run.WorkflowID, RunID: by.Run.RunID, UIURL: uiLink(ns, by.Run.WorkflowID, by.Run.RunID)},
		Deployment: by.Deployment, Status: by.Status, Trigger: by.Trigger + 1,
	}
}
