package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// crmOrders are orders in a shape of the CRM's own, which its source's
// fields: mapping brings to DataPipeline's record.
func crmOrders(n int) []string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"ref":"crm-%d","buyer":{"email":"crm.%d@example.com"},"kind":"toys","total":{"value":"%d.25","currency":"USD"},"at":"2026-03-02T08:00:00Z"}`, i, i, i+1)
	}
	return recs
}

// TestNightlyETLOverNamedSources: NightlyETL over two named sources of the
// manifest, served by a local HTTP server in two pagination styles, one
// with a field mapping. The source:NAME items, from the deployment's
// parameters or from --param, bring their definitions into the run's
// input; each child reads its source by its definition, and loads every
// record of it.
func TestNightlyETLOverNamedSources(t *testing.T) {
	shop := &testutil.Feed{Style: testutil.FeedCursorToken, Records: testutil.OrderRecords("shop", 7), PageSize: 3}
	shop.Start(t)
	crm := &testutil.Feed{Style: testutil.FeedOffsetHeader, Records: crmOrders(5), PageSize: 2}
	crm.Start(t)

	queue := testutil.UniqueID("tq-cli-nightly-sources")
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "w.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	flowstest.StartWith(t, srv.Client(), st, worker.Config{TaskQueue: queue}, flows.Registry)
	path := writeManifest(t, fmt.Sprintf(`sources:
  shop:
    url: %s/orders
    records: data.orders
    paginate: {style: cursor, cursor_param: starting_after, next: meta.next_cursor}
  crm:
    url: %s/orders
    paginate: {style: offset, offset_param: _start, size_param: _limit, size: 2, total_header: X-Total-Count}
    fields: {id: ref, customer_email: buyer.email, category: kind, amount: total.value, currency: total.currency, timestamp: at}
deployments:
  - name: nightly-sources
    workflow: NightlyETL
    task_queue: %s
    parameters:
      sources: [source:shop, source:crm]
`, shop.URL(), crm.URL(), queue))

	run := func(args ...string) report.NightlyResult {
		r := ok(t, append([]string{"-f", path, "run", "nightly-sources", "--id", testutil.UniqueID("cli-nightly-sources"), "--watch", "--timeout", "3m", "-o", "json"}, args...)...)
		var v struct {
			Status string               `json:"status"`
			Result report.NightlyResult `json:"result"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
		require.Equal(t, runinfo.RunCompleted, v.Status, r.stdout)
		return v.Result
	}
	sources := func(res report.NightlyResult) map[string]string {
		out := map[string]string{}
		for _, s := range res.Sources {
			out[s.Source] = fmt.Sprintf("%s, %d extracted, %d loaded", s.Status, s.Extracted, s.Loaded)
		}
		return out
	}

	first := run()
	assert.Equal(t, map[string]string{"source:shop": "completed, 7 extracted, 7 loaded", "source:crm": "completed, 5 extracted, 5 loaded"}, sources(first))
	require.NotNil(t, first.Report, "the loaded days are reported")
	n, err := st.CountOrders(context.Background(), "")
	require.NoError(t, err)
	assert.EqualValues(t, 12, n, "every record of both sources is in the warehouse")

	// --param: the first replaces the deployment's list; a source:NAME
	// and a plain URL side by side.
	second := run("--param", "sources=source:crm", "--param", "sources=demo://orders?seed=5")
	require.Len(t, second.Sources, 2)
	assert.Equal(t, "completed, 5 extracted, 5 loaded", sources(second)["source:crm"])
	assert.Equal(t, runinfo.RunCompleted, second.Sources[1].Status, "demo://orders?seed=5")

	// An unknown name is refused before anything starts, naming the item.
	r := blueprint(t, "-f", path, "run", "nightly-sources", "--param", "sources=source:shop", "--param", "sources=source:crn")
	require.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, `sources[1]=source:crn: unknown source "crn" (sources: crm, shop; did you mean "crm"?)`)
}
