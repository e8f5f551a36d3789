// Package runinfo is the platform's vocabulary of a run, shared by every
// flow, the CLI, the workers and the warehouse: the default task queue, the
// search attributes and memo keys a start carries, the error types and the
// retry policy, a run's reference, statuses and stages, and what the end of
// a run records and notifies. It does no I/O and imports nothing of
// blueprint, so workflow code and the warehouse may both import it; a
// flow's own contract (its parameters and results) lives with the flow.
package runinfo

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Names that appear on the Temporal server. They are part of the public
// contract: schedules, the Temporal CLI and the Web UI refer to them.
const (
	// TaskQueue is the default task queue: the Prefect "work pool".
	TaskQueue = "local-process-pool"

	// EndRunActivity records a run's outcome in its log; every flow ends
	// with it.
	EndRunActivity = "EndRun"
	// NotifyActivity POSTs a run's outcome to one webhook.
	NotifyActivity = "Notify"
	// StartTriggeredActivity starts one downstream run of a trigger when
	// the upstream run ends.
	StartTriggeredActivity = "StartTriggered"

	// DeploymentSearchAttribute tags every run started for a deployment, by a
	// schedule or by hand, so `blueprint runs ls --deployment` finds both.
	DeploymentSearchAttribute = "BlueprintDeployment"
	// RetryOfSearchAttribute (Keyword) holds, on a run started by
	// `blueprint runs retry`, the run it retries as RetryOf writes it: `runs
	// show` of the original finds its retries by it.
	RetryOfSearchAttribute = "BlueprintRetryOf"

	// Memo keys of a run. MemoNotify holds the deployment's webhooks
	// ([]Webhook; URLs are worker environment variable names, never the
	// URLs); MemoRetryOf the "workflow ID/run ID" a retry retries.
	MemoNotify  = "blueprint.notify"
	MemoRetryOf = "blueprint.retry-of"
	// MemoTriggers holds the runs a run's end may start ([]Trigger): the
	// deployments whose triggers: name the run's deployment. MemoTriggeredBy
	// holds, on a run a trigger started, the upstream run (TriggeredBy).
	MemoTriggers    = "blueprint.triggers"
	MemoTriggeredBy = "blueprint.triggered-by"
	// MemoConcurrency holds the deployment's concurrency limit
	// (Concurrency) on each of its runs; MemoWaiting, while a run waits for
	// a slot, why ("concurrency limit 1 of 1 taken by <workflow ID>"), for
	// `blueprint runs ls` (a memo is in every list result). It holds the reason alone: "concurrency limit 1 of 1 taken by <workflow ID>".
	MemoConcurrency = "blueprint.concurrency"
	MemoWaiting     = "blueprint.waiting"
)

// Collision strategies of a concurrency limit: a run over the limit waits
// for a slot (enqueue, the default) or ends cancelled at once
// (cancel_new).
const (
	CollisionEnqueue   = "enqueue"
	CollisionCancelNew = "cancel_new"
)

// CollisionStrategies lists them, the default first.
var CollisionStrategies = []string{CollisionEnqueue, CollisionCancelNew}

// Concurrency limits and bounds.
const (
	MinConcurrencyLimit = 1
	MaxConcurrencyLimit = 1000
)

// Notification events: a webhook is called when the run ends in one of its
// events.
const (
	EventCompleted = "completed"
	EventFailed    = "failed"
	EventCancelled = "cancelled"
)

// Events lists the notification events.
var Events = []string{EventFailed, EventCompleted, EventCancelled}

// Error types carried by ApplicationErrors. Errors of these types are never
// retried: repeating the same request cannot make it succeed.
const (
	ErrInvalidParameters = "InvalidParameters" // the workflow input broke a rule
	ErrBadSource         = "BadSource"         // URL, 4xx, forbidden path, too large
	ErrBadData           = "BadData"           // the source's bytes are not in the declared format, or the warehouse refuses a record
	ErrTransient         = "Transient"         // retryable: 5xx, 408, 429, timeouts, synthetic outages
	ErrRunFinished       = "RunFinished"       // a late attempt on a run that already ended
	// ErrWrongWarehouse is retryable: the run's earlier stage ran on a
	// worker with another warehouse, and a retry may land on one that
	// shares it.
	ErrWrongWarehouse = "WrongWarehouse"
	// ErrSourcesFailed is the type of NightlyETL's failure when some of
	// its sources did not load; its message names them.
	ErrSourcesFailed = "SourcesFailed"
	// ErrTooManyRejected is the type of a run's failure when it rejected
	// more records than its max_rejected allows: the one way a record's
	// content can fail a run.
	ErrTooManyRejected = "TooManyRejected"
)

