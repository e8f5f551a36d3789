package cli_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// showJSON is the part of `runs show -o json` these tests read.
type showJSON struct {
	WorkflowID   string     `json:"workflow_id"`
	RunID        string     `json:"run_id"`
	Status       string     `json:"status"`
	StartedAt    time.Time  `json:"started_at"`
	ScheduledFor *time.Time `json:"scheduled_for"`
	RetryOf      *struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
		UIURL      string `json:"ui_url"`
	} `json:"retry_of"`
	Retries []runRow `json:"retries"`
}

func showRun(t *testing.T, args ...string) showJSON {
	t.Helper()
	r := ok(t, append([]string{"runs", "show", "-o", "json"}, args...)...)
	var v showJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
	return v
}

// terminate ends a run the test left open.
func terminate(t *testing.T, workflowID string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Client().TerminateWorkflow(ctx, workflowID, "", "test cleanup")
	})
}

// A failed run is retried with the same parameters, and each run names
// the other.
func TestRunsRetry(t *testing.T) {
	queue := testutil.UniqueID("tq-cli-retry")
	flowstest.Start(t, srv.Client(), queue, flows.Registry)
	name := testutil.UniqueID("cli-retry")
	path := writeManifest(t, manifestOf(deployment(name, queue, `{batch_size: 30, source_url: "demo://orders"}`, "")))

	orig := name + "-orig"
	r := blueprint(t, "-f", path, "run", name, "--id", orig, "--watch", "--param", "source_url=demo://orders?fail=always&seed=4")
	require.Equal(t, 1, r.code, "the original fails: %s", r)
	origRun := showRun(t, orig).RunID

	// The retry fails the same way: same parameters, same outcome.
	r = blueprint(t, "-f", path, "runs", "retry", orig, "--watch")
	require.Equal(t, 1, r.code, "%s", r)
	assert.Contains(t, r.stdout, "Started a retry of "+orig+" (run "+origRun+"), a run of "+name+".")
	m := regexp.MustCompile(`Workflow ID:\s+(\S+)`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	retry := m[1]
	assert.Regexp(t, `^`+name+`-\d{8}T\d{6}Z-[0-9a-f]{12}$`, retry)
	assert.Contains(t, r.stdout, "Run "+retry+" failed in ")
	assert.Contains(t, r.stderr, "Extract failed after 3 attempts: synthetic source unavailable (fail=always)")
	assert.Equal(t, startedInput(t, orig), startedInput(t, retry), "the same parameters")
	assert.Equal(t, map[string]any{"batch_size": 30.0, "source_url": "demo://orders?fail=always&seed=4"}, startedInput(t, retry))
	assert.Equal(t, name, deploymentAttribute(t, retry))

	// runs show of the retry names the original...
	v := showRun(t, retry)
	require.NotNil(t, v.RetryOf)
	assert.Equal(t, orig, v.RetryOf.WorkflowID)
	assert.Equal(t, origRun, v.RetryOf.RunID)
	assert.Contains(t, v.RetryOf.UIURL, "/workflows/"+orig+"/"+origRun+"/history")
	r = ok(t, "runs", "show", retry)
	assert.Regexp(t, `(?m)^\s+Retry of:\s+`+orig+` \(run `+origRun+`\)$`, r.stdout)

	// ... and the original lists its retries (visibility lags a little).
	require.Eventually(t, func() bool { return len(showRun(t, orig).Retries) == 1 }, 30*time.Second, 200*time.Millisecond)
	v = showRun(t, orig)
	assert.Nil(t, v.RetryOf)
	assert.Equal(t, retry, v.Retries[0].WorkflowID)
	assert.Equal(t, "failed", v.Retries[0].Status)
	r = ok(t, "runs", "show", orig)
	assert.Regexp(t, `(?m)^\s+Retries:\s+`+retry+` \(failed\)$`, r.stdout)

	// A retry of the retry links to the retry; -o json without --watch.
	r = ok(t, "-f", path, "runs", "retry", retry, "--id", retry+"-again", "-o", "json")
	var started struct {
		WorkflowID string `json:"workflow_id"`
		RetryOf    struct {
			WorkflowID string `json:"workflow_id"`
		} `json:"retry_of"`
		Parameters map[string]any `json:"parameters"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &started), r.stdout)
	assert.Equal(t, retry+"-again", started.WorkflowID)
	assert.Equal(t, retry, started.RetryOf.WorkflowID)
	assert.Equal(t, map[string]any{"batch_size": 30.0, "source_url": "demo://orders?fail=always&seed=4"}, started.Parameters)

	t.Run("refused: exit 2, nothing started", func(t *testing.T) {
		// A run that has not ended: one that waits for a worker that
		// never comes.
		idle := testutil.UniqueID("cli-retry-idle")
		idlePath := writeManifest(t, manifestOf(deployment(name, idle, `{batch_size: 5}`, "")))
		running := idle + "-run"
		ok(t, "-f", idlePath, "run", name, "--id", running)
		terminate(t, running)

		// A run started by hand carries no deployment.
		byHand := testutil.UniqueID("cli-retry-by-hand")
		run, err := srv.Client().ExecuteWorkflow(ctx(t), client.StartWorkflowOptions{ID: byHand, TaskQueue: queue}, datapipeline.WorkflowType,
			map[string]any{"batch_size": 5, "source_url": "demo://orders"})
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx(t), nil))

		for _, tc := range []struct {
			name string
			args []string
			msg  string
		}{
			{"running", []string{"runs", "retry", running}, "has not ended; only an ended run can be retried (cancel it first: blueprint runs cancel " + running + ")"},
			{"started by hand", []string{"runs", "retry", byHand}, "has no deployment (search attribute BlueprintDeployment)"},
			{"deployment not in the manifest", []string{"runs", "retry", orig}, `is a run of deployment "` + name + `": unknown deployment "` + name + `"`},
			{"unknown run ID", []string{"runs", "retry", orig, "--run-id", "0194b7a2-0000-0000-0000-000000000000"}, "no run " + orig + " (run 0194b7a2-0000-0000-0000-000000000000) in namespace default"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				newID := testutil.UniqueID("cli-retry-refused")
				args := tc.args
				if tc.name != "deployment not in the manifest" {
					args = append([]string{"-f", path}, args...)
				}
				r := blueprint(t, append(args, "--id", newID)...)
				require.Equal(t, 2, r.code, "%s", r)
				assert.Empty(t, r.stdout)
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				require.Len(t, lines, 1, r.stderr)
				assert.Contains(t, lines[0], tc.msg)
				notStarted(t, newID)
			})
		}
	})
}

// A run with a start delay is scheduled until it starts, in runs ls and
// runs show.
func TestRunScheduled(t *testing.T) {
	name := testutil.UniqueID("cli-sched")
	queue := name + "-q" // no worker until the cancel at the end
	path := writeManifest(t, manifestOf(deployment(name, queue, `{batch_size: 10}`, "")))

	in, at := name+"-in", name+"-at"
	before := time.Now()
	r := ok(t, "-f", path, "run", name, "--id", in, "--start-in", "1h")
	terminate(t, in)
	assert.Regexp(t, `^Scheduled a run of `+name+` to start at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \(in 1h0m0s\)\.\n`, r.stdout)
	startAt := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	r = ok(t, "-f", path, "run", name, "--id", at, "--start-at", startAt.Format(time.RFC3339), "-o", "json")
	terminate(t, at)
	var started struct {
		StartsAt time.Time `json:"starts_at"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &started), r.stdout)
	assert.WithinDuration(t, startAt, started.StartsAt, time.Second)

	// runs show.
	v := showRun(t, in)
	assert.Equal(t, "scheduled", v.Status)
	require.NotNil(t, v.ScheduledFor)
	assert.WithinRange(t, *v.ScheduledFor, before.Add(time.Hour-time.Second), time.Now().Add(time.Hour+time.Second))
	v = showRun(t, at)
	assert.Equal(t, "scheduled", v.Status)
	require.NotNil(t, v.ScheduledFor)
	assert.WithinDuration(t, startAt, *v.ScheduledFor, time.Second, "the server starts it at --start-at")
	r = ok(t, "runs", "show", in)
	assert.Regexp(t, `(?m)^\s+Status:\s+scheduled$`, r.stdout)
	assert.Regexp(t, `(?m)^\s+Starts:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \(in (59m\d+s|1h0m0s); Temporal start delay\)$`, r.stdout)
	assert.NotContains(t, r.stdout, "Running for")
	assert.NotContains(t, r.stdout, "Waiting:", "a scheduled run waits for its time, not for a worker")

	// runs ls, as JSON and as a table, and by status.
	var rows []runRow
	require.Eventually(t, func() bool {
		rows = listRuns(t, "-f", path, "--deployment", name)
		return len(rows) == 2
	}, 30*time.Second, 200*time.Millisecond)
	for _, row := range rows {
		assert.Equal(t, "scheduled", row.Status, row.WorkflowID)
	}
	r = ok(t, "-f", path, "runs", "ls", "--deployment", name)
	assert.Regexp(t, `(?m)^`+in+`\s+\S+\s+`+name+`\s+scheduled\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+\s+starts in (59m\d+s|1h0m0s)$`, r.stdout)
	assert.Len(t, listRuns(t, "-f", path, "--deployment", name, "--status", "scheduled"), 2)
	assert.Empty(t, listRuns(t, "-f", path, "--deployment", name, "--status", "running"), "a scheduled run is not running yet")

	// Cancelled before its time: the cancel gives a worker a workflow
	// task at once, and the run ends without having started.
	flowstest.Start(t, srv.Client(), queue, flows.Registry)
	ok(t, "runs", "cancel", in)
	require.Eventually(t, func() bool { return showRun(t, in).Status == "cancelled" }, 30*time.Second, 200*time.Millisecond)
	r = ok(t, "runs", "show", in)
	assert.Regexp(t, `(?m)^\s+Scheduled for:\s+.+; it ended before it started$`, r.stdout)
}

// --watch waits for a delayed run's start, says so, then follows it.
func TestRunWatchWaitsForTheStart(t *testing.T) {
	queue := testutil.UniqueID("tq-cli-sched-watch")
	flowstest.Start(t, srv.Client(), queue, flows.Registry)
	name := testutil.UniqueID("cli-sched-watch")
	path := writeManifest(t, manifestOf(deployment(name, queue, `{batch_size: 20, source_url: "demo://orders"}`, "")))
	id := name + "-run"
	r := blueprint(t, "-f", path, "run", name, "--id", id, "--start-in", "2s", "--watch")
	require.Equal(t, 0, r.code, "%s", r)
	assert.Regexp(t, `(?m)^scheduled: starts at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$`, r.stdout)
	assert.Contains(t, r.stdout, "Run "+id+" completed in ")
	v := showRun(t, id)
	assert.Equal(t, "completed", v.Status)
	require.NotNil(t, v.ScheduledFor, "it had a start delay")
	assert.WithinDuration(t, v.StartedAt.Add(2*time.Second), *v.ScheduledFor, time.Second)
	r = ok(t, "runs", "show", id)
	assert.Regexp(t, `(?m)^\s+Started:\s+.+ \(Temporal start delay\)$`, r.stdout)
}
