package flows_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/semaphore"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// concurrencyWorker starts a worker whose activities a test may hold.
func concurrencyWorker(t *testing.T, c client.Client, queue string) (gate.Dir, *store.Store) {
	t.Helper()
	gates := gate.Dir(t.TempDir())
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	flowstest.StartWith(t, c, st, worker.Config{TaskQueue: queue, Gates: gates}, flows.Registry)
	return gates, st
}

// startLimited starts a DataPipeline run of a deployment with a
// concurrency limit, as every origin starts one: the limit in its memo.
func startLimited(ctx context.Context, t *testing.T, c client.Client, id string, lim runinfo.Concurrency) client.WorkflowRun {
	t.Helper()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: lim.TaskQueue,
		Memo:                  map[string]any{runinfo.MemoConcurrency: lim},
		TypedSearchAttributes: deploymentAttr(lim.Deployment)},
		datapipeline.WorkflowType, datapipeline.Params{BatchSize: 300, SourceURL: "demo://orders"})
	require.NoError(t, err)
	return run
}

// holdSlot starts a run of lim's deployment, holds it in Extract (so it
// holds the only slot) and returns it with the gate point to release.
func holdSlot(ctx context.Context, t *testing.T, c client.Client, gates gate.Dir, id string, lim runinfo.Concurrency) (client.WorkflowRun, string) {
	t.Helper()
	point := gate.Activity(id, datapipeline.ExtractActivity)
	require.NoError(t, gates.Hold(point))
	run := startLimited(ctx, t, c, id, lim)
	require.NoError(t, gates.Wait(ctx, point), "%s holds the slot, in Extract", id)
	return run, point
}

// waitingReason is a run's MemoWaiting, "" when it has none.
func waitingReason(ctx context.Context, c client.Client, id string) string {
	d, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		return ""
	}
	p := d.RawResponse.GetWorkflowExecutionInfo().GetMemo().GetFields()[runinfo.MemoWaiting]
	var s string
	if p == nil || converter.GetDefaultDataConverter().FromPayload(p, &s) != nil {
		return ""
	}
	return s
}

// admittedAndClosed are when a run got its slot (the semaphore's answer
// that admitted it) and when it closed, from its history.
func admittedAndClosed(ctx context.Context, t *testing.T, c client.Client, id, runID string) (admitted, closed time.Time) {
	t.Helper()
	for _, e := range history(ctx, t, c, id, runID) {
		if s := e.GetWorkflowExecutionSignaledEventAttributes(); s != nil && s.GetSignalName() == semaphore.GrantSignal {
			var g semaphore.Grant
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(s.GetInput(), &g))
			if g.Admitted {
				admitted = e.GetEventTime().AsTime()
			}
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
			closed = e.GetEventTime().AsTime()
		}
	}
	require.False(t, admitted.IsZero(), "%s was admitted", id)
	require.False(t, closed.IsZero(), "%s completed", id)
	return admitted, closed
}

