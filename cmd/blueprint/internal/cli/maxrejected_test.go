package cli_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// TestMaxRejected is the rejection threshold through the CLI, with a real
// worker and warehouse: by default a run that rejects every record exits
// 1 from run --watch with the counts by reason; max_rejected, as a count
// or a percentage, from the manifest or --param, fails a run just over it
// and lets one at it load; the rejected records are kept either way; a
// bad value is refused with exit 2 and nothing starts.
func TestMaxRejected(t *testing.T) {
	queue := testutil.UniqueID("tq-cli-rejects")
	dir := t.TempDir()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	flowstest.StartWith(t, srv.Client(), st, worker.Config{TaskQueue: queue, Sources: source.Config{FileRoot: dir}}, flows.Registry)

	allBad := testutil.OrdersFile(t, dir, "all-bad", 0, record.ReasonInvalidAmount, record.ReasonInvalidAmount, record.ReasonMissingID, record.ReasonInvalidEmail)
	// 10 orders, 3 rejected: 30%.
	mixed := testutil.OrdersFile(t, dir, "mixed", 7, record.ReasonInvalidAmount, record.ReasonMissingID, record.ReasonInvalidAmount)
	path := writeManifest(t, manifestOf(
		deployment("rejects-default", queue, fmt.Sprintf("{batch_size: 100, source_url: %q}", allBad), ""),
		deployment("rejects-count", queue, fmt.Sprintf("{batch_size: 100, source_url: %q, max_rejected: 3}", mixed), ""),
		deployment("rejects-percent", queue, fmt.Sprintf("{batch_size: 100, source_url: %q, max_rejected: 30%%}", mixed), ""),
	))
	kept := "; nothing was loaded, the rejected records are kept in rejected_records"

	// rejected checks what the warehouse kept of a run: its status, its
	// rejected records and the orders it loaded.
	rejected := func(t *testing.T, id, status string, rejects, loaded int) {
		t.Helper()
		d, err := srv.Client().DescribeWorkflow(ctx(t), id, "")
		require.NoError(t, err)
		ref := runinfo.RunRef{WorkflowID: id, RunID: d.WorkflowExecution.RunID}
		rec, err := st.GetRun(ctx(t), ref)
		require.NoError(t, err)
		assert.Equal(t, status, rec.Status)
		kept, err := st.Rejected(ctx(t), ref, 0)
		require.NoError(t, err)
		assert.Len(t, kept, rejects, "the rejected records stay in the warehouse")
		n, err := st.CountOrders(ctx(t), rec.Source)
		require.NoError(t, err)
		assert.EqualValues(t, loaded, n)
	}

	t.Run("default: every record rejected fails", func(t *testing.T) {
		id := testutil.UniqueID("rejects-default")
		r := blueprint(t, "-f", path, "run", "rejects-default", "--id", id, "--watch")
		require.Equal(t, 1, r.code, "%s", r)
		msg := "rejected all 4 extracted records (invalid_amount: 2, invalid_email: 1, missing_id: 1); without max_rejected a run fails when it rejects every record" + kept
		assert.Contains(t, r.stdout, "Run "+id+" failed in ")
		assert.Equal(t, "blueprint: run "+id+" failed: "+msg+" (TooManyRejected)\n", r.stderr)
		rejected(t, id, runinfo.RunFailed, 4, 0)
		show := ok(t, "runs", "show", id)
		assert.Contains(t, show.stdout, msg)
	})

	for _, tt := range []struct {
		name, deployment string
		params           []string
		fail             string // the failure's start, "" when the run completes
	}{
		{"count at the limit loads", "rejects-count", nil, ""},
		{"count over the limit fails", "rejects-count", []string{"max_rejected=2"}, "rejected 3 of 10 extracted records, more than max_rejected=2"},
		{"percent at the limit loads", "rejects-percent", nil, ""},
		{"percent over the limit fails", "rejects-percent", []string{"max_rejected=29.5%"}, "rejected 3 of 10 extracted records (30%), more than max_rejected=29.5%"},
		{"any rejection fails with 0", "rejects-count", []string{"max_rejected=0"}, "rejected 3 of 10 extracted records, more than max_rejected=0"},
		{"0% fails", "rejects-count", []string{"max_rejected=0%"}, "rejected 3 of 10 extracted records (30%), more than max_rejected=0%"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := testutil.UniqueID(tt.deployment)
			// A source of its own: the orders the run loaded are the
			// source's.
			own := testutil.OrdersFile(t, dir, id, 7, record.ReasonInvalidAmount, record.ReasonMissingID, record.ReasonInvalidAmount)
			args := []string{"-f", path, "run", tt.deployment, "--id", id, "--watch", "--param", "source_url=" + own}
			for _, p := range tt.params {
				args = append(args, "--param", p)
			}
			r := blueprint(t, args...)
			if tt.fail == "" {
				require.Equal(t, 0, r.code, "%s", r)
				assert.Regexp(t, `(?m)^\s+Rejected:\s+3 \(invalid_amount: 2, missing_id: 1\)$`, r.stdout)
				rejected(t, id, runinfo.RunCompleted, 3, 7)
				return
			}
			require.Equal(t, 1, r.code, "%s", r)
			assert.Equal(t, "blueprint: run "+id+" failed: "+tt.fail+" (invalid_amount: 2, missing_id: 1)"+kept+" (TooManyRejected)\n", r.stderr)
			rejected(t, id, runinfo.RunFailed, 3, 0)
		})
	}

	t.Run("bad values exit 2 and start nothing", func(t *testing.T) {
		rule := datapipeline.MaxRejectedRule
		for _, tt := range []struct{ value, want string }{
			{"5x", `blueprint: --param "max_rejected=5x": max_rejected must be ` + rule + "\n"},
			{"150%", `blueprint: --param "max_rejected=150%": max_rejected must be ` + rule + "\n"},
			{"-1", `blueprint: --param "max_rejected=-1": max_rejected must be ` + rule + "\n"},
		} {
			id := testutil.UniqueID("rejects-bad")
			r := blueprint(t, "-f", path, "run", "rejects-count", "--id", id, "--param", "max_rejected="+tt.value)
			require.Equal(t, 2, r.code, "%s", r)
			assert.Empty(t, r.stdout)
			assert.Equal(t, tt.want, r.stderr)
			notStarted(t, id)
		}
		r := blueprint(t, "-f", path, "run", "rejects-count", "--params", `{"max_rejected": 1.5}`)
		require.Equal(t, 2, r.code, "%s", r)
		assert.Equal(t, "blueprint: --params: max_rejected=1.5: must be "+rule+"\n", r.stderr)

		bad := writeManifest(t, manifestOf(deployment("rejects-yaml", queue, "{max_rejected: 101%}", "")))
		r = blueprint(t, "-f", bad, "run", "rejects-yaml")
		require.Equal(t, 2, r.code, "%s", r)
		assert.Contains(t, r.stderr, `deployments[0].parameters.max_rejected: "101%" must be `+rule)
	})

	t.Run("a schedule with it deploys once", func(t *testing.T) {
		for _, value := range []string{"3", "2.5%"} {
			name := testutil.UniqueID("rejects-sched")
			cleanupSchedule(t, name)
			path := writeManifest(t, manifestOf(deployment(name, queue, "{batch_size: 10, max_rejected: "+value+"}", chicago9)))
			r := ok(t, "-f", path, "deploy")
			assert.Regexp(t, `(?m)^`+name+`\s+created$`, r.stdout)
			r = ok(t, "-f", path, "deploy")
			assert.Regexp(t, `(?m)^`+name+`\s+unchanged$`, r.stdout, "the server's max_rejected is the manifest's")
		}
	})

	t.Run("flows inspect", func(t *testing.T) {
		for _, f := range []string{datapipeline.WorkflowType, "NightlyETL"} {
			r := ok(t, "flows", "inspect", f)
			assert.Regexp(t, `(?m)^\s+max_rejected\s+count or percentage\s+-\s+`+regexp.QuoteMeta(datapipeline.MaxRejectedRule)+`\s+\S`, r.stdout)
			r = ok(t, "flows", "inspect", f, "-o", "json")
			assert.Contains(t, r.stdout, `"max_rejected": {`)
		}
	})

	t.Run("NightlyETL passes it to its children", func(t *testing.T) {
		nightly := writeManifest(t, "deployments:\n  - name: rejects-nightly\n    workflow: NightlyETL\n    task_queue: "+queue+"\n"+
			fmt.Sprintf("    parameters: {sources: [%q], batch_size: 100}\n", mixed))
		id := testutil.UniqueID("rejects-nightly")
		own := testutil.OrdersFile(t, dir, id, 7, record.ReasonInvalidAmount, record.ReasonMissingID, record.ReasonInvalidAmount)
		r := blueprint(t, "-f", nightly, "run", "rejects-nightly", "--id", id, "--watch", "--param", "max_rejected=2", "--param", "sources="+own)
		require.Equal(t, 1, r.code, "%s", r)
		assert.Contains(t, r.stderr, "1 of 1 sources failed: "+own)
		assert.Equal(t, "2", startedInput(t, id+"-source-1")["max_rejected"])
		rejected(t, id+"-source-1", runinfo.RunFailed, 3, 0)

		id = testutil.UniqueID("rejects-nightly")
		ok(t, "-f", nightly, "run", "rejects-nightly", "--id", id, "--watch")
		assert.NotContains(t, startedInput(t, id+"-source-1"), "max_rejected", "the default is left out of the child's input")
	})
}
