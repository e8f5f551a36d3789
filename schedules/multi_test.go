package schedules_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/schedules"
)

// multi is a deployment with three schedules: a cron, a 15m interval with
// its own batch_size, and an hourly interval at minute 7, paused.
const multi = `deployments:
  - name: multi
    task_queue: tq-multi
    parameters: {batch_size: 1000, source_url: "demo://orders"}
    schedules:
      - cron: "0 9 * * *"
        timezone: America/Chicago
      - slug: every-15m
        interval: 15m
        parameters: {batch_size: 50}
      - interval: 1h
        offset: 7m
        timezone: Asia/Kolkata
        active: false
`

func TestDeploySeveralSchedules(t *testing.T) {
	ids := []string{"multi", "multi-every-15m", "multi-3"}
	for _, id := range ids {
		deleteSchedule(t, id)
	}
	m := manifest(t, multi)

	plan, applied := deploy(t, m, false)
	assert.Equal(t, map[string]schedules.Action{"multi": schedules.Create, "multi-every-15m": schedules.Create, "multi-3": schedules.Create}, actions(applied))
	require.Len(t, plan.Changes, 3)
	assert.Equal(t, []string{"1", "every-15m", "3"}, []string{plan.Changes[0].Slug, plan.Changes[1].Slug, plan.Changes[2].Slug})
	assert.Contains(t, plan.Changes[1].Diff, "interval: @every 15m0s")
	assert.Contains(t, plan.Changes[1].Diff, `parameters: {"batch_size":50,"source_url":"demo://orders"}`)
	assert.Contains(t, plan.Changes[2].Diff, "interval: @every 1h0m0s/7m0s")

	plan, applied = deploy(t, m, false)
	assert.Equal(t, map[string]schedules.Action{"multi": schedules.Unchanged, "multi-every-15m": schedules.Unchanged, "multi-3": schedules.Unchanged}, actions(applied),
		"a second deploy changes nothing: %+v", plan.Changes)

	// The cron schedule is the deployment's own, as with one schedule.
	cron := describe(t, "multi")
	require.Len(t, cron.Schedule.Spec.Calendars, 1)
	assert.Empty(t, cron.Schedule.Spec.Intervals)
	assert.Equal(t, "multi", cron.Schedule.Action.(*client.ScheduleWorkflowAction).ID)

	// The interval schedule runs with its own batch_size over the
	// deployment's parameters, under its own workflow ID prefix (runs of
	// two schedules due at the same time must not collide) and the
	// deployment's search attribute.
	quarter := describe(t, "multi-every-15m")
	assert.Empty(t, quarter.Schedule.Spec.Calendars)
	assert.Equal(t, []client.ScheduleIntervalSpec{{Every: 15 * time.Minute}}, quarter.Schedule.Spec.Intervals)
	assert.False(t, quarter.Schedule.State.Paused, "no active: key: a new schedule starts active")
	a := quarter.Schedule.Action.(*client.ScheduleWorkflowAction)
	assert.Equal(t, "multi-every-15m", a.ID)
	assert.Equal(t, "tq-multi", a.TaskQueue)
	dep, _ := a.TypedSearchAttributes.GetKeyword(runinfo.DeploymentKey)
	assert.Equal(t, "multi", dep)
	raw, err := srv.Client().WorkflowService().DescribeSchedule(ctx(t), describeRequest("multi-every-15m"))
	require.NoError(t, err)
	data := raw.Schedule.Action.GetStartWorkflow().GetInput().GetPayloads()[0].GetData()
	assert.JSONEq(t, `{"batch_size":50,"source_url":"demo://orders"}`, string(data))

	hourly := describe(t, "multi-3")
	assert.Equal(t, []client.ScheduleIntervalSpec{{Every: time.Hour, Offset: 7 * time.Minute}}, hourly.Schedule.Spec.Intervals)
	assert.True(t, hourly.Schedule.State.Paused, "active: false")
	assert.Equal(t, schedules.DeployPauseNote, hourly.Schedule.State.Note)

	// The manifest's next runs are the server's: intervals count from the
	// Unix epoch plus the offset, in every time zone.
	for i, id := range ids {
		st, err := schedules.Describe(ctx(t), srv.Client(), id)
		require.NoError(t, err)
		require.NotEmpty(t, st.NextRuns, id)
		local := m.Deployments[0].Schedules[i].Next(st.NextRuns[0].Add(-time.Second), len(st.NextRuns))
		for j := range st.NextRuns {
			assert.True(t, local[j].Equal(st.NextRuns[j]), "%s run %d: server %s, manifest %s", id, j, st.NextRuns[j], local[j])
		}
		if i == 2 {
			assert.Equal(t, 7, st.NextRuns[0].UTC().Minute(), "offset 7m past each hour")
		}
	}
	st, err := schedules.Describe(ctx(t), srv.Client(), "multi-every-15m")
	require.NoError(t, err)
	assert.Equal(t, "@every 15m0s", st.Cron, "the server's spec as the manifest writes it")

	// A schedule changed on the server is put back; the others stay.
	require.NoError(t, srv.Client().ScheduleClient().GetHandle(ctx(t), "multi-every-15m").Update(ctx(t), client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			in.Description.Schedule.Spec.Intervals[0].Every = 20 * time.Minute
			return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
		},
	}))
	plan, applied = deploy(t, m, false)
	assert.Equal(t, map[string]schedules.Action{"multi": schedules.Unchanged, "multi-every-15m": schedules.Update, "multi-3": schedules.Unchanged}, actions(applied))
	assert.Equal(t, []string{"interval: @every 20m0s -> @every 15m0s"}, plan.Changes[1].Diff)
}

