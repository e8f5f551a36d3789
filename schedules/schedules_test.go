package schedules_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/schedules"
	"github.com/blueprint-etl/blueprint/starter"
)

const namespace = "default"

// srv is one dev server for the package. Tests do not run in parallel:
// prune acts on every schedule of the namespace.
var srv *devserver.Server

func TestMain(m *testing.M) { os.Exit(testutil.RunWithDevServer(m, &srv)) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// manifest parses a manifest written as YAML.
func manifest(t *testing.T, yaml string) *deployments.Manifest {
	t.Helper()
	m, err := deployments.Parse(flows.Registry.Flows(), "test.yaml", []byte(yaml))
	require.NoError(t, err)
	return m
}

// scheduled returns a one-deployment manifest with a schedule; extra is
// appended to the schedule mapping.
func scheduled(name, cron, tz, extra string) string {
	return fmt.Sprintf(`deployments:
  - name: %s
    task_queue: tq-%s
    parameters: {batch_size: 1000, source_url: "demo://orders"}
    schedule:
      cron: %q
      timezone: %s
%s`, name, name, cron, tz, extra)
}

func deploy(t *testing.T, m *deployments.Manifest, prune bool) (schedules.Plan, []schedules.Change) {
	t.Helper()
	plan, err := schedules.PlanDeploy(ctx(t), srv.Client(), namespace, m, prune)
	require.NoError(t, err)
	applied, err := schedules.Apply(ctx(t), srv.Client(), namespace, m, plan)
	require.NoError(t, err)
	return plan, applied
}

func actions(changes []schedules.Change) map[string]schedules.Action {
	out := map[string]schedules.Action{}
	for _, c := range changes {
		out[c.ScheduleID] = c.Action
	}
	return out
}

func describe(t *testing.T, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := srv.Client().ScheduleClient().GetHandle(ctx(t), id).Describe(ctx(t))
	require.NoError(t, err)
	return d
}

func deleteSchedule(t *testing.T, id string) {
	t.Cleanup(func() {
		_ = srv.Client().ScheduleClient().GetHandle(context.Background(), id).Delete(context.Background())
	})
}

func TestDeployTwiceIsUnchanged(t *testing.T) {
	deleteSchedule(t, "twice")
	m := manifest(t, scheduled("twice", "0 9 * * *", "America/Chicago", ""))

	plan, applied := deploy(t, m, false)
	require.Len(t, plan.Changes, 1)
	assert.Equal(t, schedules.Create, plan.Changes[0].Action)
	assert.Contains(t, plan.Changes[0].Diff, "cron: 0 9 * * *")
	assert.Equal(t, plan.Changes, applied)

	plan, applied = deploy(t, m, false)
	require.Len(t, plan.Changes, 1)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)
	assert.Empty(t, plan.Changes[0].Diff)
	assert.Equal(t, map[string]schedules.Action{"twice": schedules.Unchanged}, actions(applied))

	d := describe(t, "twice")
	assert.Equal(t, "America/Chicago", d.Schedule.Spec.TimeZoneName)
	require.Len(t, d.Schedule.Spec.Calendars, 1, "one calendar: the cron")
	assert.Equal(t, []client.ScheduleRange{{Start: 9, End: 9, Step: 1}}, d.Schedule.Spec.Calendars[0].Hour)
	assert.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	assert.Equal(t, deployments.DefaultCatchupWindow, d.Schedule.Policy.CatchupWindow)
	assert.False(t, d.Schedule.State.Paused)
	a := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	assert.Equal(t, "twice", a.ID)
	assert.Equal(t, datapipeline.WorkflowType, a.Workflow)
	assert.Equal(t, "tq-twice", a.TaskQueue)
	dep, ok := a.TypedSearchAttributes.GetKeyword(runinfo.DeploymentKey)
	assert.True(t, ok)
	assert.Equal(t, "twice", dep)

	st, err := schedules.Describe(ctx(t), srv.Client(), "twice")
	require.NoError(t, err)
	assert.True(t, st.Deployed)
	assert.True(t, st.Managed)
	assert.Equal(t, "0 9 * * *", st.Cron)
	require.NotEmpty(t, st.NextRuns)
	chicago, err := time.LoadLocation("America/Chicago")
	require.NoError(t, err)
	assert.Equal(t, 9, st.NextRuns[0].In(chicago).Hour())
	assert.Equal(t, m.Deployments[0].Schedules[0].Next(time.Now(), 1)[0].UTC(), st.NextRuns[0].UTC(),
		"the server and the manifest agree on the next run")
}

