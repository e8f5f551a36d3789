//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// e2eSeed is the seed of the suite's random choices: BLUEPRINT_E2E_SEED to
// replay a run, else a new one. Tests log it.
func e2eSeed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("BLUEPRINT_E2E_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "BLUEPRINT_E2E_SEED")
		return s
	}
	return uint64(time.Now().UnixNano())
}

// killAt holds every run's stage after chunk number chunks of attempt,
// waits until all of them are there, kills the worker with SIGKILL and
// starts a new one. Every run loses that attempt of the stage, and
// nothing else: no other activity of theirs is running.
func killAt(t *testing.T, g *gates, w *workerProc, runs []*pipelineRun, stage string, attempt int32, chunks int) {
	t.Helper()
	points := g.hold(runs, stage, attempt, chunks)
	g.wait(points)
	w.kill()
	figures.kills.Add(1)
	t.Logf("killed the worker with every run's %s attempt %d held after chunk %d", stage, attempt, chunks)
	w.restart()
}

// TestWorkerCrashes kills the worker with SIGKILL in the middle of every
// stage, twice per stage (the retry policy allows three attempts and a
// killed one counts), at chunks chosen at random, and restarts it each
// time. Every run completes with exactly the rows a run without crashes
// loads, each killed stage resuming after its last committed chunk.
func TestWorkerCrashes(t *testing.T) {
	t.Parallel()
	seed := e2eSeed(t)
	t.Logf("random kill moments from seed %d (replay with BLUEPRINT_E2E_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6b696c6c))
	srv := startServer(t, false)
	wh := sqliteWarehouse(t)
	g := newGates(t)
	w := startWorker(t, "crash", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, g.env())
	c := srv.client()

	// 24 chunks of 5000 records in every stage.
	const waves, perWave, batch, chunks = 2, 3, 120_000, 24
	var all []*pipelineRun
	kills := 0
	for wave := range waves {
		var urls []string
		for i := range perWave {
			urls = append(urls, fmt.Sprintf("demo://orders?seed=%d", 1000+10*wave+i))
		}
		runs := startRuns(t, c, fmt.Sprintf("crash-%d", wave), batch, urls...)
		all = append(all, runs...)
		for _, stage := range []string{pipeline.StageExtract, pipeline.StageTransform, pipeline.StageLoad} {
			// The second attempt resumes after the first one's chunk and
			// is killed after a later one; the third completes.
			first := 1 + rng.IntN(chunks/2)
			killAt(t, g, w, runs, stage, 1, first)
			killAt(t, g, w, runs, stage, 2, first+1+rng.IntN(chunks-1-first))
			kills += 2
		}
		finish(t, wh, runs)
	}
	require.Equal(t, 2*3*waves, kills)
	logs := w.logs.String()
	for _, a := range []string{pipeline.ExtractActivity, pipeline.TransformActivity, pipeline.LoadActivity} {
		for _, r := range all {
			require.EqualValues(t, pipeline.MaxAttempts, activityOf(t, activityRuns(events(t, c, r.GetID(), r.GetRunID())), a).Attempt,
				"%s of %s was killed twice and completed on its last attempt", a, r.GetID())
		}
		require.Contains(t, logs, "resuming "+stageOf[a], "a retried %s resumes after its last committed chunk", a)
	}
}
