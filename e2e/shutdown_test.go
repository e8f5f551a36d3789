//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// TestGracefulShutdown sends SIGTERM to a worker in the middle of
// Extract, held after its second chunk. The worker lets the activity
// finish when it can within worker.StopTimeout (the test releases it once
// the worker says it is shutting down), and otherwise cancels it and hands
// it back (the test holds it until then); either way it exits 0, leaves
// the staged chunks consistent with their checkpoints, and a new worker
// completes the run with exactly the rows of a run that was never
// interrupted.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()
	wh := sqliteWarehouse(t)

	tests := []struct {
		name string
		url  string
		// finishes: the activity is released during the shutdown, and
		// its 10 chunks left take far less than worker.StopTimeout;
		// otherwise it is held past it.
		finishes bool
	}{
		{"activity finishes", "demo://orders?seed=4000", true},
		{"activity handed back", "demo://orders?seed=4001", false},
	}
	const batch = 60_000 // 12 chunks
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			queue := fmt.Sprintf("e2e-shutdown-%d", i)
			g := newGates(t)
			w := startWorker(t, queue, srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, "BLUEPRINT_TASK_QUEUE="+queue, g.env())
			r := startRun(t, c, queue, queue, pipeline.Params{BatchSize: batch, SourceURL: tt.url})
			pr := &pipelineRun{WorkflowRun: r, url: tt.url, batch: batch}
			held := g.hold([]*pipelineRun{pr}, pipeline.StageExtract, 1, 2)
			g.wait(held)

			w.send(syscall.SIGTERM)
			if tt.finishes {
				require.NoError(t, waitLog(w, "shutting down"))
				g.release(held)
			}
			require.Equal(t, 0, w.exitCode(), "a worker stopped by SIGTERM exits 0")
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
			wh.checkRun(t, expect(t, tt.url, batch, source.Config{}), sum)
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

// waitLog waits until the worker's output holds text (a line it writes
// once, which stays).
func waitLog(w *workerProc, text string) error {
	ctx := testContext(w.t)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !strings.Contains(w.logs.String(), text) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker %s never logged %q: %w", w.name, text, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
