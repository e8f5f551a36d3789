package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/store"
)

func TestRunLogs(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref, other := runRef("logs"), runRef("other")
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		require.NoError(t, s.AppendLogs(ctx, ref, 0,
			store.LogLine{Time: t0, Level: store.LogInfo, Stage: "extract", Attempt: 1, Message: "extract started"},
			store.LogLine{Time: t0.Add(time.Second), Level: store.LogWarn, Stage: "extract", Attempt: 2, Message: "attempt 1 failed: boom"},
		))
		require.NoError(t, s.AppendLogs(ctx, other, 0, store.LogLine{Level: store.LogInfo, Message: "not mine"}))
		require.NoError(t, s.AppendLogs(ctx, ref, 0,
			store.LogLine{Time: t0.Add(2 * time.Second), Level: store.LogError, Stage: "run", Message: "run failed", Once: "final"}))
		require.NoError(t, s.AppendLogs(ctx, ref, 0,
			store.LogLine{Time: t0.Add(3 * time.Second), Level: store.LogError, Stage: "run", Message: "run failed again", Once: "final"}),
			"a retried once-line is a no-op")

		all, err := s.RunLogs(ctx, ref, store.LogQuery{})
		require.NoError(t, err)
		require.Len(t, all, 3)
		assert.Equal(t, []string{"extract started", "attempt 1 failed: boom", "run failed"},
			[]string{all[0].Message, all[1].Message, all[2].Message})
		assert.True(t, all[0].Time.Equal(t0))
		assert.Equal(t, 2, all[1].Attempt)
		assert.Equal(t, "extract", all[1].Stage)
		assert.Less(t, all[0].ID, all[1].ID)

		warn, err := s.RunLogs(ctx, ref, store.LogQuery{MinLevel: store.LogWarn})
		require.NoError(t, err)
		assert.Len(t, warn, 2)
		after, err := s.RunLogs(ctx, ref, store.LogQuery{AfterID: all[1].ID})
		require.NoError(t, err)
		require.Len(t, after, 1)
		assert.Equal(t, "run failed", after[0].Message)
		_, err = s.RunLogs(ctx, ref, store.LogQuery{MinLevel: "debug"})
		require.Error(t, err)
		require.Error(t, s.AppendLogs(ctx, ref, 0, store.LogLine{Level: "fatal", Message: "x"}))

		n, err := s.DeleteLogsBefore(ctx, t0.Add(1500*time.Millisecond))
		require.NoError(t, err)
		assert.EqualValues(t, 2, n)
		left, err := s.RunLogs(ctx, ref, store.LogQuery{})
		require.NoError(t, err)
		require.Len(t, left, 1)
		assert.Equal(t, "run failed", left[0].Message)
		mine, err := s.RunLogs(ctx, other, store.LogQuery{})
		require.NoError(t, err)
		assert.Len(t, mine, 1, "the other run's recent line stays")
	})
}

func TestRunLogsLimit(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("limit")
		for i := range 5 {
			require.NoError(t, s.AppendLogs(ctx, ref, 3, store.LogLine{Level: store.LogInfo, Message: "line", Attempt: i}))
		}
		require.NoError(t, s.AppendLogs(ctx, ref, 3, store.LogLine{Level: store.LogInfo, Message: "run completed", Once: "final"}))
		lines, err := s.RunLogs(ctx, ref, store.LogQuery{})
		require.NoError(t, err)
		require.Len(t, lines, 5, "3 lines, the limit warning once, and the final line")
		assert.Equal(t, store.LogWarn, lines[3].Level)
		assert.Contains(t, lines[3].Message, "log limit of 3 lines")
		assert.Equal(t, "run completed", lines[4].Message)
	})
}

// TestChunkLogs: the line of a chunk's commit is written with it, once: a
// commit of a chunk that is already committed writes neither, a commit
// that fails writes neither, and the run's line cap holds.
func TestChunkLogs(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("chunk-logs")
		line := func(msg string) store.ChunkLog {
			return store.ChunkLog{MaxLines: 4, Line: store.LogLine{Level: store.LogInfo, Stage: "extract", Attempt: 1, Message: msg}}
		}
		messages := func() []string {
			lines, err := s.RunLogs(ctx, ref, store.LogQuery{})
			require.NoError(t, err)
			var out []string
			for _, l := range lines {
				out = append(out, l.Message)
			}
			return out
		}
		require.NoError(t, s.PutExtractChunk(ctx, ref, 0, store.NewStagedChunk([]byte("{}\n"), 1), "page=2", false, line("extract chunk 1")))
		require.NoError(t, s.PutExtractChunk(ctx, ref, 0, store.NewStagedChunk([]byte("{}\n"), 1), "page=2", false, line("extract chunk 1 again")))
		err := s.PutExtractChunk(ctx, ref, 2, store.NewStagedChunk([]byte("{}\n"), 1), "", true, line("out of order"))
		require.ErrorContains(t, err, "out of order")
		assert.Equal(t, []string{"extract chunk 1"}, messages())

		_, err = s.LoadChunk(ctx, ref, "src", 0, makeOrders(0, 2), line("load chunk 1"))
		require.NoError(t, err)
		def := productsDef()
		_, err = s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		_, err = s.LoadDatasetChunk(ctx, ref, "src", 1, def, productRows(2), line("load chunk 2"))
		require.NoError(t, err)
		_, err = s.LoadDatasetChunk(ctx, ref, "src", 2, def, productRows(2), line("load chunk 3"), line("load chunk 3, second line"))
		require.NoError(t, err)
		assert.Equal(t, []string{"extract chunk 1", "load chunk 1", "load chunk 2", "load chunk 3",
			"log limit of 4 lines per run reached; later lines are dropped (BLUEPRINT_RUN_LOG_MAX_LINES)"}, messages())
	})
}
