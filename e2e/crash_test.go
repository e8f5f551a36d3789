//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

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

// killer kills a test's worker at random moments of chosen activities,
// and only when no activity can lose its last attempt to the kill.
type killer struct {
	t   *testing.T
	c   client.Client
	w   *workerProc
	wh  *warehouse
	rng *rand.Rand
	// maxDelay bounds the random wait between seeing an activity make
	// progress and killing.
	maxDelay time.Duration

	kills int
	// hits counts, per activity type, the running attempts killed.
	hits map[string]int
	// seen is, per activity type and run, the chunks its stage had
	// committed at the last kill: the next kill waits for more.
	seen map[string]map[string]int
}

func newKiller(t *testing.T, c client.Client, w *workerProc, wh *warehouse, seed uint64) *killer {
	return &killer{t: t, c: c, w: w, wh: wh, rng: rand.New(rand.NewPCG(seed, 0x6b696c6c)), maxDelay: time.Second,
		hits: map[string]int{}, seen: map[string]map[string]int{}}
}

// safe reports whether a kill now costs no activity its last attempt: every
// pending activity has an attempt to spare, and none is still held by a
// dead worker (whose timeout would start the next attempt any moment).
func safe(list []pending) bool {
	for _, p := range list {
		if p.attempt >= pipeline.MaxAttempts || (p.started && !p.current) {
			return false
		}
	}
	return true
}

// killDuring waits until some run's activity runs on the current worker
// and has committed a chunk since the last kill of that activity, waits a
// random moment more, and kills the worker (then starts a new one) if that
// is safe. It gives up when every run is past the activity.
func (k *killer) killDuring(runs []*pipelineRun, activity string) {
	k.t.Helper()
	for {
		if !waitProgress(k.t, k.c, k.wh, runs, activity, k.w.pid(), k.seen[activity]) {
			k.t.Logf("every run is past %s: no kill", activity)
			return
		}
		time.Sleep(time.Duration(k.rng.Int64N(int64(k.maxDelay))))
		list, _ := look(k.t, k.c, runs, k.w.pid())
		if !safe(list) {
			continue
		}
		var hit []string
		for _, p := range list {
			if p.current && stageOf[p.activity] != "" {
				ref := pipeline.RunRef{WorkflowID: p.run.GetID(), RunID: p.run.GetRunID()}
				cp, err := k.wh.Checkpoint(context.Background(), ref, stageOf[p.activity])
				require.NoError(k.t, err)
				if k.seen[p.activity] == nil {
					k.seen[p.activity] = map[string]int{}
				}
				k.seen[p.activity][p.run.GetID()] = cp.NextSeq
				k.hits[p.activity]++
				hit = append(hit, fmt.Sprintf("%s %s attempt %d after %d chunks", p.run.GetID(), p.activity, p.attempt, cp.NextSeq))
			}
		}
		k.w.kill()
		k.kills++
		figures.kills.Add(1)
		k.t.Logf("kill %d (aiming at %s): %s", k.kills, activity, strings.Join(hit, "; "))
		k.w.restart()
		return
	}
}

// TestWorkerCrashes kills the worker with SIGKILL at random moments of
// every stage, twice per stage (the retry policy allows three attempts and
// a killed one counts), and restarts it each time. Every run completes
// with exactly the rows a run without crashes loads.
func TestWorkerCrashes(t *testing.T) {
	t.Parallel()
	seed := e2eSeed(t)
	t.Logf("random kill moments from seed %d (replay with BLUEPRINT_E2E_SEED=%d)", seed, seed)
	srv := startServer(t, false)
	wh := sqliteWarehouse(t)
	w := startWorker(t, "crash", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN)
	c := srv.client()
	k := newKiller(t, c, w, wh, seed)

	const waves, perWave, batch = 2, 3, 120_000
	var all []*pipelineRun
	for wave := range waves {
		var urls []string
		for i := range perWave {
			// 24 pages of 5000 records, 150 ms apart: extract lasts a few
			// seconds, long enough to be killed twice.
			urls = append(urls, fmt.Sprintf("demo://orders?seed=%d&latency=150ms", 1000+10*wave+i))
		}
		runs := startRuns(t, c, fmt.Sprintf("crash-%d", wave), batch, urls...)
		all = append(all, runs...)
		for _, a := range []string{pipeline.ExtractActivity, pipeline.ExtractActivity, pipeline.TransformActivity,
			pipeline.TransformActivity, pipeline.LoadActivity, pipeline.LoadActivity} {
			k.killDuring(runs, a)
		}
		finish(t, wh, runs)
	}
	t.Logf("%d kills; running attempts killed per activity: %v", k.kills, k.hits)
	require.GreaterOrEqual(t, k.kills, 10)
	logs := w.logs.String()
	for _, a := range []string{pipeline.ExtractActivity, pipeline.TransformActivity, pipeline.LoadActivity} {
		require.GreaterOrEqual(t, k.hits[a], 2, "kills during %s", a)
		retried := 0
		for _, r := range all {
			if activityOf(t, activityRuns(events(t, c, r.GetID(), r.GetRunID())), a).Attempt > 1 {
				retried++
			}
		}
		require.Positive(t, retried, "some %s was killed and retried", a)
		require.Contains(t, logs, "resuming "+stageOf[a], "a retried %s resumes after its last committed chunk", a)
	}
}
