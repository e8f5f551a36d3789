//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/source"
)

// stageOf maps an activity to the stage whose checkpoint it advances.
var stageOf = map[string]string{
	pipeline.ExtractActivity:   pipeline.StageExtract,
	pipeline.TransformActivity: pipeline.StageTransform,
	pipeline.LoadActivity:      pipeline.StageLoad,
}

// pipelineRun is a run a test started, with the data it must load.
type pipelineRun struct {
	client.WorkflowRun
	url   string
	batch int
}

// startRuns starts one run per source URL.
func startRuns(t *testing.T, c client.Client, prefix string, batch int, urls ...string) []*pipelineRun {
	t.Helper()
	var runs []*pipelineRun
	for i, u := range urls {
		r, err := c.ExecuteWorkflow(testContext(t), client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d", prefix, i), TaskQueue: pipeline.TaskQueue},
			pipeline.WorkflowType, pipeline.Params{BatchSize: batch, SourceURL: u})
		require.NoError(t, err)
		runs = append(runs, &pipelineRun{WorkflowRun: r, url: u, batch: batch})
	}
	return runs
}

// finish waits for every run, which must complete, and checks its rows.
func finish(t *testing.T, wh *warehouse, runs []*pipelineRun) {
	t.Helper()
	for _, r := range runs {
		var sum pipeline.Summary
		require.NoError(t, r.Get(testContext(t), &sum), "run %s must complete", r.GetID())
		wh.checkRun(t, expect(t, r.url, r.batch, source.Config{}), sum)
	}
}

// startRun starts one run on queue.
func startRun(t *testing.T, c client.Client, id, queue string, p pipeline.Params) client.WorkflowRun {
	t.Helper()
	r, err := c.ExecuteWorkflow(testContext(t), client.StartWorkflowOptions{ID: id, TaskQueue: queue}, pipeline.WorkflowType, p)
	require.NoError(t, err)
	return r
}

// mustFail waits for a run that must fail and returns its error and the
// activities of its history.
func mustFail(t *testing.T, c client.Client, r client.WorkflowRun) (*temporal.ApplicationError, []*activityRun) {
	t.Helper()
	err := r.Get(testContext(t), nil)
	require.Error(t, err, "run %s must fail", r.GetID())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "run %s ends with an application error: %v", r.GetID(), err)
	return appErr, activityRuns(events(t, c, r.GetID(), r.GetRunID()))
}

// requireFailedRun checks that pipeline_runs records the failure.
func requireFailedRun(t *testing.T, wh *warehouse, r client.WorkflowRun, msg string) {
	t.Helper()
	run, err := wh.GetRun(context.Background(), pipeline.RunRef{WorkflowID: r.GetID(), RunID: r.GetRunID()})
	require.NoError(t, err)
	require.Equal(t, pipeline.RunFailed, run.Status)
	require.Contains(t, run.Error, msg)
	require.Zero(t, wh.count(t, `SELECT count(*) FROM stage_chunks WHERE run_key = $1`, pipeline.RunRef{WorkflowID: r.GetID(), RunID: r.GetRunID()}.Key()),
		"a failed run's staged chunks are dropped")
}
