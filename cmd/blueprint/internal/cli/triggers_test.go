package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/trigger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A manifest whose triggers: are wrong is refused like any other bad
// input: exit 2, one line naming the file, line and key, and nothing
// deployed or started.
func TestTriggersBadInputChangesNothing(t *testing.T) {
	const name = "cli-trig-bad"
	cleanupSchedule(t, name)
	cycle := writeManifest(t, manifestOf(
		deployment(name, "tq-cli-trig", `{batch_size: 10}`, chicago9)+"    triggers: [{after: cli-trig-bad-b}]\n",
		deployment("cli-trig-bad-b", "tq-cli-trig", `{batch_size: 10}`, "")+"    triggers: [{after: "+name+"}]\n",
	))
	unknown := writeManifest(t, manifestOf(
		deployment(name, "tq-cli-trig", `{batch_size: 10}`, chicago9),
		deployment("cli-trig-bad-b", "tq-cli-trig", `{batch_size: 10}`, "")+"    triggers: [{after: cli-trig-bda}]\n",
	))
	for _, tt := range []struct {
		name    string
		args    []string
		msg     string
		started string
	}{
		{"cycle, deploy", []string{"-f", cycle, "deploy"}, ":8: deployments[0].triggers[0].after: a cycle of triggers: " + name + " -> cli-trig-bad-b -> " + name, ""},
		{"cycle, run", []string{"-f", cycle, "run", name, "--id", "trig-bad-1"}, "a cycle of triggers", "trig-bad-1"},
		{"unknown deployment, deploy", []string{"-f", unknown, "deploy"}, `:11: deployments[1].triggers[0].after: unknown deployment "cli-trig-bda" (valid: ` + name + `, cli-trig-bad-b); did you mean "cli-trig-bad"?`, ""},
		{"unknown deployment, dry run", []string{"-f", unknown, "deploy", "--dry-run"}, `unknown deployment "cli-trig-bda"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := blueprint(t, tt.args...)
			require.Equal(t, 2, r.code, "%s", r)
			assert.Empty(t, r.stdout)
			first, _, _ := strings.Cut(r.stderr, "\n")
			assert.True(t, strings.HasPrefix(first, "blueprint: "), "stderr: %q", r.stderr)
			assert.Contains(t, first, tt.msg, "the message is on one line")
			assert.Nil(t, scheduleDescription(t, name), "nothing deployed")
			if tt.started != "" {
				notStarted(t, tt.started)
			}
		})
	}
}

// deployment inspect shows a deployment's triggers both ways, and deploy
// --dry-run the triggers a schedule's runs would carry.
func TestTriggersShown(t *testing.T) {
	const up, down = "cli-trig-up", "cli-trig-down"
	cleanupSchedule(t, up)
	path := writeManifest(t, manifestOf(
		deployment(up, "tq-cli-trig", `{batch_size: 10}`, chicago9),
		"  - name: "+down+"\n    workflow: OrdersReport\n    triggers:\n      - after: "+up+"\n        on: [completed, failed]\n        delay: 10m\n        parameters: {timezone: Europe/Berlin, to: \"{{ upstream.params.batch_size }}x\"}\n",
	))

	r := ok(t, "-f", path, "deploy", "--dry-run")
	assert.Contains(t, r.stdout, "triggers: "+down+" (on completed, failed, 10m0s later)")
	assert.Nil(t, scheduleDescription(t, up), "a dry run deploys nothing")

	r = ok(t, "-f", path, "deployment", "inspect", down)
	assert.Regexp(t, `(?m)^Triggered after: +`+up+` on completed, failed, 10m0s later, parameters: \{"timezone":"Europe/Berlin","to":"\{\{ upstream.params.batch_size \}\}x"\}$`, r.stdout)
	assert.NotContains(t, r.stdout, "Triggers:")
	r = ok(t, "-f", path, "deployment", "inspect", up)
	assert.Regexp(t, `(?m)^Triggers: +`+down+` on completed, failed, 10m0s later, parameters: `, r.stdout)
	assert.NotContains(t, r.stdout, "Triggered after:")

	r = ok(t, "-f", path, "-o", "json", "deployment", "inspect", down)
	var v struct {
		TriggeredAfter []map[string]any `json:"triggered_after"`
		Triggers       []map[string]any `json:"triggers"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, []map[string]any{{
		"deployment": up, "index": 0.0, "on": []any{"completed", "failed"}, "delay": "10m0s",
		"parameters": map[string]any{"timezone": "Europe/Berlin"},
		"templates":  map[string]any{"to": "{{ upstream.params.batch_size }}x"},
	}}, v.TriggeredAfter)
	assert.Equal(t, []map[string]any{}, v.Triggers)
	r = ok(t, "-f", path, "-o", "json", "deployment", "inspect", up)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	require.Len(t, v.Triggers, 1)
	assert.Equal(t, down, v.Triggers[0]["deployment"])
	assert.Empty(t, v.TriggeredAfter)
}

// TestTriggerChainFromTheManifest runs a chain declared in a manifest, as
// users write it: `blueprint run` of the upstream deployment starts the
// downstream run once its run completes, with a template value taken from
// the upstream run, and not the one declared for failures; `runs show` of
// the downstream run says which run triggered it, and the upstream run's
// log which run it triggered.
func TestTriggerChainFromTheManifest(t *testing.T) {
	queue := testutil.UniqueID("tq-chain")
	st := flowstest.Start(t, srv.Client(), queue, flows.Registry)
	up, down, onFail := testutil.UniqueID("chain-load"), testutil.UniqueID("chain-reload"), testutil.UniqueID("chain-alert")
	path := writeManifest(t, manifestOf(
		deployment(up, queue, `{batch_size: 12, source_url: "demo://orders?seed=5"}`, ""),
		deployment(down, queue, `{batch_size: 1}`, "")+"    triggers:\n      - after: "+up+"\n        parameters: {batch_size: \"{{ upstream.params.batch_size }}\", source_url: \"{{ upstream.params.source_url }}\"}\n",
		deployment(onFail, queue, `{batch_size: 1}`, "")+"    triggers:\n      - after: "+up+"\n        on: [failed]\n",
	))
	id := testutil.UniqueID("chain-up")
	r := ok(t, "-f", path, "run", up, "--id", id, "--watch", "--timeout", "2m")
	assert.Contains(t, r.stdout, " completed in ")

	desc, err := srv.Client().DescribeWorkflow(context.Background(), id, "")
	require.NoError(t, err)
	upRef := runinfo.RunRef{WorkflowID: id, RunID: desc.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId()}
	downID := trigger.WorkflowID(down, 0, upRef)
	var sum datapipeline.Summary
	require.NoError(t, srv.Client().GetWorkflow(context.Background(), downID, "").Get(context.Background(), &sum), "the downstream run started and completed")
	assert.Equal(t, int64(12), sum.Extracted, "batch_size came from the upstream run")
	assert.Equal(t, "demo://orders?seed=5", sum.Source)

	show := ok(t, "-f", path, "runs", "show", downID)
	assert.Regexp(t, `(?m)^\s+Triggered by:\s+`+id+` \(run \S+\) of `+up+`, which completed \(trigger 1\)$`, show.stdout)
	assert.Regexp(t, `(?m)^\s+Deployment:\s+`+down+`$`, show.stdout)
	lines, err := st.RunLogs(context.Background(), upRef, store.LogQuery{})
	require.NoError(t, err)
	var said []string
	for _, l := range lines {
		said = append(said, l.Message)
	}
	assert.Contains(t, said, "triggered "+down+": run "+downID, "the upstream run's log names the run it triggered")
	_, err = srv.Client().DescribeWorkflow(context.Background(), trigger.WorkflowID(onFail, 0, upRef), "")
	assert.Error(t, err, "the trigger on failure did not start")
}
