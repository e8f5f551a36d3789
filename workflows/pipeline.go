// Package workflows holds the DataPipeline workflow. It is deterministic
// workflow code only: every side effect happens in an activity, and record
// data never passes through here, only references and counts.
package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/failure"
	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// ActivityOptions are the options of every pipeline stage: 3 attempts, 2 s
// apart; errors that cannot succeed on a retry fail at once. Stages
// heartbeat after every chunk, so a dead worker is noticed within the
// heartbeat window and the retry resumes after the last committed chunk.
func ActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: pipeline.StageTimeout,
		HeartbeatTimeout:    pipeline.HeartbeatWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        pipeline.RetryInterval,
			BackoffCoefficient:     pipeline.RetryBackoff,
			MaximumInterval:        pipeline.RetryInterval,
			MaximumAttempts:        pipeline.MaxAttempts,
			NonRetryableErrorTypes: pipeline.NonRetryableErrorTypes,
		},
	}
}

// DataPipeline extracts records from the source_url of its input (a
// pipeline.Params as JSON), transforms them, loads them into the warehouse,
// and returns what it did.
//
// It takes its input raw and decodes it itself: a start from the Web UI or
// the Temporal CLI with malformed JSON must end in InvalidParameters, like
// any other bad input, and not in a decoding error before the workflow
// could say what is wrong.
func DataPipeline(ctx workflow.Context, input converter.RawValue) (pipeline.Summary, error) {
	// DecodeParams is a pure function of the payload; workflowcheck
	// cannot see through encoding/json's reflection.
	//workflowcheck:ignore
	params := pipeline.DecodeParams(input.Payload()).WithDefaults()
	// Validate is a pure function of params: the validator's reflection and
	// its cache's map walks do not change the result, and its problems are
	// listed in struct-field order (the pipeline tests check the message is
	// byte-identical across calls). workflowcheck cannot see that.
	//workflowcheck:ignore
	if err := params.Validate(); err != nil {
		return pipeline.Summary{}, temporal.NewNonRetryableApplicationError(err.Error(), pipeline.ErrInvalidParameters, nil)
	}

	info := workflow.GetInfo(ctx)
	run := pipeline.RunRef{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}
	progress := pipeline.Progress{Stage: pipeline.StageExtract}
	if err := workflow.SetQueryHandler(ctx, pipeline.ProgressQuery, func() (pipeline.Progress, error) {
		return progress, nil
	}); err != nil {
		return pipeline.Summary{}, err
	}

	deployment, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(temporal.NewSearchAttributeKeyKeyword(pipeline.DeploymentSearchAttribute))
	actx := workflow.WithActivityOptions(ctx, ActivityOptions())
	started := workflow.Now(ctx)
	summary := pipeline.Summary{WorkflowID: run.WorkflowID, RunID: run.RunID, BatchSize: params.BatchSize}

	var extracted pipeline.ExtractResult
	err := workflow.ExecuteActivity(actx, pipeline.ExtractActivity, pipeline.ExtractInput{
		Run: run, Params: params, Deployment: deployment, StartedAt: started,
	}).Get(ctx, &extracted)
	if err != nil {
		return summary, fail(ctx, run, &progress, err)
	}
	summary.Source, summary.Extracted = extracted.Source, extracted.Records
	summary.Durations.Extract = workflow.Now(ctx).Sub(started)
	progress.Stage, progress.Extracted = pipeline.StageTransform, extracted.Records

	mark := workflow.Now(ctx)
	var transformed pipeline.TransformResult
	err = workflow.ExecuteActivity(actx, pipeline.TransformActivity, pipeline.TransformInput{
		Run: run, Chunks: extracted.Chunks,
	}).Get(ctx, &transformed)
	if err != nil {
		return summary, fail(ctx, run, &progress, err)
	}
	summary.Valid, summary.Rejected, summary.Reasons = transformed.Valid, transformed.Rejected, transformed.Reasons
	summary.Durations.Transform = workflow.Now(ctx).Sub(mark)
	progress.Stage, progress.Valid, progress.Rejected = pipeline.StageLoad, transformed.Valid, transformed.Rejected

	mark = workflow.Now(ctx)
	var loaded pipeline.LoadResult
	err = workflow.ExecuteActivity(actx, pipeline.LoadActivity, pipeline.LoadInput{
		Run: run, Source: extracted.Source, Chunks: transformed.Chunks, Summary: summary,
	}).Get(ctx, &loaded)
	if err != nil {
		return summary, fail(ctx, run, &progress, err)
	}
	summary.Loaded = loaded
	summary.Durations.Load = workflow.Now(ctx).Sub(mark)
	summary.Durations.Total = workflow.Now(ctx).Sub(started)
	progress.Stage, progress.Loaded = pipeline.StageDone, loaded.Inserted+loaded.Updated+loaded.Unchanged
	return summary, nil
}

// fail records the failed or cancelled run in pipeline_runs and returns the
// stage's error under a one-line summary that names the stage, attempts
// and cause (the Web UI shows it first), with the real error as its cause.
func fail(ctx workflow.Context, run pipeline.RunRef, progress *pipeline.Progress, cause error) error {
	progress.Stage = pipeline.StageFailed
	status := pipeline.RunFailed
	var canceled *temporal.CanceledError
	if errors.As(cause, &canceled) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		status = pipeline.RunCancelled
	}
	// A disconnected context lets the bookkeeping run even when the
	// workflow itself was cancelled.
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: pipeline.RetryInterval, BackoffCoefficient: 1, MaximumAttempts: pipeline.MaxAttempts},
	})
	err := workflow.ExecuteActivity(dctx, pipeline.FinishRunActivity, pipeline.FinishRunInput{
		Run: run, Status: status, Error: failure.Message(cause),
	}).Get(dctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not record the failed run", "error", err)
	}
	if status == pipeline.RunCancelled {
		return cause // a canceled run ends canceled, not failed
	}
	return failure.Summarize(cause)
}
