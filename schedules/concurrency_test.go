package schedules_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/schedules"
)

// The runs a schedule starts carry its deployment's concurrency limit, and
// a triggered deployment's; deploy updates the schedule when the limit or
// the strategy changed (also the downstream one's), and only then.
func TestScheduledRunsCarryConcurrency(t *testing.T) {
	name := testutil.UniqueID("limited")
	deleteSchedule(t, name)
	yaml := func(limit string, downLimit int) string {
		return fmt.Sprintf(`deployments:
  - name: %[1]s
    parameters: {batch_size: 10, source_url: "demo://orders"}
    schedule: {cron: "0 9 * * *"}
%[2]s  - name: %[1]s-report
    workflow: OrdersReport
    concurrency_limit: %[3]d
    triggers: [{after: %[1]s}]
`, name, limit, downLimit)
	}
	one := "    concurrency_limit: 1\n"
	plan, _ := deploy(t, manifest(t, yaml(one, 5)), false)
	require.Len(t, plan.Changes, 1)
	assert.Equal(t, schedules.Create, plan.Changes[0].Action)
	assert.Contains(t, plan.Changes[0].Diff, "concurrency: 1 (enqueue)")

	plan, _ = deploy(t, manifest(t, yaml(one, 5)), false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	// A run the schedule starts (deployment trigger; backfills alike) carries it.
	run, err := schedules.Trigger(ctx(t), srv.Client(), name, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = srv.Client().TerminateWorkflow(context.Background(), run.WorkflowID, run.RunID, "test cleanup")
	})
	d, err := srv.Client().DescribeWorkflow(ctx(t), run.WorkflowID, run.RunID)
	require.NoError(t, err)
	var got runinfo.Concurrency
	require.NoError(t, d.GetMemoValue(runinfo.MemoConcurrency, &got))
	assert.Equal(t, runinfo.Concurrency{Deployment: name, Limit: 1, Strategy: runinfo.CollisionEnqueue, TaskQueue: runinfo.TaskQueue}, got)
	var triggers []runinfo.Trigger
	require.NoError(t, d.GetMemoValue(runinfo.MemoTriggers, &triggers))
	require.Len(t, triggers, 1)
	require.NotNil(t, triggers[0].Concurrency)
	assert.Equal(t, 5, triggers[0].Concurrency.Limit, "the downstream run's own limit")

	steps := []struct {
		name, limit string
		downLimit   int
		diff        string
	}{
		{"the limit", "    concurrency_limit: 2\n", 5, "concurrency: 1 (enqueue) -> 2 (enqueue)"},
		{"the strategy", "    concurrency_limit: 2\n    collision_strategy: cancel_new\n", 5, "concurrency: 2 (enqueue) -> 2 (cancel_new)"},
		{"the default strategy spelt out", "    concurrency_limit: 2\n    collision_strategy: enqueue\n", 5, "concurrency: 2 (cancel_new) -> 2 (enqueue)"},
		{"removed", "", 5, "concurrency: 2 (enqueue) -> none"},
		{"the downstream's", "", 6, "triggers: changed (the parameters, webhooks, own triggers or concurrency limit of a deployment started after this one)"},
		{"added", one, 6, "concurrency: none -> 1 (enqueue)"},
	}
	for _, s := range steps {
		plan, _ = deploy(t, manifest(t, yaml(s.limit, s.downLimit)), false)
		assert.Equal(t, schedules.Update, plan.Changes[0].Action, s.name)
		assert.Equal(t, []string{s.diff}, plan.Changes[0].Diff, s.name)
		plan, _ = deploy(t, manifest(t, yaml(s.limit, s.downLimit)), false)
		assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "%s, then again: %v", s.name, plan.Changes[0].Diff)
	}
}
