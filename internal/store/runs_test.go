package store_test

import (
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

func TestRunLifecycle(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("life")
		started := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
		begin := store.RunRecord{
			WorkflowID: ref.WorkflowID, RunID: ref.RunID, Deployment: "nightly",
			Source: "demo://orders", Params: json.RawMessage(`{"batch_size":10,"source_url":"demo://orders"}`),
			StartedAt: started,
		}
		require.NoError(t, s.BeginRun(ctx, begin))
		again := begin
		again.Source = "changed"
		require.NoError(t, s.BeginRun(ctx, again), "a retried BeginRun is a no-op")

		run, err := s.GetRun(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, runinfo.RunRunning, run.Status)
		assert.Equal(t, "demo://orders", run.Source)
		assert.Equal(t, "nightly", run.Deployment)
		assert.JSONEq(t, string(begin.Params), string(run.Params))
		assert.True(t, started.Equal(run.StartedAt))
		assert.Nil(t, run.FinishedAt)

		// Stage a little of everything.
		require.NoError(t, s.PutExtractChunk(ctx, ref, 0, store.NewStagedChunk([]byte("raw"), 3), "", true))
		_, err = s.PutTransformChunk(ctx, ref, 0, valids(0, "a", "b"),
			[]record.Rejected{{Index: 2, RecordID: "x", Reason: record.ReasonInvalidAmount}}, false, nil)
		require.NoError(t, err)
		_, err = s.LoadChunk(ctx, ref, "demo://orders", 0, makeOrders(0, 2))
		require.NoError(t, err)
		assert.Equal(t, 1, countRows(t, s, "stage_chunks", ref.Key()))
		assert.Equal(t, 2, keptIDs(t, s, ref))

		finished := started.Add(90 * time.Second)
		done := store.RunRecord{
			Source: "demo://orders", Extracted: 3, Valid: 2, Rejected: 1,
			Reasons:  map[string]int64{record.ReasonInvalidAmount: 1},
			Inserted: 2, FinishedAt: &finished, ExtractMS: 10, TransformMS: 20, LoadMS: 30,
		}
		finishedLine := store.ChunkLog{Line: store.LogLine{Level: store.LogInfo, Stage: "load", Message: "load finished"}}
		require.NoError(t, s.CompleteRun(ctx, ref, done, finishedLine))
		require.NoError(t, s.CompleteRun(ctx, ref, done), "completing twice is harmless")
		assert.Equal(t, []string{"load finished"}, logMessages(t, s, ref), "the line commits with the run's completion")

		run, err = s.GetRun(ctx, ref)
		require.NoError(t, err)
		require.NotNil(t, run.FinishedAt)
		assert.True(t, finished.Equal(*run.FinishedAt))
		run.FinishedAt = nil
		assert.Equal(t, store.RunRecord{
			WorkflowID: ref.WorkflowID, RunID: ref.RunID, Deployment: "nightly", Source: "demo://orders",
			Params: run.Params, Status: runinfo.RunCompleted, Extracted: 3, Valid: 2, Rejected: 1,
			Reasons: map[string]int64{record.ReasonInvalidAmount: 1}, Inserted: 2,
			StartedAt: run.StartedAt, ExtractMS: 10, TransformMS: 20, LoadMS: 30,
		}, run)

		assert.Equal(t, 0, countRows(t, s, "stage_chunks", ref.Key()), "staging is dropped")
		assert.Equal(t, 1, countRows(t, s, "rejected_records", ref.Key()), "rejected records stay")
		cp, err := s.Checkpoint(ctx, ref, runinfo.StageLoad)
		require.NoError(t, err)
		assert.True(t, cp.Done)

		// A late failure report does not overwrite the completed run.
		require.NoError(t, s.FinishRun(ctx, ref, runinfo.RunFailed, "too late"))
		run, err = s.GetRun(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, runinfo.RunCompleted, run.Status)
		assert.Empty(t, run.Error)

		// And a late attempt cannot add a chunk, while a replay stays a no-op.
		_, err = s.LoadChunk(ctx, ref, "demo://orders", 1, makeOrders(5, 1))
		assert.ErrorIs(t, err, store.ErrRunFinished)
		_, err = s.LoadChunk(ctx, ref, "demo://orders", 0, makeOrders(0, 2))
		assert.NoError(t, err)
	})
}

