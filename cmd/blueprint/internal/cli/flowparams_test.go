package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// kindsManifest deploys flowstest.Kinds (in testFlows), a flow other than DataPipeline with a parameter of each kind.
// No worker polls its task queue: runs are started and wait.
func kindsManifest(t *testing.T, queue string) string {
	t.Helper()
	return writeManifest(t, "deployments:\n  - name: cli-kinds\n    workflow: "+flowstest.Kinds.Name+
		"\n    task_queue: "+queue+"\n    parameters:\n      name: from-manifest\n      count: 2\n")
}

// TestRunParamOfEachKind: --param and --params are typed by the flow's own
// schema, for a flow that is not DataPipeline; the started workflow's
// input is the typed document, with the defaults filled in.
func TestRunParamOfEachKind(t *testing.T) {
	path := kindsManifest(t, "tq-cli-kinds")
	defaults := func(over map[string]any) map[string]any {
		m := map[string]any{
			"name": "from-manifest", "count": 2.0, "ratio": 0.5, "dry": false, "timeout": "30s",
			"mode": "safe", "sources": []any{"demo://orders"}, "window": map[string]any{"days": 1.0},
		}
		for k, v := range over {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		kind string
		args []string
		want map[string]any
	}{
		{"string", []string{"--param", "name=Ada Lovelace"}, defaults(map[string]any{"name": "Ada Lovelace"})},
		{"integer", []string{"--param", "count=7"}, defaults(map[string]any{"count": 7.0})},
		{"number", []string{"--param", "ratio=0.25"}, defaults(map[string]any{"ratio": 0.25})},
		{"boolean", []string{"--param", "dry=true"}, defaults(map[string]any{"dry": true})},
		{"duration", []string{"--param", "timeout=45m"}, defaults(map[string]any{"timeout": "45m0s"})},
		{"date", []string{"--param", "day=2025-01-31"}, defaults(map[string]any{"day": "2025-01-31"})},
		{"date-time", []string{"--param", "at=2025-01-31T09:00:00-06:00"}, defaults(map[string]any{"at": "2025-01-31T09:00:00-06:00"})},
		{"enum", []string{"--param", "mode=fast"}, defaults(map[string]any{"mode": "fast"})},
		{"list of strings: the first --param replaces the list, the next append", []string{"--param", "sources=demo://orders?seed=1", "--param", "sources=demo://orders?seed=2"},
			defaults(map[string]any{"sources": []any{"demo://orders?seed=1", "demo://orders?seed=2"}})},
		{"nested object", []string{"--param", "window.start=2025-02-01", "--param", "window.days=7"},
			defaults(map[string]any{"window": map[string]any{"start": "2025-02-01", "days": 7.0}})},
		{"every kind in --params, null keeps the manifest's value", []string{"--params",
			`{"name": null, "count": 9, "ratio": 1, "dry": true, "timeout": "90s", "day": "2024-02-29", "at": "2024-02-29T23:59:59Z",
			  "mode": "fast", "sources": ["demo://orders?seed=3"], "window": {"start": "2024-03-01", "days": 31}}`},
			defaults(map[string]any{"count": 9.0, "ratio": 1.0, "dry": true, "timeout": "1m30s", "day": "2024-02-29", "at": "2024-02-29T23:59:59Z",
				"mode": "fast", "sources": []any{"demo://orders?seed=3"}, "window": map[string]any{"start": "2024-03-01", "days": 31.0}})},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			id := testutil.UniqueID("cli-kinds")
			r := blueprint(t, append([]string{"-f", path, "run", "cli-kinds", "--id", id}, tt.args...)...)
			require.Equal(t, 0, r.code, "%s", r)
			assert.Contains(t, r.stdout, "Started a run of cli-kinds.")
			assert.Equal(t, tt.want, startedInput(t, id))
			assert.Equal(t, "cli-kinds", deploymentAttribute(t, id))
		})
	}
}

