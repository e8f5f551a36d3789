//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// TestGracefulShutdown sends SIGTERM to a worker in the middle of a slow
// Extract. The worker lets the activity finish when it can within
// worker.StopTimeout, and otherwise cancels it and hands it back; either
// way it exits 0, leaves the staged chunks consistent with their
// checkpoints, and a new worker completes the run with exactly the rows of
// a run that was never interrupted.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()
	wh := sqliteWarehouse(t)

	tests := []struct {
		name string
		// The demo source waits latency before each page of 5000 records.
		url   string
		batch int
		// finishes: what is left of Extract at SIGTERM takes less than
		// worker.StopTimeout; otherwise it takes much more.
		finishes bool
	}{
		{"activity finishes", "demo://orders?seed=4000&latency=500ms", 60_000, true},
		{"activity handed back", "demo://orders?seed=4001&latency=5s", 40_000, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			queue := fmt.Sprintf("e2e-shutdown-%d", i)
			w := startWorker(t, queue, srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, "BLUEPRINT_TASK_QUEUE="+queue)
			r := startRun(t, c, queue, queue, pipeline.Params{BatchSize: tt.batch, SourceURL: tt.url})
			pr := &pipelineRun{WorkflowRun: r, url: tt.url, batch: tt.batch}
			require.True(t, waitProgress(t, c, wh, []*pipelineRun{pr}, pipeline.ExtractActivity, w.pid(), nil))

			require.Equal(t, 0, w.signal(syscall.SIGTERM), "a worker stopped by SIGTERM exits 0")
			logs := w.logs.String()
			require.Contains(t, logs, "shutting down")
			require.Contains(t, logs, "worker stopped")
			ref := pipeline.RunRef{WorkflowID: r.GetID(), RunID: r.GetRunID()}
			require.Empty(t, wh.stagingProblems(t, ref), "nothing is half-written")
			cp, err := wh.Checkpoint(context.Background(), ref, pipeline.StageExtract)
			require.NoError(t, err)
			t.Logf("after SIGTERM: extract checkpoint %d chunks, %d records, done %v", cp.NextSeq, cp.Records, cp.Done)
			require.Equal(t, tt.finishes, cp.Done, "Extract finished within %s: %v", worker.StopTimeout, tt.finishes)

			w.start()
			var sum pipeline.Summary
			require.NoError(t, r.Get(testContext(t), &sum))
			wh.checkRun(t, expect(t, tt.url, tt.batch, source.Config{}), sum)
			ex := activityOf(t, activityRuns(events(t, c, r.GetID(), r.GetRunID())), pipeline.ExtractActivity)
			if tt.finishes {
				require.EqualValues(t, 1, ex.Attempt, "the stopping worker completed Extract")
			} else {
				t.Logf("the stopped attempt ended with: %s", ex.LastFailure)
				require.EqualValues(t, 2, ex.Attempt, "the new worker resumed Extract")
				require.Contains(t, w.logs.String(), "resuming extract")
			}
		})
	}
}
