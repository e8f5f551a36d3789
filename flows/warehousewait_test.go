package flows_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// lockedWarehouse is a SQLite warehouse whose busy timeout is short, so
// that a lock held by another connection is soon waited for by the store
// (as an unreachable warehouse), and a connection of the test's own that
// takes the file's write lock.
type lockedWarehouse struct {
	*store.Store
	path string
	lock *sql.Conn
}

func newLockedWarehouse(t *testing.T) *lockedWarehouse {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warehouse.db")
	st, err := store.Open(context.Background(), "sqlite:"+path+"?_pragma=busy_timeout(50)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return &lockedWarehouse{Store: st, path: path}
}

// hold takes an exclusive lock on the file until release.
func (w *lockedWarehouse) hold(t *testing.T) {
	t.Helper()
	db, err := sql.Open("sqlite", w.path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	w.lock, err = db.Conn(context.Background())
	require.NoError(t, err)
	_, err = w.lock.ExecContext(context.Background(), `BEGIN EXCLUSIVE`)
	require.NoError(t, err)
}

func (w *lockedWarehouse) release(t *testing.T) {
	t.Helper()
	_, err := w.lock.ExecContext(context.Background(), `COMMIT`)
	require.NoError(t, err)
	require.NoError(t, w.lock.Close())
}

// waitSignals returns the WarehouseWaitSignal payloads of a run's history.
func waitSignals(ctx context.Context, t *testing.T, c client.Client, id, runID string) []runinfo.WarehouseWait {
	t.Helper()
	var out []runinfo.WarehouseWait
	for _, e := range history(ctx, t, c, id, runID) {
		if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == runinfo.WarehouseWaitSignal {
			var w runinfo.WarehouseWait
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &w))
			out = append(out, w)
		}
	}
	return out
}

// currentDetails is what the Web UI shows on the run's page.
func currentDetails(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun) string {
	t.Helper()
	v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), flowrun.MetadataQuery)
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	return md.GetCurrentDetails()
}

// pendingWait is the wait in the heartbeat of the run's pending activity
// of type activity, nil when there is none.
func pendingWait(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun, activity string) *runinfo.WarehouseWait {
	t.Helper()
	d, err := c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	for _, pa := range d.RawResponse.GetPendingActivities() {
		if pa.GetActivityType().GetName() != activity || pa.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED || len(pa.GetHeartbeatDetails().GetPayloads()) == 0 {
			continue
		}
		var cp datapipeline.Checkpoint
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(pa.GetHeartbeatDetails().GetPayloads()[0], &cp))
		return cp.Waiting
	}
	return nil
}

// TestWarehouseWaitOnDevServer locks a run's SQLite warehouse (from a
// connection of the test's own) before the run starts, on a real server
// with a real worker. Extract waits for the lock, within its first
// attempt: its heartbeat and the run's current details say so, for as long
// as the lock is held; once it is released the run completes with every
// row, in one attempt of each stage, and its log says how long it waited.
// OrdersReport's activity does the same.
func TestWarehouseWaitOnDevServer(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	wh := newLockedWarehouse(t)
	queue := testutil.UniqueID("waits")
	flowstest.StartWith(t, c, wh.Store, worker.Config{TaskQueue: queue, ChunkRecords: 500}, flows.Registry)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	wh.hold(t)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: testutil.UniqueID("waits"), TaskQueue: queue},
		datapipeline.WorkflowType, datapipeline.Params{BatchSize: 2000, SourceURL: "demo://orders?seed=5"})
	require.NoError(t, err)
	// The wait lasts until the lock is released: these see it or time out.
	var w *runinfo.WarehouseWait
	require.Eventually(t, func() bool {
		w = pendingWait(ctx, t, c, run, datapipeline.ExtractActivity)
		return w != nil
	}, time.Minute, 50*time.Millisecond, "Extract's heartbeat shows the wait")
	assert.Equal(t, datapipeline.ExtractActivity, w.Activity)
	assert.Equal(t, "the SQLite database is locked by another connection (SQLITE_BUSY)", w.Cause)
	wantDetails := strings.Join(flowrun.WaitFacts(*w), "\n\n")
	var details string
	require.Eventually(t, func() bool {
		details = currentDetails(ctx, t, c, run)
		return strings.Contains(details, wantDetails)
	}, time.Minute, 50*time.Millisecond, "the Web UI shows the wait")
	assert.True(t, strings.HasPrefix(details, "**Stage:** extract\n\n"), details)
	wh.release(t)

	var sum datapipeline.Summary
	require.NoError(t, run.Get(ctx, &sum))
	assert.Equal(t, int64(2000), sum.Extracted)
	assert.Equal(t, sum.Valid, sum.Loaded.Inserted)
	n, err := wh.CountOrders(ctx, sum.Source)
	require.NoError(t, err)
	assert.Equal(t, sum.Valid, n)
	rec, err := wh.GetRun(ctx, runinfo.RunRef{WorkflowID: run.GetID(), RunID: run.GetRunID()})
	require.NoError(t, err)
	assert.Equal(t, runinfo.RunCompleted, rec.Status)

	signals := waitSignals(ctx, t, c, run.GetID(), run.GetRunID())
	require.Len(t, signals, 2, "the wait's start and end: %+v", signals)
	assert.Equal(t, *w, signals[0])
	assert.True(t, signals[1].Over)
	for _, e := range history(ctx, t, c, run.GetID(), run.GetRunID()) {
		if s := e.GetActivityTaskStartedEventAttributes(); s != nil {
			assert.Equal(t, int32(1), s.GetAttempt(), "the wait is not a failed attempt")
		}
	}
	lines, err := wh.RunLogs(ctx, runinfo.RunRef{WorkflowID: run.GetID(), RunID: run.GetRunID()}, store.LogQuery{})
	require.NoError(t, err)
	var waited []string
	for _, l := range lines {
		if strings.HasPrefix(l.Message, "waited ") {
			waited = append(waited, l.Stage+": "+l.Message)
		}
	}
	require.Len(t, waited, 1, "one line about the wait")
	assert.Contains(t, waited[0], "extract: waited ")
	assert.Contains(t, waited[0], " for the warehouse (the SQLite database is locked by another connection (SQLITE_BUSY)) since "+w.Since.UTC().Format(time.RFC3339)+"; it is back")
	assert.Contains(t, lines[len(lines)-1].Message, "run completed: ")
	assert.NotContains(t, currentDetails(ctx, t, c, run), "Waiting")

	// OrdersReport: its one activity waits the same way.
	wh.hold(t)
	rep, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: testutil.UniqueID("waits-report"), TaskQueue: queue},
		report.OrdersReportWorkflow, report.Params{From: flow.DateOf(sum.Loaded.FirstOrderedAt.UTC()), To: flow.DateOf(sum.Loaded.LastOrderedAt.UTC()), Timezone: "UTC"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		w = pendingWait(ctx, t, c, rep, report.DailyRevenueActivity)
		return w != nil
	}, time.Minute, 50*time.Millisecond, "the report's heartbeat shows the wait")
	require.Eventually(t, func() bool {
		return strings.Contains(currentDetails(ctx, t, c, rep), strings.Join(flowrun.WaitFacts(*w), "\n\n"))
	}, time.Minute, 50*time.Millisecond, "the Web UI shows the report's wait")
	wh.release(t)
	var res report.Result
	require.NoError(t, rep.Get(ctx, &res))
	assert.Equal(t, sum.Valid, res.Orders)
	assert.Positive(t, res.Inserted)
	require.Len(t, waitSignals(ctx, t, c, rep.GetID(), rep.GetRunID()), 2)
}
