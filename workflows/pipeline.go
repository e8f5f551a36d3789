// Package workflows holds the DataPipeline workflow. It is deterministic
// workflow code only: every side effect happens in an activity, and record
// data never passes through here, only references and counts.
//
// It must not import `activities`, `internal/store`, `internal/source` or
// `flows`: workflow code is deterministic and calls activities by name.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/failures"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// ActivityOptions are the options of every pipeline stage: 3 attempts, 2 s
// apart; errors that cannot succeed on a retry fail at once. Stages
// heartbeat after every chunk, so a dead worker is noticed within the
// heartbeat window and the retry resumes after the last committed chunk.
func ActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: datapipeline.StageTimeout,
		HeartbeatTimeout:    runinfo.HeartbeatWindow,
		RetryPolicy:         runinfo.RetryPolicy(),
	}
}

// DataPipeline extracts records from the source_url of its parameters,
// transforms them, loads them into the warehouse, and returns what it did.
// It is registered through internal/flow, which decodes and checks its raw
// input first: a malformed start ends in InvalidParameters naming every bad
// field.
func DataPipeline(ctx workflow.Context, params datapipeline.Params) (datapipeline.Summary, error) {
	info := workflow.GetInfo(ctx)
	run := runinfo.RunRef{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}
	progress := datapipeline.Progress{Stage: runinfo.StageExtract}
	if err := workflow.SetQueryHandler(ctx, datapipeline.ProgressQuery, func() (datapipeline.Progress, error) {
		return progress, nil
	}); err != nil {
		return datapipeline.Summary{}, err
	}

	details := flowrun.FollowAttempts(ctx)
	deployment := flowrun.Deployment(ctx)
	started := workflow.Now(ctx)
	summary := datapipeline.Summary{WorkflowID: run.WorkflowID, RunID: run.RunID, BatchSize: params.BatchSize}
	if params.DatasetDefinition != nil {
		summary.Dataset = params.DatasetDefinition.Name
	}
	failed := func(stage string, cause error) (datapipeline.Summary, error) {
		err := fail(ctx, run, &progress, cause)
		details.Stage(ctx, runinfo.StageFailed, fmt.Sprintf("**Failed in:** %s", stage), "**Error:** "+flowrun.Cause(cause))
		// The flow wrapper ends the run (flowrun.Finish) with this stage
		// and cause, and fails it with err.
		return summary, &flowrun.StageFailure{Stage: stage, Cause: cause, Err: err}
	}

	source := redact.URL(params.SourceURL)
	details.Stage(ctx, runinfo.StageExtract, fmt.Sprintf("**Reading:** up to %d records from %s", params.BatchSize, source))
	var extracted datapipeline.ExtractResult
	err := workflow.ExecuteActivity(stageContext(ctx, params.BatchSize, fmt.Sprintf("Extract up to %d records from %s", params.BatchSize, source)),
		datapipeline.ExtractActivity, datapipeline.ExtractInput{Run: run, Params: params, Deployment: deployment, StartedAt: started},
	).Get(ctx, &extracted)
	if err != nil {
		return failed(runinfo.StageExtract, err)
	}
	summary.Source, summary.Extracted = extracted.Source, extracted.Records
	summary.Durations.Extract = workflow.Now(ctx).Sub(started)
	progress.Stage, progress.Extracted = runinfo.StageTransform, extracted.Records

	mark := workflow.Now(ctx)
	details.Stage(ctx, runinfo.StageTransform, fmt.Sprintf("**Rows so far:** %d extracted", extracted.Records))
	var transformed datapipeline.TransformResult
	err = workflow.ExecuteActivity(stageContext(ctx, params.BatchSize, fmt.Sprintf("Transform %d records: normalise, validate, drop duplicates", extracted.Records)),
		datapipeline.TransformActivity, datapipeline.TransformInput{Run: run, Dataset: params.DatasetDefinition, Chunks: extracted.Chunks},
	).Get(ctx, &transformed)
	if err != nil {
		return failed(runinfo.StageTransform, err)
	}
	summary.Valid, summary.Rejected, summary.Reasons = transformed.Valid, transformed.Rejected, transformed.Reasons
	summary.Durations.Transform = workflow.Now(ctx).Sub(mark)
	progress.Valid, progress.Rejected = transformed.Valid, transformed.Rejected
	if err := checkRejected(ctx, params.MaxRejected, summary); err != nil {
		return failed(runinfo.StageTransform, err)
	}
	progress.Stage = runinfo.StageLoad

	mark = workflow.Now(ctx)
	details.Stage(ctx, runinfo.StageLoad, fmt.Sprintf("**Rows so far:** %d extracted, %d valid, %d rejected", extracted.Records, transformed.Valid, transformed.Rejected))
	var loaded datapipeline.LoadResult
	err = workflow.ExecuteActivity(stageContext(ctx, params.BatchSize, fmt.Sprintf("Load %d records into the warehouse", transformed.Valid)),
		datapipeline.LoadActivity, datapipeline.LoadInput{Run: run, Dataset: params.DatasetDefinition, Source: extracted.Source, Chunks: transformed.Chunks, Summary: summary},
	).Get(ctx, &loaded)
	if err != nil {
		return failed(runinfo.StageLoad, err)
	}
	summary.Loaded = loaded
	summary.Durations.Load = workflow.Now(ctx).Sub(mark)
	summary.Durations.Total = workflow.Now(ctx).Sub(started)
	progress.Stage, progress.Loaded = runinfo.StageDone, loaded.Inserted+loaded.Updated+loaded.Unchanged
	details.Stage(ctx, runinfo.StageDone, "**Result:** "+summary.OneLine())
	return summary, nil // the flow wrapper ends the run (flowrun.Finish)
}