// The schedule's action starts the workflow with the manifest's
// parameters as its JSON input.
func TestScheduleActionInput(t *testing.T) {
	deleteSchedule(t, "input")
	m := manifest(t, scheduled("input", "@daily", "UTC", ""))
	deploy(t, m, false)
	raw, err := srv.Client().WorkflowService().DescribeSchedule(ctx(t), describeRequest("input"))
	require.NoError(t, err)
	data := raw.Schedule.Action.GetStartWorkflow().GetInput().GetPayloads()[0].GetData()
	assert.JSONEq(t, `{"batch_size":1000,"source_url":"demo://orders"}`, string(data))
}

func TestPauseSurvivesDeploy(t *testing.T) {
	deleteSchedule(t, "paused")
	m := manifest(t, scheduled("paused", "0 9 * * *", "America/Chicago", ""))
	deploy(t, m, false)
	require.NoError(t, schedules.Pause(ctx(t), srv.Client(), "paused", "maintenance window"))

	plan, _ := deploy(t, m, false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)
	d := describe(t, "paused")
	assert.True(t, d.Schedule.State.Paused)
	assert.Equal(t, "maintenance window", d.Schedule.State.Note)

	// A real change updates the spec and still keeps the pause.
	changed := manifest(t, scheduled("paused", "0 8 * * *", "America/Chicago", ""))
	plan, _ = deploy(t, changed, false)
	assert.Equal(t, schedules.Update, plan.Changes[0].Action)
	assert.Equal(t, []string{"cron: 0 9 * * * -> 0 8 * * *"}, plan.Changes[0].Diff)
	d = describe(t, "paused")
	assert.True(t, d.Schedule.State.Paused, "an update must not resume a paused schedule")
	assert.Equal(t, "maintenance window", d.Schedule.State.Note)
	assert.Equal(t, []client.ScheduleRange{{Start: 8, End: 8, Step: 1}}, d.Schedule.Spec.Calendars[0].Hour)
}

