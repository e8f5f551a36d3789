package cli_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	bpworker "github.com/blueprint-etl/blueprint/internal/worker"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/semaphore"
	"github.com/blueprint-etl/blueprint/internal/store"
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
	w := sdkworker.New(srv.Client(), queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		if err := workflow.SetQueryHandler(ctx, semaphore.StateQuery, func() (fakeSemaphoreState, error) { return state, nil }); err != nil {
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
		TypedSearchAttributes: temporal.NewSearchAttributes(runinfo.DeploymentKey.ValueSet(name)),
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

// TestConcurrencyLimitFromEveryOrigin: a deployment with
// concurrency_limit 1 and enqueue, whose slot a manual run holds, gets
// three more runs at once from `blueprint run`, its schedule (`deployment
// trigger`) and `runs retry`: they wait, `runs ls` says why, and once the
// slot frees they run one at a time, each from its admission to its
// close alone, in the order they asked.
func TestConcurrencyLimitFromEveryOrigin(t *testing.T) {
	queue := testutil.UniqueID("tq-limit")
	name := testutil.UniqueID("cli-limited")
	cleanupSchedule(t, name)
	gates := gatedWorker(t, queue)
	path := writeManifest(t, manifestOf(
		deployment(name, queue, `{batch_size: 200}`, "      cron: \"0 0 1 1 *\"\n")+"    concurrency_limit: 1\n    collision_strategy: enqueue\n",
	))
	ok(t, "-f", path, "deploy")
	done := name + "-done"
	ok(t, "-f", path, "run", name, "--id", done, "--watch", "--timeout", "1m")

	first := name + "-first"
	point := gate.Activity(first, datapipeline.ExtractActivity)
	require.NoError(t, gates.Hold(point))
	ok(t, "-f", path, "run", name, "--id", first)
	require.NoError(t, gates.Wait(ctx(t), point))
	ids := []string{first}
	ok(t, "-f", path, "run", name, "--id", name+"-manual")
	ids = append(ids, name+"-manual")
	m := regexp.MustCompile(`Workflow ID:\s+(\S+)`).FindStringSubmatch(ok(t, "-f", path, "deployment", "trigger", name).stdout)
	require.NotNil(t, m)
	ids = append(ids, m[1])
	ok(t, "-f", path, "runs", "retry", done, "--id", name+"-retry")
	ids = append(ids, name+"-retry")

	for _, id := range ids[1:] {
		require.Eventually(t, func() bool {
			return strings.Contains(ok(t, "-f", path, "runs", "show", id).stdout, "waiting (concurrency limit 1 of 1 taken by "+first+")")
		}, time.Minute, 100*time.Millisecond, "%s waits", id)
	}
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(ids[1])+`\s.*waiting \(concurrency limit 1 of 1 taken by `+regexp.QuoteMeta(first)+`\)`,
		ok(t, "-f", path, "runs", "ls", "--deployment", name).stdout)
	require.NoError(t, gates.Release(point))

	type span struct {
		id             string
		admitted, done time.Time
	}
	var spans []span
	for _, id := range ids {
		run := srv.Client().GetWorkflow(ctx(t), id, "")
		require.NoError(t, run.Get(ctx(t), nil), id)
		var s span
		s.id = id
		for _, e := range historyEvents(t, id) {
			if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == semaphore.GrantSignal {
				var g semaphore.Grant
				require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &g))
				if g.Admitted {
					s.admitted = e.GetEventTime().AsTime()
				}
			}
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
				s.done = e.GetEventTime().AsTime()
			}
		}
		require.False(t, s.admitted.IsZero() || s.done.IsZero(), "%s: admitted and completed", id)
		spans = append(spans, s)
	}
	slices.SortFunc(spans, func(a, b span) int { return a.admitted.Compare(b.admitted) })
	for i := 1; i < len(spans); i++ {
		assert.False(t, spans[i].admitted.Before(spans[i-1].done), "%s was admitted before %s closed", spans[i].id, spans[i-1].id)
	}
	var order []string
	for _, s := range spans {
		order = append(order, s.id)
	}
	assert.Equal(t, ids, order, "in the order they asked")
}

// historyEvents is a run's whole history.
func historyEvents(t *testing.T, id string) []*historypb.HistoryEvent {
	t.Helper()
	var out []*historypb.HistoryEvent
	it := srv.Client().GetWorkflowHistory(ctx(t), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

// TestConcurrencyLimitCancelNewFromTheCLI: with cancel_new, a run started
// while the only slot is taken ends cancelled at once: `run --watch`
// exits 1, and it and `runs show` give the reason.
func TestConcurrencyLimitCancelNewFromTheCLI(t *testing.T) {
	queue := testutil.UniqueID("tq-cancel-new")
	name := testutil.UniqueID("cli-cancel-new")
	gates := gatedWorker(t, queue)
	path := writeManifest(t, manifestOf(
		deployment(name, queue, `{batch_size: 50}`, "")+"    concurrency_limit: 1\n    collision_strategy: cancel_new\n",
	))
	first := name + "-first"
	point := gate.Activity(first, datapipeline.ExtractActivity)
	require.NoError(t, gates.Hold(point))
	ok(t, "-f", path, "run", name, "--id", first)
	require.NoError(t, gates.Wait(ctx(t), point))
	t.Cleanup(func() { _ = gates.Release(point) })

	second := name + "-second"
	r := blueprint(t, "-f", path, "run", name, "--id", second, "--watch", "--timeout", "1m")
	require.Equal(t, 1, r.code, "%s", r)
	reason := "concurrency limit 1 of 1 taken by " + first + " (collision_strategy: cancel_new)"
	assert.Contains(t, r.stdout+r.stderr, reason)
	show := ok(t, "-f", path, "runs", "show", second)
	assert.Regexp(t, `(?m)^\s+Status:\s+cancelled$`, show.stdout)
	assert.Contains(t, show.stdout, "the run was cancelled: "+reason)
	require.NoError(t, gates.Release(point))
	require.NoError(t, srv.Client().GetWorkflow(ctx(t), first, "").Get(ctx(t), nil), "the holder completes")
}

// gatedWorker starts a worker of the shipped flows on queue whose
// activities a test may hold at their start.
func gatedWorker(t *testing.T, queue string) gate.Dir {
	t.Helper()
	gates := gate.Dir(t.TempDir())
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	flowstest.StartWith(t, srv.Client(), st, bpworker.Config{TaskQueue: queue, Gates: gates}, flows.Registry)
	return gates
}
