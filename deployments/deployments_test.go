package deployments_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// shipped are the deployments of the shipped manifest.
var shipped = []string{"production-etl", "adhoc-etl", "daily-report", "nightly-etl"}

func TestDefaultManifest(t *testing.T) {
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	assert.Equal(t, deployments.DefaultPath, m.Path)
	// The shipped deployments, and any a user adds (see "Write your own
	// flow": TestWriteYourOwnFlow runs this test with one added).
	assert.Subset(t, m.Names(), shipped)

	prod, err := m.Get("production-etl")
	require.NoError(t, err)
	assert.Equal(t, "Daily load of the orders feed into the warehouse.", prod.Description)
	assert.Equal(t, []string{"etl", "orders", "production"}, prod.Tags)
	assert.Equal(t, datapipeline.WorkflowType, prod.Workflow)
	assert.Equal(t, runinfo.TaskQueue, prod.TaskQueue)
	assert.Equal(t, map[string]any{"batch_size": int64(1000), "source_url": "demo://orders"}, prod.Parameters)
	require.Len(t, prod.Schedules, 1)
	s := prod.Schedules[0]
	assert.Equal(t, "1", s.Slug, "the default slug is the position")
	assert.Equal(t, "production-etl", prod.ScheduleID(0), "the first schedule's ID is the deployment name")
	assert.Equal(t, "0 9 * * *", s.Cron)
	assert.Equal(t, "America/Chicago", s.Timezone)
	assert.Equal(t, "America/Chicago", s.Location.String())
	assert.Nil(t, s.Paused, "absent paused leaves the server's state alone")
	assert.Equal(t, "skip", s.Overlap)
	assert.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, s.OverlapPolicy())
	assert.Equal(t, time.Hour, s.CatchupWindow)
	assert.Equal(t, time.Duration(0), s.Jitter)
	assert.Positive(t, prod.Line)
	assert.Greater(t, s.Line, prod.Line)

	p, err := prod.Params()
	require.NoError(t, err)
	assert.EqualValues(t, 1000, p["batch_size"])
	assert.Equal(t, "demo://orders", p["source_url"])

	adhoc, err := m.Get("adhoc-etl")
	require.NoError(t, err)
	assert.Empty(t, adhoc.Schedules)
	p, err = adhoc.Params()
	require.NoError(t, err)
	assert.EqualValues(t, 100, p["batch_size"])

	assert.Equal(t, m, must(deployments.Load(flows.Registry.Flows(), "")), `Load("") is the embedded manifest`)
	assert.Contains(t, string(deployments.DefaultYAML()), "production-etl")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestParseDefaultsAndOptionalFields(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "d.yaml", []byte(`
deployments:
  - name: minimal
  - name: full
    task_queue: other-queue
    parameters: {source_url: "file:///data/orders.csv"}
    schedule:
      cron: "@daily"
      paused: true
      note: paused for the migration
      overlap: buffer_one
      catchup_window: 10s
      jitter: 24h
  - name: unpause
    schedule: {cron: "*/15 * * * 1-5", paused: false, timezone: Europe/Berlin}
`))
	require.NoError(t, err)
	require.Len(t, m.Deployments, 3)

	minimal := m.Deployments[0]
	assert.Equal(t, "minimal", minimal.Name)
	assert.Equal(t, 3, minimal.Line)
	assert.Equal(t, datapipeline.WorkflowType, minimal.Workflow)
	assert.Equal(t, runinfo.TaskQueue, minimal.TaskQueue)
	assert.NotNil(t, minimal.Parameters)
	assert.Empty(t, minimal.Parameters)
	assert.Empty(t, minimal.Schedules)
	p, err := minimal.Params()
	require.NoError(t, err)
	assert.EqualValues(t, datapipeline.DefaultBatchSize, p["batch_size"])
	assert.Equal(t, datapipeline.DefaultSourceURL, p["source_url"])

	full := m.Deployments[1]
	assert.Equal(t, "other-queue", full.TaskQueue)
	assert.Equal(t, map[string]any{"source_url": "file:///data/orders.csv"}, full.Parameters)
	p, err = full.Params()
	require.NoError(t, err)
	assert.EqualValues(t, datapipeline.DefaultBatchSize, p["batch_size"], "defaults apply under the manifest's values")
	assert.Equal(t, "file:///data/orders.csv", p["source_url"])
	require.Len(t, full.Schedules, 1)
	s := full.Schedules[0]
	assert.Equal(t, 7, s.Line)
	assert.Equal(t, "@daily", s.Cron)
	assert.Equal(t, deployments.DefaultTimezone, s.Timezone)
	assert.Equal(t, time.UTC, s.Location)
	require.NotNil(t, s.Paused)
	assert.True(t, *s.Paused)
	assert.Equal(t, "paused for the migration", s.Note)
	assert.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE, s.OverlapPolicy())
	assert.Equal(t, 10*time.Second, s.CatchupWindow)
	assert.Equal(t, 24*time.Hour, s.Jitter)

	require.Len(t, m.Deployments[2].Schedules, 1)
	unpause := m.Deployments[2].Schedules[0]
	require.NotNil(t, unpause.Paused)
	assert.False(t, *unpause.Paused)
	assert.Equal(t, "Europe/Berlin", unpause.Location.String())
	assert.Equal(t, deployments.DefaultOverlap, unpause.Overlap)
	assert.Equal(t, deployments.DefaultCatchupWindow, unpause.CatchupWindow)
}