func TestManifestPausedIsEnforced(t *testing.T) {
	deleteSchedule(t, "forced")
	paused := manifest(t, scheduled("forced", "0 9 * * *", "UTC", "      paused: true\n      note: frozen for the audit\n"))
	plan, _ := deploy(t, paused, false)
	assert.Contains(t, plan.Changes[0].Diff, "paused: true")
	d := describe(t, "forced")
	assert.True(t, d.Schedule.State.Paused)
	assert.Equal(t, "frozen for the audit", d.Schedule.State.Note)

	plan, _ = deploy(t, paused, false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	// Someone resumes it by hand: the manifest says paused, deploy pauses.
	require.NoError(t, schedules.Resume(ctx(t), srv.Client(), "forced", "by hand"))
	plan, _ = deploy(t, paused, false)
	assert.Equal(t, schedules.Update, plan.Changes[0].Action)
	assert.ElementsMatch(t, []string{"paused: false -> true", `note: "by hand" -> "frozen for the audit"`}, plan.Changes[0].Diff)
	assert.True(t, describe(t, "forced").Schedule.State.Paused)

	resumed := manifest(t, scheduled("forced", "0 9 * * *", "UTC", "      paused: false\n"))
	plan, _ = deploy(t, resumed, false)
	assert.Equal(t, []string{"paused: true -> false"}, plan.Changes[0].Diff)
	d = describe(t, "forced")
	assert.False(t, d.Schedule.State.Paused)
	assert.Equal(t, schedules.DeployResumeNote, d.Schedule.State.Note)
}

func TestManifestChangesAreUpdates(t *testing.T) {
	deleteSchedule(t, "changes")
	deploy(t, manifest(t, scheduled("changes", "0 9 * * *", "America/Chicago", "")), false)

	changed := manifest(t, `deployments:
  - name: changes
    task_queue: tq-other
    parameters: {batch_size: 500, source_url: "demo://orders"}
    schedule:
      cron: "*/30 9-17 * * mon-fri"
      timezone: Europe/Berlin
      overlap: buffer_one
      catchup_window: 10m
      jitter: 30s
`)
	plan, err := schedules.PlanDeploy(ctx(t), srv.Client(), namespace, changed, false)
	require.NoError(t, err)
	require.Len(t, plan.Changes, 1)
	assert.Equal(t, schedules.Update, plan.Changes[0].Action)
	assert.ElementsMatch(t, []string{
		"cron: 0 9 * * * -> */30 9-17 * * mon-fri",
		"timezone: America/Chicago -> Europe/Berlin",
		"jitter: 0s -> 30s",
		"overlap: skip -> buffer_one",
		"catchup_window: 1h0m0s -> 10m0s",
		"task_queue: tq-changes -> tq-other",
		"parameters.batch_size: 1000 -> 500",
	}, plan.Changes[0].Diff)
	assert.Equal(t, 1, plan.Pending())

	_, err = schedules.Apply(ctx(t), srv.Client(), namespace, changed, plan)
	require.NoError(t, err)
	plan, _ = deploy(t, changed, false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)
	assert.Equal(t, 0, plan.Pending())
}

// A schedule edited outside blueprint (Web UI, temporal CLI) is brought
// back to the manifest.
func TestDriftIsUpdated(t *testing.T) {
	deleteSchedule(t, "drift")
	m := manifest(t, scheduled("drift", "0 9 * * *", "America/Chicago", ""))
	deploy(t, m, false)
	h := srv.Client().ScheduleClient().GetHandle(ctx(t), "drift")
	require.NoError(t, h.Update(ctx(t), client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec.TimeZoneName = "Asia/Tokyo"
		s.Spec.Calendars[0].Minute = []client.ScheduleRange{{Start: 30}}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}))

	plan, _ := deploy(t, m, false)
	assert.ElementsMatch(t, []string{"cron: 30 9 * * * -> 0 9 * * *", "timezone: Asia/Tokyo -> America/Chicago"}, plan.Changes[0].Diff)
	plan, _ = deploy(t, m, false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	// The spec hash recorded with the action must match too.
	require.NoError(t, h.Update(ctx(t), client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Action.(*client.ScheduleWorkflowAction).Memo = map[string]any{schedules.MemoSpecHash: "stale"}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}))
	plan, _ = deploy(t, m, false)
	require.Len(t, plan.Changes[0].Diff, 1)
	assert.Regexp(t, `^blueprint.spec-hash: stale -> [0-9a-f]{16}$`, plan.Changes[0].Diff[0])
	plan, _ = deploy(t, m, false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)
}

