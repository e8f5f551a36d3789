// Package pipeline holds the contract between the DataPipeline workflow, its
// activities and the tools that start it: names, parameters, results and the
// retry policy. It does no I/O, so deterministic workflow code may import it.
package pipeline

import "time"

// Names that appear on the Temporal server. They are part of the public
// contract: schedules, the Temporal CLI and the Web UI refer to them.
const (
	// WorkflowType is the registered name of the ETL workflow.
	WorkflowType = "DataPipeline"
	// TaskQueue is the default task queue: the Prefect "work pool".
	TaskQueue = "local-process-pool"

	ExtractActivity   = "Extract"
	TransformActivity = "Transform"
	LoadActivity      = "Load"
	// FinishRunActivity records a failed or cancelled run in pipeline_runs.
	FinishRunActivity = "FinishRun"

	// EndRunActivity records a run's outcome in its log; every flow ends
	// with it.
	EndRunActivity = "EndRun"
	// NotifyActivity POSTs a run's outcome to one webhook.
	NotifyActivity = "Notify"

	// ProgressQuery answers with a Progress value.
	ProgressQuery = "progress"
	// AttemptSignal carries an Attempt: a stage's activity sends it to its
	// own workflow when a retry (attempt 2 or later) starts, because the
	// server retries activities without telling the workflow, and the
	// run's current details should say so.
	AttemptSignal = "blueprint-attempt"

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
)

// NonRetryableErrorTypes lists the ApplicationError types the retry policy
// gives up on at once.
var NonRetryableErrorTypes = []string{ErrInvalidParameters, ErrBadSource, ErrBadData, ErrRunFinished}

// Retry policy of every pipeline activity: 3 attempts, 2 s apart.
const (
	MaxAttempts     = 3
	RetryInterval   = 2 * time.Second
	RetryBackoff    = 1.0
	HeartbeatWindow = 10 * time.Second
	// StageTimeout bounds one attempt of a stage of up to StageRows
	// records; a million rows take well under a minute, a slow paged HTTP
	// API may take much longer. Larger batches get more (StageTimeoutFor).
	StageTimeout = time.Hour
	// StageRows is the batch size StageTimeout is meant for.
	StageRows = 10_000_000
)

// StageTimeoutFor bounds one attempt of a stage of a batch of batchSize
// records: StageTimeout, plus as much again for every further StageRows
// records, so that a 100M-row run is not cut off by a limit made for
// ordinary runs. A dead worker is still noticed within HeartbeatWindow:
// this only bounds an attempt that is alive but stuck.
func StageTimeoutFor(batchSize int) time.Duration {
	extra := max(0, batchSize-1) / StageRows
	return StageTimeout * time.Duration(1+extra)
}