func TestParseFollowsAliases(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "a.yaml", []byte(`
deployments:
  - name: one
    parameters: &p {batch_size: 5}
  - name: two
    parameters: *p
`))
	require.NoError(t, err)
	assert.Equal(t, int64(5), m.Deployments[1].Parameters["batch_size"])
}

// prod is a valid deployment; cases below break one thing in a copy.
const prod = `deployments:
  - name: production-etl
    parameters:
      batch_size: 1000
    schedule:
      cron: "0 9 * * *"
      timezone: America/Chicago
`

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		line  int
		field string
		want  string // in the message
	}{
		{"empty file", "", 1, "", "the manifest is empty"},
		{"only comments", "# nothing here\n\n", 1, "", "the manifest is empty"},
		{"null document", "---\n~\n", 2, "", "the manifest is empty"},
		{"not a mapping", "- name: x\n", 1, "", "must be a mapping with a `deployments:` list, got a list"},
		{"scalar document", "hello\n", 1, "", `got the string "hello"`},
		{"syntax error", "deployments:\n  - name: x\n    desc: a: b\n", 3, "", "invalid YAML: mapping values are not allowed in this context"},
		{"indentation error", "deployments:\n  - name: x\n    schedule:\n      cron: '@daily'\n     timezone: UTC\n", 2, "", "invalid YAML: did not find expected key in the block starting on this line"},
		{"unknown anchor", "deployments:\n  - *nope\n", 1, "", "invalid YAML: unknown anchor 'nope' referenced"},
		{"two documents", prod + "---\ndeployments: []\n", 8, "", "a second YAML document"},
		{"no deployments key", "# x\nversion: 1\n", 2, "deployments", "missing; the manifest needs a `deployments:` list"},
		{"unknown top-level key", "deployment:\n  - name: x\n", 1, "deployment", `unknown key (valid: deployments, sources, datasets); did you mean "deployments"?`},
		{"empty list", "deployments: []\n", 1, "deployments", "no deployments"},
		{"null list", "deployments:\n", 1, "deployments", "no deployments"},
		{"list is a mapping", "deployments:\n  name: x\n", 2, "deployments", "must be a list of deployments"},
		{"item not a mapping", "deployments:\n  - production-etl\n", 2, "deployments[0]", `must be a mapping with at least a ` + "`name:`"},
		{"missing name", "deployments:\n  - description: no name\n", 2, "deployments[0].name", "missing; every deployment needs a name"},
		{"null name", "deployments:\n  - name:\n", 2, "deployments[0].name", "has no value"},
		{"bad name", "deployments:\n  - name: Production_ETL\n", 2, "deployments[0].name", `"Production_ETL" is not a valid name (lower-case letters, digits and '-'`},
		{"name too long", "deployments:\n  - name: " + strings.Repeat("a", 64) + "\n", 2, "deployments[0].name", "at most 63 characters"},
		{"duplicate names", prod + "  - name: production-etl\n", 8, "deployments[1].name", `duplicate name "production-etl": deployments[0] at line 2 has it too`},
		{"unknown deployment key", "deployments:\n  - name: x\n    schedul: {cron: '@daily'}\n", 3, "deployments[0].schedul", `unknown key (valid: name, description, tags, workflow, task_queue, parameters, schedule, schedules, notify, triggers, concurrency_limit, collision_strategy); did you mean "schedule"?`},
		{"duplicate key", "deployments:\n  - name: x\n    tags: [a]\n    tags: [b]\n", 4, "deployments[0].tags", "duplicate key (first at line 3)"},
		{"merge key", "deployments:\n  - name: x\n    <<: {tags: [a]}\n", 3, "deployments[0]", "merge keys (<<) are not supported"},
		{"tags not a list", "deployments:\n  - name: x\n    tags: etl\n", 3, "deployments[0].tags", `must be a list of strings such as [etl, orders], got the string "etl"`},
		{"duplicate tag", "deployments:\n  - name: x\n    tags: [a, a]\n", 3, "deployments[0].tags[1]", `duplicate tag "a"`},
		{"unknown workflow", "deployments:\n  - name: x\n    workflow: DataPipelin\n", 3, "deployments[0].workflow", `unknown workflow "DataPipelin" (valid: ` + strings.Join(flows.Registry.Flows().Names(), ", ") + `); did you mean "DataPipeline"?`},
		{"empty task queue", "deployments:\n  - name: x\n    task_queue: \"\"\n", 3, "deployments[0].task_queue", "is empty (leave the key out to use the flow's task queue)"},
		{"parameters a list", "deployments:\n  - name: x\n    parameters: [batch_size]\n", 3, "deployments[0].parameters", "must be a mapping of parameter names to values"},
		{"unknown parameter", "deployments:\n  - name: x\n    parameters:\n      batchsize: 10\n", 4, "deployments[0].parameters.batchsize", `unknown parameter "batchsize" (valid: batch_size, source_url, max_rejected, dataset); did you mean "batch_size"?`},
		{"integer param is a word", strings.Replace(prod, "1000", "ten", 1), 4, "deployments[0].parameters.batch_size", `must be an integer, got the string "ten"`},
		{"integer param is a fraction", strings.Replace(prod, "1000", "1.5", 1), 4, "deployments[0].parameters.batch_size", "must be an integer, got the number 1.5"},
		{"integer param is quoted", strings.Replace(prod, "1000", `"1000"`, 1), 4, "deployments[0].parameters.batch_size", `must be an integer, got the string "1000"`},
		{"integer param is a list", strings.Replace(prod, "1000", "[1]", 1), 4, "deployments[0].parameters.batch_size", "must be an integer, got a list"},
		{"integer param overflows", strings.Replace(prod, "1000", "99999999999999999999", 1), 4, "deployments[0].parameters.batch_size", "99999999999999999999 is out of range for an integer"},
		{"string param is a number", "deployments:\n  - name: x\n    parameters: {source_url: 5}\n", 3, "deployments[0].parameters.source_url", "must be a string, got the integer 5"},
		{"batch size zero", strings.Replace(prod, "1000", "0", 1), 4, "deployments[0].parameters.batch_size", "invalid value: batch_size=0: must be at least 1"},
		{"batch size too big", strings.Replace(prod, "1000", "100000001", 1), 4, "deployments[0].parameters.batch_size", "batch_size=100000001: must be at most 100000000"},
		{"bad source url", "deployments:\n  - name: x\n    parameters:\n      batch_size: 5\n      source_url: ftp://example.com/x\n", 5, "deployments[0].parameters.source_url", `invalid value: source_url="ftp://example.com/x"`},
		{"schedule not a mapping", "deployments:\n  - name: x\n    schedule: '@daily'\n", 3, "deployments[0].schedule", "must be a mapping with a `cron:` or an `interval:` key"},
		{"schedule without cron", "deployments:\n  - name: x\n    schedule:\n      timezone: UTC\n", 3, "deployments[0].schedule", "no cron or interval; a schedule needs one"},
		{"unknown schedule key", strings.Replace(prod, "timezone:", "timezon:", 1), 7, "deployments[0].schedule.timezon", `did you mean "timezone"?`},
		{"cron with 4 fields", strings.Replace(prod, "0 9 * * *", "0 9 * *", 1), 6, "deployments[0].schedule.cron", `"0 9 * *" has 4 fields, want 5: minute hour day-of-month month day-of-week`},
		{"cron with seconds", strings.Replace(prod, "0 9 * * *", "0 0 9 * * *", 1), 6, "deployments[0].schedule.cron", "(seconds are not supported)"},
		{"cron minute out of range", strings.Replace(prod, "0 9 * * *", "61 9 * * *", 1), 6, "deployments[0].schedule.cron", `minute field "61": end of range (61) above maximum (59)`},
		{"cron hour out of range", strings.Replace(prod, "0 9 * * *", "0 25 * * *", 1), 6, "deployments[0].schedule.cron", `hour field "25"`},
		{"cron bad day of week", strings.Replace(prod, "0 9 * * *", "0 9 * * MONDAY", 1), 6, "deployments[0].schedule.cron", `day-of-week field "MONDAY": failed to parse int from MONDAY (allowed: 0-6 or SUN-SAT`},
		{"cron question mark", strings.Replace(prod, "0 9 * * *", "0 9 ? * *", 1), 6, "deployments[0].schedule.cron", `day-of-month field "?": the "?" wildcard is not supported by Temporal; use "*"`},
		{"cron never fires", strings.Replace(prod, "0 9 * * *", "0 9 31 2 *", 1), 6, "deployments[0].schedule.cron", "never fires"},
		{"unknown descriptor", strings.Replace(prod, `"0 9 * * *"`, "'@dayly'", 1), 6, "deployments[0].schedule.cron", `unknown descriptor "@dayly" (valid: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly); did you mean "@daily"?`},
		{"interval descriptor", strings.Replace(prod, `"0 9 * * *"`, "'@every 1h'", 1), 6, "deployments[0].schedule.cron", "@every is not a cron expression; write the schedule's interval instead of its cron, e.g. interval: 15m"},
		{"time zone prefix", strings.Replace(prod, "0 9 * * *", "TZ=UTC 0 9 * * *", 1), 6, "deployments[0].schedule.cron", "set schedule.timezone instead"},
		{"empty cron", strings.Replace(prod, "0 9 * * *", " ", 1), 6, "deployments[0].schedule.cron", "is empty"},
		{"unknown time zone", strings.Replace(prod, "America/Chicago", "America/Chicag", 1), 7, "deployments[0].schedule.timezone", `unknown time zone "America/Chicag"`},
		{"local time zone", strings.Replace(prod, "America/Chicago", "Local", 1), 7, "deployments[0].schedule.timezone", "this machine's zone"},
		{"paused not a boolean", prod + "      paused: \"yes\"\n", 8, "deployments[0].schedule.paused", `must be true or false (leave the key out to keep the server's state), got the string "yes"`},
		{"bad overlap", prod + "      overlap: skipp\n", 8, "deployments[0].schedule.overlap", `unknown overlap policy "skipp" (valid: skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all); did you mean "skip"?`},
		{"catchup window not a duration", prod + "      catchup_window: 3600\n", 8, "deployments[0].schedule.catchup_window", `"3600" is not a duration`},
		{"catchup window too short", prod + "      catchup_window: 5s\n", 8, "deployments[0].schedule.catchup_window", "5s is too short; must be at least 10s"},
		{"negative jitter", prod + "      jitter: -1s\n", 8, "deployments[0].schedule.jitter", "-1s is negative"},
		{"jitter too long", prod + "      jitter: 25h\n", 8, "deployments[0].schedule.jitter", "25h is too long; must be at most 24h0m0s"},
		{"odd key stays on one line", "deployments:\n  - name: x\n    \"a\\nb\": 1\n", 3, `deployments[0]."a\nb"`, "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := deployments.Parse(flows.Registry.Flows(), "deploy.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Nil(t, m)
			assert.True(t, badinput.Is(err), "error is an InputError: %v", err)

			problems := deployments.Problems(err)
			require.NotEmpty(t, problems, "error carries problems: %v", err)
			got := problemFor(t, err, tc.field)
			assert.Equal(t, "deploy.yaml", got.File)
			assert.Equal(t, tc.line, got.Line, "line of %v", got)
			assert.Contains(t, got.Msg, tc.want)

			// The message is FILE:LINE: FIELD: PROBLEM, one line per problem.
			prefix := "deploy.yaml:" + strconv.Itoa(tc.line) + ": "
			if tc.field != "" {
				prefix += tc.field + ": "
			}
			assert.Contains(t, err.Error(), prefix+got.Msg)
			for _, p := range problems {
				assert.NotContains(t, p.String(), "\n")
			}
			assert.Len(t, strings.Split(err.Error(), "\n"), len(problems))
		})
	}
}

