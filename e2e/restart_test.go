//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// TestServerRestarts stops the Temporal server and starts it again on the
// same port and database file while runs are in flight, once in each
// stage. The worker keeps running; every run completes with exactly the
// rows a run without restarts loads.
func TestServerRestarts(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true)
	wh := sqliteWarehouse(t)
	w := startWorker(t, "restart", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN)
	c := srv.client()

	var urls []string
	for i := range 3 {
		urls = append(urls, fmt.Sprintf("demo://orders?seed=%d&latency=150ms", 2000+i))
	}
	runs := startRuns(t, c, "restart", 100_000, urls...)
	restarts := 0
	for _, a := range []string{pipeline.ExtractActivity, pipeline.TransformActivity, pipeline.LoadActivity} {
		if !waitProgress(t, c, wh, runs, a, 0, nil) {
			t.Logf("every run is past %s: no restart", a)
			continue
		}
		srv.restart()
		restarts++
		t.Logf("server restarted during %s", a)
	}
	require.GreaterOrEqual(t, restarts, 2, "restarts while runs were in flight")
	finish(t, wh, runs)
	require.True(t, w.running(), "the worker outlives server restarts")
	require.Equal(t, 1, w.starts)
}
