package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

type runRow struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Deployment string     `json:"deployment"`
	Status     string     `json:"status"`
	TaskQueue  string     `json:"task_queue"`
	StartedAt  time.Time  `json:"started_at"`
	ClosedAt   *time.Time `json:"closed_at"`
}

func listRuns(t *testing.T, args ...string) []runRow {
	t.Helper()
	r := ok(t, append([]string{"runs", "ls", "-o", "json"}, args...)...)
	var rows []runRow
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows), r.stdout)
	return rows
}

// Runs started by the schedule (trigger, backfill) and by hand are all
// listed under their deployment.
func TestRunsLsFindsEveryKindOfRun(t *testing.T) {
	// The runs stay open (no worker polls the queue): a second pass
	// (-count=2) has deployments, hence runs, of its own.
	name, other := testutil.UniqueID("cli-runs"), testutil.UniqueID("cli-runs-other")
	manualID, otherID := name+"-manual", other+"-manual"
	cleanupSchedule(t, name)
	// Hourly, in UTC; no worker polls the queue, so the runs stay running.
	path := writeManifest(t, manifestOf(
		deployment(name, "tq-cli-runs", `{batch_size: 10}`, "      cron: \"0 * * * *\"\n"),
		deployment(other, "tq-cli-runs", `{batch_size: 10}`, ""),
	))
	ok(t, "-f", path, "deploy")

	r := ok(t, "-f", path, "deployment", "trigger", name)
	m := regexp.MustCompile(`Workflow ID:\s+(\S+)`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	triggered := m[1]
	assert.True(t, strings.HasPrefix(triggered, name+"-"), triggered)

	hour := time.Now().UTC().Truncate(time.Hour)
	from, to := hour.Add(-5*time.Hour), hour.Add(-3*time.Hour)
	r = ok(t, "-f", path, "deployment", "backfill", name, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--overlap", "allow_all")
	assert.Contains(t, r.stdout, "Backfill of "+name+" requested: 3 runs due between")
	backfilled := map[string]bool{}
	for _, at := range []time.Time{from, from.Add(time.Hour), to} {
		backfilled[name+"-"+at.Format(time.RFC3339)] = true
	}

	manual := ok(t, "-f", path, "run", name, "--id", manualID)
	require.Contains(t, manual.stdout, manualID)
	ok(t, "-f", path, "run", other, "--id", otherID)

	var rows []runRow
	require.Eventually(t, func() bool {
		rows = listRuns(t, "--deployment", name)
		return len(rows) >= 5
	}, 30*time.Second, 200*time.Millisecond, "visibility lists every run")
	ids := map[string]bool{}
	for _, row := range rows {
		ids[row.WorkflowID] = true
		assert.Equal(t, name, row.Deployment)
		assert.Equal(t, "running", row.Status)
		assert.Equal(t, "tq-cli-runs", row.TaskQueue)
		assert.Nil(t, row.ClosedAt)
	}
	assert.Len(t, rows, 5, "exactly the trigger, 3 backfilled and the manual run: %v", ids)
	assert.True(t, ids[triggered], "the triggered run")
	assert.True(t, ids[manualID], "the manual run")
	for id := range backfilled {
		assert.True(t, ids[id], "backfilled run %s in %v", id, ids)
	}
	assert.False(t, ids[otherID], "another deployment's run")

	assert.Len(t, listRuns(t, "--deployment", name, "--status", "running"), 5)
	assert.Empty(t, listRuns(t, "--deployment", name, "--status", "completed"))
	assert.Len(t, listRuns(t, "--deployment", name, "--limit", "2"), 2)

	r = ok(t, "runs", "ls", "--deployment", name)
	assert.Regexp(t, `(?m)^WORKFLOW ID\s+RUN ID\s+DEPLOYMENT\s+STATUS\s+STARTED\s+DURATION$`, r.stdout)
	assert.Regexp(t, `(?m)^`+manualID+`\s+[0-9a-f-]{36}\s+`+name+`\s+running\s`, r.stdout)
	// --deployment: a name of the manifest, also as FLOW/NAME, or one some
	// run carries (name is not in the built-in manifest); anything
	// else is a typo, refused with a suggestion.
	r = blueprint(t, "flow-run", "ls", "--deployment", "no-such-deployment")
	require.Equal(t, 2, r.code, "%s", r)
	shipped, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	assert.Equal(t, "blueprint: unknown deployment \"no-such-deployment\" in deployments/deployments.yaml (embedded) (valid: "+strings.Join(shipped.Names(), ", ")+")\n", r.stderr)
	assert.Contains(t, r.stderr, "(valid: production-etl, adhoc-etl, daily-report, nightly-etl", "the shipped deployments first")
	r = blueprint(t, "-f", path, "runs", "ls", "--deployment", name+"x")
	require.Equal(t, 2, r.code, "%s", r)
	assert.Contains(t, r.stderr, `did you mean "`+name+`"?`)
	assert.Len(t, listRuns(t, "-f", path, "--deployment", "DataPipeline/"+name), 5, "Prefect's FLOW/DEPLOYMENT")
	r = blueprint(t, "-f", path, "runs", "ls", "--deployment", "OrdersReport/"+name)
	require.Equal(t, 2, r.code, "%s", r)
	assert.Contains(t, r.stderr, `runs flow DataPipeline, not "OrdersReport"`)
	assert.Len(t, listRuns(t, "--deployment", name, "--state", "running"), 5, "--state is --status")

	// A listing cut short by --limit says so.
	r = ok(t, "runs", "ls", "--deployment", name, "--limit", "2")
	assert.Contains(t, r.stdout, "\nShowing 2 of 5 runs; see more with --limit (up to 1000).\n")
	r = ok(t, "runs", "ls", "--deployment", name, "--limit", "5")
	assert.NotContains(t, r.stdout, "Showing")
	r = ok(t, "runs", "ls", "--deployment", name, "--limit", "2", "-o", "json")
	assert.Equal(t, "Showing 2 of 5 runs; see more with --limit (up to 1000).\n", r.stderr)

	// inspect lists the recent runs too.
	r = ok(t, "-f", path, "deployment", "inspect", name)
	assert.Regexp(t, `(?m)^  `+manualID+`\s+[0-9a-f-]{36}\s+`+name+`\s+running\s`, r.stdout)

	// runs show of a run waiting for a worker.
	r = ok(t, "runs", "show", manualID)
	assert.Regexp(t, `(?m)^\s+Deployment:\s+`+name+`$`, r.stdout)
	assert.Regexp(t, `(?m)^\s+Status:\s+running$`, r.stdout)
	assert.Regexp(t, `(?m)^\s+Parameters:\s+\{"batch_size":10,"source_url":"demo://orders"\}$`, r.stdout)
	assert.Contains(t, r.stdout, "none yet (is a worker polling the task queue?")
	assert.Regexp(t, `(?m)^\s+Waiting:\s+for a worker: no live worker polls task queue tq-cli-runs; the run waits until one starts \(go run \./worker\)$`, r.stdout)
	r = ok(t, "runs", "show", manualID, "-o", "json")
	assert.Contains(t, r.stdout, `"waiting_for_worker": "no live worker polls task queue tq-cli-runs;`)

	// A cancel no worker can carry out says so.
	r = ok(t, "runs", "cancel", otherID)
	assert.Contains(t, r.stdout, "The cancel is pending until a worker runs: no live worker polls task queue tq-cli-runs;")
}
