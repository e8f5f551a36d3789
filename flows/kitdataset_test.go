package flows_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flowkit"
	"github.com/blueprint-etl/blueprint/internal/flowkit/kittest"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// TestAUserFlowLoadsADatasetOnDevServer: a user-style flow written with
// the kit (flowstest.Catalog) loads a declared dataset on the dev server,
// on each warehouse, with the guarantees DataPipeline gives its datasets:
// an attempt that dies between a commit and its heartbeat is retried by
// the server and resumes from the heartbeat without writing or counting
// anything twice; a second run inserts nothing; a new field adds a
// column and keeps the rows; a changed type fails the run at once and
// drops nothing. The run ends as every flow's does, its totals as its
// line in flow_runs.
func TestAUserFlowLoadsADatasetOnDevServer(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	for driver, st := range kittest.Warehouses(t) {
		t.Run(driver, func(t *testing.T) {
			api := &flowstest.CatalogAPI{}
			feed := httptest.NewServer(api)
			defer feed.Close()
			var crashes atomic.Int32
			reg, err := worker.NewRegistry(flowstest.Catalog(func(seq int) error {
				if seq == 1 && crashes.CompareAndSwap(0, 1) {
					return errors.New("the worker died after committing chunk 1")
				}
				return nil
			}))
			require.NoError(t, err)
			queue := "kit-datasets-" + driver
			flowstest.StartWith(t, c, st, worker.Config{TaskQueue: queue}, reg)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			def := flowstest.CatalogDataset
			params := flowstest.CatalogParams{SourceURL: feed.URL + "/catalog", Dataset: def.Name, DatasetDefinition: &def}
			start := func(name string, p flowstest.CatalogParams) (client.WorkflowRun, string) {
				id := fmt.Sprintf("catalog-%s-%s-%d", driver, name, time.Now().UnixNano())
				r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, "CatalogSync", p)
				require.NoError(t, err)
				return r, id
			}
			run := func(name string, p flowstest.CatalogParams) (flowkit.DatasetTotals, runinfo.RunRef) {
				r, id := start(name, p)
				var got flowkit.DatasetTotals
				require.NoError(t, r.Get(ctx, &got))
				return got, runinfo.RunRef{WorkflowID: id, RunID: r.GetRunID()}
			}
			count := func() int {
				var n int
				require.NoError(t, st.QueryRow(ctx, `SELECT count(*) FROM catalog`).Scan(&n))
				return n
			}

			first, ref := run("first", params)
			assert.Equal(t, int32(1), crashes.Load(), "the first attempt died between chunk 1's commit and its heartbeat")
			assert.Equal(t, flowkit.DatasetTotals{Dataset: "catalog", Records: 6, Inserted: 5, Rejected: 1,
				Reasons: map[string]int64{"price.min": 1}}, first)
			assert.Equal(t, map[int]int{1: 1, 2: 2, 3: 1}, api.Requests(), "the second attempt resumed from chunk 0's heartbeat")
			assert.Equal(t, 5, count())
			var summary string
			require.NoError(t, st.QueryRow(ctx, `SELECT summary FROM flow_runs WHERE workflow_id = $1`, ref.WorkflowID).Scan(&summary))
			assert.Equal(t, first.OneLine(), summary)
			var kept int
			require.NoError(t, st.QueryRow(ctx, `SELECT count(*) FROM stage_ids WHERE run = $1`, store.RunNumber(ref)).Scan(&kept))
			assert.Zero(t, kept, "the run's end dropped the ids its duplicate check kept")

			second, _ := run("second", params)
			assert.Equal(t, int64(0), second.Inserted)
			assert.Equal(t, int64(5), second.Unchanged)

			// A new field: a nullable column, the rows kept.
			wider := def
			wider.Fields = append(append([]dataset.Field(nil), def.Fields...), dataset.Field{Name: "color", Type: dataset.String})
			p := params
			p.DatasetDefinition = &wider
			third, _ := run("wider", p)
			assert.Equal(t, int64(5), third.Unchanged+third.Updated)
			assert.Equal(t, 5, count())
			var colors int
			require.NoError(t, st.QueryRow(ctx, `SELECT count(*) FROM catalog WHERE color IS NULL`).Scan(&colors))
			assert.Equal(t, 5, colors)

			// A changed type: the run fails at once, nothing is dropped.
			changed := wider
			changed.Fields = append([]dataset.Field(nil), wider.Fields...)
			changed.Fields[2] = dataset.Field{Name: "price", Type: dataset.Integer}
			p.DatasetDefinition = &changed
			r, _ := start("changed", p)
			err = r.Get(ctx, nil)
			require.ErrorContains(t, err, `column "price": decimal(10,2) -> integer`)
			require.ErrorContains(t, err, "LoadCatalog failed (not retryable)")
			assert.Equal(t, 5, count(), "nothing was dropped")
		})
	}
}