// TestConcurrencyLimitEnqueue: with concurrency_limit 1 and enqueue, four
// runs started at once run one at a time, in the order they asked, each
// from its admission to its close alone; while the first is held the
// others wait, and say why in their memo and current details.
func TestConcurrencyLimitEnqueue(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	queue := "conc-" + t.Name()
	gates, _ := concurrencyWorker(t, c, queue)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lim := runinfo.Concurrency{Deployment: fmt.Sprintf("limited-%d", time.Now().UnixNano()), Limit: 1, Strategy: runinfo.CollisionEnqueue, TaskQueue: queue}

	first := fmt.Sprintf("%s-first", lim.Deployment)
	held, point := holdSlot(ctx, t, c, gates, first, lim)
	runs := []client.WorkflowRun{held}
	var wg sync.WaitGroup
	others := make([]client.WorkflowRun, 3)
	for i := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			others[i] = startLimited(ctx, t, c, fmt.Sprintf("%s-%d", lim.Deployment, i+2), lim)
		}()
	}
	wg.Wait()
	runs = append(runs, others...)
	for _, r := range others {
		require.Eventually(t, func() bool { return waitingReason(ctx, c, r.GetID()) != "" }, time.Minute, 50*time.Millisecond, "%s waits", r.GetID())
		assert.Equal(t, "concurrency limit 1 of 1 taken by "+first, waitingReason(ctx, c, r.GetID()))
		v, err := c.QueryWorkflow(ctx, r.GetID(), r.GetRunID(), flowrun.MetadataQuery)
		require.NoError(t, err)
		var meta sdkpb.WorkflowMetadata
		require.NoError(t, v.Get(&meta))
		assert.Contains(t, meta.GetCurrentDetails(), "**Waiting:** concurrency limit 1 of 1 taken by "+first)
	}
	// The semaphore says who holds the slot and who waits, in order.
	v, err := c.QueryWorkflow(ctx, runinfo.SemaphoreWorkflowID(lim.Deployment), "", semaphore.StateQuery)
	require.NoError(t, err)
	var state semaphore.State
	require.NoError(t, v.Get(&state))
	require.Len(t, state.Holders, 1)
	assert.Equal(t, first, state.Holders[0].WorkflowID)
	assert.Len(t, state.Queue, 3)
	require.NoError(t, gates.Release(point))
	for _, r := range runs {
		require.NoError(t, r.Get(ctx, nil), r.GetID())
		assert.Empty(t, waitingReason(ctx, c, r.GetID()), "no longer waiting")
	}

	type span struct {
		id             string
		admitted, done time.Time
	}
	var spans []span
	for _, r := range runs {
		a, d := admittedAndClosed(ctx, t, c, r.GetID(), r.GetRunID())
		spans = append(spans, span{r.GetID(), a, d})
	}
	slices.SortFunc(spans, func(a, b span) int { return a.admitted.Compare(b.admitted) })
	for i := 1; i < len(spans); i++ {
		assert.False(t, spans[i].admitted.Before(spans[i-1].done), "%s was admitted before %s closed: two ran at once", spans[i].id, spans[i-1].id)
	}
	assert.Equal(t, first, spans[0].id)
	// Arrival order: the order the semaphore received the requests in.
	var arrived []string
	for _, e := range history(ctx, t, c, runinfo.SemaphoreWorkflowID(lim.Deployment), "") {
		if s := e.GetWorkflowExecutionSignaledEventAttributes(); s != nil && s.GetSignalName() == semaphore.AcquireSignal {
			var req semaphore.Request
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(s.GetInput(), &req))
			arrived = append(arrived, req.Run.WorkflowID)
		}
	}
	var order []string
	for _, s := range spans {
		order = append(order, s.id)
	}
	assert.Equal(t, arrived, order, "admitted in the order they asked")
}

// TestConcurrencyLimitCancelNew: with cancel_new, a run over the limit
// ends cancelled at once, with the reason in its log; a terminated
// holder frees its slot for the next run.
func TestConcurrencyLimitCancelNewAndTermination(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	queue := "conc-" + t.Name()
	gates, st := concurrencyWorker(t, c, queue)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lim := runinfo.Concurrency{Deployment: fmt.Sprintf("cancel-new-%d", time.Now().UnixNano()), Limit: 1, Strategy: runinfo.CollisionCancelNew, TaskQueue: queue}

	holder := lim.Deployment + "-holder"
	held, point := holdSlot(ctx, t, c, gates, holder, lim)

	refused := startLimited(ctx, t, c, lim.Deployment+"-refused", lim)
	err := refused.Get(ctx, nil)
	var canceled *temporal.CanceledError
	require.ErrorAs(t, err, &canceled, "a run over the limit ends cancelled")
	d, err := c.DescribeWorkflow(ctx, refused.GetID(), "")
	require.NoError(t, err)
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, d.RawResponse.GetWorkflowExecutionInfo().GetStatus())
	reason := "concurrency limit 1 of 1 taken by " + holder + " (collision_strategy: cancel_new)"
	hasLine(t, logLines(t, st, refused.GetID(), refused.GetRunID()), "warn run 0 run cancelled: "+reason)

	// The holder is terminated: no code of it runs, and its slot is freed.
	require.NoError(t, c.TerminateWorkflow(ctx, holder, held.GetRunID(), "test: a terminated run frees its slot"))
	require.NoError(t, gates.Release(point))
	// The semaphore's watch sees the close and frees the slot; with
	// nothing held or queued, the semaphore ends: its close is the gate.
	var state semaphore.State
	require.NoError(t, c.GetWorkflow(ctx, runinfo.SemaphoreWorkflowID(lim.Deployment), "").Get(ctx, &state))
	assert.Empty(t, state.Holders, "the terminated run's slot is freed")
	next := startLimited(ctx, t, c, lim.Deployment+"-next", lim)
	require.NoError(t, next.Get(ctx, nil), "a run after the terminated holder gets its slot")
}

