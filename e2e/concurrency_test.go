//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/semaphore"
)

// TestConcurrencySlotSurvivesAKill SIGKILLs the worker while the run
// holding a deployment's only slot is in Extract, with another run of the
// deployment queued behind it: the slot stays taken while the first run
// is open (the next worker resumes it), and the queued run is admitted
// only once it closed.
func TestConcurrencySlotSurvivesAKill(t *testing.T) {
	// Not in parallel: its server starts while no other test kills
	// workers.
	wh := sqliteWarehouse(t)
	srv := startServer(t, false)
	g := newGates(t)
	w := startWorker(t, "concurrency-kill", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, g.env())
	c := srv.client()
	ctx := testContext(t)
	lim := runinfo.Concurrency{Deployment: "limited-etl", Limit: 1, Strategy: runinfo.CollisionEnqueue, TaskQueue: runinfo.TaskQueue}
	start := func(id string) client.WorkflowRun {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: lim.TaskQueue,
			Memo:                  map[string]any{runinfo.MemoConcurrency: lim},
			TypedSearchAttributes: temporal.NewSearchAttributes(runinfo.DeploymentKey.ValueSet(lim.Deployment))},
			datapipeline.WorkflowType, datapipeline.Params{BatchSize: 200, SourceURL: "demo://orders"})
		require.NoError(t, err)
		return run
	}
	point := gate.Activity("holder", datapipeline.ExtractActivity)
	require.NoError(t, g.dir.Hold(point))
	holder := start("holder")
	require.NoError(t, g.dir.Wait(ctx, point))
	queued := start("queued")
	w.kill()
	figures.kills.Add(1)
	require.NoError(t, g.dir.Release(point))
	w.restart()

	require.NoError(t, holder.Get(ctx, nil), "the holder completes on the new worker")
	require.NoError(t, queued.Get(ctx, nil), "the queued run gets the slot")
	closed := closeTime(t, c, "holder", holder.GetRunID())
	admitted := admissionTime(t, c, "queued", queued.GetRunID())
	require.False(t, admitted.Before(closed), "the slot was kept until the holder closed (admitted %s, closed %s)", admitted, closed)
}

func closeTime(t *testing.T, c client.Client, id, runID string) time.Time {
	t.Helper()
	for _, e := range events(t, c, id, runID) {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
			return e.GetEventTime().AsTime()
		}
	}
	t.Fatalf("%s did not complete", id)
	return time.Time{}
}

func admissionTime(t *testing.T, c client.Client, id, runID string) time.Time {
	t.Helper()
	for _, e := range events(t, c, id, runID) {
		if s := e.GetWorkflowExecutionSignaledEventAttributes(); s != nil && s.GetSignalName() == semaphore.GrantSignal {
			var gr semaphore.Grant
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(s.GetInput(), &gr))
			if gr.Admitted {
				return e.GetEventTime().AsTime()
			}
		}
	}
	t.Fatalf("%s was not admitted", id)
	return time.Time{}
}