// NonRetryableErrorTypes lists the ApplicationError types the retry policy
// gives up on at once.
var NonRetryableErrorTypes = []string{ErrInvalidParameters, ErrBadSource, ErrBadData, ErrRunFinished}

// The seed's retry policy of every activity: 3 attempts, 2 s apart; a
// worker that stops heartbeating is given up on after HeartbeatWindow.
const (
	MaxAttempts     = 3
	RetryInterval   = 2 * time.Second
	RetryBackoff    = 1.0
	HeartbeatWindow = 10 * time.Second
)

// DeploymentKey is DeploymentSearchAttribute as the typed key the SDK
// reads and writes it with.
var DeploymentKey = temporal.NewSearchAttributeKeyKeyword(DeploymentSearchAttribute)

// RetryPolicy is that policy as one value, for any flow's activities:
// MaxAttempts attempts, RetryInterval apart, and the error types no retry
// can fix (NonRetryableErrorTypes) fail at once. Each call returns a new
// value, so a flow may change its copy.
func RetryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        RetryInterval,
		BackoffCoefficient:     RetryBackoff,
		MaximumInterval:        RetryInterval,
		MaximumAttempts:        MaxAttempts,
		NonRetryableErrorTypes: slices.Clone(NonRetryableErrorTypes),
	}
}

// RunRef names the run whose data an activity works on. Staged data,
// checkpoints and the pipeline_runs row are all keyed by it, which is what
// makes every stage safe to retry.
type RunRef struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// Key is the staging key of the run.
func (r RunRef) Key() string { return r.WorkflowID + "/" + r.RunID }

// Run statuses in pipeline_runs.
const (
	RunRunning   = "running"
	RunCompleted = "completed"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
)

// Stages in the order they run.
const (
	StageValidate  = "validate"
	StageExtract   = "extract"
	StageTransform = "transform"
	StageLoad      = "load"
	StageDone      = "done"
	StageFailed    = "failed"
)

// EndRunInput is what the end-of-run step records: the run's outcome, for
// its log and its notifications. Every flow ends with it.
type EndRunInput struct {
	Run RunRef `json:"run"`
	// Status is RunCompleted, RunFailed or RunCancelled.
	Status string `json:"status"`
	// Stage is the stage that failed, if one did.
	Stage string `json:"stage,omitempty"`
	// Summary says in one line what a completed run did.
	Summary string `json:"summary,omitempty"`
	// Error is why a run failed or was cancelled.
	Error string `json:"error,omitempty"`
	// Flow and Deployment name the run's flow (its workflow type) and
	// deployment ("" when started without one), for the record of runs.
	// Inputs recorded before they existed have no Flow.
	Flow       string `json:"flow,omitempty"`
	Deployment string `json:"deployment,omitempty"`
}

// Webhook is a notification target of a deployment. The URL itself is
// never in a workflow's history: URLEnv names the worker's environment
// variable that holds it.
type Webhook struct {
	URLEnv string   `json:"url_env"`
	Events []string `json:"events"`
}

// String names the webhook by its variable, with its events: "$OPS_HOOK
// (failed, cancelled)". It never holds the URL.
func (h Webhook) String() string {
	return "$" + h.URLEnv + " (" + strings.Join(h.Events, ", ") + ")"
}

// NotifyInput is one notification: a webhook and the run's outcome.
type NotifyInput struct {
	Webhook    Webhook     `json:"webhook"`
	Deployment string      `json:"deployment,omitempty"`
	Workflow   string      `json:"workflow"`
	Namespace  string      `json:"namespace"`
	End        EndRunInput `json:"end"`
}

// RetryOf is the value of RetryOfSearchAttribute and MemoRetryOf on a
// retry: "<workflow ID>/<run ID>" of the run it retries. Both parts are
// needed: a workflow ID may have been used by several runs.
func RetryOf(workflowID, runID string) string { return workflowID + "/" + runID }

// ParseRetryOf splits a RetryOf value. A workflow ID may itself hold '/',
// a run ID (a UUID) never does, so the split is at the last one. ok is false
// for a value RetryOf cannot have written.
func ParseRetryOf(v string) (workflowID, runID string, ok bool) {
	i := strings.LastIndexByte(v, '/')
	if i <= 0 || i == len(v)-1 {
		return "", "", false
	}
	return v[:i], v[i+1:], true
}

