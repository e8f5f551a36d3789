// Package datapipeline is the contract of the DataPipeline flow, between
// its workflow, its activities and the tools that start it: its names, its
// parameters (and their rules), its stages' inputs and results, its live
// progress and its summary. It does no I/O, so deterministic workflow code
// may import it. It must not import `internal/store`, `internal/source`,
// `internal/flow`, `activities` or `workflows`: the platform's vocabulary
// of a run is internal/runinfo.
//
// It must not import `internal/store`, `internal/source`, `internal/flow`,
// `activities` or `workflows`: a contract does no I/O, so workflow code may
// import it.
package datapipeline

import "time"

// Names that appear on the Temporal server. They are part of the public
// contract: schedules, the Temporal CLI and the Web UI refer to them.
const (
	// WorkflowType is the registered name of the ETL workflow.
	WorkflowType = "DataPipeline"

	ExtractActivity   = "Extract"
	TransformActivity = "Transform"
	LoadActivity      = "Load"
	// FinishRunActivity records a failed or cancelled run in pipeline_runs.
	FinishRunActivity = "FinishRun"

	// ProgressQuery answers with a Progress value.
	ProgressQuery = "progress"
)

// Stage timeouts of DataPipeline.
const (
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
// ordinary runs. A dead worker is still noticed within runinfo.HeartbeatWindow:
// this only bounds an attempt that is alive but stuck.
func StageTimeoutFor(batchSize int) time.Duration {
	extra := max(0, batchSize-1) / StageRows
	return StageTimeout * time.Duration(1+extra)
}