// TestRunBadParamOfEachKind: a bad value of each kind, for a flow that is
// not DataPipeline, exits 2 with one line naming the value and the rule,
// and starts nothing.
func TestRunBadParamOfEachKind(t *testing.T) {
	queue := testutil.UniqueID("tq-cli-kinds-bad")
	path := kindsManifest(t, queue)
	tests := []struct {
		kind string
		args []string
		msg  string
	}{
		{"string too long", []string{"--param", "name=" + strings.Repeat("a", 21)}, `name: must be at most 20 characters`},
		{"integer not a number", []string{"--param", "count=four"}, `--param "count=four": count must be an integer, got "four"`},
		{"integer out of range", []string{"--param", "count=11"}, "count=11: must be at most 10"},
		{"number not a number", []string{"--param", "ratio=half"}, `--param "ratio=half": ratio must be a number, got "half"`},
		{"number out of range", []string{"--param", "ratio=1.5"}, "ratio=1.5: must be at most 1"},
		{"boolean", []string{"--param", "dry=maybe"}, `--param "dry=maybe": dry must be true or false, got "maybe"`},
		{"duration not a duration", []string{"--param", "timeout=soon"}, `--param "timeout=soon": timeout must be a duration such as 90s, 15m or 1h30m, got "soon"`},
		{"duration out of range", []string{"--param", "timeout=2h"}, "timeout=2h0m0s: must be at most 1h"},
		{"date", []string{"--param", "day=2025-02-30"}, `--param "day=2025-02-30": day must be a date YYYY-MM-DD such as 2025-01-31, got "2025-02-30"`},
		{"date-time", []string{"--param", "at=yesterday"}, `--param "at=yesterday": at must be a date-time in RFC 3339 such as 2025-01-31T09:00:00Z, got "yesterday"`},
		{"enum", []string{"--param", "mode=fsat"}, `mode="fsat": must be one of fast, safe; did you mean "fast"?`},
		{"list item", []string{"--param", "sources=ftp://example.com/x"}, `sources[0]="ftp://example.com/x": scheme "ftp" is not supported`},
		{"list too long", []string{"--param", "sources=demo://orders?seed=1", "--param", "sources=demo://orders?seed=2", "--param", "sources=demo://orders?seed=3", "--param", "sources=demo://orders?seed=4"}, "sources: must have at most 3 items"},
		{"nested field out of range", []string{"--param", "window.days=32"}, "window.days=32: must be at most 31"},
		{"nested field not a date", []string{"--param", "window.start=tomorrow"}, `window.start must be a date YYYY-MM-DD such as 2025-01-31, got "tomorrow"`},
		{"unknown nested field", []string{"--param", "window.dayz=3"}, `unknown parameter "window.dayz"`},
		{"unknown parameter", []string{"--param", "nmae=x"}, `unknown parameter "nmae"`},
		{"--params wrong type", []string{"--params", `{"dry": "yes"}`}, "dry"},
		{"--params not a list", []string{"--params", `{"sources": "demo://orders"}`}, "sources"},
		{"--params nested out of range", []string{"--params", `{"window": {"days": 0}}`}, "window.days=0: must be at least 1"},
	}
	for i, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			id := fmt.Sprintf("cli-kinds-bad-%d-%s", i, testutil.UniqueID(""))
			r := blueprint(t, append([]string{"-f", path, "run", "cli-kinds", "--id", id}, tt.args...)...)
			require.Equal(t, 2, r.code, "%s", r)
			assert.Empty(t, r.stdout)
			assert.Regexp(t, `^blueprint: [^\n]+\n$`, r.stderr, "one line")
			assert.Contains(t, r.stderr, tt.msg)
			notStarted(t, id)
		})
	}
	// Nothing at all reached the deployment's task queue: once a good
	// run is visible there, it is the only one.
	good := testutil.UniqueID("cli-kinds-good")
	ok(t, "-f", path, "run", "cli-kinds", "--id", good)
	count := func() int64 {
		resp, err := srv.Client().CountWorkflow(ctx(t), &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: "default", Query: fmt.Sprintf("TaskQueue = %q", queue)})
		require.NoError(t, err)
		return resp.GetCount()
	}
	require.Eventually(t, func() bool { return count() > 0 }, 10*time.Second, 100*time.Millisecond)
	assert.Equal(t, int64(1), count(), "only the good run was started")
}