func TestParseReportsEveryProblemInLineOrder(t *testing.T) {
	_, err := deployments.Parse(flows.Registry.Flows(), "d.yaml", []byte(`deployments:
  - name: a
    parameters: {batch_size: 0}
  - name: B
    schedule: {cron: "0 9 * *", overlap: nope}
`))
	require.Error(t, err)
	problems := deployments.Problems(err)
	require.Len(t, problems, 4, "%v", err)
	assert.Equal(t, []int{3, 4, 5, 5}, []int{problems[0].Line, problems[1].Line, problems[2].Line, problems[3].Line})
	assert.Equal(t, "deployments[1].schedule.cron", problems[2].Field)
	assert.Equal(t, "deployments[1].schedule.overlap", problems[3].Field)
	assert.Equal(t, `d.yaml:3: deployments[0].parameters.batch_size: invalid value: batch_size=0: must be at least 1`, problems[0].String())
}

func TestParseCapsTheReport(t *testing.T) {
	var b strings.Builder
	b.WriteString("deployments:\n")
	for range 30 {
		b.WriteString("  - name: X\n")
	}
	_, err := deployments.Parse(flows.Registry.Flows(), "d.yaml", []byte(b.String()))
	require.Error(t, err)
	assert.Len(t, deployments.Problems(err), 30)
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, 21)
	assert.Equal(t, "... and 10 more problems", lines[20])
}

