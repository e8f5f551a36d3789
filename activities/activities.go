// Package activities holds the Extract, Transform and Load work of the
// pipeline. Each stage streams its data in chunks through a staging area in
// the target database and commits every chunk together with its
// checkpoint, so a retried attempt (after a crash, a timeout or a transient
// source error) resumes after the last committed chunk and never writes a
// row twice.
//
// It must not import `workflows`, `flows`, `deployments` or `cmd`: activities
// are called by name, and a flow's wiring sits above them.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/loader"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// DefaultChunkRecords is how many records one staged chunk holds: large
// enough that per-chunk costs vanish, small enough that a worker holds a
// few MiB per running stage.
const DefaultChunkRecords = 5000

// Metric names, exported through the worker's Prometheus endpoint next to
// the SDK's own metrics.
const (
	MetricRowsExtracted = "blueprint_rows_extracted"
	MetricRowsRejected  = "blueprint_rows_rejected"
	MetricRowsLoaded    = "blueprint_rows_loaded"
)

// Activities are the pipeline's activities and their dependencies.
//
// Each stage heartbeats its Checkpoint after every chunk but the last, and
// every HeartbeatEvery in between (see heartbeats): the heartbeat keeps a
// long stage alive and shows its progress, and a stage's first heartbeat
// is a blocking call that a one-chunk run (most daily runs) need not pay
// for.
//
// Each stage also works ahead of its commits: while Extract commits a
// chunk, the next one is read from the source (ahead); Transform and Load
// read and check several staged chunks at once (aheadEach), so a worker
// spends all its cores on the records and not only on the database.
type Activities struct {
	Store   *store.Store
	Sources source.Config
	// ChunkRecords overrides DefaultChunkRecords (tests use small chunks).
	ChunkRecords int
	// Log writes the run logs (nil: none are written) to Store: the line
	// of a committed chunk goes with its commit (runlog.Logger.Chunk).
	Log *runlog.Writer
	// Client signals a stage's retries to its workflow (see retrying; nil:
	// they are not shown in the run's current details).
	Client client.Client

	first firstChunks // Transform's first chunk, for Load on this worker
}

func (a *Activities) chunkRecords() int {
	if a.ChunkRecords > 0 {
		return a.ChunkRecords
	}
	return DefaultChunkRecords
}

// Extract reads up to batch_size records from the source and stages them.
func (a *Activities) Extract(ctx context.Context, in datapipeline.ExtractInput) (datapipeline.ExtractResult, error) {
	res, err := a.doExtract(ctx, in)
	return res, final(err)
}

// final makes errors that no retry can cure non-retryable: a late attempt
// on a run that has already ended, and a record the warehouse refuses for
// its content or that the rules no longer pass when Load reads it again
// (BadData, naming the record).
func final(err error) error {
	var (
		row   *store.RowError
		drift *transform.DriftError
	)
	switch {
	case errors.Is(err, store.ErrRunFinished):
		return temporal.NewNonRetryableApplicationError(err.Error(), runinfo.ErrRunFinished, err)
	case errors.As(err, &row), errors.As(err, &drift):
		return temporal.NewNonRetryableApplicationError(err.Error(), runinfo.ErrBadData, err)
	}
	return err
}

