//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/trigger"
)

// TestTriggerStartsOnceThroughAKill SIGKILLs the worker between the
// upstream run's last activity and its close, while the trigger's start is
// held, and restarts it: the upstream run completes on the new worker and
// exactly one downstream run starts, under the derived workflow ID.
func TestTriggerStartsOnceThroughAKill(t *testing.T) {
	// Not in parallel: its server starts while no other test kills
	// workers.
	wh := sqliteWarehouse(t)
	srv := startServer(t, false)
	g := newGates(t)
	queue := runinfo.TaskQueue // the worker's, on a server of this test's own
	w := startWorker(t, "triggers-kill", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, g.env())
	c := srv.client()
	ctx := testContext(t)

	id := "upstream-killed"
	point := gate.Activity(id, runinfo.StartTriggeredActivity)
	require.NoError(t, g.dir.Hold(point))
	down := runinfo.Trigger{Deployment: "daily-report", On: []string{runinfo.RunCompleted}, Workflow: report.OrdersReportWorkflow, TaskQueue: queue,
		Parameters: map[string]any{"from": "1999-01-01", "to": "1999-01-01", "timezone": "UTC"}}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue,
		Memo:                  map[string]any{runinfo.MemoTriggers: []runinfo.Trigger{down}},
		TypedSearchAttributes: temporal.NewSearchAttributes(runinfo.DeploymentKey.ValueSet("production-etl"))},
		datapipeline.WorkflowType, datapipeline.Params{BatchSize: 20, SourceURL: "demo://orders"})
	require.NoError(t, err)
	require.NoError(t, g.dir.Wait(ctx, point), "the upstream run's trigger is reached")
	w.kill()
	figures.kills.Add(1)
	require.NoError(t, g.dir.Release(point))
	w.restart()

	require.NoError(t, run.Get(ctx, nil), "the upstream run completes on the new worker")
	downID := trigger.WorkflowID(down.Deployment, down.Index, runinfo.RunRef{WorkflowID: id, RunID: run.GetRunID()})
	var res report.Result
	require.NoError(t, c.GetWorkflow(ctx, downID, "").Get(ctx, &res), "the downstream run started and completed")
	require.Equal(t, "UTC", res.Timezone)
	require.Eventually(t, func() bool {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: "default", Query: fmt.Sprintf("WorkflowId = %q", downID)})
		return err == nil && resp.GetCount() >= 1
	}, time.Minute, 100*time.Millisecond, "visibility lists the downstream run")
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: fmt.Sprintf("WorkflowId = %q", downID)})
	require.NoError(t, err)
	require.Equal(t, int64(1), resp.GetCount(), "exactly one downstream run")
}