func TestPrune(t *testing.T) {
	for _, id := range []string{"keep", "gone", "unscheduled", "by-hand"} {
		deleteSchedule(t, id)
	}
	both := manifest(t, scheduled("keep", "0 9 * * *", "UTC", "")+
		strings.TrimPrefix(scheduled("gone", "0 10 * * *", "UTC", ""), "deployments:\n")+
		strings.TrimPrefix(scheduled("unscheduled", "0 11 * * *", "UTC", ""), "deployments:\n"))
	deploy(t, both, false)
	_, err := srv.Client().ScheduleClient().Create(ctx(t), client.ScheduleOptions{
		ID:     "by-hand",
		Spec:   client.ScheduleSpec{CronExpressions: []string{"0 12 * * *"}},
		Action: &client.ScheduleWorkflowAction{ID: "by-hand", Workflow: datapipeline.WorkflowType, TaskQueue: "tq-by-hand"},
	})
	require.NoError(t, err)

	// "gone" left the manifest and "unscheduled" lost its schedule.
	fewer := manifest(t, scheduled("keep", "0 9 * * *", "UTC", "")+`  - name: unscheduled
    task_queue: tq-unscheduled
`)
	// Schedules are listed through visibility, which catches up
	// asynchronously with the creates above.
	var plan schedules.Plan
	require.Eventually(t, func() bool {
		plan, err = schedules.PlanDeploy(ctx(t), srv.Client(), namespace, fewer, false)
		require.NoError(t, err)
		return len(plan.Orphans) == 2
	}, 30*time.Second, 100*time.Millisecond)
	assert.Equal(t, []string{"gone", "unscheduled"}, plan.Orphans, "without --prune orphans are only listed")
	assert.Equal(t, map[string]schedules.Action{"keep": schedules.Unchanged}, actions(plan.Changes))

	plan, applied := deploy(t, fewer, true)
	assert.Empty(t, plan.Orphans)
	assert.Equal(t, map[string]schedules.Action{"keep": schedules.Unchanged, "gone": schedules.Delete, "unscheduled": schedules.Delete}, actions(applied))
	for _, c := range plan.Changes {
		switch c.ScheduleID {
		case "gone":
			assert.Equal(t, []string{"deployment gone is not in the manifest"}, c.Diff)
		case "unscheduled":
			assert.Equal(t, []string{"deployment unscheduled has no schedule in the manifest"}, c.Diff)
		}
	}
	for _, id := range []string{"gone", "unscheduled"} {
		st, err := schedules.Describe(ctx(t), srv.Client(), id)
		require.NoError(t, err)
		assert.False(t, st.Deployed, id)
	}
	st, err := schedules.Describe(ctx(t), srv.Client(), "by-hand")
	require.NoError(t, err)
	assert.True(t, st.Deployed, "prune must never delete a schedule blueprint did not create")
	assert.False(t, st.Managed)
}

func TestUnmanagedScheduleWithTheSameNameIsNotTakenOver(t *testing.T) {
	deleteSchedule(t, "squatter")
	_, err := srv.Client().ScheduleClient().Create(ctx(t), client.ScheduleOptions{
		ID:     "squatter",
		Spec:   client.ScheduleSpec{CronExpressions: []string{"0 12 * * *"}},
		Action: &client.ScheduleWorkflowAction{ID: "squatter", Workflow: "Other", TaskQueue: "elsewhere"},
	})
	require.NoError(t, err)
	_, err = schedules.PlanDeploy(ctx(t), srv.Client(), namespace, manifest(t, scheduled("squatter", "0 9 * * *", "UTC", "")), false)
	require.Error(t, err)
	assert.False(t, badinput.Is(err))
	assert.Contains(t, err.Error(), `schedule "squatter" in namespace "default" was not created by blueprint`)
	a := describe(t, "squatter").Schedule.Action.(*client.ScheduleWorkflowAction)
	assert.Equal(t, "Other", a.Workflow, "untouched")
}

// A manifest the server would reject half-way fails the plan instead.
func TestInvalidScheduleChangesNothing(t *testing.T) {
	deleteSchedule(t, "valid-one")
	// The manifest loader refuses the "?" wildcard; a Manifest built in
	// code is checked again by the same parser.
	_, err := deployments.Parse(flows.Registry.Flows(), "test.yaml", []byte(scheduled("question", "0 9 ? * *", "UTC", "")))
	require.Error(t, err)
	m := manifest(t, scheduled("valid-one", "0 9 * * *", "UTC", ""))
	bad := m.Deployments[0]
	sched := bad.Schedules[0]
	sched.Cron = "0 9 ? * *"
	bad.Name, bad.Line, bad.Schedules = "question", 8, []deployments.Schedule{sched}
	m.Deployments = append(m.Deployments, bad)
	require.Error(t, schedules.Validate(m), "found without the server")
	_, err = schedules.PlanDeploy(ctx(t), srv.Client(), namespace, m, false)
	require.Error(t, err)
	assert.True(t, badinput.Is(err), "%v", err)
	assert.Contains(t, err.Error(), `deployment "question" (line 8): schedule: cron "0 9 ? * *": day-of-month field "?": the "?" wildcard is not supported by Temporal`)
	_, err = schedules.Apply(ctx(t), srv.Client(), namespace, m, schedules.Plan{Changes: []schedules.Change{{Deployment: "valid-one", ScheduleID: "valid-one", Action: schedules.Create}}})
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	st, err := schedules.Describe(ctx(t), srv.Client(), "valid-one")
	require.NoError(t, err)
	assert.False(t, st.Deployed, "nothing may be created from a manifest with a bad deployment")
}

