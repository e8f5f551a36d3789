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
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// startedInput returns the JSON input a workflow was started with.
func startedInput(t *testing.T, workflowID string) map[string]any {
	t.Helper()
	it := srv.Client().GetWorkflowHistory(ctx(t), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, it.HasNext())
	ev, err := it.Next()
	require.NoError(t, err)
	payloads := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	require.Len(t, payloads, 1)
	var m map[string]any
	require.NoError(t, json.Unmarshal(payloads[0].GetData(), &m))
	return m
}

// deploymentAttribute returns a workflow's BlueprintDeployment.
func deploymentAttribute(t *testing.T, workflowID string) string {
	t.Helper()
	d, err := describeRaw(t, workflowID)
	require.NoError(t, err)
	var v string
	require.NoError(t, json.Unmarshal(d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[runinfo.DeploymentSearchAttribute].GetData(), &v))
	return v
}

func TestRunParameters(t *testing.T) {
	// No worker polls tq-cli-params: the runs are started and wait.
	path := writeManifest(t, manifestOf(deployment("cli-params", "tq-cli-params", `{batch_size: 1000, source_url: "demo://orders"}`, "")))
	paramsFile := filepath.Join(t.TempDir(), "params.json")
	require.NoError(t, os.WriteFile(paramsFile, []byte(`{"batch_size": 9, "source_url": "demo://orders?seed=3"}`), 0o600))

	tests := []struct {
		name  string
		args  []string
		stdin string
		want  map[string]any
	}{
		{"manifest", nil, "", map[string]any{"batch_size": 1000.0, "source_url": "demo://orders"}},
		{"param", []string{"--param", "batch_size=7"}, "", map[string]any{"batch_size": 7.0, "source_url": "demo://orders"}},
		{"param with = in the value", []string{"-p", "source_url=demo://orders?seed=42"}, "", map[string]any{"batch_size": 1000.0, "source_url": "demo://orders?seed=42"}},
		{"params JSON", []string{"--params", `{"batch_size": 8}`}, "", map[string]any{"batch_size": 8.0, "source_url": "demo://orders"}},
		{"params file", []string{"--params", "@" + paramsFile}, "", map[string]any{"batch_size": 9.0, "source_url": "demo://orders?seed=3"}},
		{"params stdin", []string{"--params", "-"}, `{"source_url": "demo://orders?seed=4"}`, map[string]any{"batch_size": 1000.0, "source_url": "demo://orders?seed=4"}},
		{"precedence: manifest < --params < --param, last --param wins",
			[]string{"--params", `{"batch_size": 8, "source_url": "demo://orders?seed=5"}`, "--param", "batch_size=11", "--param", "batch_size=12"}, "",
			map[string]any{"batch_size": 12.0, "source_url": "demo://orders?seed=5"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := testutil.UniqueID("cli-params-" + string(rune('a'+i)))
			args := append([]string{"-f", path, "run", "cli-params", "--id", id}, tt.args...)
			r := blueprintIn(t, strings.NewReader(tt.stdin), args...)
			require.Equal(t, 0, r.code, "%s", r)
			assert.Contains(t, r.stdout, "Started a run of cli-params.")
			assert.Regexp(t, `Workflow ID:\s+`+id+`\n`, r.stdout)
			assert.Regexp(t, `Web UI:\s+http://localhost:8233/namespaces/default/workflows/`+id+`/[0-9a-f-]{36}/history`, r.stdout)
			assert.Contains(t, r.stderr, "warning: no live worker polls task queue tq-cli-params; the run waits until one starts (go run ./worker)")
			assert.Equal(t, tt.want, startedInput(t, id))
			assert.Equal(t, "cli-params", deploymentAttribute(t, id))
		})
	}

	// The deployment run alias, a generated ID and JSON output.
	r := ok(t, "-f", path, "deployment", "run", "cli-params", "--param", "batch_size=3", "-o", "json")
	var v struct {
		Deployment string         `json:"deployment"`
		WorkflowID string         `json:"workflow_id"`
		RunID      string         `json:"run_id"`
		TaskQueue  string         `json:"task_queue"`
		Namespace  string         `json:"namespace"`
		Parameters map[string]any `json:"parameters"`
		UIURL      string         `json:"ui_url"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
	assert.Equal(t, "cli-params", v.Deployment)
	assert.Regexp(t, `^cli-params-\d{8}T\d{6}Z-[0-9a-f]{12}$`, v.WorkflowID)
	assert.NotEmpty(t, v.RunID)
	assert.Equal(t, "tq-cli-params", v.TaskQueue)
	assert.Equal(t, map[string]any{"batch_size": 3.0, "source_url": "demo://orders"}, v.Parameters)
	assert.Equal(t, map[string]any{"batch_size": 3.0, "source_url": "demo://orders"}, startedInput(t, v.WorkflowID))
}

func TestRunWatch(t *testing.T) {
	const queue = "tq-cli-watch"
	flowstest.Start(t, srv.Client(), queue, flows.Registry)
	path := writeManifest(t, manifestOf(deployment("cli-watch", queue, `{batch_size: 200, source_url: "demo://orders"}`, "")))

	t.Run("completed", func(t *testing.T) {
		// The source holds Extract's second page until --watch has shown
		// the stage.
		feed, url := testutil.HeldFeed(t, 200, testutil.RequestAt{Page: 1, Request: 1})
		id := testutil.UniqueID("cli-watch-ok")
		b := start(t, "-f", path, "run", "cli-watch", "--id", id, "--watch", "--param", "source_url="+url)
		b.waitFor(t, `^stage=extract rows=\d+ attempt=1$`)
		feed.Release()
		r := b.wait(t)
		require.Equal(t, 0, r.code, "%s", r)
		assert.Contains(t, r.stdout, "Started a run of cli-watch.")
		assert.NotContains(t, r.stdout, "\r", "no redrawing when not on a terminal")
		assert.Contains(t, r.stdout, "Run "+id+" completed in ")
		assert.Regexp(t, `(?m)^\s+Extracted:\s+200$`, r.stdout)
		assert.Regexp(t, `(?m)^\s+Loaded:\s+\d+ inserted, \d+ updated, \d+ unchanged$`, r.stdout)
	})

	t.Run("completed, JSON", func(t *testing.T) {
		r := blueprint(t, "-f", path, "run", "cli-watch", "--id", "cli-watch-json", "--watch", "-o", "json", "--param", "batch_size=20")
		require.Equal(t, 0, r.code, "%s", r)
		var v struct {
			WorkflowID string                `json:"workflow_id"`
			Status     string                `json:"status"`
			Summary    *datapipeline.Summary `json:"summary"`
			TimedOut   bool                  `json:"watch_timed_out"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), "stdout must hold only the JSON document: %s", r.stdout)
		assert.Equal(t, "cli-watch-json", v.WorkflowID)
		assert.Equal(t, "completed", v.Status)
		require.NotNil(t, v.Summary)
		assert.EqualValues(t, 20, v.Summary.Extracted)
		assert.False(t, v.TimedOut)
	})

	t.Run("failed", func(t *testing.T) {
		// Every request of the source fails; the second attempt's is held
		// until --watch has shown the retry.
		var outages []testutil.RequestFault
		for n := 1; n <= 3; n++ {
			outages = append(outages, testutil.RequestFault{RequestAt: testutil.RequestAt{Page: 0, Request: n}, Fault: testutil.FaultServerError})
		}
		feed, url := testutil.HeldFeed(t, 100, testutil.RequestAt{Page: 0, Request: 2}, outages...)
		id := testutil.UniqueID("cli-watch-fail")
		b := start(t, "-f", path, "run", "cli-watch", "--id", id, "--watch", "--param", "source_url="+url)
		b.waitFor(t, `^stage=extract rows=\d+ attempt=2 retries=1 last_error=".+503 Service Unavailable.*"$`)
		feed.Release()
		r := b.wait(t)
		require.Equal(t, 1, r.code, "%s", r)
		assert.Contains(t, r.stdout, "Run "+id+" failed in ")
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		last := lines[len(lines)-1]
		// The run's failure names the stage, the attempts and the cause.
		cause := "GET " + url + ": 503 Service Unavailable"
		assert.Equal(t, "blueprint: run "+id+" failed: Extract failed after 3 attempts: "+cause, last)

		// runs show has every attempt the history keeps.
		r = ok(t, "runs", "show", id)
		assert.Regexp(t, `(?m)^\s+Status:\s+failed$`, r.stdout)
		assert.Regexp(t, `(?m)^\s+Extract\s+failed\s+3/3\s`, r.stdout)
		assert.Regexp(t, `(?m)^  Extract attempt 2 failed: .+`, r.stdout)
		assert.Regexp(t, `(?m)^  Extract attempt 3 failed: .+`, r.stdout)
		assert.Regexp(t, `(?m)^Failure: Extract failed after 3 attempts: `+regexp.QuoteMeta(cause)+`$`, r.stdout)
	})

	t.Run("watch timeout leaves the run going, then cancel", func(t *testing.T) {
		// The source holds the run's first request until the test ends.
		_, url := testutil.HeldFeed(t, 100, testutil.RequestAt{Page: 0, Request: 1})
		r := blueprint(t, "-f", path, "run", "cli-watch", "--id", "cli-watch-slow", "--watch", "--timeout", "1s",
			"--param", "source_url="+url)
		require.Equal(t, 1, r.code, "%s", r)
		assert.Contains(t, r.stderr, "blueprint: stopped watching after --timeout 1s; run cli-watch-slow is still running and keeps going")
		d, err := describeRaw(t, "cli-watch-slow")
		require.NoError(t, err)
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.GetWorkflowExecutionInfo().GetStatus())

		r = ok(t, "runs", "cancel", "cli-watch-slow")
		assert.Contains(t, r.stdout, "Cancellation of cli-watch-slow")
		var status enumspb.WorkflowExecutionStatus
		require.Eventually(t, func() bool {
			d, err := describeRaw(t, "cli-watch-slow")
			require.NoError(t, err)
			status = d.GetWorkflowExecutionInfo().GetStatus()
			return status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		}, time.Minute, 100*time.Millisecond)
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, status)
		r = ok(t, "runs", "show", "cli-watch-slow", "-o", "json")
		var v struct {
			Status     string `json:"status"`
			Deployment string `json:"deployment"`
			Activities []struct {
				Activity string `json:"activity"`
				Status   string `json:"status"`
			} `json:"activities"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
		assert.Equal(t, "cancelled", v.Status)
		assert.Equal(t, "cli-watch", v.Deployment)
		require.NotEmpty(t, v.Activities)
		assert.Equal(t, "Extract", v.Activities[0].Activity)
		assert.Equal(t, "cancelled", v.Activities[0].Status, "the activity the cancel interrupted")

		r = blueprint(t, "runs", "cancel", "cli-watch-slow")
		assert.Equal(t, 2, r.code, "%s", r)
		assert.Contains(t, r.stderr, "blueprint: run cli-watch-slow has already ended (cancelled); there is nothing to cancel")
	})
}
