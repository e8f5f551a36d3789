package cli_test

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// TestWatchShowsTheCurrentDetails: `run --watch` of OrdersReport, whose
// activity heartbeats no checkpoint, shows the run's current details on one
// line while the activity runs (held at its start by a gate), not
// "stage=reportdailyrevenue rows=0".
func TestWatchShowsTheCurrentDetails(t *testing.T) {
	queue := testutil.UniqueID("tq-cli-watch-details")
	gates := gate.Dir(t.TempDir())
	st, err := store.Open(ctx(t), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	flowstest.StartWith(t, srv.Client(), st, worker.Config{TaskQueue: queue, Gates: gates}, flows.Registry)
	manifest := writeManifest(t, "deployments:\n  - name: watched-report\n    workflow: OrdersReport\n    task_queue: "+queue+
		"\n    parameters: {timezone: UTC}\n")

	id := testutil.UniqueID("cli-watch-details")
	point := gate.Activity(id, report.DailyRevenueActivity)
	require.NoError(t, gates.Hold(point))
	t.Cleanup(func() { _ = gates.Release(point) })
	b := start(t, "-f", manifest, "run", "watched-report", "--id", id, "--param", "from=2025-01-01", "--param", "to=2025-01-02", "--watch", "--timeout", "1m")
	require.NoError(t, gates.Wait(ctx(t), point))
	want := `^Stage: report · Days: 2025-01-01\.\.2025-01-02 \(UTC\)$`
	b.waitFor(t, want)
	require.NoError(t, gates.Release(point))
	r := b.wait(t)
	require.Equal(t, 0, r.code, "%s", r)
	assert.Regexp(t, `(?m)^Run `+regexp.QuoteMeta(id)+` completed in \S+\.$`, r.stdout)
	assert.NotContains(t, r.stdout, "rows=0", "no empty rows count for a flow without checkpoints")
}
