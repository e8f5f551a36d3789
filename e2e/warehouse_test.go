//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// expectation is what a run of a source must leave in the warehouse. It
// is computed in the test process from the source and transform packages
// alone, in one pass over the whole batch: no workflow, no activity, no
// chunking, no staging, no retry. A crash that loses or repeats a chunk
// shows up as a difference.
type expectation struct {
	Source    string // the orders.source of the rows
	Extracted int64
	// Valid maps each loaded record id to the hash of its row.
	Valid    map[string]int64
	Rejected int64
	Reasons  map[string]int64
	// First and Last bound the timestamps of the valid records: what the
	// run's load reports as the range it loaded (nil when none is valid).
	First, Last *time.Time
}

// expect reads batch records of sourceURL as a run would (without the demo
// source's latency and simulated outages, which do not change the data).
func expect(t *testing.T, sourceURL string, batch int, cfg source.Config) expectation {
	t.Helper()
	spec, err := sourceurl.Parse(sourceURL)
	require.NoError(t, err)
	return expectSpec(t, spec, batch, cfg)
}

// expectSpec is expect for a parsed source, such as a named one.
func expectSpec(t *testing.T, spec sourceurl.Spec, batch int, cfg source.Config) expectation {
	t.Helper()
	ctx := context.Background()
	key, err := source.Key(spec, cfg)
	require.NoError(t, err)
	exp := expectation{Source: key, Valid: map[string]int64{}}
	spec.Latency, spec.FailureRate, spec.FailAlways = 0, 0, false
	r, err := source.Open(ctx, spec, "", int64(batch), restapi.RecordFields, source.Attempt{Number: 1, Max: 1}, cfg)
	require.NoError(t, err)
	defer r.Close()
	var raw []byte
	for {
		page, err := r.Next(ctx)
		if err == io.EOF { // source.Reader's end of the feed
			break
		}
		require.NoError(t, err)
		for _, rec := range page.Records {
			raw = append(append(raw, rec...), '\n')
			exp.Extracted++
		}
		if page.Cursor == "" {
			break
		}
	}
	valid, rejects := transform.Chunk(raw, transform.NewDeduper())
	for _, v := range valid {
		exp.Valid[v.Order.ID] = v.Order.Hash()
		if ts := v.Order.Timestamp; exp.First == nil || ts.Before(*exp.First) {
			exp.First = &ts
		}
		if ts := v.Order.Timestamp; exp.Last == nil || ts.After(*exp.Last) {
			exp.Last = &ts
		}
	}
	for _, r := range rejects {
		if exp.Reasons == nil {
			exp.Reasons = map[string]int64{}
		}
		exp.Reasons[r.Reason]++
		exp.Rejected++
	}
	require.Equal(t, exp.Extracted, int64(len(exp.Valid))+exp.Rejected)
	return exp
}

// warehouse is the database a test's workers write to, opened by the test
// as well to check it.
type warehouse struct {
	DSN string
	*store.Store
}

// sqliteWarehouse is a fresh SQLite warehouse file.
func sqliteWarehouse(t *testing.T) *warehouse {
	t.Helper()
	return openWarehouse(t, "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
}

func openWarehouse(t *testing.T, dsn string) *warehouse {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return &warehouse{DSN: dsn, Store: st}
}

// count runs a count(*) query.
func (w *warehouse) count(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, w.DB().QueryRowContext(context.Background(), query, args...).Scan(&n), query)
	return n
}

