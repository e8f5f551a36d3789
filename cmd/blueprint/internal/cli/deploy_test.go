package cli_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
)

func TestDeployLifecycle(t *testing.T) {
	const name = "cli-deploy"
	cleanupSchedule(t, name)
	params := `{batch_size: 1000, source_url: "demo://orders"}`
	path := writeManifest(t, manifestOf(
		deployment(name, "tq-cli-deploy", params, chicago9),
		deployment("cli-deploy-adhoc", "tq-cli-deploy", params, ""),
	))

	// Dry run first: nothing is created.
	r := ok(t, "-f", path, "deploy", "--dry-run")
	assert.Regexp(t, `(?m)^cli-deploy\s+would create$`, r.stdout)
	assert.Contains(t, r.stdout, "cron: 0 9 * * *")
	assert.Contains(t, r.stdout, "Dry run: 1 to create, 0 to update, 0 unchanged, 0 to delete; nothing was changed")
	assert.Nil(t, scheduleDescription(t, name), "--dry-run must not create the schedule")

	r = ok(t, "-f", path, "deploy")
	assert.Regexp(t, `(?m)^cli-deploy\s+created$`, r.stdout)
	assert.Regexp(t, `(?m)^cli-deploy-adhoc\s+no schedule \(start it with: blueprint run cli-deploy-adhoc\)$`, r.stdout)
	assert.Contains(t, r.stdout, "1 created, 0 updated, 0 unchanged, 0 deleted (namespace default")

	r = ok(t, "-f", path, "deploy")
	assert.Regexp(t, `(?m)^cli-deploy\s+unchanged$`, r.stdout)
	assert.Contains(t, r.stdout, "0 created, 0 updated, 1 unchanged, 0 deleted")

	// One schedule, with the manifest's spec.
	d := scheduleDescription(t, name)
	require.NotNil(t, d)
	assert.Equal(t, "America/Chicago", d.Schedule.Spec.TimeZoneName)
	require.Len(t, d.Schedule.Spec.Calendars, 1)
	assert.Equal(t, []client.ScheduleRange{{Start: 9, End: 9, Step: 1}}, d.Schedule.Spec.Calendars[0].Hour)
	assert.Equal(t, datapipeline.WorkflowType, d.Schedule.Action.(*client.ScheduleWorkflowAction).Workflow)

	// A pause survives a deploy.
	r = ok(t, "-f", path, "deployment", "pause", name, "--note", "upstream outage")
	assert.Contains(t, r.stdout, `Paused cli-deploy (note: "upstream outage").`)
	r = ok(t, "-f", path, "deploy")
	assert.Regexp(t, `(?m)^cli-deploy\s+unchanged$`, r.stdout)
	d = scheduleDescription(t, name)
	assert.True(t, d.Schedule.State.Paused, "deploy must not resume a paused schedule")
	assert.Equal(t, "upstream outage", d.Schedule.State.Note)

	// A manifest change is an update, shown with its diff; a dry run of
	// it changes nothing.
	changed := writeManifest(t, manifestOf(
		deployment(name, "tq-cli-deploy", `{batch_size: 500, source_url: "demo://orders"}`, "      cron: \"0 8 * * *\"\n      timezone: America/Chicago\n"),
		deployment("cli-deploy-adhoc", "tq-cli-deploy", params, ""),
	))
	r = ok(t, "-f", changed, "deploy", "--dry-run")
	assert.Regexp(t, `(?m)^cli-deploy\s+would update$`, r.stdout)
	assert.Regexp(t, `(?m)^\s+cron: 0 9 \* \* \* -> 0 8 \* \* \*$`, r.stdout)
	assert.Regexp(t, `(?m)^\s+parameters.batch_size: 1000 -> 500$`, r.stdout)
	assert.Equal(t, []client.ScheduleRange{{Start: 9, End: 9, Step: 1}}, scheduleDescription(t, name).Schedule.Spec.Calendars[0].Hour, "--dry-run changed the schedule")

	r = ok(t, "-f", changed, "deploy", "-o", "json")
	var report struct {
		Namespace string `json:"namespace"`
		DryRun    bool   `json:"dry_run"`
		Changes   []struct {
			Deployment string   `json:"deployment"`
			ScheduleID string   `json:"schedule_id"`
			Action     string   `json:"action"`
			Diff       []string `json:"diff"`
		} `json:"changes"`
		Unscheduled []string `json:"unscheduled"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &report), r.stdout)
	assert.False(t, report.DryRun)
	assert.Equal(t, "default", report.Namespace)
	require.Len(t, report.Changes, 1)
	assert.Equal(t, "update", report.Changes[0].Action)
	assert.Equal(t, name, report.Changes[0].ScheduleID)
	assert.ElementsMatch(t, []string{"cron: 0 9 * * * -> 0 8 * * *", "parameters.batch_size: 1000 -> 500"}, report.Changes[0].Diff)
	assert.Equal(t, []string{"cli-deploy-adhoc"}, report.Unscheduled)
	d = scheduleDescription(t, name)
	assert.Equal(t, []client.ScheduleRange{{Start: 8, End: 8, Step: 1}}, d.Schedule.Spec.Calendars[0].Hour)
	assert.True(t, d.Schedule.State.Paused, "still paused after an update")

	r = ok(t, "-f", changed, "deployment", "resume", name)
	assert.Contains(t, r.stdout, "Resumed cli-deploy")
	assert.False(t, scheduleDescription(t, name).Schedule.State.Paused)
	// The pause's note does not outlive the pause.
	r = ok(t, "-f", changed, "deployment", "inspect", name)
	assert.Regexp(t, `(?m)^State:\s+active$`, r.stdout)
}

func TestDeployPrune(t *testing.T) {
	for _, id := range []string{"cli-prune-keep", "cli-prune-gone", "cli-prune-by-hand"} {
		cleanupSchedule(t, id)
	}
	params := `{batch_size: 10}`
	ok(t, "-f", writeManifest(t, manifestOf(
		deployment("cli-prune-keep", "tq-cli-prune", params, chicago9),
		deployment("cli-prune-gone", "tq-cli-prune", params, chicago9),
	)), "deploy")
	_, err := srv.Client().ScheduleClient().Create(ctx(t), client.ScheduleOptions{
		ID:     "cli-prune-by-hand",
		Spec:   client.ScheduleSpec{CronExpressions: []string{"0 12 * * *"}},
		Action: &client.ScheduleWorkflowAction{ID: "cli-prune-by-hand", Workflow: datapipeline.WorkflowType, TaskQueue: "tq-cli-prune"},
	})
	require.NoError(t, err)

	fewer := writeManifest(t, manifestOf(deployment("cli-prune-keep", "tq-cli-prune", params, chicago9)))
	// Schedules are listed through visibility, which lags the creates.
	require.Eventually(t, func() bool {
		r := ok(t, "-f", fewer, "deploy", "--dry-run", "--prune")
		return regexp.MustCompile(`(?m)^cli-prune-gone\s+would delete$`).MatchString(r.stdout)
	}, 30*time.Second, 200*time.Millisecond)
	require.NotNil(t, scheduleDescription(t, "cli-prune-gone"), "--dry-run --prune deleted")

	r := ok(t, "-f", fewer, "deploy")
	assert.Contains(t, r.stdout, "Not in the manifest but created by blueprint: cli-prune-gone (deploy --prune deletes them)")
	require.NotNil(t, scheduleDescription(t, "cli-prune-gone"), "deleted without --prune")

	r = ok(t, "-f", fewer, "deploy", "--prune")
	assert.Regexp(t, `(?m)^cli-prune-gone\s+deleted$`, r.stdout)
	assert.Regexp(t, `(?m)^cli-prune-keep\s+unchanged$`, r.stdout)
	assert.NotRegexp(t, `cli-prune-by-hand`, r.stdout)
	assert.Nil(t, scheduleDescription(t, "cli-prune-gone"))
	assert.NotNil(t, scheduleDescription(t, "cli-prune-by-hand"), "prune must never delete a schedule blueprint did not create")
	assert.NotNil(t, scheduleDescription(t, "cli-prune-keep"))
}

func TestDeploymentLsAndInspect(t *testing.T) {
	const name = "cli-inspect"
	cleanupSchedule(t, name)
	path := writeManifest(t, manifestOf(
		deployment(name, "tq-cli-inspect", `{batch_size: 25, source_url: "https://example.com/orders?api_key=hunter2"}`, chicago9),
		deployment("cli-inspect-adhoc", "tq-cli-inspect", `{batch_size: 5}`, "")+
			"    notify: [{url_env: OPS_HOOK, events: [failed, cancelled]}, {url_env: TEAM_HOOK, events: [completed]}]\n",
	))
	r := ok(t, "-f", path, "deployment", "inspect", "cli-inspect-adhoc")
	assert.Regexp(t, `(?m)^Notify:\s+\$OPS_HOOK \(failed, cancelled\), \$TEAM_HOOK \(completed\)$`, r.stdout)
	assert.NotContains(t, ok(t, "-f", path, "deployment", "inspect", name).stdout, "Notify:", "no webhooks, no line")

	// Not deployed yet: next runs are computed from the manifest.
	r = ok(t, "-f", path, "deployment", "inspect", name)
	assert.Contains(t, r.stdout, "Deployed:         no (run: blueprint deploy)")
	assert.Contains(t, r.stdout, "Next runs (computed from the manifest: not deployed):")
	assert.NotContains(t, r.stdout, "hunter2", "credentials in URLs are never printed")
	r = ok(t, "-f", path, "deployment", "ls")
	assert.Regexp(t, `(?m)^cli-inspect\s+DataPipeline\s+tq-cli-inspect\s+0 9 \* \* \* America/Chicago\s+not deployed\s+-\s*$`, r.stdout)
	assert.Regexp(t, `(?m)^cli-inspect-adhoc\s+DataPipeline\s+tq-cli-inspect\s+-\s+-\s+-\s*$`, r.stdout)

	ok(t, "-f", path, "deploy")
	r = ok(t, "-f", path, "deployment", "ls")
	assert.Regexp(t, `(?m)^cli-inspect\s+DataPipeline\s+tq-cli-inspect\s+0 9 \* \* \* America/Chicago\s+active\s+\d{4}-\d\d-\d\d 09:00 C[DS]T\s*$`, r.stdout)

	r = ok(t, "-f", path, "deployment", "inspect", name)
	assert.Contains(t, r.stdout, "Deployed:         yes, up to date")
	assert.Contains(t, r.stdout, "State:            active")
	assert.Contains(t, r.stdout, "Next runs (from the server):")
	assert.Equal(t, 5, len(regexp.MustCompile(`(?m)^  \d{4}-\d\d-\d\d 09:00:00 C[DS]T\s+\d{4}-\d\d-\d\d 1[45]:00:00Z$`).FindAllString(r.stdout, -1)), r.stdout)
	assert.Contains(t, r.stdout, `"source_url":"https://example.com/orders?api_key=xxxxx"`)

	r = ok(t, "-f", path, "deployment", "inspect", name, "-o", "json")
	var v struct {
		Name       string         `json:"name"`
		TaskQueue  string         `json:"task_queue"`
		Parameters map[string]any `json:"parameters"`
		Schedule   struct {
			Cron         string `json:"cron"`
			Timezone     string `json:"timezone"`
			Deployed     bool   `json:"deployed"`
			UpToDate     bool   `json:"up_to_date"`
			Paused       bool   `json:"paused"`
			NextRunsFrom string `json:"next_runs_from"`
			NextRuns     []struct {
				Local time.Time `json:"local"`
				UTC   time.Time `json:"utc"`
			} `json:"next_runs"`
		} `json:"schedule"`
		RecentRuns []any `json:"recent_runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
	assert.Equal(t, name, v.Name)
	assert.Equal(t, float64(25), v.Parameters["batch_size"])
	assert.True(t, v.Schedule.Deployed)
	assert.True(t, v.Schedule.UpToDate)
	assert.Equal(t, "server", v.Schedule.NextRunsFrom)
	require.Len(t, v.Schedule.NextRuns, 5)
	for _, nr := range v.Schedule.NextRuns {
		assert.True(t, nr.Local.Equal(nr.UTC))
		assert.Equal(t, 9, nr.Local.Hour())
	}

	// Paused and drifted states show up.
	ok(t, "-f", path, "deployment", "pause", name)
	r = ok(t, "-f", path, "deployment", "ls")
	assert.Regexp(t, `(?m)^cli-inspect\s.*\spaused\s+-\s*$`, r.stdout)
	r = ok(t, "-f", path, "deployment", "inspect", name)
	assert.Contains(t, r.stdout, `State:            paused (note: "paused with blueprint deployment pause")`)
	drifted := writeManifest(t, manifestOf(deployment(name, "tq-cli-inspect", `{batch_size: 26, source_url: "https://example.com/orders?api_key=hunter2"}`, chicago9)))
	r = ok(t, "-f", drifted, "deployment", "ls")
	assert.Regexp(t, `(?m)^cli-inspect\s.*\spaused, differs\s+-\s*$`, r.stdout)
}

// A schedule with a deployment's name that blueprint did not create is
// never taken over, and reported as such.
func TestUnmanagedSchedule(t *testing.T) {
	const name = "cli-squat"
	cleanupSchedule(t, name)
	_, err := srv.Client().ScheduleClient().Create(ctx(t), client.ScheduleOptions{
		ID:     name,
		Spec:   client.ScheduleSpec{CronExpressions: []string{"0 12 * * *"}},
		Action: &client.ScheduleWorkflowAction{ID: name, Workflow: "SomethingElse", TaskQueue: "elsewhere"},
	})
	require.NoError(t, err)
	path := writeManifest(t, manifestOf(deployment(name, "tq-cli-squat", `{batch_size: 10}`, chicago9)))

	r := blueprint(t, "-f", path, "deploy")
	assert.Equal(t, 1, r.code, "%s", r)
	assert.Contains(t, r.stderr, `blueprint: schedule "cli-squat" in namespace "default" was not created by blueprint`)
	assert.Equal(t, "SomethingElse", scheduleDescription(t, name).Schedule.Action.(*client.ScheduleWorkflowAction).Workflow, "untouched")

	r = ok(t, "-f", path, "deployment", "ls")
	assert.Regexp(t, `(?m)^cli-squat\s.*\sunmanaged\s+-\s*$`, r.stdout)
	r = ok(t, "-f", path, "deployment", "inspect", name)
	assert.Contains(t, r.stdout, "Deployed:         no: a schedule with this ID exists but was not created by blueprint")
	r = blueprint(t, "-f", path, "status")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "✗ schedule cli-squat: a schedule with this ID exists but was not created by blueprint")
}