// AttemptSignal carries an Attempt: an activity sends it to its own
// workflow when a retry (attempt 2 or later) starts, because the server
// retries activities without telling the workflow, and the run's current
// details should say so (internal/flowrun follows it for every flow).
const AttemptSignal = "blueprint-attempt"

// Attempt is the AttemptSignal's payload: a retry of a stage started.
type Attempt struct {
	Stage       string `json:"stage"`
	Attempt     int32  `json:"attempt"`
	MaxAttempts int32  `json:"max_attempts"`
	// Rows the earlier attempts committed, after which this one resumes
	// (for DataPipeline, the stage's Checkpoint.Records).
	Rows int64 `json:"rows"`
	// PreviousError is the earlier attempt's failure, one line, when the
	// worker could read it ("" otherwise).
	PreviousError string `json:"previous_error,omitempty"`
}

// Trigger is one downstream run a run's end may start (a deployment's
// `triggers:` entry, seen from the upstream deployment it names). It is
// a start request prepared by the CLI from the manifest, carried in the
// upstream run's memo (MemoTriggers), so the worker needs no manifest and
// a schedule keeps the triggers it was deployed with. Only the workflow ID
// (derived from the upstream run) and the templated parameters are
// completed when the upstream run ends.
type Trigger struct {
	// Deployment is the downstream deployment; Index its triggers: entry
	// (the derived workflow ID names both, so one upstream end starts each
	// entry once).
	Deployment string `json:"deployment"`
	Index      int    `json:"index"`
	// On are the upstream statuses that start it: RunCompleted, RunFailed,
	// RunCancelled.
	On []string `json:"on"`
	// Delay postpones the downstream start (the server holds it).
	Delay time.Duration `json:"delay,omitempty"`
	// Workflow and TaskQueue are the downstream flow's.
	Workflow  string `json:"workflow"`
	TaskQueue string `json:"task_queue"`
	// Parameters are the downstream run's parameters as the manifest gives
	// them; Templates the ones to render from the upstream run
	// ("{{ upstream.params.from }}"), by parameter name.
	Parameters map[string]any    `json:"parameters,omitempty"`
	Templates  map[string]string `json:"templates,omitempty"`
	// Notify and Triggers are the downstream run's own memo: its
	// deployment's webhooks and the triggers that name it.
	Notify   []Webhook `json:"notify,omitempty"`
	Triggers []Trigger `json:"triggers,omitempty"`
	// Concurrency is the downstream deployment's concurrency limit, if it
	// has one.
	Concurrency *Concurrency `json:"concurrency,omitempty"`
	// Summary and Details are the downstream run's Web UI summary and
	// details (starter.Describe), without the upstream run, which the
	// worker adds.
	Summary string `json:"summary,omitempty"`
	Details string `json:"details,omitempty"`
}

// TriggeredBy is the upstream run a triggered run was started by
// (MemoTriggeredBy).
type TriggeredBy struct {
	Deployment string `json:"deployment,omitempty"`
	Run        RunRef `json:"run"`
	Status     string `json:"status"`
	// Trigger is the downstream deployment's triggers: entry that matched.
	Trigger int `json:"trigger"`
}

// StartTriggeredInput is the StartTriggeredActivity's input: the trigger,
// and what its templates may use of the upstream run that ended.
type StartTriggeredInput struct {
	Trigger  Trigger     `json:"trigger"`
	Upstream TriggeredBy `json:"upstream"`
	// Params and Result are the upstream run's parameters and, when it
	// completed, its result, as JSON.
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// Concurrency is a deployment's concurrency limit, carried by each of its
// runs (MemoConcurrency) whatever started it: a run is admitted through
// the deployment's semaphore workflow (SemaphoreWorkflowID) on TaskQueue
// before its flow's code runs.
type Concurrency struct {
	Deployment string `json:"deployment"`
	Limit      int    `json:"limit"`
	// Strategy is CollisionEnqueue or CollisionCancelNew.
	Strategy  string `json:"strategy"`
	TaskQueue string `json:"task_queue"`
}

// SemaphoreWorkflowID is the workflow ID of deployment's semaphore: one
// per deployment, in the deployment's namespace.
func SemaphoreWorkflowID(deployment string) string { return "blueprint-concurrency-" + deployment }
