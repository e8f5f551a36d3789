//go:build e2e

package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/gate"
)

// gates are the gates (internal/gate) of the workers a test starts: the
// test holds its runs' activities right after a chosen chunk, waits until
// every one is there, acts (kills the worker, restarts the server, sends
// SIGTERM) and releases them. The moment it acts at is thereby certain,
// on a fast machine or a loaded one.
type gates struct {
	t   *testing.T
	dir gate.Dir
}

func newGates(t *testing.T) *gates {
	g := &gates{t: t, dir: gate.Dir(t.TempDir())}
	return g
}

// env is the worker environment variable that puts its activities under
// the gates.
func (g *gates) env() string { return gate.EnvDir + "=" + string(g.dir) }

// hold holds each run's stage in the given attempt right after it
// committed chunk number chunks, and returns the points held.
func (g *gates) hold(runs []*pipelineRun, stage string, attempt int32, chunks int) []string {
	g.t.Helper()
	points := make([]string, len(runs))
	for i, r := range runs {
		points[i] = gate.Chunk(r.GetID(), stage, attempt, chunks)
		require.NoError(g.t, g.dir.Hold(points[i]))
	}
	g.t.Cleanup(func() { g.release(points) })
	return points
}

// wait waits until an activity waits at every point.
func (g *gates) wait(points []string) {
	g.t.Helper()
	require.NoError(g.t, g.dir.Wait(testContext(g.t), points...))
}

// release lets the activities held at points go on.
func (g *gates) release(points []string) {
	g.t.Helper()
	for _, p := range points {
		require.NoError(g.t, g.dir.Release(p))
	}
}
