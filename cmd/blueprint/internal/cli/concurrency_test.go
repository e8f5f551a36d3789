package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// A manifest whose concurrency_limit: or collision_strategy: is wrong is
// refused like any other bad input: exit 2, one line naming the file, line
// and key, and nothing deployed or started.
func TestConcurrencyBadInputChangesNothing(t *testing.T) {
	const name = "cli-conc-bad"
	cleanupSchedule(t, name)
	with := func(keys string) string {
		return writeManifest(t, manifestOf(deployment(name, "tq-cli-conc", `{batch_size: 10}`, chicago9)+keys))
	}
	zero := with("    concurrency_limit: 0\n")
	prefect := with("    concurrency_limit: 1\n    collision_strategy: ENQUEUE\n")
	alone := with("    collision_strategy: cancel_new\n")
	word := with("    concurrency_limit: two\n")
	for _, tt := range []struct {
		name    string
		args    []string
		msg     string
		started string
	}{
		{"zero, deploy", []string{"-f", zero, "deploy"}, ":8: deployments[0].concurrency_limit: 0 is out of range; must be 1 to 1000", ""},
		{"zero, run", []string{"-f", zero, "run", name, "--id", "conc-bad-1"}, "0 is out of range", "conc-bad-1"},
		{"not an integer, dry run", []string{"-f", word, "deploy", "--dry-run"}, `:8: deployments[0].concurrency_limit: "two" is not an integer`, ""},
		{"Prefect's spelling, deploy", []string{"-f", prefect, "deploy"}, `:9: deployments[0].collision_strategy: unknown collision strategy "ENQUEUE" (valid: enqueue, cancel_new); did you mean "enqueue"?`, ""},
		{"strategy without a limit, run", []string{"-f", alone, "run", name, "--id", "conc-bad-2"}, ":8: deployments[0].collision_strategy: has no effect without concurrency_limit:", "conc-bad-2"},
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

// deploy --dry-run shows the limit a deployment's runs would carry, and
// deployment inspect the limit and, without a semaphore, that no run holds
// a slot.
func TestConcurrencyShown(t *testing.T) {
	const sched, manual, free = "cli-conc-sched", "cli-conc-manual", "cli-conc-free"
	cleanupSchedule(t, sched)
	path := writeManifest(t, manifestOf(
		deployment(sched, "tq-cli-conc", `{batch_size: 10}`, chicago9)+"    concurrency_limit: 2\n    collision_strategy: cancel_new\n",
		deployment(manual, "tq-cli-conc", `{batch_size: 10}`, "")+"    concurrency_limit: 1\n",
		deployment(free, "tq-cli-conc", `{batch_size: 10}`, ""),
	))

	r := ok(t, "-f", path, "deploy", "--dry-run")
	assert.Contains(t, r.stdout, "concurrency: 2 (cancel_new)")
	assert.Regexp(t, `(?m)^`+manual+` +no schedule .*\n +concurrency: 1 \(enqueue\)$`, r.stdout)
	assert.Nil(t, scheduleDescription(t, sched), "a dry run deploys nothing")

	r = ok(t, "-f", path, "deployment", "inspect", sched)
	assert.Regexp(t, `(?m)^Concurrency limit: +2 \(cancel_new\)$`, r.stdout)
	assert.Regexp(t, `(?m)^Slots: +0 of 2 taken \(no run holds a slot\)$`, r.stdout)
	r = ok(t, "-f", path, "deployment", "inspect", free)
	assert.NotContains(t, r.stdout, "Concurrency limit")
	assert.NotContains(t, r.stdout, "Slots")

	var v map[string]any
	r = ok(t, "-f", path, "-o", "json", "deployment", "inspect", manual)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, 1.0, v["concurrency_limit"])
	assert.Equal(t, "enqueue", v["collision_strategy"])
	assert.Equal(t, []any{}, v["holders"])
	assert.Equal(t, []any{}, v["queue"])
	r = ok(t, "-f", path, "-o", "json", "deployment", "inspect", free)
	v = nil
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, 0.0, v["concurrency_limit"])
	assert.Equal(t, "", v["collision_strategy"])
	assert.NotContains(t, v, "holders")
}

