package flows_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flowkit/kittest"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// events is a ten-field dataset with a composite key, as a user declares
// one: DataPipeline loads it on the dev server, on each warehouse, with
// the orders guarantees (exactly-once upsert, rejections named by field
// and rule, several chunks).
var events = dataset.Definition{
	Name: "events",
	Key:  []string{"device", "seq"},
	Fields: []dataset.Field{
		{Name: "device", Type: dataset.String, Required: true, MaxLength: 32},
		{Name: "seq", Type: dataset.Integer, Required: true, Min: "0"},
		{Name: "kind", Type: dataset.String, Required: true, OneOf: []string{"click", "view"}},
		{Name: "value", Type: dataset.Decimal, Precision: 10, Scale: 3},
		{Name: "ok", Type: dataset.Boolean},
		{Name: "at", Type: dataset.Timestamp, Required: true},
		{Name: "day", Type: dataset.Date},
		{Name: "owner", Type: dataset.Email},
		{Name: "tag", Type: dataset.String, Pattern: "^[a-z]+$"},
		{Name: "meta", Type: dataset.JSON},
	},
}

func eventRecord(i int) string {
	kind := "click"
	if i%10 == 3 {
		kind = "swipe" // kind.one_of
	}
	return fmt.Sprintf(`{"device":"d%d","seq":%d,"kind":%q,"value":%d.125,"ok":true,"at":"2026-01-02T03:04:05Z","day":"2026-01-02","owner":"O%d@X.ORG","tag":"abc","meta":{"i":%d}}`,
		i%7, i, kind, i, i, i)
}

func TestDataPipelineLoadsADataset(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	var lines []string
	for i := range 250 {
		lines = append(lines, eventRecord(i))
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	for driver, st := range kittest.Warehouses(t) {
		t.Run(driver, func(t *testing.T) {
			queue := "datasets-" + driver
			flowstest.StartWith(t, c, st, worker.Config{TaskQueue: queue, ChunkRecords: 60, Sources: source.Config{FileRoot: filepath.Dir(path)}}, flows.Registry)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			def := events
			p := datapipeline.Params{BatchSize: 1000, SourceURL: "file://" + path, Dataset: "events", DatasetDefinition: &def}
			run := func(id string) datapipeline.Summary {
				r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, datapipeline.WorkflowType, p)
				require.NoError(t, err)
				var sum datapipeline.Summary
				require.NoError(t, r.Get(ctx, &sum))
				return sum
			}
			first := run(fmt.Sprintf("events-%s-1-%d", driver, time.Now().UnixNano()))
			assert.Equal(t, "events", first.Dataset, "the result names the dataset")
			assert.Equal(t, int64(250), first.Extracted)
			assert.Equal(t, map[string]int64{"kind.one_of": 25}, first.Reasons)
			assert.Equal(t, int64(225), first.Loaded.Inserted)
			var n int64
			require.NoError(t, st.DB().QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&n))
			assert.Equal(t, int64(225), n)

			second := run(fmt.Sprintf("events-%s-2-%d", driver, time.Now().UnixNano()))
			assert.Zero(t, second.Loaded.Inserted)
			assert.Equal(t, int64(225), second.Loaded.Unchanged)

			// The run's rejection threshold holds for a dataset too: over
			// it, the run fails and loads nothing.
			strict := p
			strict.MaxRejected = datapipeline.MaxRejectedCount(24)
			id := fmt.Sprintf("events-%s-strict-%d", driver, time.Now().UnixNano())
			r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, datapipeline.WorkflowType, strict)
			require.NoError(t, err)
			require.ErrorContains(t, r.Get(ctx, nil), "max_rejected")

			// A run that meets a change its table cannot take (a schedule
			// deployed before the manifest changed) fails at once, without
			// retries, naming the column and both types; nothing changes.
			changed := events
			changed.Fields = append([]dataset.Field(nil), events.Fields...)
			changed.Fields[3] = dataset.Field{Name: "value", Type: dataset.Integer}
			bad := p
			bad.DatasetDefinition = &changed
			id = fmt.Sprintf("events-%s-changed-%d", driver, time.Now().UnixNano())
			r, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, datapipeline.WorkflowType, bad)
			require.NoError(t, err)
			err = r.Get(ctx, nil)
			require.ErrorContains(t, err, `column "value": decimal(10,3) -> integer`)
			require.ErrorContains(t, err, "Extract failed (not retryable)")
			require.NoError(t, st.DB().QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&n))
			assert.Equal(t, int64(225), n, "nothing was dropped")
		})
	}
}
