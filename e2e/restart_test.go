//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// TestServerRestarts stops the Temporal server and starts it again on the
// same port and database file while runs are in flight, once in the
// middle of each stage (every run held after a chunk of it until the
// server is back). The worker keeps running; every run completes with
// exactly the rows a run without restarts loads.
func TestServerRestarts(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true)
	wh := sqliteWarehouse(t)
	g := newGates(t)
	w := startWorker(t, "restart", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, g.env())
	c := srv.client()

	var urls []string
	for i := range 3 {
		urls = append(urls, fmt.Sprintf("demo://orders?seed=%d", 2000+i))
	}
	// 20 chunks of 5000 records in every stage.
	runs := startRuns(t, c, "restart", 100_000, urls...)
	for i, stage := range []string{pipeline.StageExtract, pipeline.StageTransform, pipeline.StageLoad} {
		points := g.hold(runs, stage, 1, 5+5*i)
		g.wait(points)
		srv.restart()
		t.Logf("server restarted with every run in %s", stage)
		g.release(points)
	}
	finish(t, wh, runs)
	require.True(t, w.running(), "the worker outlives server restarts")
	require.Equal(t, 1, w.starts)
}
