package gate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/gate"
)

func TestGate(t *testing.T) {
	d := gate.Dir(t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := gate.Chunk("run/1", "extract", 2, 3)
	assert.Equal(t, "run_1.extract.attempt-2.chunk-3", p)
	assert.Equal(t, "run_1.activity-ReportDailyRevenue", gate.Activity("run/1", "ReportDailyRevenue"))

	// An open point lets the caller pass and says nothing.
	require.NoError(t, d.At(ctx, p))
	assert.False(t, d.Reached(p))

	// A held one: the caller waits there until the release.
	require.NoError(t, d.Hold(p))
	passed := make(chan error, 1)
	go func() { passed <- d.At(ctx, p) }()
	require.NoError(t, d.Wait(ctx, p))
	select {
	case err := <-passed:
		t.Fatalf("passed a held gate: %v", err)
	default:
	}
	require.NoError(t, d.Release(p))
	require.NoError(t, <-passed)
	require.NoError(t, d.Release(p), "releasing twice is fine")

	// A held caller whose context ends returns its error.
	q := gate.Chunk("run-2", "load", 1, 1)
	require.NoError(t, d.Hold(q))
	qctx, qcancel := context.WithCancel(ctx)
	held := make(chan error, 1)
	go func() { held <- d.At(qctx, q) }()
	require.NoError(t, d.Wait(ctx, q))
	qcancel()
	require.ErrorIs(t, <-held, context.Canceled)

	// Without a directory nothing is ever held.
	require.NoError(t, gate.Dir("").At(ctx, q))
	wctx, wcancel := context.WithCancel(ctx)
	wcancel()
	require.ErrorIs(t, d.Wait(wctx, gate.Chunk("never", "load", 1, 1)), context.Canceled)
}
