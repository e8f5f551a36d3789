package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// gates are the points where an end-to-end test may hold this worker's
// activities (internal/gate): open, at no cost, unless the worker's
// environment names a gate directory, which only tests do.
var gates = gate.FromEnv()

// chunkGate is the point right after a stage committed its chunk number
// chunks: the test that holds it acts in the middle of the stage, with
// that chunk committed and the next not (Load may be writing it beside,
// but it commits only after the gate: inTurn).
func chunkGate(ctx context.Context, run runinfo.RunRef, stage string, chunks int) error {
	if gates == "" {
		return nil
	}
	return gates.At(ctx, gate.Chunk(run.WorkflowID, stage, activity.GetInfo(ctx).Attempt, chunks))
}
