package cli_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// TestNightlyETLWithAFailedSource is issue 9's "done when", through the
// CLI's command path with a real worker: the shipped nightly-etl
// deployment, run with one source that is down for good, exits 1 and
// names that source; the two good sources are loaded and reported in
// daily_revenue; `runs show` lists the children with their status.
func TestNightlyETLWithAFailedSource(t *testing.T) {
	// The shipped manifest (embedded: no deployments/ here) runs
	// nightly-etl on the default task queue.
	st := flowstest.Start(t, srv.Client(), runinfo.TaskQueue, flows.Registry)
	id := testutil.UniqueID("cli-nightly")
	const failing = "demo://orders?fail=always"
	r := blueprint(t, "run", "nightly-etl", "--id", id, "--watch", "--timeout", "3m",
		"--params", `{"sources":["demo://orders?seed=1","demo://orders?seed=2","`+failing+`"]}`)
	require.Equal(t, 1, r.code, "%s", r)
	assert.Contains(t, r.stdout+r.stderr, "1 of 3 sources failed: "+failing)

	// runs show: the three DataPipeline children and the OrdersReport one.
	show := ok(t, "runs", "show", id)
	assert.Regexp(t, `(?m)^Child runs:$`, show.stdout)
	for _, line := range []string{
		`^\s+` + id + `-source-1\s+DataPipeline\s+completed\s+-$`,
		`^\s+` + id + `-source-2\s+DataPipeline\s+completed\s+-$`,
		`^\s+` + id + `-source-3\s+DataPipeline\s+failed\s+\S.*$`,
		`^\s+` + id + `-report\s+OrdersReport\s+completed\s+-$`,
	} {
		assert.Regexp(t, `(?m)`+line, show.stdout)
	}
	var v struct {
		Status   string `json:"status"`
		Children []struct {
			WorkflowID string `json:"workflow_id"`
			Workflow   string `json:"workflow"`
			Status     string `json:"status"`
			Failure    string `json:"failure"`
		} `json:"children"`
		Failure string `json:"failure"`
	}
	require.NoError(t, json.Unmarshal([]byte(ok(t, "runs", "show", id, "-o", "json").stdout), &v))
	assert.Equal(t, "failed", v.Status)
	assert.Contains(t, v.Failure, failing)
	require.Len(t, v.Children, 4)
	status := map[string]string{}
	for _, c := range v.Children {
		status[c.WorkflowID] = c.Workflow + " " + c.Status
	}
	assert.Equal(t, map[string]string{
		id + "-source-1": "DataPipeline completed", id + "-source-2": "DataPipeline completed",
		id + "-source-3": "DataPipeline failed", id + "-report": "OrdersReport completed",
	}, status)

	// The warehouse: both good sources loaded, the failed one nothing;
	// every loaded order is counted in daily_revenue, in the deployment's
	// time zone, on the days the good sources loaded.
	c := ctx(t)
	var first, last time.Time
	for _, child := range []string{id + "-source-1", id + "-source-2"} {
		d, err := srv.Client().DescribeWorkflow(c, child, "")
		require.NoError(t, err)
		ref := runinfo.RunRef{WorkflowID: child, RunID: d.WorkflowExecution.RunID}
		rec, err := st.GetRun(c, ref)
		require.NoError(t, err)
		require.Equal(t, runinfo.RunCompleted, rec.Status)
		a, b, ok, err := st.LoadedRange(c, ref)
		require.NoError(t, err)
		require.True(t, ok, "%s loaded orders", child)
		if first.IsZero() || a.Before(first) {
			first = a
		}
		if b.After(last) {
			last = b
		}
	}
	loaded, err := st.CountOrders(c, "")
	require.NoError(t, err)
	require.Positive(t, loaded)
	chicago, err := time.LoadLocation("America/Chicago")
	require.NoError(t, err)
	from, to := first.In(chicago).Format(time.DateOnly), last.In(chicago).Format(time.DateOnly)
	rows, err := st.DailyRevenue(c, "America/Chicago", from, to)
	require.NoError(t, err)
	var counted int64
	days := map[string]bool{}
	for _, row := range rows {
		counted += row.Orders
		days[row.Day] = true
	}
	assert.Equal(t, loaded, counted, "every order the good sources loaded is in daily_revenue")
	assert.True(t, days[from] && days[to], "the first and last loaded days (%s, %s) are reported", from, to)
}
