package starter_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/starter"
)

// retryManifest has a deployment with a named source, whose definition is
// a hidden part of the input the retry must carry over unchanged.
const retryManifest = `
sources:
  shop-orders:
    url: https://api.example.com/v1/orders
    records: data.orders
    paginate: {style: cursor, cursor_param: starting_after, next: meta.next_cursor}
    auth: {bearer_env: SHOP_TOKEN}
deployments:
  - name: retry-shop
    task_queue: tq-starter-retry
    parameters:
      batch_size: 10
      source_url: source:shop-orders
  - name: retry-report
    workflow: OrdersReport
    task_queue: tq-starter-retry-report
    parameters:
      timezone: America/Chicago
`

// startInputJSON is the raw JSON input of a run.
func startInputJSON(t *testing.T, c client.Client, workflowID, runID string) string {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, it.HasNext())
	ev, err := it.Next()
	require.NoError(t, err)
	p := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	require.Len(t, p, 1)
	return string(p[0].GetData())
}

// userMetadata returns a run's static summary and details.
func userMetadata(t *testing.T, c client.Client, workflowID, runID string) [2]string {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, it.HasNext())
	ev, err := it.Next()
	require.NoError(t, err)
	var out [2]string
	for i, p := range []*commonpb.Payload{ev.GetUserMetadata().GetSummary(), ev.GetUserMetadata().GetDetails()} {
		require.NotNil(t, p)
		require.NoError(t, json.Unmarshal(p.GetData(), &out[i]))
	}
	return out
}

// ended starts a run of a deployment and terminates it: no worker runs
// here, and only an ended run can be retried.
func ended(t *testing.T, c client.Client, m *deployments.Manifest, req starter.Request) starter.Started {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := starter.Start(ctx, c, namespace, m, req)
	require.NoError(t, err)
	require.NoError(t, c.TerminateWorkflow(ctx, s.WorkflowID, s.RunID, "test: an ended run to retry"))
	return s
}

