package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

func TestFlowRuns(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("flow-run")
		_, ok, err := s.GetFlowRun(ctx, ref)
		require.NoError(t, err)
		assert.False(t, ok, "a run that has not ended has no row")

		ended := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
		failed := store.FlowRun{Run: ref, Flow: "OrdersReport", Deployment: "daily-report", Status: runinfo.RunFailed,
			Stage: "reportdailyrevenue", Error: "ReportDailyRevenue failed after 3 attempts: warehouse is down", EndedAt: ended}
		require.NoError(t, s.RecordFlowRun(ctx, failed))
		got, ok, err := s.GetFlowRun(ctx, ref)
		require.NoError(t, err)
		require.True(t, ok)
		assert.True(t, ended.Equal(got.EndedAt))
		got.EndedAt = failed.EndedAt
		assert.Equal(t, failed, got)

		again := failed
		again.Error = strings.Repeat("é", 5000)
		require.NoError(t, s.RecordFlowRun(ctx, again), "a retried EndRun replaces the row")
		got, _, err = s.GetFlowRun(ctx, ref)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(got.Error), 4003, "an error is clipped")
		assert.True(t, strings.HasSuffix(got.Error, "..."))

		// The outcome's line commits with the row, once (its Once key)
		// however often a retried EndRun records it, and not at all when
		// the row is refused.
		outcome := store.ChunkLog{Line: store.LogLine{Level: store.LogError, Stage: "run", Message: "run failed", Once: "final"}}
		require.NoError(t, s.RecordFlowRun(ctx, again, outcome))
		require.NoError(t, s.RecordFlowRun(ctx, again, outcome))
		assert.Equal(t, []string{"run failed"}, logMessages(t, s, ref))
		other := runRef("flow-run-refused")
		require.Error(t, s.RecordFlowRun(ctx, store.FlowRun{Run: other, Flow: "X", Status: "running"}, outcome))
		assert.Empty(t, logMessages(t, s, other))

		require.Error(t, s.RecordFlowRun(ctx, store.FlowRun{Run: ref, Flow: "X", Status: "running"}), "only an end is recorded")
		require.Error(t, s.RecordFlowRun(ctx, store.FlowRun{Run: ref, Status: runinfo.RunFailed}), "the flow is required")
	})
}

// TestFlowRunEndDropsStaging: the end of any flow's run drops the ids its
// duplicate check kept (a flow's dataset load keeps them for the whole
// run); its rejected records and checkpoints stay.
func TestFlowRunEndDropsStaging(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref, other := runRef("kept"), runRef("other")
		rejected := []record.Rejected{{Index: 2, Reason: record.ReasonInvalidEmail, Detail: "no @", Raw: `{}`}}
		for _, r := range []runinfo.RunRef{ref, other} {
			_, err := s.PutTransformChunk(ctx, r, 0, valids(0, "a", "b"), rejected, false, nil)
			require.NoError(t, err)
		}
		require.Equal(t, 2, keptIDs(t, s, ref))
		require.NoError(t, s.RecordFlowRun(ctx, store.FlowRun{Run: ref, Flow: "CatalogSync", Status: runinfo.RunCompleted}))
		assert.Zero(t, keptIDs(t, s, ref))
		assert.Equal(t, 2, keptIDs(t, s, other), "another run's ids stay")
		assert.Equal(t, 1, countRows(t, s, "rejected_records", ref.Key()), "rejected records stay")
		cp, err := s.Checkpoint(ctx, ref, runinfo.StageTransform)
		require.NoError(t, err)
		assert.Equal(t, 1, cp.NextSeq, "checkpoints stay")
	})
}
