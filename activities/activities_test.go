package activities_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/blueprint-etl/blueprint/activities"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// chunk is the size of the chunks and of the demo source's pages here:
// small, so that a run of a few dozen records spans several.
const chunk = 10

// env is an activity test environment on a fresh SQLite warehouse. It
// collects the heartbeats the activities record.
type env struct {
	*testsuite.TestActivityEnvironment
	acts       *activities.Activities
	heartbeats []datapipeline.Checkpoint
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, storetest.Open(t, store.DriverSQLite))
}

// newEnvOn is newEnv on the warehouse st: another worker of the same
// warehouse.
func newEnvOn(t *testing.T, st *store.Store) *env {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	e := &env{
		TestActivityEnvironment: s.NewTestActivityEnvironment(),
		acts: &activities.Activities{
			Store:        st,
			Sources:      source.Config{PageSize: chunk},
			ChunkRecords: chunk,
		},
	}
	e.RegisterActivity(e.acts)
	e.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var cp datapipeline.Checkpoint
		require.NoError(t, details.Get(&cp))
		e.heartbeats = append(e.heartbeats, cp)
	})
	return e
}

func run(t *testing.T) runinfo.RunRef {
	return runinfo.RunRef{WorkflowID: "activities-" + t.Name(), RunID: "run-1"}
}

func extractInput(t *testing.T, batch int, url string) datapipeline.ExtractInput {
	return datapipeline.ExtractInput{Run: run(t), Params: datapipeline.Params{BatchSize: batch, SourceURL: url}, StartedAt: time.Now()}
}

func (e *env) extract(in datapipeline.ExtractInput) (datapipeline.ExtractResult, error) {
	var res datapipeline.ExtractResult
	v, err := e.ExecuteActivity(e.acts.Extract, in)
	if err == nil {
		err = v.Get(&res)
	}
	return res, err
}

// applicationError returns the ApplicationError in err.
func applicationError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	return appErr
}

func TestExtractHeartbeatsItsCheckpoint(t *testing.T) {
	e := newEnv(t)
	res, err := e.extract(extractInput(t, 45, "demo://orders?seed=3"))
	require.NoError(t, err)
	assert.Equal(t, datapipeline.ExtractResult{Run: run(t), Source: "demo://orders?seed=3", Records: 45, Chunks: 5}, res)
	// A heartbeat after each committed chunk but the last carries the
	// checkpoint so far: the progress `runs show` displays. The SDK sends
	// the first at once and throttles the rest, so only the first is sure
	// to be seen here; every one seen is a checkpoint of this run.
	require.NotEmpty(t, e.heartbeats)
	assert.Equal(t, datapipeline.Checkpoint{Stage: runinfo.StageExtract, Chunks: 1, Records: chunk}, e.heartbeats[0])
	for i, hb := range e.heartbeats {
		assert.Equal(t, runinfo.StageExtract, hb.Stage)
		assert.Less(t, hb.Chunks, res.Chunks, "none after the last chunk")
		assert.Equal(t, int64(hb.Chunks*chunk), hb.Records)
		if i > 0 {
			assert.Greater(t, hb.Chunks, e.heartbeats[i-1].Chunks)
		}
	}
}

// A retried Extract resumes after the last committed chunk: the records
// of the chunks committed before the outage are not read again.
func TestExtractResumesFromItsCheckpoint(t *testing.T) {
	e := newEnv(t)
	// failure_rate=1: every attempt but the last meets an outage after at
	// least one page.
	in := extractInput(t, 60, "demo://orders?seed=5&failure_rate=1")
	_, err := e.extract(in)
	require.Error(t, err)
	assert.False(t, applicationError(t, err).NonRetryable(), "an outage is retried: %v", err)
	cp, err := e.acts.Store.Checkpoint(t.Context(), in.Run, runinfo.StageExtract)
	require.NoError(t, err)
	require.Positive(t, cp.NextSeq, "chunks before the outage are committed")
	require.Less(t, cp.NextSeq, 6)

	// The next attempt, the outage over, picks up there: every heartbeat
	// counts on from the checkpoint, never from zero. (The failure knobs
	// are not part of the source's identity.)
	e.heartbeats = nil
	in.Params.SourceURL = "demo://orders?seed=5"
	res, err := e.extract(in)
	require.NoError(t, err)
	assert.Equal(t, int64(60), res.Records)
	assert.Equal(t, 6, res.Chunks)
	require.NotEmpty(t, e.heartbeats)
	assert.Greater(t, e.heartbeats[0].Chunks, cp.NextSeq, "the first heartbeat after the retry is past the checkpoint")

	// The staged chunks hold each record once, in order.
	var ids []string
	for seq := range res.Chunks {
		raw, err := e.acts.Store.ReadChunk(t.Context(), in.Run, runinfo.StageExtract, seq)
		require.NoError(t, err)
		valid, rejects := transform.Chunk(raw, transform.NewDeduper())
		ids = append(ids, fmt.Sprint(seq, ":", len(valid)+len(rejects)))
	}
	assert.Equal(t, []string{"0:10", "1:10", "2:10", "3:10", "4:10", "5:10"}, ids)
}