func TestRetry(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	m, err := deployments.Parse(flows.Registry.Flows(), "retry.yaml", []byte(retryManifest))
	require.NoError(t, err)
	retry := func(req starter.RetryRequest) (starter.Started, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := starter.Retry(ctx, c, namespace, m, req)
		if err == nil {
			terminateOnCleanup(t, c, s)
		}
		return s, err
	}

	t.Run("same deployment, flow, queue and input; linked", func(t *testing.T) {
		for _, tc := range []struct{ deployment, params string }{
			{"retry-shop", "batch_size=7"},
			{"retry-report", "from=2026-11-02"},
		} {
			t.Run(tc.deployment, func(t *testing.T) {
				orig := ended(t, c, m, starter.Request{Deployment: tc.deployment, Params: []string{tc.params},
					WorkflowID: testutil.UniqueID("retry-orig-" + tc.deployment)})
				s, err := retry(starter.RetryRequest{WorkflowID: orig.WorkflowID})
				require.NoError(t, err)
				assert.NotEqual(t, orig.WorkflowID, s.WorkflowID, "a retry is a new run with its own ID")
				assert.Regexp(t, `^`+tc.deployment+`-\d{8}T\d{6}Z-[0-9a-f]{12}$`, s.WorkflowID)
				assert.Equal(t, orig.Deployment, s.Deployment)
				assert.Equal(t, orig.Workflow, s.Workflow)
				assert.Equal(t, orig.TaskQueue, s.TaskQueue)
				assert.Equal(t, runinfo.RetryOf(orig.WorkflowID, orig.RunID), s.RetryOf)
				assert.JSONEq(t, startInputJSON(t, c, orig.WorkflowID, orig.RunID), startInputJSON(t, c, s.WorkflowID, s.RunID),
					"exactly the original's input, hidden parts (a named source's definition) included")

				desc, err := c.DescribeWorkflow(context.Background(), s.WorkflowID, s.RunID)
				require.NoError(t, err)
				assert.Equal(t, orig.Workflow, desc.WorkflowType.Name)
				assert.Equal(t, orig.TaskQueue, desc.TaskQueueName)
				dep, _ := desc.TypedSearchAttributes.GetKeyword(runinfo.DeploymentKey)
				assert.Equal(t, tc.deployment, dep)
				link, _ := desc.TypedSearchAttributes.GetKeyword(starter.RetryOfKey)
				assert.Equal(t, runinfo.RetryOf(orig.WorkflowID, orig.RunID), link)
				var memo string
				require.NoError(t, json.Unmarshal(desc.RawResponse.GetWorkflowExecutionInfo().GetMemo().GetFields()[runinfo.MemoRetryOf].GetData(), &memo))
				assert.Equal(t, link, memo)

				// The Web UI's summary is the original's; the details say
				// which run it retries, then what any run says.
				origMeta, retryMeta := userMetadata(t, c, orig.WorkflowID, orig.RunID), userMetadata(t, c, s.WorkflowID, s.RunID)
				assert.NotEmpty(t, origMeta[0])
				assert.Equal(t, origMeta[0], retryMeta[0], "summary")
				assert.Equal(t, "**Retry of:** `"+orig.WorkflowID+"` (run `"+orig.RunID+"`)\n\n"+origMeta[1], retryMeta[1], "details")
			})
		}
	})

	t.Run("a run ID, and a given new ID", func(t *testing.T) {
		id := testutil.UniqueID("retry-runid")
		first := ended(t, c, m, starter.Request{Deployment: "retry-shop", Params: []string{"batch_size=1"}, WorkflowID: id})
		ended(t, c, m, starter.Request{Deployment: "retry-shop", Params: []string{"batch_size=2"}, WorkflowID: id})
		newID := testutil.UniqueID("retry-runid-new")
		s, err := retry(starter.RetryRequest{WorkflowID: id, RunID: first.RunID, NewWorkflowID: newID})
		require.NoError(t, err)
		assert.Equal(t, newID, s.WorkflowID)
		assert.EqualValues(t, 1, s.Params["batch_size"], "the parameters of the run named, not the latest")
		assert.Equal(t, runinfo.RetryOf(id, first.RunID), s.RetryOf)
	})

	t.Run("bad input starts nothing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		running, err := starter.Start(ctx, c, namespace, m, starter.Request{Deployment: "retry-shop", WorkflowID: testutil.UniqueID("retry-running")})
		require.NoError(t, err)
		terminateOnCleanup(t, c, running)

		byHand := testutil.UniqueID("retry-by-hand")
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: byHand, TaskQueue: "tq-starter-retry"}, datapipeline.WorkflowType,
			map[string]any{"batch_size": 5, "source_url": "demo://orders"})
		require.NoError(t, err)
		require.NoError(t, c.TerminateWorkflow(ctx, byHand, run.GetRunID(), "test"))

		other, err := deployments.Parse(flows.Registry.Flows(), "other.yaml", []byte("deployments:\n  - name: somewhere-else\n"))
		require.NoError(t, err)
		gone := ended(t, c, m, starter.Request{Deployment: "retry-shop", WorkflowID: testutil.UniqueID("retry-gone")})

		badParams := testutil.UniqueID("retry-bad-params")
		run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: badParams, TaskQueue: "tq-starter-retry",
			TypedSearchAttributes: starterAttributes("retry-shop")}, datapipeline.WorkflowType, map[string]any{"batch_size": 0, "source_url": "demo://orders"})
		require.NoError(t, err)
		require.NoError(t, c.TerminateWorkflow(ctx, badParams, run.GetRunID(), "test"))

		cases := []struct {
			name string
			m    *deployments.Manifest
			req  starter.RetryRequest
			want string
		}{
			{"unknown workflow ID", m, starter.RetryRequest{WorkflowID: "no-such-run"}, `no run no-such-run in namespace default (list runs with: blueprint runs ls)`},
			{"unknown run ID", m, starter.RetryRequest{WorkflowID: gone.WorkflowID, RunID: "0194b7a2-0000-0000-0000-000000000000"}, `no run ` + gone.WorkflowID + ` (run 0194b7a2-0000-0000-0000-000000000000)`},
			{"running", m, starter.RetryRequest{WorkflowID: running.WorkflowID}, `run ` + running.WorkflowID + ` (run ` + running.RunID + `) has not ended; only an ended run can be retried (cancel it first: blueprint runs cancel ` + running.WorkflowID + `)`},
			{"no deployment", m, starter.RetryRequest{WorkflowID: byHand}, `has no deployment (search attribute BlueprintDeployment): it was not started by blueprint or a schedule`},
			{"deployment not in the manifest", other, starter.RetryRequest{WorkflowID: gone.WorkflowID}, `run ` + gone.WorkflowID + ` is a run of deployment "retry-shop": unknown deployment "retry-shop" in other.yaml`},
			{"parameters that break the rules", m, starter.RetryRequest{WorkflowID: badParams}, `its parameters do not pass the DataPipeline flow's rules, so a retry would fail the same way: invalid parameters: batch_size=0: must be at least 1`},
			{"bad new workflow ID", m, starter.RetryRequest{WorkflowID: gone.WorkflowID, NewWorkflowID: " "}, `--workflow-id: is blank`},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.req.NewWorkflowID == "" {
					tc.req.NewWorkflowID = testutil.UniqueID("retry-bad-" + string(rune('a'+i)))
				}
				_, err := starter.Retry(ctx, c, namespace, tc.m, tc.req)
				require.Error(t, err)
				assert.True(t, badinput.Is(err), "%v", err)
				assert.Contains(t, err.Error(), tc.want)
				assert.NotContains(t, err.Error(), "\n")
				if tc.req.NewWorkflowID != " " {
					requireNotStarted(t, c, tc.req.NewWorkflowID)
				}
			})
		}
	})
}

// starterAttributes are the search attributes of a start of deployment.
func starterAttributes(deployment string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(runinfo.DeploymentKey.ValueSet(deployment))
}