func TestPruneDroppedScheduleEntry(t *testing.T) {
	for _, id := range []string{"multi", "multi-every-15m", "multi-3"} {
		deleteSchedule(t, id)
	}
	deploy(t, manifest(t, multi), false)

	// The 15m entry leaves the list; the hourly one keeps its slug.
	fewer := manifest(t, `deployments:
  - name: multi
    task_queue: tq-multi
    parameters: {batch_size: 1000, source_url: "demo://orders"}
    schedules:
      - cron: "0 9 * * *"
        timezone: America/Chicago
      - slug: "3"
        interval: 1h
        offset: 7m
        timezone: Asia/Kolkata
        active: false
`)
	var plan schedules.Plan
	require.Eventually(t, func() bool {
		var err error
		plan, err = schedules.PlanDeploy(ctx(t), srv.Client(), namespace, fewer, false)
		require.NoError(t, err)
		return len(plan.Orphans) == 1
	}, 30*time.Second, 100*time.Millisecond, "visibility lists the schedules")
	assert.Equal(t, []string{"multi-every-15m"}, plan.Orphans, "without --prune a dropped entry is only listed")
	assert.Equal(t, map[string]schedules.Action{"multi": schedules.Unchanged, "multi-3": schedules.Unchanged}, actions(plan.Changes))

	plan, applied := deploy(t, fewer, true)
	assert.Equal(t, map[string]schedules.Action{"multi": schedules.Unchanged, "multi-3": schedules.Unchanged, "multi-every-15m": schedules.Delete}, actions(applied))
	for _, c := range plan.Changes {
		if c.Action == schedules.Delete {
			assert.Equal(t, "multi", c.Deployment)
			assert.Equal(t, []string{"no longer among the schedules of deployment multi in the manifest"}, c.Diff)
		}
	}
	st, err := schedules.Describe(ctx(t), srv.Client(), "multi-every-15m")
	require.NoError(t, err)
	assert.False(t, st.Deployed)
	st, err = schedules.Describe(ctx(t), srv.Client(), "multi")
	require.NoError(t, err)
	assert.True(t, st.Deployed, "the remaining schedules stay")
}

// A bad second schedule stops the deploy before the first is created.
func TestBadScheduleCreatesNothing(t *testing.T) {
	deleteSchedule(t, "half")
	m := manifest(t, `deployments:
  - name: half
    task_queue: tq-half
    schedules:
      - cron: "0 9 * * *"
      - interval: 15m
`)
	// A hand-built manifest skips the loader: the deploy checks again.
	m.Deployments[0].Schedules[1].Interval = 500 * time.Millisecond
	_, err := schedules.PlanDeploy(ctx(t), srv.Client(), namespace, m, false)
	require.Error(t, err)
	assert.True(t, badinput.Is(err), "%v", err)
	assert.Contains(t, err.Error(), `deployment "half" (line 2), schedule "2" (line 6): schedule: interval 500ms offset 0s`)
	_, err = schedules.Apply(ctx(t), srv.Client(), namespace, m, schedules.Plan{Changes: []schedules.Change{{Deployment: "half", ScheduleID: "half", Action: schedules.Create}}})
	require.Error(t, err)
	st, err := schedules.Describe(ctx(t), srv.Client(), "half")
	require.NoError(t, err)
	assert.False(t, st.Deployed, "nothing created")
	assert.Error(t, schedules.Validate(m), "found without the server")
}