// Apply reports what it did before the change that failed.
func TestApplyReportsPartialProgress(t *testing.T) {
	deleteSchedule(t, "first")
	deleteSchedule(t, "second")
	m := manifest(t, scheduled("first", "0 9 * * *", "UTC", "")+
		strings.TrimPrefix(scheduled("second", "0 9 * * *", "UTC", ""), "deployments:\n"))
	plan, err := schedules.PlanDeploy(ctx(t), srv.Client(), namespace, m, false)
	require.NoError(t, err)
	require.Equal(t, 2, plan.Pending())
	// Someone creates "second" between the plan and the apply.
	_, err = srv.Client().ScheduleClient().Create(ctx(t), client.ScheduleOptions{
		ID: "second", Spec: client.ScheduleSpec{CronExpressions: []string{"0 12 * * *"}},
		Action: &client.ScheduleWorkflowAction{ID: "second", Workflow: "Other", TaskQueue: "elsewhere"},
	})
	require.NoError(t, err)

	applied, err := schedules.Apply(ctx(t), srv.Client(), namespace, m, plan)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `create schedule "second" in namespace "default": it was created by someone else since the plan was made`)
	assert.Equal(t, []schedules.Change{plan.Changes[0]}, applied)
	assert.True(t, describe(t, "first").Schedule.State != nil)
}

func TestTriggerBackfillAndErrors(t *testing.T) {
	// The backfilled runs stay open (no worker): a second pass (-count=2)
	// needs other workflow IDs, hence another schedule name.
	ops := testutil.UniqueID("ops")
	deleteSchedule(t, ops)
	deploy(t, manifest(t, scheduled(ops, "0 * * * *", "UTC", "")), false)

	run, err := schedules.Trigger(ctx(t), srv.Client(), ops, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(run.WorkflowID, ops+"-"), "scheduled workflow IDs are the deployment name plus the time: %q", run.WorkflowID)
	assert.NotEmpty(t, run.RunID)

	to := time.Now().UTC().Truncate(time.Hour)
	require.NoError(t, schedules.Backfill(ctx(t), srv.Client(), ops, to.Add(-3*time.Hour+time.Minute), to.Add(time.Minute), enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL))
	require.Eventually(t, func() bool {
		st, err := schedules.Describe(ctx(t), srv.Client(), ops)
		require.NoError(t, err)
		return st.Actions == 4 // the trigger and three hourly runs
	}, 30*time.Second, 100*time.Millisecond)

	err = schedules.Backfill(ctx(t), srv.Client(), ops, to, to.Add(-time.Hour), 0)
	require.Error(t, err)
	assert.True(t, badinput.Is(err))

	for name, op := range map[string]func() error{
		"pause":    func() error { return schedules.Pause(ctx(t), srv.Client(), "nope", "") },
		"resume":   func() error { return schedules.Resume(ctx(t), srv.Client(), "nope", "") },
		"backfill": func() error { return schedules.Backfill(ctx(t), srv.Client(), "nope", to.Add(-time.Hour), to, 0) },
		"trigger": func() error {
			_, err := schedules.Trigger(ctx(t), srv.Client(), "nope", 0)
			return err
		},
	} {
		err := op()
		require.ErrorIs(t, err, schedules.ErrNotDeployed, name)
		assert.Contains(t, err.Error(), `schedule "nope" is not on the server; run `+"`blueprint deploy`", name)
	}
	st, err := schedules.Describe(ctx(t), srv.Client(), "nope")
	require.NoError(t, err)
	assert.False(t, st.Deployed)
}

func TestUnreachableServer(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Namespace: namespace})
	require.NoError(t, err)
	defer c.Close()
	short, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = schedules.PlanDeploy(short, c, namespace, manifest(t, scheduled("x", "0 9 * * *", "UTC", "")), false)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\n")
	assert.Regexp(t, `^describe schedule "x" in namespace "default": (cannot reach the Temporal server|the Temporal server did not answer in time)`, err.Error())
}