func TestNonRetryableClassification(t *testing.T) {
	t.Run("bad source URL is InvalidParameters", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.extract(extractInput(t, 10, "ftp://example.com/orders"))
		appErr := applicationError(t, err)
		assert.Equal(t, runinfo.ErrInvalidParameters, appErr.Type())
		assert.True(t, appErr.NonRetryable())
	})
	t.Run("source down is retried", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.extract(extractInput(t, 10, "demo://orders?fail=always"))
		appErr := applicationError(t, err)
		assert.Equal(t, runinfo.ErrTransient, appErr.Type())
		assert.False(t, appErr.NonRetryable())
	})
	t.Run("late attempt on a finished run is RunFinished", func(t *testing.T) {
		e := newEnv(t)
		in := extractInput(t, 30, "demo://orders?failure_rate=1")
		_, err := e.extract(in)
		require.Error(t, err, "an outage after the first chunk")
		// The workflow gave up on the run meanwhile; this attempt is late.
		require.NoError(t, e.acts.Store.FinishRun(t.Context(), in.Run, runinfo.RunFailed, "gave up"))
		in.Params.SourceURL = "demo://orders"
		_, err = e.extract(in)
		appErr := applicationError(t, err)
		assert.Equal(t, runinfo.ErrRunFinished, appErr.Type())
		assert.True(t, appErr.NonRetryable())
	})
	t.Run("a record the warehouse refuses is BadData naming it", func(t *testing.T) {
		e := newEnv(t)
		in := extractInput(t, 10, "demo://orders")
		_, err := e.extract(in)
		require.NoError(t, err)
		// The rules changed between Transform and Load (a worker upgraded
		// mid-run): Transform kept a record that Load, reading the staged
		// chunk again, finds one amount too wide.
		raw, err := e.acts.Store.ReadChunk(t.Context(), in.Run, runinfo.StageExtract, 0)
		require.NoError(t, err)
		valid, rejects := transform.Chunk(raw, transform.NewDeduper())
		wide := record.Order{ID: "ord-wide", CustomerEmail: "a@example.com", Category: "books",
			Amount: "123456789012345", Currency: "EUR", Timestamp: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
		line, err := json.Marshal(wide)
		require.NoError(t, err)
		drifted := run(t)
		drifted.RunID = "run-2"
		require.NoError(t, e.acts.Store.BeginRun(t.Context(), store.RunRecord{WorkflowID: drifted.WorkflowID, RunID: drifted.RunID,
			Source: "demo://orders?seed=1", Status: runinfo.RunRunning, StartedAt: time.Now()}))
		require.NoError(t, e.acts.Store.PutExtractChunk(t.Context(), drifted, 0, store.NewStagedChunk(append(line, '\n'), 1), "", true))
		_, err = e.acts.Store.PutTransformChunk(t.Context(), drifted, 0, []transform.Valid{{Index: 0, Order: wide, Raw: line}}, nil, true, nil)
		require.NoError(t, err)
		_, err = e.ExecuteActivity(e.acts.Load, datapipeline.LoadInput{Run: drifted, Source: "demo://orders?seed=1", Chunks: 1})
		appErr := applicationError(t, err)
		assert.Equal(t, runinfo.ErrBadData, appErr.Type())
		assert.True(t, appErr.NonRetryable(), "no retry can store it")
		assert.Contains(t, appErr.Error(), `record 0 (id "ord-wide") passed the transform but now fails it: invalid_amount`)
		assert.NotEmpty(t, valid, "the first run's chunk is fine")
		assert.Len(t, valid, 10-len(rejects))
	})
}