// fakeSemaphoreState is what the stand-in semaphore answers.
type fakeSemaphoreState struct {
	Holders []runinfo.RunRef `json:"holders"`
	Queue   []runinfo.RunRef `json:"queue"`
}

// deployment inspect asks the deployment's semaphore which runs hold its
// slots and which wait: a stand-in workflow answers the query here.
func TestConcurrencyInspectAsksTheSemaphore(t *testing.T) {
	name := testutil.UniqueID("cli-conc-sem")
	queue := testutil.UniqueID("tq-conc-sem")
	state := fakeSemaphoreState{
		Holders: []runinfo.RunRef{{WorkflowID: "holder-1", RunID: "r1"}},
		Queue:   []runinfo.RunRef{{WorkflowID: "waiter-1", RunID: "r2"}, {WorkflowID: "waiter-2", RunID: "r3"}},
	}
	w := worker.New(srv.Client(), queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		if err := workflow.SetQueryHandler(ctx, "blueprint-concurrency-state", func() (fakeSemaphoreState, error) { return state, nil }); err != nil {
			return err
		}
		workflow.GetSignalChannel(ctx, "stop").Receive(ctx, nil)
		return nil
	}, workflow.RegisterOptions{Name: "TestSemaphore"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	run, err := srv.Client().ExecuteWorkflow(ctx(t), client.StartWorkflowOptions{ID: runinfo.SemaphoreWorkflowID(name), TaskQueue: queue}, "TestSemaphore")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = srv.Client().TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "test cleanup")
	})

	path := writeManifest(t, manifestOf(deployment(name, queue, `{batch_size: 10}`, "")+"    concurrency_limit: 1\n"))
	r := ok(t, "-f", path, "deployment", "inspect", name)
	assert.Regexp(t, `(?m)^Concurrency limit: +1 \(enqueue\)$`, r.stdout)
	assert.Regexp(t, `(?m)^Slots: +1 of 1 taken by holder-1 \(run r1\)$`, r.stdout)
	assert.Regexp(t, `(?m)^Waiting: +2: waiter-1 \(run r2\), waiter-2 \(run r3\)$`, r.stdout)

	var v fakeSemaphoreState
	r = ok(t, "-f", path, "-o", "json", "deployment", "inspect", name)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, state, v)
}

// A run whose memo says it waits for a slot (runinfo.MemoWaiting, which
// the run upserts while it waits) is waiting in runs ls and runs show,
// with the reason. The run here is never picked up: no worker polls its
// queue.
func TestWaitingRunShown(t *testing.T) {
	name := testutil.UniqueID("cli-conc-wait")
	id := testutil.UniqueID("conc-waiting")
	why := "concurrency limit 1 of 1 taken by " + name + "-holder"
	run, err := srv.Client().ExecuteWorkflow(ctx(t), client.StartWorkflowOptions{
		ID: id, TaskQueue: testutil.UniqueID("tq-no-worker"),
		Memo:                  map[string]any{runinfo.MemoWaiting: why},
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword(runinfo.DeploymentSearchAttribute).ValueSet(name)),
	}, "DataPipeline", map[string]any{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = srv.Client().TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "test cleanup")
	})

	var rows []map[string]any
	require.Eventually(t, func() bool {
		r := ok(t, "runs", "ls", "--deployment", name, "-o", "json")
		rows = nil
		return json.Unmarshal([]byte(r.stdout), &rows) == nil && len(rows) == 1
	}, 30*time.Second, 100*time.Millisecond, "visibility lists the run")
	assert.Equal(t, "waiting", rows[0]["status"])
	assert.Equal(t, why, rows[0]["waiting"])
	r := ok(t, "runs", "ls", "--deployment", name)
	assert.Contains(t, r.stdout, "waiting ("+why+")")

	r = ok(t, "runs", "show", id)
	assert.Regexp(t, `(?m)^\s+Status:\s+waiting \(`+why+`\)$`, r.stdout)
	var show map[string]any
	r = ok(t, "runs", "show", id, "-o", "json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &show))
	assert.Equal(t, "waiting", show["status"])
	assert.Equal(t, why, show["waiting"])
}
