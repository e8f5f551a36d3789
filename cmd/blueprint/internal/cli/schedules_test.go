package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// multiSchedules is a deployment with a cron schedule and a 15m interval
// schedule that has its own batch_size; extra is appended to the list.
func multiSchedules(name, extra string) string {
	return manifestOf("  - name: " + name + `
    task_queue: tq-cli-multi
    parameters: {batch_size: 1000}
    schedules:
      - cron: "0 9 * * *"
        timezone: America/Chicago
      - slug: every-15m
        interval: 15m
        parameters: {batch_size: 50}
` + extra)
}

func TestDeploySeveralSchedulesCLI(t *testing.T) {
	// Triggered runs stay open (no worker polls the queue): each pass
	// (-count=2) has a deployment of its own.
	name := testutil.UniqueID("cli-multi")
	quarter := name + "-every-15m"
	cleanupSchedule(t, name)
	cleanupSchedule(t, quarter)
	cleanupSchedule(t, name+"-3")
	path := writeManifest(t, multiSchedules(name, "      - {cron: \"30 6 * * 1\", active: false}\n"))

	r := ok(t, "-f", path, "deploy", "--dry-run")
	assert.Regexp(t, `(?m)^`+name+`\s+would create$`, r.stdout)
	assert.Regexp(t, `(?m)^`+quarter+`\s+would create$`, r.stdout)
	assert.Contains(t, r.stdout, "interval: @every 15m0s")
	assert.Contains(t, r.stdout, `parameters: {"batch_size":50,`)
	assert.Contains(t, r.stdout, "Dry run: 3 to create, 0 to update, 0 unchanged, 0 to delete; nothing was changed")
	assert.Nil(t, scheduleDescription(t, quarter), "--dry-run creates nothing")

	r = ok(t, "-f", path, "deploy")
	assert.Contains(t, r.stdout, "3 created, 0 updated, 0 unchanged, 0 deleted")
	r = ok(t, "-f", path, "deploy")
	assert.Regexp(t, `(?m)^`+name+`\s+unchanged$`, r.stdout)
	assert.Regexp(t, `(?m)^`+quarter+`\s+unchanged$`, r.stdout)
	assert.Contains(t, r.stdout, "0 created, 0 updated, 3 unchanged, 0 deleted")

	d := scheduleDescription(t, quarter)
	require.NotNil(t, d)
	assert.Equal(t, []client.ScheduleIntervalSpec{{Every: 15 * time.Minute}}, d.Schedule.Spec.Intervals)
	assert.True(t, scheduleDescription(t, name+"-3").Schedule.State.Paused, "active: false")

	// inspect shows every schedule with its next runs.
	r = ok(t, "-f", path, "deployment", "inspect", name)
	assert.Contains(t, r.stdout, "Schedule ID:      "+name+" (slug 1)")
	assert.Contains(t, r.stdout, "Schedule ID:      "+quarter+" (slug every-15m)")
	assert.Contains(t, r.stdout, "Schedule:         @every 15m0s (UTC)")
	assert.Contains(t, r.stdout, `Parameters:       {"batch_size":50,`)
	assert.Equal(t, 3, strings.Count(r.stdout, "\nNext runs ("), r.stdout)
	r = ok(t, "-f", path, "-o", "json", "deployment", "inspect", name)
	var v struct {
		Schedule struct {
			ScheduleID string `json:"schedule_id"`
		} `json:"schedule"`
		Schedules []struct {
			Slug         string         `json:"slug"`
			ScheduleID   string         `json:"schedule_id"`
			Interval     string         `json:"interval"`
			Parameters   map[string]any `json:"parameters"`
			UpToDate     bool           `json:"up_to_date"`
			NextRunsFrom string         `json:"next_runs_from"`
			NextRuns     []struct {
				UTC time.Time `json:"utc"`
			} `json:"next_runs"`
		} `json:"schedules"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
	assert.Equal(t, name, v.Schedule.ScheduleID, "schedule: is the first")
	require.Len(t, v.Schedules, 3)
	s := v.Schedules[1]
	assert.Equal(t, "every-15m", s.Slug)
	assert.Equal(t, quarter, s.ScheduleID)
	assert.Equal(t, "15m0s", s.Interval)
	assert.Equal(t, float64(50), s.Parameters["batch_size"])
	assert.True(t, s.UpToDate)
	assert.Equal(t, "server", s.NextRunsFrom)
	require.Len(t, s.NextRuns, 5)
	for i, nr := range s.NextRuns {
		assert.Zero(t, nr.UTC.Unix()%(15*60), "on the quarter hour: %s", nr.UTC)
		if i > 0 {
			assert.Equal(t, 15*time.Minute, nr.UTC.Sub(s.NextRuns[i-1].UTC))
		}
	}

	r = ok(t, "-f", path, "deployment", "ls")
	assert.Regexp(t, `(?m)^`+name+`\s+DataPipeline\s+tq-cli-multi\s+0 9 \* \* \* America/Chicago \[1\]\s+active\s`, r.stdout)
	assert.Regexp(t, `(?m)^`+name+`\s+DataPipeline\s+tq-cli-multi\s+@every 15m0s UTC \[every-15m\]\s+active\s`, r.stdout)
	assert.Regexp(t, `(?m)^`+name+`\s.*\s30 6 \* \* 1 UTC \[3\]\s+paused\s`, r.stdout)

	// pause and resume: one schedule with --schedule, else all of them.
	ok(t, "-f", path, "deployment", "pause", name, "--schedule", "every-15m")
	assert.True(t, scheduleDescription(t, quarter).Schedule.State.Paused)
	assert.False(t, scheduleDescription(t, name).Schedule.State.Paused, "only the one named")
	r = ok(t, "-f", path, "deployment", "resume", name)
	assert.Contains(t, r.stdout, "Resumed "+quarter)
	assert.Contains(t, r.stdout, "Resumed "+name+"-3")
	assert.Contains(t, r.stderr, `the manifest sets "paused: true" for `+name+`-3`)
	assert.False(t, scheduleDescription(t, quarter).Schedule.State.Paused)

	// trigger: the first schedule, or the one named, with its parameters.
	r = ok(t, "-f", path, "deployment", "trigger", name, "--schedule", "every-15m")
	m := regexp.MustCompile(`Workflow ID:\s+(\S+)`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	assert.True(t, strings.HasPrefix(m[1], quarter+"-"), m[1])
	hist := srv.Client().GetWorkflowHistory(ctx(t), m[1], "", false, 0)
	ev, err := hist.Next()
	require.NoError(t, err)
	input := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0].GetData()
	assert.Contains(t, string(input), `"batch_size":50`, "the interval schedule's batch_size")

	// backfill: every schedule's runs, or the named one's.
	hour := time.Now().UTC().Truncate(time.Hour).Add(-48 * time.Hour)
	r = ok(t, "-f", path, "deployment", "backfill", name, "--schedule", "every-15m",
		"--from", hour.Format(time.RFC3339), "--to", hour.Add(30*time.Minute).Format(time.RFC3339), "--overlap", "allow_all")
	assert.Contains(t, r.stdout, "Backfill of "+quarter+" requested: 3 runs due between")

	// A dropped entry is listed, and deleted with --prune.
	fewer := writeManifest(t, multiSchedules(name, ""))
	require.Eventually(t, func() bool {
		r = ok(t, "-f", fewer, "deploy", "--dry-run")
		return strings.Contains(r.stdout, "Not in the manifest but created by blueprint: ") && strings.Contains(r.stdout, name+"-3")
	}, 30*time.Second, 200*time.Millisecond, "visibility lists the schedules")
	r = ok(t, "-f", fewer, "deploy", "--prune")
	assert.Regexp(t, `(?m)^`+name+`-3\s+deleted$`, r.stdout)
	assert.Contains(t, r.stdout, "no longer among the schedules of deployment "+name+" in the manifest")
	assert.Contains(t, r.stdout, "0 created, 0 updated, 2 unchanged, 1 deleted")
	assert.Nil(t, scheduleDescription(t, name+"-3"))
	assert.NotNil(t, scheduleDescription(t, quarter), "the remaining entries stay")
}

// Every bad schedule exits 2 with a one-line message naming the value and
// the rule, and creates nothing, not even the deployment's good schedules.
func TestBadSchedulesExitTwoAndCreateNothing(t *testing.T) {
	const name = "cli-bad-multi"
	cleanupSchedule(t, name)
	head := "deployments:\n  - name: " + name + "\n    task_queue: tq-cli-bad\n    parameters: {batch_size: 10}\n"
	list := func(items string) string {
		return head + "    schedules:\n      - {cron: \"0 9 * * *\"}\n" + items
	}
	cases := []struct{ name, yaml, msg string }{
		{"schedule and schedules", head + "    schedule: {cron: '@daily'}\n    schedules:\n      - {cron: '@hourly'}\n",
			"deployments[0].schedules: a deployment has either `schedule:` (one) or `schedules:` (a list), not both"},
		{"interval not a duration", list("      - {interval: 15}\n"), `deployments[0].schedules[1].interval: "15" is not a duration`},
		{"interval too short", list("      - {interval: 10s}\n"), "deployments[0].schedules[1].interval: 10s is too short; must be at least 1m0s"},
		{"offset not shorter than the interval", list("      - {interval: 15m, offset: 1h}\n"), "deployments[0].schedules[1].offset: 1h is not shorter than the interval 15m0s"},
		{"offset of a cron", list("      - {cron: '@hourly', offset: 5m}\n"), "deployments[0].schedules[1].offset: only an interval schedule has an offset"},
		{"cron and interval", list("      - {cron: '@hourly', interval: 1h}\n"), "deployments[0].schedules[1].interval: a schedule has either cron"},
		{"neither", list("      - {timezone: UTC}\n"), "deployments[0].schedules[1]: no cron or interval"},
		{"active not a boolean", list("      - {interval: 1h, active: sometimes}\n"), `deployments[0].schedules[1].active: must be true or false`},
		{"duplicate slug", list("      - {interval: 1h, slug: \"1\"}\n"), `deployments[0].schedules[1].slug: duplicate slug "1"`},
		{"bad slug", list("      - {interval: 1h, slug: Every Hour}\n"), `deployments[0].schedules[1].slug: "Every Hour" is not a valid slug`},
		{"unknown parameter", list("      - {interval: 1h, parameters: {batch: 5}}\n"), `deployments[0].schedules[1].parameters.batch: unknown parameter "batch"`},
		{"mistyped parameter", list("      - {interval: 1h, parameters: {batch_size: big}}\n"), `deployments[0].schedules[1].parameters.batch_size: must be an integer, got the string "big"`},
		{"ID taken by a deployment", list("      - {interval: 1h, slug: adhoc}\n") + "  - name: " + name + "-adhoc\n", `name "` + name + `-adhoc" is the ID of the schedule deployments[0].schedules[1]`},
	}
	dir := t.TempDir()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.yaml), 0o600))
			for _, args := range [][]string{{"deploy"}, {"deploy", "--dry-run"}, {"deployment", "ls"}} {
				r := blueprint(t, append([]string{"-f", path}, args...)...)
				require.Equal(t, 2, r.code, "case %d %v: %s", i, args, r)
				assert.Empty(t, r.stdout)
				assert.Equal(t, 1, strings.Count(strings.TrimSuffix(r.stderr, "\n"), "\n")+1, "one line: %q", r.stderr)
				assert.Contains(t, r.stderr, "blueprint: "+path+":")
				assert.Contains(t, r.stderr, tc.msg)
			}
			assert.Nil(t, scheduleDescription(t, name), "nothing created")
		})
	}

	// --schedule names a slug of the deployment.
	good := writeManifest(t, list(""))
	for _, args := range [][]string{
		{"deployment", "pause", name, "--schedule", "2x"},
		{"deployment", "trigger", name, "--schedule", "nope"},
		{"deployment", "backfill", name, "--schedule", "nope", "--from", "2025-01-01T00:00:00Z", "--to", "2025-01-02T00:00:00Z"},
	} {
		r := blueprint(t, append([]string{"-f", good}, args...)...)
		require.Equal(t, 2, r.code, "%v: %s", args, r)
		assert.Contains(t, r.stderr, `--schedule: deployment "`+name+`" has no schedule with slug`)
		assert.Contains(t, r.stderr, "(valid: 1)")
	}
}
