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

// chain: report starts after load, audit after report (load -> report ->
// audit), and audit after load on failure too.
const chain = `deployments:
  - name: load
    parameters: {batch_size: 10}
  - name: report
    workflow: OrdersReport
    parameters: {timezone: America/Chicago}
    notify: [{url_env: REPORT_HOOK, events: [failed]}]
    triggers:
      - after: load
        delay: 10m
        parameters:
          to: "{{ upstream.result.last_day }}"
  - name: audit
    triggers:
      - after: report
        on: [failed, cancelled]
        parameters:
          source_url: "demo://{{ upstream.params.timezone }}"
          batch_size: 7
      - after: load
        on: [failed]
`

func chainManifest(t *testing.T) *deployments.Manifest {
	t.Helper()
	m, err := deployments.Parse(flows.Registry.Flows(), "chain.yaml", []byte(chain))
	require.NoError(t, err)
	return m
}

func TestTriggersInTheMemo(t *testing.T) {
	m := chainManifest(t)
	get := func(name string) deployments.Deployment {
		d, err := m.Get(name)
		require.NoError(t, err)
		return d
	}
	audit0 := runinfo.Trigger{
		Deployment: "audit", Index: 0, On: []string{runinfo.EventFailed, runinfo.EventCancelled},
		Workflow: "DataPipeline", TaskQueue: runinfo.TaskQueue,
		Parameters: map[string]any{"batch_size": int64(7)},
		Templates:  map[string]string{"source_url": "demo://{{ upstream.params.timezone }}"},
		Summary:    "audit · batch_size=7 · source_url=demo://{{ upstream.params.timezone }}",
	}
	audit0.Details = starter.Describe(get("audit"), map[string]any{"batch_size": int64(7), "source_url": "demo://{{ upstream.params.timezone }}"}).Details
	report := runinfo.Trigger{
		Deployment: "report", Index: 0, On: []string{runinfo.EventCompleted}, Delay: 10 * time.Minute,
		Workflow: "OrdersReport", TaskQueue: runinfo.TaskQueue,
		Parameters: map[string]any{"timezone": "America/Chicago"},
		Templates:  map[string]string{"to": "{{ upstream.result.last_day }}"},
		Notify:     []runinfo.Webhook{{URLEnv: "REPORT_HOOK", Events: []string{runinfo.EventFailed}}},
		Triggers:   []runinfo.Trigger{audit0},
		Summary:    "report · to={{ upstream.result.last_day }} · timezone=America/Chicago",
	}
	report.Details = starter.Describe(get("report"), map[string]any{"timezone": "America/Chicago", "to": "{{ upstream.result.last_day }}"}).Details
	audit1 := runinfo.Trigger{
		Deployment: "audit", Index: 1, On: []string{runinfo.EventFailed},
		Workflow: "DataPipeline", TaskQueue: runinfo.TaskQueue,
		Parameters: map[string]any{"batch_size": int64(100), "source_url": "demo://orders"},
		Summary:    "audit · batch_size=100 · source_url=demo://orders",
	}
	audit1.Details = starter.Describe(get("audit"), audit1.Parameters).Details

	memo := starter.Memo(get("load"))
	assert.Equal(t, []runinfo.Trigger{report, audit1}, memo[runinfo.MemoTriggers], "load's runs start report (whose runs start audit) and audit")
	assert.Equal(t, []runinfo.Trigger{audit0}, starter.Memo(get("report"))[runinfo.MemoTriggers])
	assert.NotContains(t, starter.Memo(get("audit")), runinfo.MemoTriggers, "nothing starts after audit")
	assert.NotContains(t, starter.Memo(deployments.Deployment{Name: "load"}), runinfo.MemoTriggers, "a deployment made by hand has no manifest")
}

// A run started by hand carries the triggers in its memo.
func TestStartCarriesTriggers(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := starter.Start(ctx, c, namespace, chainManifest(t), starter.Request{Deployment: "load"})
	require.NoError(t, err)
	terminateOnCleanup(t, c, s)
	desc, err := c.DescribeWorkflow(ctx, s.WorkflowID, s.RunID)
	require.NoError(t, err)
	var got []runinfo.Trigger
	require.NoError(t, desc.GetMemoValue(runinfo.MemoTriggers, &got))
	require.Len(t, got, 2)
	assert.Equal(t, "report", got[0].Deployment)
	assert.Equal(t, 10*time.Minute, got[0].Delay)
	require.Len(t, got[0].Triggers, 1)
	assert.Equal(t, "audit", got[0].Triggers[0].Deployment, "report's own triggers ride along")
	assert.Equal(t, map[string]string{"source_url": "demo://{{ upstream.params.timezone }}"}, got[0].Triggers[0].Templates)
	assert.Equal(t, "audit", got[1].Deployment)
}