// checkRun asserts that the run that returned sum loaded exactly the rows
// of exp, none missing, none extra, none written twice, that its rejected
// records are exp's, that its staged chunks are gone, and that
// pipeline_runs agrees with the workflow's result. The run must be the
// first to load exp.Source.
func (w *warehouse) checkRun(t *testing.T, exp expectation, sum datapipeline.Summary) {
	t.Helper()
	ctx := context.Background()
	ref := runinfo.RunRef{WorkflowID: sum.WorkflowID, RunID: sum.RunID}
	valid := int64(len(exp.Valid))

	type counts struct {
		Source                     string
		Extracted, Valid, Rejected int64
		Reasons                    map[string]int64
		Loaded                     datapipeline.LoadResult
	}
	// A first load inserts every valid row once.
	want := counts{exp.Source, exp.Extracted, valid, exp.Rejected, exp.Reasons, datapipeline.LoadResult{Inserted: valid, FirstOrderedAt: exp.First, LastOrderedAt: exp.Last}}
	got := counts{sum.Source, sum.Extracted, sum.Valid, sum.Rejected, orNil(sum.Reasons), sum.Loaded}
	if !assert.Equal(t, want, got, "result of run %s", ref.Key()) {
		w.logRejected(t, ref)
		t.FailNow()
	}

	rows, err := w.DB().QueryContext(ctx, `SELECT record_id, row_hash, version, first_run FROM orders WHERE source = $1`, exp.Source)
	require.NoError(t, err)
	stored := map[string]int64{}
	var problems []string
	for rows.Next() {
		var (
			id, first     string
			hash, version int64
		)
		require.NoError(t, rows.Scan(&id, &hash, &version, &first))
		if _, dup := stored[id]; dup {
			problems = append(problems, fmt.Sprintf("%s: stored twice", id))
		}
		stored[id] = hash
		if version != 1 {
			problems = append(problems, fmt.Sprintf("%s: version %d, written more than once", id, version))
		}
		if first != ref.Key() {
			problems = append(problems, fmt.Sprintf("%s: first_run %q, want %q", id, first, ref.Key()))
		}
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	for id, h := range exp.Valid {
		switch g, ok := stored[id]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: missing", id))
		case g != h:
			problems = append(problems, fmt.Sprintf("%s: row hash %d, want %d", id, g, h))
		}
	}
	for id := range stored {
		if _, ok := exp.Valid[id]; !ok {
			problems = append(problems, fmt.Sprintf("%s: not expected", id))
		}
	}
	sort.Strings(problems)
	require.Empty(t, problems[:min(len(problems), 20)], "orders of %s (%d problems, %d rows, want %d)", exp.Source, len(problems), len(stored), valid)

	reasons := map[string]int64{}
	rrows, err := w.DB().QueryContext(ctx, `SELECT reason, count(*) FROM rejected_records WHERE run_key = $1 GROUP BY reason`, ref.Key())
	require.NoError(t, err)
	for rrows.Next() {
		var reason string
		var n int64
		require.NoError(t, rrows.Scan(&reason, &n))
		reasons[reason] = n
	}
	require.NoError(t, rrows.Err())
	require.NoError(t, rrows.Close())
	require.Equal(t, exp.Reasons, orNil(reasons), "rejected_records of run %s", ref.Key())
	require.Zero(t, w.count(t, `SELECT count(*) FROM stage_chunks WHERE run_key = $1`, ref.Key()), "staged chunks are dropped when the run completes")
	require.Zero(t, w.count(t, `SELECT count(*) FROM stage_ids WHERE run = $1`, store.RunNumber(ref)), "kept ids are dropped when the run completes")

	run, err := w.GetRun(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, runinfo.RunCompleted, run.Status, "pipeline_runs status of %s (error %q)", ref.Key(), run.Error)
	require.Equal(t, []int64{sum.Extracted, sum.Valid, sum.Rejected, sum.Loaded.Inserted, sum.Loaded.Updated, sum.Loaded.Unchanged},
		[]int64{run.Extracted, run.Valid, run.Rejected, run.Inserted, run.Updated, run.Unchanged}, "pipeline_runs counts of %s", ref.Key())
	require.Equal(t, orNil(sum.Reasons), orNil(run.Reasons), "pipeline_runs rejected_by_reason of %s", ref.Key())
	require.Equal(t, exp.Source, run.Source)
	require.Empty(t, run.Error)
	require.NotNil(t, run.FinishedAt)

	figures.runs.Add(1)
	figures.rowsChecked.Add(exp.Extracted)
}

