package starter_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
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

// Without the Temporal CLI the package stops at once, with one line.
func TestMain(m *testing.M) { os.Exit(testutil.RequireTemporal(m)) }

const namespace = "default"

func TestOptions(t *testing.T) {
	d := production(t)
	params, err := d.Params()
	require.NoError(t, err)
	o := starter.Options(d, "my-id", params)
	assert.Equal(t, "my-id", o.ID)
	assert.Equal(t, runinfo.TaskQueue, o.TaskQueue)
	assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, o.WorkflowIDConflictPolicy)
	assert.True(t, o.WorkflowExecutionErrorWhenAlreadyStarted)
	assert.Zero(t, o.WorkflowExecutionTimeout, "runs may be long")
	v, ok := o.TypedSearchAttributes.GetKeyword(runinfo.DeploymentKey)
	assert.True(t, ok)
	assert.Equal(t, "production-etl", v)
	assert.Equal(t, starter.Describe(d, params).Summary, o.StaticSummary)
	assert.Equal(t, starter.Describe(d, params).Details, o.StaticDetails)
	assert.Equal(t, "production-etl · batch_size=1000 · source_url=demo://orders", o.StaticSummary)

	generated := starter.Options(d, "", params)
	assert.Regexp(t, `^production-etl-\d{8}T\d{6}Z-[0-9a-f]{12}$`, generated.ID)
	assert.NotEqual(t, generated.ID, starter.Options(d, "", params).ID)

	assert.Equal(t, runinfo.TaskQueue, starter.Options(deployments.Deployment{Flows: flows.Registry.Flows(), Name: "x"}, "", nil).TaskQueue)
	assert.Equal(t, "x-20260301T150405Z-", starter.NewWorkflowID("x", time.Date(2026, 3, 1, 9, 4, 5, 0, time.FixedZone("CST", -6*3600)))[:len("x-20260301T150405Z-")])
}

func TestUILink(t *testing.T) {
	t.Setenv("BLUEPRINT_UI_URL", "")
	assert.Equal(t, "http://localhost:8233/namespaces/default/workflows/production-etl-1/abc/history", starter.UILink("default", "production-etl-1", "abc"))
	assert.Equal(t, "http://localhost:8233/namespaces/my%20ns/workflows/a%2Fb%3Fc/r/history", starter.UILink("my ns", "a/b?c", "r"))
	t.Setenv("BLUEPRINT_UI_URL", "https://temporal.example.com/ui/")
	assert.Equal(t, "https://temporal.example.com/ui/namespaces/default/workflows/w/r/history", starter.UILink("default", "w", "r"))
}

// terminateOnCleanup terminates a run the test started; no worker runs
// here, so it would otherwise stay open until the server stops.
func terminateOnCleanup(t *testing.T, c client.Client, s starter.Started) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.TerminateWorkflow(ctx, s.WorkflowID, s.RunID, "test cleanup"); err != nil {
			t.Logf("terminate %s: %v", s.WorkflowID, err)
		}
	})
}

// requireStarted checks on the server that the run has the deployment's
// workflow type, task queue, search attribute and input.
func requireStarted(t *testing.T, c client.Client, s starter.Started, wantInput string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc, err := c.DescribeWorkflow(ctx, s.WorkflowID, s.RunID)
	require.NoError(t, err)
	assert.Equal(t, datapipeline.WorkflowType, desc.WorkflowType.Name)
	assert.Equal(t, s.TaskQueue, desc.TaskQueueName)
	deployment, ok := desc.TypedSearchAttributes.GetKeyword(runinfo.DeploymentKey)
	require.True(t, ok, "search attribute %s is set", runinfo.DeploymentSearchAttribute)
	assert.Equal(t, s.Deployment, deployment)
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	d, err := m.Get(s.Deployment)
	require.NoError(t, err)
	want := starter.Describe(d, s.Params)
	summary, err := desc.GetStaticSummary()
	require.NoError(t, err)
	assert.Equal(t, want.Summary, summary)
	details, err := desc.GetStaticDetails()
	require.NoError(t, err)
	assert.Equal(t, want.Details, details)

	iter := c.GetWorkflowHistory(ctx, s.WorkflowID, s.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, iter.HasNext())
	first, err := iter.Next()
	require.NoError(t, err)
	attrs := first.GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, attrs)
	require.Len(t, attrs.GetInput().GetPayloads(), 1)
	assert.JSONEq(t, wantInput, string(attrs.GetInput().GetPayloads()[0].GetData()))
}

