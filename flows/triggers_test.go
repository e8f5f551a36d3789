package flows_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/trigger"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// echoParams are the downstream test flow's: what the trigger passed.
type echoParams struct {
	Note  string `json:"note" help:"a text"`
	Count int    `json:"count" help:"a number"`
}

// echo is a downstream flow that returns its parameters.
var echo = worker.Flow{Flow: flow.New("TriggerEcho", func(_ workflow.Context, p echoParams) (echoParams, error) { return p, nil }, flow.Options{})}

// TestTriggers starts runs of each shipped flow whose memo carries
// triggers, as the CLI and the schedules start a deployment that other
// deployments' triggers name, and checks the run's end starts each
// matching trigger's run once: under the derived workflow ID, with the
// templates rendered from the upstream run, after its delay, named in
// the upstream run's log and carrying the upstream run in its memo.
func TestTriggers(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	queue := "triggers-" + t.Name()
	reg, err := worker.NewRegistry(flows.DataPipeline, flows.OrdersReport, flows.NightlyETL, echo)
	require.NoError(t, err)
	st := flowstest.Start(t, c, queue, reg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	after := func(deployment string, index int, on string, delay time.Duration, templates map[string]string) runinfo.Trigger {
		return runinfo.Trigger{Deployment: deployment, Index: index, On: []string{on}, Delay: delay, Workflow: echo.Name, TaskQueue: queue,
			Parameters: map[string]any{"count": 7}, Templates: templates, Summary: "echo " + deployment}
	}
	for _, tc := range []struct {
		name     string
		workflow string
		params   any
		status   string
		triggers []runinfo.Trigger
		want     map[string]echoParams // by downstream deployment, the runs that must start
	}{
		{"DataPipeline completed", datapipeline.WorkflowType, datapipeline.Params{BatchSize: 50, SourceURL: "demo://orders"}, runinfo.RunCompleted,
			[]runinfo.Trigger{
				after("b-now", 0, runinfo.RunCompleted, 0, map[string]string{"note": "after {{ upstream.deployment }} {{ upstream.status }}", "count": "{{ upstream.params.batch_size }}"}),
				after("b-later", 0, runinfo.RunCompleted, 2*time.Second, map[string]string{"count": "{{ upstream.result.extracted }}"}),
				after("c-on-failure", 0, runinfo.RunFailed, 0, nil),
			},
			map[string]echoParams{"b-now": {Note: "after up completed", Count: 50}, "b-later": {Count: 50}}},
		{"DataPipeline failed", datapipeline.WorkflowType, datapipeline.Params{BatchSize: 50, SourceURL: "demo://orders?fail=always"}, runinfo.RunFailed,
			[]runinfo.Trigger{
				after("b-now", 0, runinfo.RunCompleted, 0, nil),
				after("c-on-failure", 0, runinfo.RunFailed, 0, map[string]string{"note": "{{ upstream.status }}"}),
			},
			map[string]echoParams{"c-on-failure": {Note: "failed", Count: 7}}},
		{"OrdersReport", report.OrdersReportWorkflow, report.Params{From: day1999, To: day1999, Timezone: "America/Chicago"}, runinfo.RunCompleted,
			[]runinfo.Trigger{after("after-report", 0, runinfo.RunCompleted, 0, map[string]string{"note": "{{ upstream.params.timezone }}: {{ upstream.result.orders }} orders"})},
			map[string]echoParams{"after-report": {Note: "America/Chicago: 0 orders", Count: 7}}},
		{"NightlyETL", report.NightlyETLWorkflow, report.NightlyParams{Sources: []string{"demo://orders?seed=9"}, BatchSize: 20, MaxParallel: 1, Timezone: "UTC"}, runinfo.RunCompleted,
			[]runinfo.Trigger{after("after-nightly", 2, runinfo.RunCompleted, 0, map[string]string{"count": "{{ upstream.result.loaded }}"})},
			map[string]echoParams{"after-nightly": {Count: 1}}},
		{"a user's flow", echo.Name, echoParams{Note: "hi", Count: 3}, runinfo.RunCompleted,
			[]runinfo.Trigger{after("after-user", 0, runinfo.RunCompleted, 0, map[string]string{"note": "{{ upstream.params.note }}", "count": "{{ upstream.result.count }}"})},
			map[string]echoParams{"after-user": {Note: "hi", Count: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("up-%d", time.Now().UnixNano())
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue,
				Memo:                  map[string]any{runinfo.MemoTriggers: tc.triggers},
				TypedSearchAttributes: deploymentAttr("up")}, tc.workflow, tc.params)
			require.NoError(t, err)
			_ = run.Get(ctx, nil)
			up := runinfo.RunRef{WorkflowID: id, RunID: run.GetRunID()}

			lines := logLines(t, st, id, run.GetRunID())
			for _, tr := range tc.triggers {
				downID := trigger.WorkflowID(tr.Deployment, tr.Index, up)
				want, starts := tc.want[tr.Deployment]
				if !starts {
					_, err := c.DescribeWorkflow(ctx, downID, "")
					assert.Error(t, err, "%s does not start when the upstream run %s", tr.Deployment, tc.status)
					continue
				}
				var got echoParams
				require.NoError(t, c.GetWorkflow(ctx, downID, "").Get(ctx, &got), tr.Deployment)
				assert.Equal(t, want, got, "%s: the rendered parameters", tr.Deployment)
				desc, err := c.DescribeWorkflow(ctx, downID, "")
				require.NoError(t, err)
				var by runinfo.TriggeredBy
				require.NoError(t, converterFor(t).FromPayload(desc.RawResponse.GetWorkflowExecutionInfo().GetMemo().GetFields()[runinfo.MemoTriggeredBy], &by))
				assert.Equal(t, runinfo.TriggeredBy{Deployment: "up", Run: up, Status: tc.status, Trigger: tr.Index}, by)
				dep, _ := desc.TypedSearchAttributes.GetKeyword(runinfo.DeploymentKey)
				assert.Equal(t, tr.Deployment, dep)
				if tr.Delay > 0 {
					ei := desc.RawResponse.GetWorkflowExecutionInfo()
					assert.GreaterOrEqual(t, ei.GetExecutionTime().AsTime().Sub(ei.GetStartTime().AsTime()), tr.Delay, "the start waited its delay")
				}
				hasLine(t, lines, "info trigger 0 triggered "+tr.Deployment+": run "+downID)
			}
		})
	}
}

var (
	day1999 = flow.DateOf(time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC))
)

func deploymentAttr(name string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(runinfo.DeploymentKey.ValueSet(name))
}

func converterFor(testing.TB) converter.DataConverter { return converter.GetDefaultDataConverter() }
