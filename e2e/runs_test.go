//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
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

// pending is the state of a run's current activity.
type pending struct {
	run      *pipelineRun
	activity string
	attempt  int32
	started  bool
	// current: started by the worker process the caller asked about (not
	// by a dead one whose attempt the server has not timed out yet).
	current bool
}

// look describes the runs: their pending activities, and how many are
// still running. pid names the current worker process (0: any).
func look(t *testing.T, c client.Client, runs []*pipelineRun, pid int) (list []pending, open int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	me := fmt.Sprintf("%d@", pid)
	for _, r := range runs {
		desc, err := c.DescribeWorkflow(ctx, r.GetID(), r.GetRunID())
		require.NoError(t, err)
		d := desc.RawResponse
		if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			continue
		}
		open++
		for _, pa := range d.GetPendingActivities() {
			started := pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED
			list = append(list, pending{run: r, activity: pa.GetActivityType().GetName(), attempt: pa.GetAttempt(),
				started: started, current: started && (pid == 0 || strings.HasPrefix(pa.GetLastWorkerIdentity(), me))})
		}
	}
	return list, open
}

// activityOrder ranks the activities of a run.
var activityOrder = map[string]int{pipeline.ExtractActivity: 0, pipeline.TransformActivity: 1, pipeline.LoadActivity: 2, pipeline.FinishRunActivity: 3}

// waitProgress waits until some run's activity runs on worker pid (0: any)
// and has committed more chunks of its stage than seen records for the
// run. It returns false, without waiting more, once every run has moved
// past the activity.
func waitProgress(t *testing.T, c client.Client, wh *warehouse, runs []*pipelineRun, activity string, pid int, seen map[string]int) bool {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		list, open := look(t, c, runs, pid)
		// A run between two activities has none pending, and is not
		// known to be past this one.
		later := 0
		for _, p := range list {
			if activityOrder[p.activity] > activityOrder[activity] {
				later++
			}
			if p.activity == activity && p.current && p.attempt < pipeline.MaxAttempts {
				cp, err := wh.Checkpoint(context.Background(), pipeline.RunRef{WorkflowID: p.run.GetID(), RunID: p.run.GetRunID()}, stageOf[activity])
				require.NoError(t, err)
				if !cp.Done && cp.NextSeq > seen[p.run.GetID()] {
					return true
				}
			}
		}
		if open == 0 || (later == open && len(list) == open) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no run made progress in %s", activity)
	return false
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
