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

// TestEveryCommandWorksForEveryFlow runs the commands of a run's life on
// the two flows that are not DataPipeline (issue 9, part 5): run --watch,
// runs ls, runs show and deployment inspect on OrdersReport, whose result
// is printed generically, and runs cancel on NightlyETL, whose children
// are cancelled with it.
func TestEveryCommandWorksForEveryFlow(t *testing.T) {
	flowstest.Start(t, srv.Client(), runinfo.TaskQueue, flows.Registry)

	id := testutil.UniqueID("cli-report")
	r := ok(t, "run", "daily-report", "--id", id, "--param", "from=2025-01-01", "--param", "to=2025-01-02", "--watch", "--timeout", "1m")
	assert.Regexp(t, `(?m)^Run `+id+` completed in \S+\.$`, r.stdout)
	// The result, generically: each field of OrdersReport's result.
	for _, field := range []string{`from:\s+2025-01-01`, `to:\s+2025-01-02`, `timezone:\s+America/Chicago`, `orders:\s+0`} {
		assert.Regexp(t, `(?m)^\s+`+field+`$`, r.stdout)
	}
	assert.NotContains(t, r.stdout, "Extracted:", "no blank DataPipeline summary")

	show := ok(t, "runs", "show", id)
	assert.Regexp(t, `(?m)^\s+Workflow:\s+OrdersReport on task queue `+runinfo.TaskQueue+`$`, show.stdout)
	assert.Regexp(t, `(?m)^\s+Status:\s+completed$`, show.stdout)
	assert.Regexp(t, `(?m)^\s+ReportDailyRevenue\s+completed\s+1/3\s`, show.stdout)
	assert.Regexp(t, `(?m)^Result:\n(\s+\S+:.*\n)*\s+to:\s+2025-01-02$`, show.stdout)
	assert.Regexp(t, `(?m)^`+id+`\s+\S+\s+daily-report\s+completed\s`, ok(t, "runs", "ls", "--deployment", "daily-report").stdout)

	inspect := ok(t, "deployment", "inspect", "nightly-etl")
	assert.Regexp(t, `(?m)^Workflow:\s+NightlyETL$`, inspect.stdout)
	assert.Regexp(t, `(?m)^Parameters:\s+\{.*"sources":\[`, inspect.stdout)

	// A NightlyETL run whose only child reads a source that holds its
	// first page until the test ends, cancelled while the child waits for
	// it: both end cancelled.
	feed, url := testutil.HeldFeed(t, 100, testutil.RequestAt{Page: 0, Request: 1})
	nid := testutil.UniqueID("cli-nightly-cancel")
	ok(t, "run", "nightly-etl", "--id", nid, "--params", `{"sources":["`+url+`"],"batch_size":5000}`)
	select {
	case <-feed.Arrived():
	case <-ctx(t).Done():
		t.Fatal("the child run never read its source")
	}
	r = ok(t, "runs", "cancel", nid)
	assert.Contains(t, r.stdout, "Cancellation of "+nid)
	status := func(id string) string {
		var v struct {
			Status string `json:"status"`
		}
		out := blueprint(t, "runs", "show", id, "-o", "json")
		if out.code != 0 || json.Unmarshal([]byte(out.stdout), &v) != nil {
			return ""
		}
		return v.Status
	}
	require.Eventually(t, func() bool { return status(nid) == "cancelled" }, time.Minute, 200*time.Millisecond, "the parent ends cancelled")
	require.Eventually(t, func() bool { return status(nid+"-source-1") == "cancelled" }, time.Minute, 200*time.Millisecond, "its child ends cancelled")
}