func TestParseStopsAtAHundredProblems(t *testing.T) {
	// Aliases make a small file repeat one mistake many times.
	yaml := "x: &t [" + strings.Repeat("a, ", 500) + "a]\ndeployments:\n" + strings.Repeat("  - {name: d, tags: *t}\n", 500)
	_, err := deployments.Parse(flows.Registry.Flows(), "d.yaml", []byte(yaml))
	require.Error(t, err)
	assert.Len(t, deployments.Problems(err), 100)
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, 21)
	assert.Regexp(t, `^\.\.\. and at least \d+ more problems$`, lines[20])
}

func TestGet(t *testing.T) {
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)

	_, err = m.Get("production-etI")
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	assert.Equal(t, `unknown deployment "production-etI" in deployments/deployments.yaml (embedded) (valid: `+strings.Join(m.Names(), ", ")+`); did you mean "production-etl"?`, err.Error())

	_, err = m.Get("weekly")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "did you mean")

	_, err = m.Get("")
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	assert.Contains(t, err.Error(), "no deployment name given")
}

func TestDeploymentParamsRejectsHandMadeValues(t *testing.T) {
	cases := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"unknown", map[string]any{"batchsize": 5}, `unknown parameter "batchsize"`},
		{"out of range", map[string]any{"batch_size": 0}, "batch_size=0: must be at least 1"},
		{"wrong type", map[string]any{"batch_size": "ten"}, `batch_size: must be an integer, got the string "ten"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deployments.Deployment{Flows: flows.Registry.Flows(), Name: "x", Parameters: tc.params}.Params()
			require.Error(t, err)
			assert.True(t, badinput.Is(err))
			assert.Contains(t, err.Error(), `deployment "x": `)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "deployments.yaml")
	require.NoError(t, os.WriteFile(good, []byte(prod), 0o600))
	m, err := deployments.Load(flows.Registry.Flows(), good)
	require.NoError(t, err)
	assert.Equal(t, good, m.Path)
	assert.Equal(t, []string{"production-etl"}, m.Names())

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("deployments: []\n"), 0o600))
	_, err = deployments.Load(flows.Registry.Flows(), bad)
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	assert.Equal(t, bad+":1: deployments: no deployments; add at least one (see deployments/deployments.yaml (embedded))", err.Error())

	for _, path := range []string{"-", filepath.Join(dir, "missing.yaml"), dir} {
		_, err = deployments.Load(flows.Registry.Flows(), path)
		require.Error(t, err, path)
		assert.True(t, badinput.Is(err), "%s: %v", path, err)
	}
	_, err = deployments.Load(flows.Registry.Flows(), filepath.Join(dir, "missing.yaml"))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "wraps the cause: %v", err)
}

func TestScheduleNext(t *testing.T) {
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	prod, err := m.Get("production-etl")
	require.NoError(t, err)
	s := prod.Schedules[0]

	cases := []struct {
		name  string
		after time.Time
		want  []time.Time // UTC
	}{
		{
			"winter: 09:00 CST is 15:00 UTC",
			time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
			[]time.Time{time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)},
		},
		{
			"summer: 09:00 CDT is 14:00 UTC",
			time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
			[]time.Time{time.Date(2026, 7, 1, 14, 0, 0, 0, time.UTC), time.Date(2026, 7, 2, 14, 0, 0, 0, time.UTC)},
		},
		{
			"across the spring change on 2026-03-08",
			time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC),
			[]time.Time{time.Date(2026, 3, 7, 15, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 14, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)},
		},
		{
			"strictly after a fire time",
			time.Date(2026, 7, 1, 14, 0, 0, 0, time.UTC),
			[]time.Time{time.Date(2026, 7, 2, 14, 0, 0, 0, time.UTC)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Next(tc.after, len(tc.want))
			require.Len(t, got, len(tc.want))
			for i := range got {
				assert.True(t, tc.want[i].Equal(got[i]), "fire %d: want %s, got %s", i, tc.want[i], got[i].UTC())
				assert.Equal(t, 9, got[i].Hour(), "in the schedule's zone")
				assert.Equal(t, "America/Chicago", got[i].Location().String())
			}
		})
	}

	assert.Nil(t, s.Next(time.Now(), 0))
	assert.Nil(t, deployments.Schedule{Cron: "nope"}.Next(time.Now(), 1))
	// A hand-made Schedule without Location uses Timezone (UTC when empty).
	got := deployments.Schedule{Cron: "@hourly"}.Next(time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC), 1)
	require.Len(t, got, 1)
	assert.True(t, got[0].Equal(time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC)))
	got = deployments.Schedule{Cron: "0 9 * * *", Timezone: "Asia/Tokyo"}.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	require.Len(t, got, 1)
	assert.True(t, got[0].Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(24*time.Hour)), "09:00 JST is 00:00 UTC: %s", got[0])
}

func TestOverlapPolicies(t *testing.T) {
	for _, name := range deployments.OverlapNames() {
		want, err := deployments.ParseOverlap(name)
		require.NoError(t, err)
		assert.Equal(t, name, deployments.OverlapName(want), "the table reads both ways")
		m, err := deployments.Parse(flows.Registry.Flows(), "d.yaml", []byte(prod+"      overlap: "+name+"\n"))
		require.NoError(t, err, name)
		assert.Equal(t, name, m.Deployments[0].Schedules[0].Overlap)
		assert.Equal(t, want, m.Deployments[0].Schedules[0].OverlapPolicy(), name)
	}
}

func TestParseOverlapRejects(t *testing.T) {
	_, err := deployments.ParseOverlap("buffer-all")
	require.Error(t, err)
	assert.Equal(t, `unknown overlap policy "buffer-all" (valid: skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all); did you mean "buffer_all"?`, err.Error())
	assert.Equal(t, "skip", deployments.OverlapName(enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED), "unset is the server's default")
}
