package starter_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/starter"
)

// limited: load has a limit and starts report (limited too, on its own
// queue) after each run; free has none.
const limited = `deployments:
  - name: load
    concurrency_limit: 1
  - name: report
    workflow: OrdersReport
    task_queue: reports
    concurrency_limit: 3
    collision_strategy: cancel_new
    triggers: [{after: load}]
  - name: free
    triggers: [{after: report}]
`

func limitedManifest(t *testing.T) *deployments.Manifest {
	t.Helper()
	m, err := deployments.Parse(flows.Registry.Flows(), "limited.yaml", []byte(limited))
	require.NoError(t, err)
	return m
}

func TestConcurrencyInTheMemo(t *testing.T) {
	m := limitedManifest(t)
	get := func(name string) deployments.Deployment {
		d, err := m.Get(name)
		require.NoError(t, err)
		return d
	}
	loadLimit := &runinfo.Concurrency{Deployment: "load", Limit: 1, Strategy: runinfo.CollisionEnqueue, TaskQueue: runinfo.TaskQueue}
	reportLimit := &runinfo.Concurrency{Deployment: "report", Limit: 3, Strategy: runinfo.CollisionCancelNew, TaskQueue: "reports"}

	memo := starter.Memo(get("load"))
	assert.Equal(t, loadLimit, memo[runinfo.MemoConcurrency])
	triggers, _ := memo[runinfo.MemoTriggers].([]runinfo.Trigger)
	require.Len(t, triggers, 1)
	assert.Equal(t, reportLimit, triggers[0].Concurrency, "a triggered run carries its own deployment's limit")
	require.Len(t, triggers[0].Triggers, 1)
	assert.Nil(t, triggers[0].Triggers[0].Concurrency, "free has no limit")

	assert.Equal(t, reportLimit, starter.Memo(get("report"))[runinfo.MemoConcurrency])
	assert.NotContains(t, starter.Memo(get("free")), runinfo.MemoConcurrency)
	assert.Equal(t, loadLimit, starter.Options(get("load"), "", nil).Memo[runinfo.MemoConcurrency], "what starts and retries a run")
}

// A run started by hand carries the limit in its memo.
func TestStartCarriesConcurrency(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := starter.Start(ctx, c, namespace, limitedManifest(t), starter.Request{Deployment: "report"})
	require.NoError(t, err)
	terminateOnCleanup(t, c, s)
	desc, err := c.DescribeWorkflow(ctx, s.WorkflowID, s.RunID)
	require.NoError(t, err)
	var got runinfo.Concurrency
	require.NoError(t, desc.GetMemoValue(runinfo.MemoConcurrency, &got))
	assert.Equal(t, runinfo.Concurrency{Deployment: "report", Limit: 3, Strategy: runinfo.CollisionCancelNew, TaskQueue: "reports"}, got)
}