func requireNotStarted(t *testing.T, c client.Client, workflowID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.DescribeWorkflow(ctx, workflowID, "")
	var notFound *serviceerror.NotFound
	require.True(t, errors.As(err, &notFound), "workflow %s must not exist, describe says: %v", workflowID, err)
}

func TestStart(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)

	t.Run("manifest values and overrides", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := starter.Start(ctx, c, namespace, m, starter.Request{
			Deployment: "production-etl",
			ParamsJSON: []byte(`{"batch_size": 50}`),
			Params:     []string{"source_url=demo://orders?seed=7"},
			WorkflowID: "start-test-overrides",
		})
		require.NoError(t, err)
		terminateOnCleanup(t, c, s)
		assert.Equal(t, "production-etl", s.Deployment)
		assert.Equal(t, "start-test-overrides", s.WorkflowID)
		assert.NotEmpty(t, s.RunID)
		assert.Equal(t, runinfo.TaskQueue, s.TaskQueue)
		assert.EqualValues(t, 50, s.Params["batch_size"])
		assert.Equal(t, "demo://orders?seed=7", s.Params["source_url"])
		requireStarted(t, c, s, `{"batch_size":50,"source_url":"demo://orders?seed=7"}`)
		desc, err := c.DescribeWorkflow(ctx, s.WorkflowID, s.RunID)
		require.NoError(t, err)
		summary, err := desc.GetStaticSummary()
		require.NoError(t, err)
		assert.Equal(t, "production-etl · batch_size=50 · source_url=demo://orders?seed=7", summary, "the final parameters, not the manifest's")

		// The same ID while the run is open is refused, and nothing new starts.
		_, err = starter.Start(ctx, c, namespace, m, starter.Request{Deployment: "production-etl", WorkflowID: s.WorkflowID})
		require.Error(t, err)
		assert.True(t, badinput.Is(err), "%v", err)
		assert.Contains(t, err.Error(), `workflow ID "start-test-overrides" is already in use by a running workflow (run `+s.RunID+")")
		desc, err = c.DescribeWorkflow(ctx, s.WorkflowID, "")
		require.NoError(t, err)
		assert.Equal(t, s.RunID, desc.WorkflowExecution.RunID)
	})

	t.Run("generated ID and defaults", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := starter.Start(ctx, c, namespace, m, starter.Request{Deployment: "adhoc-etl"})
		require.NoError(t, err)
		terminateOnCleanup(t, c, s)
		assert.Regexp(t, `^adhoc-etl-\d{8}T\d{6}Z-[0-9a-f]{12}$`, s.WorkflowID)
		requireStarted(t, c, s, `{"batch_size":100,"source_url":"demo://orders"}`)
	})

	t.Run("start delay", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		before := time.Now()
		s, err := starter.Start(ctx, c, namespace, m, starter.Request{Deployment: "adhoc-etl", WorkflowID: "start-test-delay", StartDelay: time.Hour})
		require.NoError(t, err)
		terminateOnCleanup(t, c, s)
		assert.Equal(t, time.Hour, s.StartDelay)
		desc, err := c.DescribeWorkflow(ctx, s.WorkflowID, s.RunID)
		require.NoError(t, err)
		info := desc.RawResponse.GetWorkflowExecutionInfo()
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, info.GetStatus())
		at := info.GetExecutionTime().AsTime()
		assert.WithinRange(t, at, before.Add(time.Hour-time.Second), time.Now().Add(time.Hour+time.Second), "the server starts it an hour from now")
		assert.Nil(t, desc.RawResponse.GetPendingWorkflowTask(), "nothing to do for a worker until then")

		_, err = starter.Start(ctx, c, namespace, m, starter.Request{Deployment: "adhoc-etl", WorkflowID: "start-test-delay-negative", StartDelay: -time.Second})
		require.Error(t, err)
		assert.True(t, badinput.Is(err), "%v", err)
		assert.Contains(t, err.Error(), "start delay -1s: must not be negative")
		requireNotStarted(t, c, "start-test-delay-negative")
	})

	t.Run("bad input starts nothing", func(t *testing.T) {
		cases := []struct {
			name string
			req  starter.Request
			want string
		}{
			{"unknown deployment", starter.Request{Deployment: "prod-etl"}, `unknown deployment "prod-etl"`},
			{"unknown parameter", starter.Request{Deployment: "production-etl", Params: []string{"batch=5"}}, `unknown parameter "batch"`},
			{"mistyped parameter", starter.Request{Deployment: "production-etl", Params: []string{"batch_size=ten"}}, `batch_size must be an integer, got "ten"`},
			{"invalid value", starter.Request{Deployment: "production-etl", ParamsJSON: []byte(`{"batch_size": 0}`)}, "batch_size=0: must be at least 1"},
			{"bad JSON", starter.Request{Deployment: "production-etl", ParamsJSON: []byte(`{"batch_size": 5,}`)}, "--params: parameters are not valid JSON"},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				tc.req.WorkflowID = "start-test-bad-" + string(rune('a'+i))
				_, err := starter.Start(ctx, c, namespace, m, tc.req)
				require.Error(t, err)
				assert.True(t, badinput.Is(err), "%v", err)
				assert.Contains(t, err.Error(), tc.want)
				requireNotStarted(t, c, tc.req.WorkflowID)
			})
		}
		for _, id := range []string{" ", strings.Repeat("x", starter.MaxWorkflowIDLength+1), "a\nb"} {
			_, err := starter.Start(context.Background(), c, namespace, m, starter.Request{Deployment: "production-etl", WorkflowID: id})
			require.Error(t, err)
			assert.True(t, badinput.Is(err), "%v", err)
			assert.Contains(t, err.Error(), "--workflow-id")
		}
	})
}

