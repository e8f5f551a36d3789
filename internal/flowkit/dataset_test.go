package flowkit_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/flowkit"
	"github.com/blueprint-etl/blueprint/internal/flowkit/kittest"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// TestAUserFlowLoadsADataset: a flow written with the kit loads a
// declared dataset with DataPipeline's guarantees, on each warehouse:
// typed rows, each record loaded or rejected by field and rule, an
// attempt that dies between a commit and its heartbeat resumed without
// counting or writing anything twice, and a second run that inserts
// nothing.
func TestAUserFlowLoadsADataset(t *testing.T) {
	for driver, st := range kittest.Warehouses(t) {
		t.Run(driver, func(t *testing.T) {
			api := &flowstest.CatalogAPI{}
			srv := httptest.NewServer(api)
			defer srv.Close()
			def := flowstest.CatalogDataset
			params := flowstest.CatalogParams{SourceURL: srv.URL + "/catalog", Dataset: "catalog", DatasetDefinition: &def}
			run := func(id string, crash func(int) error) flowkit.DatasetTotals {
				env := kittest.Env(t, flowstest.Catalog(crash), st)
				env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
				env.ExecuteWorkflow("CatalogSync", params)
				require.NoError(t, env.GetWorkflowError())
				var got flowkit.DatasetTotals
				require.NoError(t, env.GetWorkflowResult(&got))
				return got
			}

			crashed := false
			first := run("catalog-1", func(seq int) error {
				if seq == 1 && !crashed {
					crashed = true
					return errors.New("the worker died after committing chunk 1")
				}
				return nil
			})
			assert.True(t, crashed)
			assert.Equal(t, flowkit.DatasetTotals{Dataset: "catalog", Records: 6, Inserted: 5, Rejected: 1,
				Reasons: map[string]int64{"price.min": 1}}, first)
			assert.Equal(t, map[int]int{1: 1, 2: 2, 3: 1}, api.Requests(),
				"the retry resumed after chunk 0's heartbeat: page 1 was not read again")

			var (
				price, lastRun string
				stock          int64
			)
			require.NoError(t, st.QueryRow(context.Background(), `SELECT CAST(price AS TEXT), stock, _last_run FROM catalog WHERE sku = 'A-1'`).Scan(&price, &stock, &lastRun))
			assert.Contains(t, []string{"19.9", "19.90"}, price)
			assert.Equal(t, int64(3), stock)
			assert.Equal(t, "catalog-1/", lastRun[:len("catalog-1/")], "a row records the run that wrote it")
			var n int
			require.NoError(t, st.QueryRow(context.Background(), `SELECT count(*) FROM catalog`).Scan(&n))
			assert.Equal(t, 5, n)

			// Each chunk's run log line committed with the chunk: once,
			// though the attempt that died loaded chunk 1 and the next one
			// loaded it again.
			lines, err := st.RunLogs(context.Background(), runinfo.RunRef{WorkflowID: "catalog-1", RunID: strings.TrimPrefix(lastRun, "catalog-1/")}, store.LogQuery{})
			require.NoError(t, err)
			var chunks []string
			for _, l := range lines {
				if strings.Contains(l.Message, "committed") {
					chunks = append(chunks, l.Message)
				}
			}
			assert.Equal(t, []string{
				"dataset catalog: chunk 1 committed: 2 records so far, 0 rejected",
				"dataset catalog: chunk 2 committed: 4 records so far, 1 rejected",
				"dataset catalog: chunk 3 committed: 6 records so far, 1 rejected",
			}, chunks)

			second := run("catalog-2", nil)
			assert.Equal(t, flowkit.DatasetTotals{Dataset: "catalog", Records: 6, Unchanged: 5, Rejected: 1,
				Reasons: map[string]int64{"price.min": 1}}, second, "a second identical run inserts nothing")
		})
	}
}
