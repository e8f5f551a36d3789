package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// TestOneFileOneSource loads one file through two spellings of its URL:
// the second run finds the same rows (all unchanged), under one source.
func TestOneFileOneSource(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "data"), 0o750))
	file := filepath.Join(root, "data", "orders.csv")
	require.NoError(t, os.WriteFile(file, []byte("id,customer_email,category,amount,currency,timestamp\n"+
		"A-1,a@example.com,books,12.50,USD,2026-03-01T10:00:00Z\n"+
		"A-2,b@example.com,toys,3.99,EUR,2026-03-03T09:00:00Z\n"), 0o600))

	queue := testutil.UniqueID("tq-cli-source")
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "w.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	flowstest.StartWith(t, srv.Client(), st, worker.Config{TaskQueue: queue, Sources: source.Config{FileRoot: root}}, flows.Registry)
	path := writeManifest(t, manifestOf(deployment("cli-source", queue, `{batch_size: 10}`, "")))

	run := func(url string) datapipeline.Summary {
		r := ok(t, "-f", path, "run", "cli-source", "--id", testutil.UniqueID("cli-source"), "--param", "source_url="+url, "--watch", "-o", "json")
		var v struct {
			Summary *datapipeline.Summary `json:"summary"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
		require.NotNil(t, v.Summary, r.stdout)
		return *v.Summary
	}
	first := run("file:data/orders.csv")
	assert.Equal(t, "file://"+file, first.Source)
	assert.EqualValues(t, 2, first.Loaded.Inserted)
	for _, url := range []string{"file:///" + file[1:], "file:./data//orders.csv"} {
		again := run(url)
		assert.Equal(t, first.Source, again.Source, url)
		assert.EqualValues(t, 0, again.Loaded.Inserted, "%s: no duplicate rows", url)
		assert.EqualValues(t, 2, again.Loaded.Unchanged, url)
	}
	n, err := st.CountOrders(context.Background(), "")
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "one file, two rows")
}