func (a *Activities) doExtract(ctx context.Context, in datapipeline.ExtractInput) (datapipeline.ExtractResult, error) {
	info := activity.GetInfo(ctx)
	log := activity.GetLogger(ctx)
	rl := a.Log.Attempt(ctx, in.Run, runinfo.StageExtract)
	spec, err := in.Params.Spec()
	if err != nil {
		return datapipeline.ExtractResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("source_url=%q: %v", redact.URL(in.Params.SourceURL), err), runinfo.ErrInvalidParameters, nil)
	}
	key, err := source.Key(spec, a.Sources)
	if err != nil {
		return datapipeline.ExtractResult{}, err
	}
	recs, err := loader.Of(in.Params.DatasetName(), in.Params.DatasetDefinition)
	if err != nil {
		return datapipeline.ExtractResult{}, err
	}
	// The table follows the dataset before anything is read.
	plan, err := loader.EnsureTable(ctx, a.Store, in.Params.DatasetDefinition)
	if err != nil {
		return datapipeline.ExtractResult{}, err
	}
	if line := loader.TableLine(in.Params.DatasetName(), plan); line != "" {
		rl.Info("%s", line)
	}
	result := datapipeline.ExtractResult{Run: in.Run, Source: key}

	params, err := json.Marshal(redact.Object(in.Params.Object()))
	if err != nil {
		return result, fmt.Errorf("encode parameters: %w", err)
	}
	if err := a.Store.BeginRun(ctx, store.RunRecord{
		WorkflowID: in.Run.WorkflowID, RunID: in.Run.RunID, Deployment: in.Deployment, Source: result.Source,
		Params: params, Status: runinfo.RunRunning, StartedAt: in.StartedAt,
	}); err != nil {
		return result, fmt.Errorf("record run start: %w", err)
	}

	cp, err := a.Store.Checkpoint(ctx, in.Run, runinfo.StageExtract)
	if err != nil {
		return result, fmt.Errorf("read extract checkpoint: %w", err)
	}
	// A chunk committed with an empty cursor means the source was
	// exhausted; only the done mark was lost.
	a.retrying(ctx, rl, runinfo.StageExtract, cp.Records)
	exhausted := cp.NextSeq > 0 && cp.Cursor == ""
	remaining := int64(in.Params.BatchSize) - cp.Records
	finished := func(records int64, chunks int) []store.ChunkLog {
		return rl.Chunk("extract finished: %d records from %s in %d chunks", records, result.Source, chunks)
	}
	logged := false // the last chunk's commit wrote finished
	if !cp.Done && !exhausted && remaining > 0 {
		if cp.NextSeq > 0 {
			log.Info("resuming extract", "chunks", cp.NextSeq, "records", cp.Records)
			rl.Info("resuming after %d committed chunks (%d records)", cp.NextSeq, cp.Records)
		}
		if cp, logged, err = a.extract(ctx, rl, in.Run, spec, recs.Fields(), cp, remaining, source.Attempt{
			WorkflowID: in.Run.WorkflowID, Number: info.Attempt, Max: runinfo.MaxAttempts,
		}, finished); err != nil {
			return result, err
		}
	}
	if err := a.finishStage(ctx, in.Run, runinfo.StageExtract, &cp); err != nil {
		return result, err
	}
	result.Records, result.Chunks = cp.Records, cp.NextSeq
	log.Info("extracted", "records", result.Records, "chunks", result.Chunks)
	if !logged {
		rl.Write(finished(result.Records, result.Chunks))
	}
	return result, nil
}