// The versions of the rejection threshold, as marked in a run's history:
// runs recorded before it replay without the check (DefaultVersion) and
// go on to Load whatever they rejected.
const (
	rejectedChange  = "blueprint-max-rejected"
	rejectedChecked = 1
)

// checkRejected fails a run that rejected more records than max_rejected
// allows (by default: all of them, when there was at least one), before
// anything is loaded. It is the only way a record's content fails a run;
// the failure says the counts by reason and carries the summary so far
// as its details. The rejected records stay in the warehouse.
func checkRejected(ctx workflow.Context, limit datapipeline.RejectLimit, s datapipeline.Summary) error {
	if workflow.GetVersion(ctx, rejectedChange, workflow.DefaultVersion, rejectedChecked) == workflow.DefaultVersion {
		return nil
	}
	if !limit.Exceeded(s.Rejected, s.Extracted) {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(limit.Failure(s.Rejected, s.Extracted, s.Reasons), runinfo.ErrTooManyRejected, nil, s)
}

// stageContext gives a stage's activity its options, with a timeout for a
// batch of batchSize records, and its Web UI summary.
func stageContext(ctx workflow.Context, batchSize int, summary string) workflow.Context {
	opts := ActivityOptions()
	opts.StartToCloseTimeout = datapipeline.StageTimeoutFor(batchSize)
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}

// The versions of FinishRun's options, as marked in a failed run's
// history: histories recorded before (DefaultVersion) gave it 3 attempts of
// 30 s; new runs wait out a warehouse outage (flowrun.FinishOptions).
const (
	finishChange = "blueprint-finish-run-wait"
	finishWaits  = 1
)

// fail records the failed or cancelled run in pipeline_runs and returns the
// stage's error under a one-line summary that names the stage, attempts
// and cause (the Web UI shows it first), with the real error as its cause.
func fail(ctx workflow.Context, run runinfo.RunRef, progress *datapipeline.Progress, cause error) error {
	progress.Stage = runinfo.StageFailed
	status := runinfo.RunFailed
	var canceled *temporal.CanceledError
	if errors.As(cause, &canceled) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		status = runinfo.RunCancelled
	}
	// A disconnected context lets the bookkeeping run even when the
	// workflow itself was cancelled.
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	opts := flowrun.FinishOptions()
	if workflow.GetVersion(dctx, finishChange, workflow.DefaultVersion, finishWaits) == workflow.DefaultVersion {
		opts = workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: runinfo.RetryInterval, BackoffCoefficient: 1, MaximumAttempts: runinfo.MaxAttempts},
		}
	}
	dctx = workflow.WithActivityOptions(dctx, opts)
	err := workflow.ExecuteActivity(dctx, datapipeline.FinishRunActivity, datapipeline.FinishRunInput{
		Run: run, Status: status, Error: failures.Message(cause),
	}).Get(dctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not record the failed run", "error", err)
	}
	if status == runinfo.RunCancelled {
		return cause // a canceled run ends canceled, not failed
	}
	return failures.Summarize(cause)
}
