package workflows_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// newEnv returns a test environment with every flow registered on real
// activities and a fresh SQLite warehouse.
func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	var s testsuite.WorkflowTestSuite
	s.SetLogger(conn.QuietLogger())
	env := s.NewTestWorkflowEnvironment()
	flows.Registry.Register(env, worker.Deps{Store: st, ChunkRecords: 100, Sources: source.Config{PageSize: 100}})
	return env, st
}

func TestOrdersReportDefaultsToYesterdayInItsTimeZone(t *testing.T) {
	ctx := context.Background()
	env, st := newEnv(t)
	at := func(s string) time.Time { v, err := time.Parse(time.RFC3339, s); require.NoError(t, err); return v }
	_, err := st.WriteOrders(ctx, "src", []record.Order{
		{ID: "a", CustomerEmail: "a@example.com", Category: "books", Amount: "10.10", Currency: "USD", Timestamp: at("2025-03-09T12:00:00Z")},
		{ID: "b", CustomerEmail: "b@example.com", Category: "books", Amount: "0.9", Currency: "USD", Timestamp: at("2025-03-10T04:00:00Z")},
		{ID: "c", CustomerEmail: "c@example.com", Category: "books", Amount: "1", Currency: "USD", Timestamp: at("2025-03-10T06:00:00Z")},
	})
	require.NoError(t, err)
	// 10:00 in Chicago on March 10: "yesterday" is March 9 there, which
	// ends at 05:00Z on the 10th (daylight saving started that night).
	env.SetStartTime(at("2025-03-10T15:00:00Z"))
	env.ExecuteWorkflow(report.OrdersReportWorkflow, map[string]any{"timezone": "America/Chicago"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res report.Result
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, report.Result{From: "2025-03-09", To: "2025-03-09", Timezone: "America/Chicago", Orders: 2, Totals: 1, Inserted: 1}, res)
	rows, err := st.DailyRevenue(ctx, "America/Chicago", "2025-03-09", "2025-03-09")
	require.NoError(t, err)
	assert.Equal(t, []store.RevenueRow{{Day: "2025-03-09", Category: "books", Currency: "USD", Orders: 2, Revenue: "11"}}, rows)

	// The same days again: nothing changes.
	env, _ = newEnvOn(t, st)
	env.ExecuteWorkflow(report.OrdersReportWorkflow, map[string]any{"timezone": "America/Chicago", "from": "2025-03-09", "to": "2025-03-10"})
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, 1, res.Unchanged)
	assert.Equal(t, 1, res.Inserted, "March 10 is new")
}

// newEnvOn is newEnv on an existing warehouse.
func newEnvOn(t *testing.T, st *store.Store) (*testsuite.TestWorkflowEnvironment, *store.Store) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(conn.QuietLogger())
	env := s.NewTestWorkflowEnvironment()
	flows.Registry.Register(env, worker.Deps{Store: st, ChunkRecords: 100})
	return env, st
}

func TestOrdersReportRejectsBadDays(t *testing.T) {
	for name, tc := range map[string]struct {
		params map[string]any
		want   string
	}{
		"backwards":                 {map[string]any{"from": "2025-01-02", "to": "2025-01-01"}, "from=2025-01-02 is after to=2025-01-01"},
		"not a date":                {map[string]any{"from": "yesterday"}, `from: must be a date YYYY-MM-DD`},
		"not a time zone":           {map[string]any{"timezone": "Mars/Olympus", "to": 5}, `timezone="Mars/Olympus": is not a time zone`},
		"too long":                  {map[string]any{"from": "2000-01-01", "to": "2025-01-01"}, "a report covers at most 3660"},
		"from after the default to": {map[string]any{"from": "2999-01-01"}, "is after to="},
	} {
		t.Run(name, func(t *testing.T) {
			env, st := newEnv(t)
			env.ExecuteWorkflow(report.OrdersReportWorkflow, tc.params)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(env.GetWorkflowError(), &appErr), "%v", env.GetWorkflowError())
			assert.Equal(t, runinfo.ErrInvalidParameters, appErr.Type())
			assert.Contains(t, appErr.Error(), tc.want)
			rows, err := st.DailyRevenue(context.Background(), "UTC", "1900-01-01", "2999-12-31")
			require.NoError(t, err)
			assert.Empty(t, rows)
		})
	}
}