// extract reads the source from cp on and stages its records chunk by
// chunk. The last chunk's commit also writes the stage's finished line
// (finished, given the stage's totals); logged says it did.
func (a *Activities) extract(ctx context.Context, rl *runlog.Logger, run runinfo.RunRef, spec sourceurl.Spec, fields []string, cp store.Checkpoint, remaining int64, attempt source.Attempt,
	finished func(records int64, chunks int) []store.ChunkLog) (_ store.Checkpoint, logged bool, _ error) {
	r, err := source.Open(ctx, spec, cp.Cursor, remaining, fields, attempt, a.Sources)
	if err != nil {
		return cp, false, err
	}
	defer r.Close()

	hb := startHeartbeats(ctx, datapipeline.Checkpoint{Stage: runinfo.StageExtract, Chunks: cp.NextSeq, Records: cp.Records})
	defer hb.stop()
	rows := activity.GetMetricsHandler(ctx).Counter(MetricRowsExtracted)
	// The source is read one chunk ahead of the writes, and each chunk is
	// compressed (store.NewStagedChunk) in a goroutine of its own while
	// the reader reads the next one: reading, compressing and writing take
	// about as long as each other, and the stage as long as the slowest.
	// A chunk with an empty cursor is the last: the source is exhausted or
	// the batch is complete. A failed read ends the chunks with what was
	// read in full pages (the retry resumes there) and then the error.
	type chunk struct {
		n      int
		cursor string
		staged *compressing
	}
	var zips sync.WaitGroup
	defer zips.Wait()            // no compression outlives the stage
	free := make(chan []byte, 2) // raw buffers a compression is done with
	compress := func(raw []byte, n int) *compressing {
		c := &compressing{done: make(chan struct{})}
		zips.Go(func() {
			c.staged = store.NewStagedChunk(raw, n)
			close(c.done)
			select {
			case free <- raw[:0]:
			default:
			}
		})
		return c
	}
	err = ahead(ctx, func(ctx context.Context, emit func(chunk) bool) error {
		var (
			data []byte
			c    chunk
		)
		cursor := cp.Cursor
		for {
			page, err := r.Next(ctx)
			if err == io.EOF { // the source's own end of the feed: never an error that wraps io.EOF (see source.Reader)
				break
			}
			if err != nil {
				if c.n > 0 {
					c.cursor, c.staged = cursor, compress(data, c.n)
					emit(c)
				}
				return err
			}
			for _, w := range page.Warnings {
				activity.GetLogger(ctx).Warn(w)
				rl.Warn("%s", w)
			}
			for _, rec := range page.Records {
				data = append(data, rec...)
				data = append(data, '\n')
				c.n++
			}
			cursor = page.Cursor
			if page.Cursor == "" {
				break
			}
			if c.n >= a.chunkRecords() {
				c.cursor, c.staged = cursor, compress(data, c.n)
				if !emit(c) {
					return nil
				}
				c = chunk{}
				select {
				case data = <-free:
				default:
					data = make([]byte, 0, cap(data))
				}
			}
		}
		c.cursor, c.staged = "", compress(data, c.n)
		emit(c)
		return nil
	}, func(c chunk) error {
		done := c.cursor == ""
		if c.n > 0 {
			<-c.staged.done
			line := rl.Chunk("chunk %d committed: %d rows so far", cp.NextSeq+1, cp.Records+int64(c.n))
			if done {
				line = append(line, finished(cp.Records+int64(c.n), cp.NextSeq+1)...)
			}
			if err := a.Store.PutExtractChunk(ctx, run, cp.NextSeq, c.staged.staged, c.cursor, done, line...); err != nil {
				return fmt.Errorf("stage chunk %d: %w", cp.NextSeq, err)
			}
			logged = done
			rows.Inc(int64(c.n))
			cp.NextSeq++
			cp.Records += int64(c.n)
			cp.Cursor, cp.Done = c.cursor, done
			hb.committed(datapipeline.Checkpoint{Stage: runinfo.StageExtract, Chunks: cp.NextSeq, Records: cp.Records}, done)
			return chunkGate(ctx, run, runinfo.StageExtract, cp.NextSeq)
		}
		return nil
	})
	if err != nil {
		return cp, logged, err
	}
	return cp, logged, a.finishStage(ctx, run, runinfo.StageExtract, &cp)
}

// compressing is a staged chunk being compressed: staged is set once done
// is closed.
type compressing struct {
	done   chan struct{}
	staged store.StagedChunk
}

