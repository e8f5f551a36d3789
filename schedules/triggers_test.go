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

// The runs a schedule starts carry the triggers that name its deployment
// (a chain: name -> report -> audit), and deploy updates the schedule when
// only a trigger changed, also one further down the chain, and leaves it
// unchanged otherwise.
func TestScheduledRunsCarryTriggers(t *testing.T) {
	name := testutil.UniqueID("upstream")
	deleteSchedule(t, name)
	yaml := func(delay, auditBatch string) string {
		return fmt.Sprintf(`deployments:
  - name: %[1]s
    parameters: {batch_size: 10, source_url: "demo://orders"}
    schedule: {cron: "0 9 * * *"}
  - name: %[1]s-report
    workflow: OrdersReport
    triggers:
      - after: %[1]s
        delay: %[2]s
        parameters: {to: "{{ upstream.result.last_day }}"}
  - name: %[1]s-audit
    triggers:
      - after: %[1]s-report
        on: [failed]
        parameters: {batch_size: %[3]s}
`, name, delay, auditBatch)
	}
	plan, _ := deploy(t, manifest(t, yaml("10m", "7")), false)
	require.Len(t, plan.Changes, 1, "only the upstream deployment has a schedule")
	assert.Equal(t, schedules.Create, plan.Changes[0].Action)
	assert.Contains(t, plan.Changes[0].Diff, "triggers: "+name+"-report (on completed, 10m0s later)")

	plan, _ = deploy(t, manifest(t, yaml("10m", "7")), false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	// A run the schedule starts (deployment trigger; backfills alike) carries them.
	run, err := schedules.Trigger(ctx(t), srv.Client(), name, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = srv.Client().TerminateWorkflow(context.Background(), run.WorkflowID, run.RunID, "test cleanup")
	})
	d, err := srv.Client().DescribeWorkflow(ctx(t), run.WorkflowID, run.RunID)
	require.NoError(t, err)
	var got []runinfo.Trigger
	require.NoError(t, d.GetMemoValue(runinfo.MemoTriggers, &got))
	require.Len(t, got, 1)
	assert.Equal(t, name+"-report", got[0].Deployment)
	assert.Equal(t, map[string]string{"to": "{{ upstream.result.last_day }}"}, got[0].Templates)
	require.Len(t, got[0].Triggers, 1)
	assert.Equal(t, name+"-audit", got[0].Triggers[0].Deployment)
	assert.EqualValues(t, 7, got[0].Triggers[0].Parameters["batch_size"])

	// A trigger's delay changes the list.
	plan, _ = deploy(t, manifest(t, yaml("20m", "7")), false)
	assert.Equal(t, schedules.Update, plan.Changes[0].Action)
	assert.Equal(t, []string{"triggers: " + name + "-report (on completed, 10m0s later) -> " + name + "-report (on completed, 20m0s later)"}, plan.Changes[0].Diff)
	plan, _ = deploy(t, manifest(t, yaml("20m", "7")), false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	// So does one further down the chain.
	plan, _ = deploy(t, manifest(t, yaml("20m", "8")), false)
	assert.Equal(t, schedules.Update, plan.Changes[0].Action)
	assert.Equal(t, []string{"triggers: changed (the parameters, webhooks, own triggers or concurrency limit of a deployment started after this one)"}, plan.Changes[0].Diff)
	plan, _ = deploy(t, manifest(t, yaml("20m", "8")), false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	// Removing them is a change too.
	plan, _ = deploy(t, manifest(t, scheduledAlone(name)), false)
	assert.Equal(t, []string{"triggers: " + name + "-report (on completed, 20m0s later) -> (none)"}, plan.Changes[0].Diff)
	plan, _ = deploy(t, manifest(t, scheduledAlone(name)), false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)
}

func scheduledAlone(name string) string {
	return fmt.Sprintf(`deployments:
  - name: %s
    parameters: {batch_size: 10, source_url: "demo://orders"}
    schedule: {cron: "0 9 * * *"}
`, name)
}