// TestStartRegistersSearchAttribute runs against a server that has never
// heard of BlueprintDeployment: the first start registers it.
func TestStartRegistersSearchAttribute(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Namespace: namespace, SearchAttributes: &temporal.SearchAttributes{}, Untuned: true})
	require.NoError(t, err)
	c := srv.Client()
	t.Cleanup(func() {
		c.Close()
		if err := srv.Stop(); err != nil {
			t.Logf("stop dev server: %v", err)
		}
	})

	registered := func() bool {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		require.NoError(t, err)
		all := true
		for _, name := range []string{runinfo.DeploymentSearchAttribute, runinfo.RetryOfSearchAttribute} {
			typ, ok := resp.GetCustomAttributes()[name]
			if ok {
				assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, typ, name)
			}
			all = all && ok
		}
		return all
	}
	require.False(t, registered(), "the server starts without the attributes")

	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	s, err := starter.Start(ctx, c, namespace, m, starter.Request{Deployment: "production-etl", WorkflowID: "sa-fallback"})
	require.NoError(t, err)
	terminateOnCleanup(t, c, s)
	assert.True(t, registered())
	requireStarted(t, c, s, `{"batch_size":1000,"source_url":"demo://orders"}`)

	// Registering again is a no-op, not an error.
	require.NoError(t, starter.EnsureSearchAttributes(ctx, c, namespace))
	err = starter.EnsureSearchAttributes(ctx, c, "")
	require.Error(t, err)
	assert.False(t, badinput.Is(err))
	err = starter.EnsureSearchAttributes(ctx, c, "no-such-namespace")
	require.Error(t, err)
	assert.True(t, regexp.MustCompile(`register search attribute BlueprintDeployment \(Keyword\) in namespace no-such-namespace`).MatchString(err.Error()), "%v", err)
}