// A Transform that resumes after committed chunks first reads them again
// for the ids they keep in the worker's memory (store.Keys): an id that a
// chunk committed by the attempt before repeats in a later chunk is still
// rejected as a duplicate, and every chunk is checked once.
func TestTransformResumesWithTheIdsOfTheCommittedChunks(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ref := run(t)
	require.NoError(t, e.acts.Store.BeginRun(ctx, store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID,
		Source: "demo://orders", Status: runinfo.RunRunning, StartedAt: time.Now()}))
	line := func(id string) []byte {
		b, err := json.Marshal(record.Order{ID: id, CustomerEmail: "a@example.com", Category: "books",
			Amount: "10.00", Currency: "EUR", Timestamp: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
		return append(b, '\n')
	}
	chunks := [][]string{{"a", "b"}, {"c"}, {"d", "b", "c"}} // chunk 2 repeats b (chunk 0) and c (chunk 1)
	for seq, ids := range chunks {
		var raw []byte
		for _, id := range ids {
			raw = append(raw, line(id)...)
		}
		require.NoError(t, e.acts.Store.PutExtractChunk(ctx, ref, seq, store.NewStagedChunk(raw, len(ids)), "", seq == len(chunks)-1))
	}
	// The attempt before committed chunks 0 and 1, and died with the ids
	// it held.
	lost := store.NewKeys(len(chunks), 6)
	defer lost.Release()
	require.Equal(t, len(chunks), lost.MemoryChunks(), "a small run keeps every chunk's ids in memory")
	for seq := range 2 {
		raw, err := e.acts.Store.ReadChunk(ctx, ref, runinfo.StageExtract, seq)
		require.NoError(t, err)
		valid, rejects := transform.Chunk(raw, transform.NewDeduper())
		_, err = e.acts.Store.PutTransformChunk(ctx, ref, seq, valid, rejects, false, lost)
		require.NoError(t, err)
	}

	v, err := e.ExecuteActivity(e.acts.Transform, datapipeline.TransformInput{Run: ref, Chunks: len(chunks)})
	require.NoError(t, err)
	var res datapipeline.TransformResult
	require.NoError(t, v.Get(&res))
	assert.Equal(t, int64(4), res.Valid, "a, b, c and d")
	assert.Equal(t, map[string]int64{record.ReasonDuplicateID: 2}, res.Reasons)
	idx, err := e.acts.Store.RejectedIndexes(ctx, ref, 2)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, idx, "chunk 2's b and c")
}

// TestLoadTakesTheFirstChunkFromTransform: a Load on the worker that ran
// the run's Transform takes the first chunk's rows from it (it no longer
// needs the staged chunk), and loads what a Load on any other worker,
// which reads the staged chunk, loads: for orders and for a declared
// dataset.
func TestLoadTakesTheFirstChunkFromTransform(t *testing.T) {
	products := testutil.Products()
	for _, tt := range []struct {
		name string
		url  string
		def  *dataset.Definition
	}{
		{"orders", "demo://orders?seed=7", nil},
		{"products", "demo://products?seed=7", &products},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			other := newEnvOn(t, e.acts.Store) // another worker
			ctx := t.Context()
			pipeline := func(runID string, beforeLoad func(runinfo.RunRef), load *env) (datapipeline.LoadResult, error) {
				in := extractInput(t, 2*chunk, tt.url)
				in.Run.RunID = runID
				if tt.def != nil {
					in.Params.Dataset, in.Params.DatasetDefinition = tt.def.Name, tt.def
				}
				ex, err := e.extract(in)
				require.NoError(t, err)
				_, err = e.ExecuteActivity(e.acts.Transform, datapipeline.TransformInput{Run: in.Run, Dataset: tt.def, Chunks: ex.Chunks})
				require.NoError(t, err)
				beforeLoad(in.Run)
				v, err := load.ExecuteActivity(load.acts.Load, datapipeline.LoadInput{Run: in.Run, Dataset: tt.def, Source: ex.Source, Chunks: ex.Chunks})
				var res datapipeline.LoadResult
				if err == nil {
					err = v.Get(&res)
				}
				return res, err
			}
			dropChunk0 := func(ref runinfo.RunRef) {
				_, err := e.acts.Store.DB().ExecContext(ctx, `DELETE FROM stage_chunks WHERE run_key = $1 AND stage = $2 AND seq = 0`, ref.Key(), runinfo.StageExtract)
				require.NoError(t, err)
			}

			// Another worker's Load reads the staged chunks.
			first, err := pipeline("run-other", func(runinfo.RunRef) {}, other)
			require.NoError(t, err)
			assert.Positive(t, first.Inserted)
			_, err = pipeline("run-other-dropped", dropChunk0, other)
			require.Error(t, err, "without its staged first chunk, another worker cannot load it")

			// This worker's Load does not need the staged first chunk, and
			// loads the same rows: all of them there already.
			res, err := pipeline("run-same", dropChunk0, e)
			require.NoError(t, err)
			assert.Equal(t, first.Inserted+first.Updated+first.Unchanged, res.Unchanged)
			assert.Zero(t, res.Inserted+res.Updated)
		})
	}
}
