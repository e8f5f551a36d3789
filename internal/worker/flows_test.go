package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

type noParams struct{}

// callShared runs the activity both test flows declare.
func callShared(ctx workflow.Context, _ noParams) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var n int
	err := workflow.ExecuteActivity(ctx, "Shared", nil).Get(ctx, &n)
	return n, err
}

// shared declares the activity "Shared": it returns the chunk size of the
// dependencies it was built on.
func shared(d worker.Deps) []worker.Activity {
	return []worker.Activity{{Name: "Shared", Func: func(context.Context) (int, error) { return d.ChunkRecords, nil }}}
}

// TestRegistry: the flows' contracts keep the registration order and the
// name checks of flow.NewRegistry; Register builds each flow's activities
// on the worker's dependencies and registers an activity two flows share
// once.
func TestRegistry(t *testing.T) {
	a := worker.Flow{Flow: flow.New("Alpha", callShared, flow.Options{}), Activities: shared}
	b := worker.Flow{Flow: flow.New("Beta", callShared, flow.Options{}), Activities: shared}
	children := worker.Flow{Flow: flow.New("Gamma", callShared, flow.Options{})} // no activities of its own

	_, err := worker.NewRegistry(a, a)
	require.ErrorContains(t, err, "two flows are called Alpha")
	_, err = worker.NewRegistry(a, worker.Flow{})
	require.ErrorContains(t, err, "a flow without a name")

	r := worker.MustRegistry(a, b, children)
	assert.Equal(t, []string{"Alpha", "Beta", "Gamma"}, r.Flows().Names())

	for _, name := range r.Flows().Names() {
		t.Run(name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			r.Register(env, worker.Deps{ChunkRecords: 7})
			env.ExecuteWorkflow(name, nil)
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var n int
			require.NoError(t, env.GetWorkflowResult(&n))
			assert.Equal(t, 7, n, "the activity is built on the deps given to Register")
		})
	}

	// A real worker refuses an activity name registered twice; it is
	// never started here, so it needs no server.
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: conn.QuietLogger()})
	require.NoError(t, err)
	defer c.Close()
	assert.NotPanics(t, func() { r.Register(sdkworker.New(c, "q", sdkworker.Options{}), worker.Deps{}) })
}