// logRejected logs a sample of each reason's rejected records of a run,
// to tell a lost or repeated chunk from a transform problem.
func (w *warehouse) logRejected(t *testing.T, ref runinfo.RunRef) {
	t.Helper()
	rows, err := w.DB().QueryContext(context.Background(),
		`SELECT chunk_seq, idx, reason, record_id, detail FROM rejected_records WHERE run_key = $1 ORDER BY chunk_seq, idx`, ref.Key())
	require.NoError(t, err)
	defer rows.Close()
	shown := map[string]int{}
	perChunk := map[int]int{}
	for rows.Next() {
		var seq, idx int
		var reason, id, detail string
		require.NoError(t, rows.Scan(&seq, &idx, &reason, &id, &detail))
		perChunk[seq]++
		if shown[reason]++; shown[reason] <= 3 {
			t.Logf("rejected: chunk %d #%d %s %q: %s", seq, idx, reason, id, detail)
		}
	}
	t.Logf("rejected records per reason %v, per chunk %v", shown, perChunk)
}

func orNil(m map[string]int64) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	return m
}

// stagingProblems checks that what a run staged so far is consistent with
// its checkpoints: every stage's chunks are exactly 0..next_seq-1 and the
// checkpoint counts are those of the committed chunks. It lists what is
// not.
func (w *warehouse) stagingProblems(t *testing.T, ref runinfo.RunRef) []string {
	t.Helper()
	ctx := context.Background()
	var problems []string
	// Extract stages the one copy of the records; Transform stages none,
	// and keeps the ids of its valid records and the rejected records.
	cp, err := w.Checkpoint(ctx, ref, runinfo.StageExtract)
	require.NoError(t, err)
	var n, maxSeq, records int64
	require.NoError(t, w.DB().QueryRowContext(ctx,
		`SELECT count(*), coalesce(max(seq), -1), coalesce(sum(records), 0) FROM stage_chunks WHERE run_key = $1 AND stage = $2`,
		ref.Key(), runinfo.StageExtract).Scan(&n, &maxSeq, &records))
	if n != int64(cp.NextSeq) || maxSeq != int64(cp.NextSeq)-1 {
		problems = append(problems, fmt.Sprintf("extract: %d chunks up to seq %d, checkpoint next_seq %d", n, maxSeq, cp.NextSeq))
	}
	if records != cp.Records {
		problems = append(problems, fmt.Sprintf("extract: chunks hold %d records, checkpoint says %d", records, cp.Records))
	}
	if other := w.count(t, `SELECT count(*) FROM stage_chunks WHERE run_key = $1 AND stage <> $2`, ref.Key(), runinfo.StageExtract); other != 0 {
		problems = append(problems, fmt.Sprintf("%d chunks staged by another stage than extract", other))
	}
	cp, err = w.Checkpoint(ctx, ref, runinfo.StageTransform)
	require.NoError(t, err)
	// The ids of a run's first chunks (cp.MemoryChunks of them, up to
	// about store.MemoryKeys records) are kept in the worker's memory, not
	// in stage_ids; those after them in stage_ids, but the last chunk's.
	if kept := w.count(t, `SELECT count(*) FROM stage_ids WHERE run = $1`, store.RunNumber(ref)); kept > cp.Valid || (cp.NextSeq <= cp.MemoryChunks && kept != 0) {
		problems = append(problems, fmt.Sprintf("transform: %d ids kept in stage_ids, checkpoint says %d valid in %d chunks, the first %d keeping theirs in memory (done: %v)", kept, cp.Valid, cp.NextSeq, cp.MemoryChunks, cp.Done))
	}
	rejected := w.count(t, `SELECT count(*) FROM rejected_records WHERE run_key = $1`, ref.Key())
	if rejected != cp.Rejected {
		problems = append(problems, fmt.Sprintf("transform: %d rejected records, checkpoint says %d", rejected, cp.Rejected))
	}
	if late := w.count(t, `SELECT count(*) FROM rejected_records WHERE run_key = $1 AND chunk_seq >= $2`, ref.Key(), cp.NextSeq); late != 0 {
		problems = append(problems, fmt.Sprintf("transform: %d rejected records of uncommitted chunks", late))
	}
	cp, err = w.Checkpoint(ctx, ref, runinfo.StageLoad)
	require.NoError(t, err)
	if n := w.count(t, `SELECT count(*) FROM orders WHERE first_run = $1`, ref.Key()); n != cp.Inserted {
		problems = append(problems, fmt.Sprintf("load: %d rows inserted by the run, checkpoint says %d", n, cp.Inserted))
	}
	return problems
}