func TestFinishRun(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		tests := []struct {
			name    string
			begin   bool
			status  string
			wantErr bool
		}{
			{name: "failed", begin: true, status: runinfo.RunFailed},
			{name: "cancelled", begin: true, status: runinfo.RunCancelled},
			{name: "never begun", status: runinfo.RunFailed},
			{name: "not a final status", begin: true, status: runinfo.RunCompleted, wantErr: true},
		}
		for _, tt := range tests {
			ref := runRef(tt.name)
			if tt.begin {
				require.NoError(t, s.BeginRun(ctx, store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID, Source: "s"}))
				require.NoError(t, s.PutExtractChunk(ctx, ref, 0, store.NewStagedChunk([]byte("raw"), 2), "", true))
				_, err := s.PutTransformChunk(ctx, ref, 0, valids(1, "a"), []record.Rejected{{Index: 0, Reason: record.ReasonMalformed}}, false, nil)
				require.NoError(t, err)
			}
			err := s.FinishRun(ctx, ref, tt.status, "source is down")
			if tt.wantErr {
				require.Error(t, err, tt.name)
				continue
			}
			require.NoError(t, err, tt.name)
			require.NoError(t, s.FinishRun(ctx, ref, runinfo.RunCancelled, "second report"), tt.name)

			run, err := s.GetRun(ctx, ref)
			require.NoError(t, err, tt.name)
			assert.Equal(t, tt.status, run.Status, "%s: the first final status wins", tt.name)
			assert.Equal(t, "source is down", run.Error, tt.name)
			assert.NotNil(t, run.FinishedAt, tt.name)
			assert.Equal(t, 0, countRows(t, s, "stage_chunks", ref.Key()), tt.name)
			assert.Equal(t, 0, keptIDs(t, s, ref), tt.name)
			if tt.begin {
				assert.Equal(t, 1, countRows(t, s, "rejected_records", ref.Key()), tt.name)
				assert.Equal(t, "s", run.Source, tt.name)
			}

			err = s.PutExtractChunk(ctx, ref, 1, store.NewStagedChunk([]byte("late"), 1), "", false)
			assert.ErrorIs(t, err, store.ErrRunFinished, tt.name)
			err = s.CompleteRun(ctx, ref, store.RunRecord{}, store.ChunkLog{Line: store.LogLine{Level: store.LogInfo, Stage: "load", Message: "load finished"}})
			assert.ErrorIs(t, err, store.ErrRunFinished, "%s: a failed run is not completed later", tt.name)
			assert.NotContains(t, logMessages(t, s, ref), "load finished", "%s: nor is its line written", tt.name)
		}
	})
}

func TestGetAndListRuns(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		_, err := s.GetRun(ctx, runRef("missing"))
		assert.ErrorIs(t, err, sql.ErrNoRows)

		runs, err := s.ListRuns(ctx, 10)
		require.NoError(t, err)
		assert.Empty(t, runs)

		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		// Started 1s, 0.5s and 1.25s after base: text order and time
		// order differ for RFC3339Nano, so this checks the stored format.
		offsets := []time.Duration{time.Second, 500 * time.Millisecond, 1250 * time.Millisecond}
		for i, d := range offsets {
			ref := runRef(string(rune('a' + i)))
			require.NoError(t, s.BeginRun(ctx, store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID, StartedAt: base.Add(d)}))
		}
		runs, err = s.ListRuns(ctx, 0)
		require.NoError(t, err)
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.WorkflowID)
		}
		assert.Equal(t, []string{"wf-c", "wf-a", "wf-b"}, ids, "most recent first")

		runs, err = s.ListRuns(ctx, 2)
		require.NoError(t, err)
		assert.Len(t, runs, 2)

		err = s.BeginRun(ctx, store.RunRecord{WorkflowID: "only-workflow"})
		assert.Error(t, err)
	})
}