// TestConcurrencyLimitCancelWhileWaiting: a run cancelled while it waits
// for a slot ends cancelled at once, and the slot it would have got goes
// on to the next run.
func TestConcurrencyLimitCancelWhileWaiting(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	queue := "conc-" + t.Name()
	gates, _ := concurrencyWorker(t, c, queue)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lim := runinfo.Concurrency{Deployment: fmt.Sprintf("cancel-waiting-%d", time.Now().UnixNano()), Limit: 1, Strategy: runinfo.CollisionEnqueue, TaskQueue: queue}

	holder := lim.Deployment + "-holder"
	held, point := holdSlot(ctx, t, c, gates, holder, lim)
	waiting := startLimited(ctx, t, c, lim.Deployment+"-waiting", lim)
	require.Eventually(t, func() bool { return waitingReason(ctx, c, waiting.GetID()) != "" }, time.Minute, 50*time.Millisecond)
	require.NoError(t, c.CancelWorkflow(ctx, waiting.GetID(), waiting.GetRunID()))
	var canceled *temporal.CanceledError
	require.ErrorAs(t, waiting.Get(ctx, nil), &canceled, "cancelled while the slot is still held")

	next := startLimited(ctx, t, c, lim.Deployment+"-next", lim)
	require.NoError(t, gates.Release(point))
	require.NoError(t, held.Get(ctx, nil))
	require.NoError(t, next.Get(ctx, nil), "the next run gets the slot")
}

// napParams are the user-style flow's of TestConcurrencyLimitEveryFlow.
type napParams struct {
	Name string `json:"name" default:"nap" help:"a name"`
}

// napper is a user-style flow with an activity of its own.
var napper = worker.Flow{
	Flow: flow.New("LimitNapper", func(ctx workflow.Context, p napParams) (string, error) {
		var out string
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: runinfo.RetryPolicy()}),
			"Nap", p).Get(ctx, &out)
		return out, err
	}, flow.Options{}),
	Activities: func(worker.Deps) []worker.Activity {
		return []worker.Activity{{Name: "Nap", Func: func(_ context.Context, p napParams) (string, error) { return "napped " + p.Name, nil }}}
	},
}

// TestConcurrencyLimitEveryFlow: the limit belongs to the flow wrapper,
// so it holds for every shipped flow and a user's: with cancel_new and a
// run of the flow holding the only slot (held in its first activity, or
// NightlyETL's in its first child's), a second run of it ends cancelled
// with the reason, and the holder then completes.
func TestConcurrencyLimitEveryFlow(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	queue := "conc-" + t.Name()
	reg, err := worker.NewRegistry(flows.DataPipeline, flows.OrdersReport, flows.NightlyETL, napper)
	require.NoError(t, err)
	gates := gate.Dir(t.TempDir())
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	flowstest.StartWith(t, c, st, worker.Config{TaskQueue: queue, Gates: gates}, reg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	for _, tc := range []struct {
		workflow string
		params   any
		hold     func(id string) string // the gate point the holder waits at
	}{
		{datapipeline.WorkflowType, datapipeline.Params{BatchSize: 50, SourceURL: "demo://orders"},
			func(id string) string { return gate.Activity(id, datapipeline.ExtractActivity) }},
		{report.OrdersReportWorkflow, report.Params{From: day1999, To: day1999, Timezone: "UTC"},
			func(id string) string { return gate.Activity(id, report.DailyRevenueActivity) }},
		{report.NightlyETLWorkflow, report.NightlyParams{Sources: []string{"demo://orders?seed=4"}, BatchSize: 20, MaxParallel: 1, Timezone: "UTC"},
			func(id string) string { return gate.Activity(id+"-source-1", datapipeline.ExtractActivity) }},
		{napper.Name, napParams{Name: "ada"}, func(id string) string { return gate.Activity(id, "Nap") }},
	} {
		t.Run(tc.workflow, func(t *testing.T) {
			lim := runinfo.Concurrency{Deployment: fmt.Sprintf("every-%s-%d", strings.ToLower(tc.workflow), time.Now().UnixNano()),
				Limit: 1, Strategy: runinfo.CollisionCancelNew, TaskQueue: queue}
			start := func(id string) client.WorkflowRun {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue,
					Memo: map[string]any{runinfo.MemoConcurrency: lim}, TypedSearchAttributes: deploymentAttr(lim.Deployment)}, tc.workflow, tc.params)
				require.NoError(t, err)
				return run
			}
			holder := lim.Deployment + "-holder"
			point := tc.hold(holder)
			require.NoError(t, gates.Hold(point))
			held := start(holder)
			require.NoError(t, gates.Wait(ctx, point), "the holder is in its work")

			refused := start(lim.Deployment + "-refused")
			var canceled *temporal.CanceledError
			require.ErrorAs(t, refused.Get(ctx, nil), &canceled, "a second run ends cancelled")
			hasLine(t, logLines(t, st, refused.GetID(), refused.GetRunID()),
				"warn run 0 run cancelled: concurrency limit 1 of 1 taken by "+holder+" (collision_strategy: cancel_new)")
			require.NoError(t, gates.Release(point))
			require.NoError(t, held.Get(ctx, nil), "the holder completes")
		})
	}
}