// retrying tells the workflow that a retry of stage started, after rows
// committed rows (runinfo.AttemptSignal), so that the run's current
// details show it: the server retries activities without the workflow
// knowing. A first attempt sends nothing, so a run without retries has no
// extra history events, and a failed signal is only logged: it must never
// fail the attempt.
func (a *Activities) retrying(ctx context.Context, rl *runlog.Logger, stage string, rows int64) {
	info := activity.GetInfo(ctx)
	if info.Attempt < 2 || a.Client == nil {
		return
	}
	at := runinfo.Attempt{Stage: stage, Attempt: info.Attempt, Rows: rows, PreviousError: rl.PreviousFailure()}
	if info.RetryPolicy != nil {
		at.MaxAttempts = info.RetryPolicy.MaximumAttempts
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	wf := info.WorkflowExecution
	if err := a.Client.SignalWorkflow(sctx, wf.ID, wf.RunID, runinfo.AttemptSignal, at); err != nil {
		activity.GetLogger(ctx).Warn("could not show the retry in the run's current details", "error", err)
	}
}

// finishStage marks a stage done when the commit of its last chunk did not
// (a source that ran dry exactly at a chunk's end, or nothing to read).
func (a *Activities) finishStage(ctx context.Context, run runinfo.RunRef, stage string, cp *store.Checkpoint) error {
	if cp.Done {
		return nil
	}
	if err := a.Store.FinishStage(ctx, run, stage); err != nil {
		return fmt.Errorf("finish %s: %w", stage, err)
	}
	cp.Done = true
	return nil
}

// Transform normalises and validates the staged records, drops duplicate
// ids and keeps rejected records with their reason.
func (a *Activities) Transform(ctx context.Context, in datapipeline.TransformInput) (datapipeline.TransformResult, error) {
	res, err := a.doTransform(ctx, in)
	return res, final(err)
}

func (a *Activities) doTransform(ctx context.Context, in datapipeline.TransformInput) (datapipeline.TransformResult, error) {
	log := activity.GetLogger(ctx)
	rl := a.Log.Attempt(ctx, in.Run, runinfo.StageTransform)
	if _, err := a.requireRunHere(ctx, in.Run, datapipeline.TransformActivity); err != nil {
		return datapipeline.TransformResult{}, err
	}
	cp, err := a.Store.Checkpoint(ctx, in.Run, runinfo.StageTransform)
	if err != nil {
		return datapipeline.TransformResult{}, fmt.Errorf("read transform checkpoint: %w", err)
	}
	a.retrying(ctx, rl, runinfo.StageTransform, cp.Records)
	if !cp.Done {
		if cp.NextSeq > 0 {
			log.Info("resuming transform", "chunks", cp.NextSeq)
			rl.Info("resuming after %d committed chunks", cp.NextSeq)
		}
		recs, err := loader.Of(datapipeline.DefaultDataset, in.Dataset)
		if err != nil {
			return datapipeline.TransformResult{}, err
		}
		if cp, err = a.transform(ctx, in, recs, cp); err != nil {
			return datapipeline.TransformResult{}, err
		}
	}
	res := datapipeline.TransformResult{Run: in.Run, Valid: cp.Valid, Rejected: cp.Rejected, Reasons: cp.Reasons, Chunks: in.Chunks}
	log.Info("transformed", "valid", res.Valid, "rejected", res.Rejected)
	var rejected []store.ChunkLog
	if res.Rejected > 0 {
		rejected = rl.Line(store.LogWarn, "rejected %d records by reason: %s", res.Rejected, record.FormatReasons(res.Reasons))
	}
	rl.Write(rejected, rl.Line(store.LogInfo, "transform finished: %d valid, %d rejected", res.Valid, res.Rejected))
	return res, nil
}

// transform checks the raw chunks from cp.NextSeq on. Each chunk is
// checked with a Deduper of its own, ahead of the commit; duplicates of
// ids kept by earlier chunks are found by PutTransformChunk, in memory for
// the run's first million or so records and in the database after them
// (store.Keys), so a run of any size fits in a worker. An attempt that
// resumes first reads the committed chunks again for the ids they keep in
// memory.
func (a *Activities) transform(ctx context.Context, in datapipeline.TransformInput, recs loader.Records, cp store.Checkpoint) (store.Checkpoint, error) {
	hb := startHeartbeats(ctx, datapipeline.Checkpoint{Stage: runinfo.StageTransform, Chunks: cp.NextSeq, Records: cp.Records})
	defer hb.stop()
	type checked struct {
		seq     int
		valid   []transform.Valid
		rejects []record.Rejected
	}
	check := func(ctx context.Context, seq int) (checked, error) {
		raw, err := a.Store.ReadChunk(ctx, in.Run, runinfo.StageExtract, seq)
		if err != nil {
			return checked{}, fmt.Errorf("read staged chunk %d: %w", seq, err)
		}
		valid, rejects := recs.Check(raw, transform.NewDeduper())
		return checked{seq, valid, rejects}, nil
	}
	// A one-chunk run (most daily runs) has no later chunk to check
	// against its ids: no Keys, and no read of Extract's totals.
	var keys *store.Keys
	if in.Chunks > 1 {
		staged, err := a.Store.Checkpoint(ctx, in.Run, runinfo.StageExtract)
		if err != nil {
			return cp, fmt.Errorf("read extract checkpoint: %w", err)
		}
		if cp.NextSeq == 0 {
			keys = store.NewKeys(staged.NextSeq, staged.Records)
		} else {
			keys = store.ResumeKeys(cp.MemoryChunks, staged.NextSeq, staged.Records)
		}
		defer keys.Release()
	}
	err := aheadEach(ctx, 0, min(cp.NextSeq, keys.MemoryChunks()), checkWorkers(), check, func(c checked) error {
		keys.Add(c.valid)
		return nil
	})
	if err != nil {
		return cp, err
	}
	rejectedRows := activity.GetMetricsHandler(ctx).Counter(MetricRowsRejected)
	err = aheadEach(ctx, cp.NextSeq, in.Chunks, checkWorkers(), check, func(c checked) error {
		before := cp.Rejected
		next, err := a.Store.PutTransformChunk(ctx, in.Run, c.seq, c.valid, c.rejects, c.seq+1 == in.Chunks, keys)
		if err != nil {
			return fmt.Errorf("transform chunk %d: %w", c.seq, err)
		}
		cp = next
		if c.seq == 0 {
			if rows, ok := recs.Kept(c.valid); ok {
				a.first.put(in.Run, rows)
			}
		}
		rejectedRows.Inc(cp.Rejected - before)
		hb.committed(datapipeline.Checkpoint{Stage: runinfo.StageTransform, Chunks: cp.NextSeq, Records: cp.Records}, cp.Done)
		return chunkGate(ctx, in.Run, runinfo.StageTransform, cp.NextSeq)
	})
	if err != nil {
		return cp, err
	}
	return cp, a.finishStage(ctx, in.Run, runinfo.StageTransform, &cp)
}

// Load upserts the clean records into the warehouse and completes the run.
func (a *Activities) Load(ctx context.Context, in datapipeline.LoadInput) (datapipeline.LoadResult, error) {
	res, err := a.doLoad(ctx, in)
	return res, final(err)
}

func (a *Activities) doLoad(ctx context.Context, in datapipeline.LoadInput) (datapipeline.LoadResult, error) {
	log := activity.GetLogger(ctx)
	rl := a.Log.Attempt(ctx, in.Run, runinfo.StageLoad)
	started := time.Now()
	run, err := a.requireRunHere(ctx, in.Run, datapipeline.LoadActivity)
	if err != nil {
		return datapipeline.LoadResult{}, err
	}
	if run.Status == runinfo.RunCompleted {
		// An earlier attempt committed everything; its result was lost.
		rl.Info("an earlier attempt committed the load; nothing left to do")
		res := datapipeline.LoadResult{Inserted: run.Inserted, Updated: run.Updated, Unchanged: run.Unchanged}
		return res, a.loadedRange(ctx, in.Run, &res)
	}
	recs, err := loader.Of(datapipeline.DefaultDataset, in.Dataset)
	if err != nil {
		return datapipeline.LoadResult{}, err
	}
	cp, err := a.Store.Checkpoint(ctx, in.Run, runinfo.StageLoad)
	if err != nil {
		return datapipeline.LoadResult{}, fmt.Errorf("read load checkpoint: %w", err)
	}
	a.retrying(ctx, rl, runinfo.StageLoad, cp.Records)
	if cp.NextSeq > 0 {
		log.Info("resuming load", "chunks", cp.NextSeq)
		rl.Info("resuming after %d committed chunks (%d rows)", cp.NextSeq, cp.Inserted+cp.Updated+cp.Unchanged)
	}
	loadedRows := activity.GetMetricsHandler(ctx).Counter(MetricRowsLoaded)
	total := datapipeline.LoadResult{Inserted: cp.Inserted, Updated: cp.Updated, Unchanged: cp.Unchanged}
	hb := startHeartbeats(ctx, datapipeline.Checkpoint{Stage: runinfo.StageLoad, Chunks: cp.NextSeq, Records: cp.Records})
	defer hb.stop()
	// Each raw chunk is read again and the records Transform kept are
	// normalised again (a pure function, cheaper than staging a second
	// copy), ahead of the upserts.
	type clean struct {
		seq  int
		rows loader.Rows
	}
	// On a warehouse that takes a stage's writes from two connections at
	// once (store.ParallelWrites: PostgreSQL), a chunk's upserts run while
	// the chunk before it commits; each commits in its turn, in order, so
	// a retry still resumes after the last committed chunk.
	type loading struct {
		seq, rows int
		got       store.Loaded
	}
	writes := &inTurn[*loading]{n: a.Store.ParallelWrites(), count: func(w *loading) error {
		// Each row of the chunk is inserted, updated or unchanged.
		total.Inserted += w.got.Inserted
		total.Updated += w.got.Updated
		total.Unchanged += w.got.Unchanged
		loadedRows.Inc(int64(w.rows))
		hb.committed(datapipeline.Checkpoint{Stage: runinfo.StageLoad, Chunks: w.seq + 1, Records: total.Inserted + total.Updated + total.Unchanged}, w.seq+1 == in.Chunks)
		return chunkGate(ctx, in.Run, runinfo.StageLoad, w.seq+1)
	}}
	queued := cp.Inserted + cp.Updated + cp.Unchanged // rows of the chunks written or being written
	err = aheadEach(ctx, cp.NextSeq, in.Chunks, loadWorkers, func(ctx context.Context, seq int) (clean, error) {
		if seq == 0 {
			if rows, ok := a.first.take(in.Run); ok {
				return clean{seq, rows}, nil
			}
		}
		raw, err := a.Store.ReadChunk(ctx, in.Run, runinfo.StageExtract, seq)
		if err != nil {
			return clean{}, fmt.Errorf("read staged chunk %d: %w", seq, err)
		}
		rejected, err := a.Store.RejectedIndexes(ctx, in.Run, seq)
		if err != nil {
			return clean{}, err
		}
		rows, err := recs.Rows(raw, rejected)
		if err != nil {
			return clean{}, fmt.Errorf("staged chunk %d: %w", seq, err)
		}
		return clean{seq, rows}, nil
	}, func(c clean) error {
		queued += int64(c.rows.Len())
		line := rl.Chunk("chunk %d of %d committed: %d rows so far", c.seq+1, in.Chunks, queued)
		w := &loading{seq: c.seq, rows: c.rows.Len()}
		return writes.start(w, func(turn store.Turn) error {
			got, err := c.rows.Load(ctx, a.Store, in.Run, in.Source, c.seq, turn, line...)
			if err != nil {
				return fmt.Errorf("load chunk %d: %w", c.seq, err)
			}
			w.got = got
			return nil
		})
	})
	if err = writes.finish(err); err != nil {
		return datapipeline.LoadResult{}, err
	}
	s := in.Summary
	now := time.Now()
	if err := a.Store.CompleteRun(ctx, in.Run, store.RunRecord{
		WorkflowID: in.Run.WorkflowID, RunID: in.Run.RunID, Source: in.Source, Status: runinfo.RunCompleted,
		Extracted: s.Extracted, Valid: s.Valid, Rejected: s.Rejected, Reasons: s.Reasons,
		Inserted: total.Inserted, Updated: total.Updated, Unchanged: total.Unchanged,
		FinishedAt: &now, ExtractMS: s.Durations.Extract.Milliseconds(), TransformMS: s.Durations.Transform.Milliseconds(),
		LoadMS: time.Since(started).Milliseconds(),
	}, rl.Chunk("load finished: %d inserted, %d updated, %d unchanged", total.Inserted, total.Updated, total.Unchanged)...); err != nil {
		return datapipeline.LoadResult{}, fmt.Errorf("complete run: %w", err)
	}
	log.Info("loaded", "inserted", total.Inserted, "updated", total.Updated, "unchanged", total.Unchanged)
	return total, a.loadedRange(ctx, in.Run, &total)
}

// loadedRange fills in the time range of the orders the run loaded, which
// the store keeps with every committed chunk (so it survives retries).
func (a *Activities) loadedRange(ctx context.Context, run runinfo.RunRef, res *datapipeline.LoadResult) error {
	first, last, ok, err := a.Store.LoadedRange(ctx, run)
	if err != nil {
		return fmt.Errorf("read the loaded range: %w", err)
	}
	if ok {
		res.FirstOrderedAt, res.LastOrderedAt = &first, &last
	}
	return nil
}

// FinishRun records a run that failed or was cancelled and drops its
// staged data; its rejected records stay for inspection.
func (a *Activities) FinishRun(ctx context.Context, in datapipeline.FinishRunInput) error {
	if err := a.Store.FinishRun(ctx, in.Run, in.Status, in.Error); err != nil {
		return fmt.Errorf("record %s run: %w", in.Status, err)
	}
	return nil
}