// TestNightlyETL: one DataPipeline child per source, at most max_parallel
// at once; a failing source does not stop the others; the report covers
// what loaded; then the run fails naming the failed source.
func TestNightlyETL(t *testing.T) {
	env, st := newEnv(t)
	running, most := 0, 0
	var started []string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		started = append(started, info.WorkflowType.Name)
		if info.WorkflowType.Name == datapipeline.WorkflowType {
			running++
			most = max(most, running)
		}
	})
	env.SetOnChildWorkflowCompletedListener(func(info *workflow.Info, _ converter.EncodedValue, _ error) {
		if info.WorkflowType.Name == datapipeline.WorkflowType {
			running--
		}
	})
	env.ExecuteWorkflow(report.NightlyETLWorkflow, map[string]any{
		"sources":      []string{"demo://orders?seed=1", "demo://orders?fail=always", "demo://orders?seed=2"},
		"batch_size":   200,
		"max_parallel": 2,
	})
	require.True(t, env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr), "%v", env.GetWorkflowError())
	assert.Equal(t, runinfo.ErrSourcesFailed, appErr.Type())
	assert.Contains(t, appErr.Error(), "1 of 3 sources failed: demo://orders?fail=always")
	assert.Contains(t, appErr.Error(), "the 2 that loaded are reported")
	var res report.NightlyResult
	require.NoError(t, appErr.Details(&res))
	assert.Equal(t, 2, res.Loaded)
	assert.Equal(t, 1, res.Failed)
	assert.Equal(t, []string{"completed", "failed", "completed"}, []string{res.Sources[0].Status, res.Sources[1].Status, res.Sources[2].Status})
	assert.Contains(t, res.Sources[1].Error, "unavailable")
	assert.Equal(t, 2, most, "at most max_parallel children at once")
	assert.Equal(t, []string{datapipeline.WorkflowType, datapipeline.WorkflowType, datapipeline.WorkflowType, report.OrdersReportWorkflow}, started)

	// Both good sources are in the warehouse and in daily_revenue.
	ctx := context.Background()
	loaded := res.Sources[0].Loaded + res.Sources[2].Loaded
	n, err := st.CountOrders(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, loaded, n)
	require.NotNil(t, res.Report)
	assert.Equal(t, n, res.Report.Orders, "the report counts every loaded order")
	rows, err := st.DailyRevenue(ctx, "UTC", res.Report.From, res.Report.To)
	require.NoError(t, err)
	var orders int64
	for _, r := range rows {
		orders += r.Orders
	}
	assert.Equal(t, n, orders)
}

func TestNightlyETLAllGood(t *testing.T) {
	env, _ := newEnv(t)
	env.ExecuteWorkflow(report.NightlyETLWorkflow, map[string]any{"sources": []string{"demo://orders?seed=3"}, "batch_size": 50})
	require.NoError(t, env.GetWorkflowError())
	var res report.NightlyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, 1, res.Loaded)
	require.NotNil(t, res.Report)
	assert.Positive(t, res.Report.Inserted)
}

func TestNightlyETLRejectsBadParameters(t *testing.T) {
	env, _ := newEnv(t)
	env.ExecuteWorkflow(report.NightlyETLWorkflow, map[string]any{"sources": []string{"ftp://x/y", "demo://orders"}, "max_parallel": 0, "batch_size": "5"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	assert.Equal(t, runinfo.ErrInvalidParameters, appErr.Type())
	for _, want := range []string{`sources[0]="ftp://x/y"`, `batch_size: must be an integer, got the string "5"`, "max_parallel=0: must be at least 1"} {
		assert.Contains(t, appErr.Error(), want)
	}

	env, _ = newEnv(t)
	env.ExecuteWorkflow(report.NightlyETLWorkflow, map[string]any{"sources": []string{"demo://orders", "demo://orders"}})
	require.ErrorContains(t, env.GetWorkflowError(), "sources: must not list the same value twice")
}