func describeRequest(id string) *workflowservice.DescribeScheduleRequest {
	return &workflowservice.DescribeScheduleRequest{Namespace: namespace, ScheduleId: id}
}

// Every run a schedule starts says in the Web UI what it is: the action
// carries the summary and details starter.Describe builds. A new
// description updates the schedule; the same manifest is unchanged.
func TestScheduledRunsAreDescribed(t *testing.T) {
	name := testutil.UniqueID("described")
	deleteSchedule(t, name)
	yaml := func(description string) string {
		return fmt.Sprintf(`deployments:
  - name: %s
    description: %s
    parameters: {batch_size: 10, source_url: "demo://orders"}
    schedule: {cron: "0 9 * * *"}
`, name, description)
	}
	m := manifest(t, yaml("First words."))
	deploy(t, m, false)
	want := starter.Describe(m.Deployments[0], map[string]any{"batch_size": int64(10), "source_url": "demo://orders"})
	a := describe(t, name).Schedule.Action.(*client.ScheduleWorkflowAction)
	assert.Equal(t, name+" · batch_size=10 · source_url=demo://orders", a.StaticSummary)
	assert.Equal(t, want.Summary, a.StaticSummary)
	assert.Equal(t, want.Details, a.StaticDetails)
	assert.Contains(t, a.StaticDetails, "First words.")

	plan, _ := deploy(t, m, false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	changed := manifest(t, yaml("Other words."))
	plan, _ = deploy(t, changed, false)
	assert.Equal(t, schedules.Update, plan.Changes[0].Action)
	assert.Equal(t, []string{"details: changed (the deployment's description or tags)"}, plan.Changes[0].Diff)
	assert.Contains(t, describe(t, name).Schedule.Action.(*client.ScheduleWorkflowAction).StaticDetails, "Other words.")
	plan, _ = deploy(t, changed, false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	// A schedule deployed before runs were described gets the description.
	h := srv.Client().ScheduleClient().GetHandle(ctx(t), name)
	require.NoError(t, h.Update(ctx(t), client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		a := s.Action.(*client.ScheduleWorkflowAction)
		a.StaticSummary, a.StaticDetails = "", ""
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}))
	plan, _ = deploy(t, changed, false)
	assert.Equal(t, []string{
		fmt.Sprintf(`summary: "" -> %q`, want.Summary),
		"details: (none) -> the deployment, its description and parameters",
	}, plan.Changes[0].Diff)

	// notify: goes in the memo of every run the schedule starts.
	notified := manifest(t, yaml("Other words.")+"    notify: [{url_env: OPS_HOOK, events: [failed, cancelled]}]\n")
	plan, _ = deploy(t, notified, false)
	assert.Equal(t, []string{"notify: (none) -> $OPS_HOOK (failed, cancelled)"}, plan.Changes[0].Diff)
	plan, _ = deploy(t, notified, false)
	assert.Equal(t, schedules.Unchanged, plan.Changes[0].Action, "diff: %v", plan.Changes[0].Diff)

	// A run the schedule starts carries them.
	run, err := schedules.Trigger(ctx(t), srv.Client(), name, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = srv.Client().TerminateWorkflow(context.Background(), run.WorkflowID, run.RunID, "test cleanup")
	})
	d, err := srv.Client().DescribeWorkflow(ctx(t), run.WorkflowID, run.RunID)
	require.NoError(t, err)
	summary, err := d.GetStaticSummary()
	require.NoError(t, err)
	assert.Equal(t, want.Summary, summary)
	details, err := d.GetStaticDetails()
	require.NoError(t, err)
	assert.Contains(t, details, "Other words.")
	var hooks []runinfo.Webhook
	require.NoError(t, d.GetMemoValue(runinfo.MemoNotify, &hooks))
	assert.Equal(t, []runinfo.Webhook{{URLEnv: "OPS_HOOK", Events: []string{runinfo.EventFailed, runinfo.EventCancelled}}}, hooks)

	// Removing notify: is a change too.
	plan, _ = deploy(t, changed, false)
	assert.Equal(t, []string{"notify: $OPS_HOOK (failed, cancelled) -> (none)"}, plan.Changes[0].Diff)
}
