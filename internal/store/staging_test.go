package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

func TestPutExtractChunk(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("extract")
		require.NoError(t, s.BeginRun(ctx, store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID, Source: "demo://orders"}))

		cp, err := s.Checkpoint(ctx, ref, runinfo.StageExtract)
		require.NoError(t, err)
		assert.Equal(t, store.Checkpoint{}, cp, "nothing committed yet")

		require.NoError(t, s.PutExtractChunk(ctx, ref, 0, store.NewStagedChunk([]byte("{\"id\":1}\n{\"id\":2}\n"), 2), "page=2", false))
		require.NoError(t, s.PutExtractChunk(ctx, ref, 1, store.NewStagedChunk([]byte("{\"id\":3}\n"), 1), "page=3", false))
		// A retried attempt repeats chunk 1: nothing changes.
		require.NoError(t, s.PutExtractChunk(ctx, ref, 1, store.NewStagedChunk([]byte("{\"id\":3}\n"), 1), "page=3", false))
		require.NoError(t, s.PutExtractChunk(ctx, ref, 0, store.NewStagedChunk([]byte("other"), 7), "page=x", false))

		cp, err = s.Checkpoint(ctx, ref, runinfo.StageExtract)
		require.NoError(t, err)
		assert.Equal(t, store.Checkpoint{NextSeq: 2, Records: 3, Cursor: "page=3"}, cp)
		data, err := s.ReadChunk(ctx, ref, runinfo.StageExtract, 0)
		require.NoError(t, err)
		assert.Equal(t, "{\"id\":1}\n{\"id\":2}\n", string(data), "the first commit wins")
		assert.Equal(t, 2, countRows(t, s, "stage_chunks", ref.Key()))

		// Chunks are written in order.
		err = s.PutExtractChunk(ctx, ref, 5, store.NewStagedChunk([]byte("x"), 1), "", false)
		assert.ErrorContains(t, err, "out of order")
		err = s.PutExtractChunk(ctx, ref, -1, store.NewStagedChunk([]byte("x"), 1), "", false)
		assert.Error(t, err)

		_, err = s.ReadChunk(ctx, ref, runinfo.StageExtract, 2)
		assert.ErrorIs(t, err, sql.ErrNoRows)
		_, err = s.ReadChunk(ctx, ref, runinfo.StageLoad, 0)
		assert.ErrorContains(t, err, "unknown stage")

		require.NoError(t, s.FinishStage(ctx, ref, runinfo.StageExtract))
		require.NoError(t, s.FinishStage(ctx, ref, runinfo.StageExtract), "finishing twice is harmless")
		cp, err = s.Checkpoint(ctx, ref, runinfo.StageExtract)
		require.NoError(t, err)
		assert.Equal(t, store.Checkpoint{NextSeq: 2, Records: 3, Cursor: "page=3", Done: true}, cp)
		err = s.PutExtractChunk(ctx, ref, 2, store.NewStagedChunk([]byte("x"), 1), "", false)
		assert.ErrorContains(t, err, "already done")

		// Chunks are stored compressed; one staged before compression (no
		// codec) still reads back.
		big := []byte(strings.Repeat(`{"id":"ord-1","customer_email":"a@b.co","category":"books"}`+"\n", 2000))
		other := runRef("extract-codec")
		require.NoError(t, s.PutExtractChunk(ctx, other, 0, store.NewStagedChunk(big, 2000), "page=2", false))
		var stored int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT length(data) FROM stage_chunks WHERE run_key = $1 AND seq = 0`, other.Key()).Scan(&stored))
		assert.Less(t, stored, len(big)/4, "compressed")
		data, err = s.ReadChunk(ctx, other, runinfo.StageExtract, 0)
		require.NoError(t, err)
		assert.Equal(t, string(big), string(data))
		_, err = s.DB().ExecContext(ctx, `INSERT INTO stage_chunks (run_key, stage, seq, records, data) VALUES ($1, 'extract', 1, 1, $2)`,
			other.Key(), []byte("{\"id\":9}\n"))
		require.NoError(t, err)
		data, err = s.ReadChunk(ctx, other, runinfo.StageExtract, 1)
		require.NoError(t, err)
		assert.Equal(t, "{\"id\":9}\n", string(data))

		// The last chunk can mark the stage done in its own transaction.
		last := runRef("extract-last")
		require.NoError(t, s.PutExtractChunk(ctx, last, 0, store.NewStagedChunk([]byte("{}\n"), 1), "", true))
		cp, err = s.Checkpoint(ctx, last, runinfo.StageExtract)
		require.NoError(t, err)
		assert.Equal(t, store.Checkpoint{NextSeq: 1, Records: 1, Done: true}, cp)
		require.NoError(t, s.PutExtractChunk(ctx, ref, 1, store.NewStagedChunk([]byte("x"), 1), "", false), "a committed chunk is still a no-op")
	})
}

func TestPutTransformChunk(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("transform")
		rejects := func(seq int) []record.Rejected {
			return []record.Rejected{
				{Index: 1, RecordID: fmt.Sprintf("r%d-1", seq), Reason: record.ReasonInvalidEmail, Detail: "no @", Raw: `{"id":"r1"}`},
				{Index: 4, RecordID: "", Reason: record.ReasonMissingID, Detail: "id is empty", Raw: "{\"id\":\"\",\"x\":\"\x00\xff\"}"},
				{Index: 7, RecordID: fmt.Sprintf("r%d-7", seq), Reason: record.ReasonInvalidEmail, Detail: "no domain", Raw: `{}`},
			}
		}
		for seq := range 2 {
			// Every chunk is written twice, as by a retried attempt: the
			// second write is a no-op returning the checkpoint.
			for try := range 2 {
				cp, err := s.PutTransformChunk(ctx, ref, seq, valids(10, fmt.Sprintf("v%d-a", seq), fmt.Sprintf("v%d-b", seq), "shared"), rejects(seq), false, nil)
				require.NoError(t, err, "chunk %d try %d", seq, try)
				assert.Equal(t, seq+1, cp.NextSeq)
			}
		}
		// The last chunk, marked done, only looks its ids up: no chunk
		// comes after it to check against them.
		cp, err := s.PutTransformChunk(ctx, ref, 2, valids(20, "shared", "v2-a"), rejects(2)[:1], true, nil)
		require.NoError(t, err)
		want := store.Checkpoint{
			NextSeq: 3, Records: 15, Valid: 6, Rejected: 9, Done: true,
			Reasons: map[string]int64{record.ReasonInvalidEmail: 5, record.ReasonMissingID: 2, record.ReasonDuplicateID: 2},
		}
		assert.Equal(t, want, cp)
		cp, err = s.Checkpoint(ctx, ref, runinfo.StageTransform)
		require.NoError(t, err)
		assert.Equal(t, want, cp)
		assert.Equal(t, 5, keptIDs(t, s, ref), "the ids kept, once each")

		got, err := s.Rejected(ctx, ref, 0)
		require.NoError(t, err)
		require.Len(t, got, 9)
		assert.Equal(t, rejects(0)[0], got[0])
		assert.Equal(t, "{\"id\":\"\",\"x\":\"\uFFFD\uFFFD\"}", got[1].Raw, "NUL and invalid UTF-8 are replaced")
		assert.Equal(t, "r1-1", got[3].RecordID, "ordered by chunk, then index")
		assert.Equal(t, record.Rejected{Index: 12, RecordID: "shared", Reason: record.ReasonDuplicateID,
			Detail: `id "shared" was already seen in this run`, Raw: `{"id":"shared"}`}, got[6],
			"an id an earlier chunk kept is a duplicate")
		limited, err := s.Rejected(ctx, ref, 2)
		require.NoError(t, err)
		assert.Len(t, limited, 2)

		idx, err := s.RejectedIndexes(ctx, ref, 1)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 4, 7, 12}, idx)
		idx, err = s.RejectedIndexes(ctx, ref, 2)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 20}, idx, "the last chunk's duplicate")
		idx, err = s.RejectedIndexes(ctx, ref, 9)
		require.NoError(t, err)
		assert.Empty(t, idx)
	})
}

// TestDuplicatesAcrossMemoryAndStageIDs: with Keys, the ids of a run's
// first chunks stay in memory and the later chunks' go to stage_ids; a
// duplicate is found wherever the id it repeats was kept, a chunk written
// again (a retry) keeps its ids all the same, and an attempt that resumes
// with the committed chunks' ids added finds the same duplicates.
func TestDuplicatesAcrossMemoryAndStageIDs(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("memory-keys")
		// Four chunks, the first two keeping their ids in memory.
		keys := resumeKeys(t, 2, 4, 8)
		require.Equal(t, 2, keys.MemoryChunks())
		chunks := [][]transform.Valid{
			valids(0, "a", "b"),
			valids(0, "c", "a"),      // a: chunk 0's, in memory
			valids(0, "d", "c", "e"), // c: chunk 1's, in memory
			valids(0, "e", "f", "b"), // e: chunk 2's, in stage_ids; b: in memory
		}
		dups := func(cp store.Checkpoint) int64 { return cp.Reasons[record.ReasonDuplicateID] }
		for seq, valid := range chunks[:3] {
			for try := range 2 { // the second try finds the chunk committed
				cp, err := s.PutTransformChunk(ctx, ref, seq, valid, nil, false, keys)
				require.NoError(t, err, "chunk %d try %d", seq, try)
				assert.Equal(t, seq+1, cp.NextSeq)
			}
			assert.Equal(t, []int{2, 3, 3}[seq], keys.Len(), "keys after chunk %d", seq)
		}
		assert.Equal(t, 3, keys.Len(), "chunk 2 keeps its ids in stage_ids")
		assert.Equal(t, 2, keptIDs(t, s, ref), "d and e, once each")

		// An attempt that resumes at chunk 3 adds the ids of the chunks
		// that keep theirs in memory, read again.
		resumed := resumeKeys(t, 2, 4, 8)
		for _, valid := range chunks[:resumed.MemoryChunks()] {
			resumed.Add(valid)
		}
		cp, err := s.PutTransformChunk(ctx, ref, 3, chunks[3], nil, true, resumed)
		require.NoError(t, err)
		assert.Equal(t, 2, cp.MemoryChunks, "the line the first chunk drew")
		assert.Equal(t, int64(4), dups(cp), "a, c, e and b")
		assert.Equal(t, int64(6), cp.Valid)
		assert.True(t, cp.Done)
		idx, err := s.RejectedIndexes(ctx, ref, 3)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 2}, idx)
	})
}

// TestStageIDsFindAnEarlierChunksID: a chunk keeping its ids in stage_ids
// that repeats an id an earlier chunk kept there rejects the repeat and
// keeps its other ids, wherever in the chunk the repeat is: in its first
// statement's ids or in a later one's. (On PostgreSQL such a chunk's plain
// insert fails, is undone, and its ids go in again one by one.) With Keys
// holding no chunk's ids, the chunk before's are remembered all the same,
// and the results are the same.
func TestStageIDsFindAnEarlierChunksID(t *testing.T) {
	for _, withKeys := range []bool{false, true} {
		t.Run(fmt.Sprintf("keys=%t", withKeys), func(t *testing.T) {
			testStageIDsFindAnEarlierChunksID(t, withKeys)
		})
	}
}

func testStageIDsFindAnEarlierChunksID(t *testing.T, withKeys bool) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("stage-ids-repeat")
		var keys *store.Keys
		if withKeys {
			keys = resumeKeys(t, 0, 5, 10010)
		}
		var many []string // more ids than one statement takes
		for i := range 10002 {
			many = append(many, fmt.Sprintf("m%05d", i))
		}
		chunks := [][]transform.Valid{
			valids(0, "a", "b"),
			valids(0, "c", "a"),             // a: chunk 0's, the chunk before's
			valids(0, append(many, "b")...), // b: chunk 0's, after the first statement's ids
			valids(0, "c", "m00007", "d"),   // c: chunk 1's, which met a repeat; m00007: the chunk before's
			valids(0, "e"),
		}
		wantRejected := [][]int{nil, {1}, {10002}, {0, 1}, nil}
		var dups int64
		for seq, valid := range chunks {
			cp, err := s.PutTransformChunk(ctx, ref, seq, valid, nil, false, keys)
			require.NoError(t, err, "chunk %d", seq)
			dups += int64(len(wantRejected[seq]))
			assert.Equal(t, dups, cp.Reasons[record.ReasonDuplicateID], "duplicates after chunk %d", seq)
			idx, err := s.RejectedIndexes(ctx, ref, seq)
			require.NoError(t, err)
			assert.Equal(t, wantRejected[seq], idx, "chunk %d", seq)
		}
		assert.Equal(t, 2+1+len(many)+1+1, keptIDs(t, s, ref), "a, b, c, the many, d and e, once each")
	})
}

// An attempt whose line between memory and stage_ids is not the one the
// first chunk was committed with (a late attempt's) stops: it would miss
// duplicates. The next attempt resumes with the run's.
func TestAnAttemptWithAnotherLineStops(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("other-line")
		first := resumeKeys(t, 2, 4, 8)
		_, err := s.PutTransformChunk(ctx, ref, 0, valids(0, "a"), nil, false, first)
		require.NoError(t, err)
		late := resumeKeys(t, 1, 4, 8)
		for seq := range 2 { // the committed chunk, and the next
			_, err = s.PutTransformChunk(ctx, ref, seq, valids(0, "b"), nil, false, late)
			require.ErrorContains(t, err, "keeps the ids of the first 2 chunks in memory, this one 1", "chunk %d", seq)
		}
		cp, err := s.Checkpoint(ctx, ref, runinfo.StageTransform)
		require.NoError(t, err)
		assert.Equal(t, 1, cp.NextSeq)
		assert.Equal(t, 2, cp.MemoryChunks)
		_, err = s.PutTransformChunk(ctx, ref, 1, valids(0, "a"), nil, false, first)
		require.NoError(t, err)
	})
}

// A run whose chunks all keep their ids in memory writes none to
// stage_ids.
func TestAllKeysInMemory(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("all-in-memory")
		keys := resumeKeys(t, 3, 3, 6)
		require.Equal(t, 3, keys.MemoryChunks())
		for seq, valid := range [][]transform.Valid{valids(0, "a", "b"), valids(0, "c", "a"), valids(0, "b", "d")} {
			_, err := s.PutTransformChunk(ctx, ref, seq, valid, nil, seq == 2, keys)
			require.NoError(t, err)
		}
		cp, err := s.Checkpoint(ctx, ref, runinfo.StageTransform)
		require.NoError(t, err)
		assert.Equal(t, int64(2), cp.Reasons[record.ReasonDuplicateID])
		assert.Zero(t, keptIDs(t, s, ref))
	})
}

// TestDuplicatesAcrossRuns: the duplicate check is per run; two runs may
// keep the same id.
func TestDuplicatesAcrossRuns(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		for _, name := range []string{"one", "two"} {
			cp, err := s.PutTransformChunk(ctx, runRef(name), 0, valids(0, "a", "b"), nil, false, nil)
			require.NoError(t, err)
			assert.EqualValues(t, 2, cp.Valid, name)
			assert.Zero(t, cp.Rejected, name)
		}
		// A one-chunk run needs no ids kept: the chunk checked its own.
		single := runRef("single")
		_, err := s.PutTransformChunk(ctx, single, 0, valids(0, "a", "b"), nil, true, nil)
		require.NoError(t, err)
		assert.Zero(t, keptIDs(t, s, single))
	})
}

// valids are valid records with the given ids at indexes from first on.
func valids(first int, ids ...string) []transform.Valid {
	var out []transform.Valid
	for i, id := range ids {
		out = append(out, transform.Valid{Index: first + i, Order: record.Order{ID: id}, Raw: []byte(`{"id":"` + id + `"}`)})
	}
	return out
}

func TestLoadChunk(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("load")
		const source = "demo://orders"
		chunks := [][]record.Order{makeOrders(0, 300), makeOrders(300, 300), withAmount(makeOrders(0, 10), "9")}
		want := []store.Loaded{{Inserted: 300}, {Inserted: 300}, {Updated: 10}}
		for seq, orders := range chunks {
			res, err := s.LoadChunk(ctx, ref, source, seq, orders)
			require.NoError(t, err)
			assert.Equal(t, want[seq], res, "chunk %d", seq)
			// The retried chunk writes nothing and counts nothing.
			res, err = s.LoadChunk(ctx, ref, source, seq, orders)
			require.NoError(t, err)
			assert.Equal(t, store.Loaded{}, res, "chunk %d again", seq)
		}
		cp, err := s.Checkpoint(ctx, ref, runinfo.StageLoad)
		require.NoError(t, err)
		assert.Equal(t, store.Checkpoint{NextSeq: 3, Records: 610, Inserted: 600, Updated: 10}, cp)

		n, err := s.CountOrders(ctx, source)
		require.NoError(t, err)
		assert.EqualValues(t, 600, n)
		o, err := s.Order(ctx, source, chunks[0][0].ID)
		require.NoError(t, err)
		assert.EqualValues(t, 2, o.Version, "updated once, not twice")
		assert.Equal(t, ref.Key(), o.FirstRun)
		assert.Equal(t, ref.Key(), o.LastRun)

		_, err = s.LoadChunk(ctx, ref, source, 4, makeOrders(0, 1))
		assert.ErrorContains(t, err, "out of order")
	})
}

// TestLoadChunkAfter: a chunk written beside the one before it commits in
// its turn, after that one. The chunk before commits during the turn:
// where the warehouse takes two writes at once (PostgreSQL) while this
// chunk's transaction holds its upserted rows (they never wait for each
// other), and otherwise, or with every side write taken, before this
// chunk's transaction begins. A turn that says the chunk before was lost
// rolls the chunk back, and a chunk already committed is not written
// again.
func TestLoadChunkAfter(t *testing.T) {
	for _, sides := range []string{"side writes free", "side writes taken"} {
		t.Run(sides, func(t *testing.T) {
			eachDriver(t, func(t *testing.T, s *store.Store) {
				if sides == "side writes taken" {
					t.Cleanup(store.TakeSideWrites(s))
				}
				ctx := ctxT(t)
				ref := runRef("load-after")
				const source = "demo://orders"
				first, second := makeOrders(0, 300), makeOrders(300, 200)
				var before store.Loaded
				res, err := s.LoadChunkAfter(ctx, ref, source, 1, second, func(ctx context.Context) error {
					var err error
					before, err = s.LoadChunk(ctx, ref, source, 0, first)
					return err
				})
				require.NoError(t, err)
				assert.Equal(t, store.Loaded{Inserted: 300}, before, "chunk 0, committed in chunk 1's turn")
				assert.Equal(t, store.Loaded{Inserted: 200}, res)

				lost := errors.New("chunk 2 was not committed")
				_, err = s.LoadChunkAfter(ctx, ref, source, 3, makeOrders(500, 50), func(context.Context) error { return lost })
				require.ErrorIs(t, err, lost)
				_, err = s.LoadChunkAfter(ctx, ref, source, 2, makeOrders(500, 50), func(context.Context) error { return lost })
				require.ErrorIs(t, err, lost)
				res, err = s.LoadChunkAfter(ctx, ref, source, 1, second, func(context.Context) error { return nil })
				require.NoError(t, err)
				assert.Equal(t, store.Loaded{}, res, "chunk 1 again: committed before")

				cp, err := s.Checkpoint(ctx, ref, runinfo.StageLoad)
				require.NoError(t, err)
				assert.Equal(t, store.Checkpoint{NextSeq: 2, Records: 500, Inserted: 500}, cp)
				n, err := s.CountOrders(ctx, source)
				require.NoError(t, err)
				assert.EqualValues(t, 500, n, "nothing of the chunk whose turn was lost")
			})
		})
	}
}

// TestFailedChunkLeavesNothing checks that a chunk is all or nothing: when
// its transaction fails part-way, neither rows nor checkpoint change, and
// the chunk can then be written.
func TestFailedChunkLeavesNothing(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runRef("atomic")
		const source = "demo://orders"
		_, err := s.LoadChunk(ctx, ref, source, 0, makeOrders(0, 10))
		require.NoError(t, err)

		tests := []struct {
			name string
			ctx  func() context.Context
			// orders has a bad order after more than one statement's worth.
			orders func() []record.Order
		}{
			{"constraint violation", func() context.Context { return ctx }, func() []record.Order {
				orders := makeOrders(10, 600)
				orders[550].ID = "" // refused by the CHECK constraint
				return orders
			}},
			{"amount too precise", func() context.Context { return ctx }, func() []record.Order {
				orders := makeOrders(10, 600)
				orders[599].Amount = "0.0000001"
				return orders
			}},
			{"cancelled context", func() context.Context {
				c, cancel := context.WithCancel(ctx)
				cancel()
				return c
			}, func() []record.Order { return makeOrders(10, 600) }},
		}
		for _, tt := range tests {
			_, err := s.LoadChunk(tt.ctx(), ref, source, 1, tt.orders())
			require.Error(t, err, tt.name)

			cp, err := s.Checkpoint(ctx, ref, runinfo.StageLoad)
			require.NoError(t, err)
			assert.Equal(t, store.Checkpoint{NextSeq: 1, Records: 10, Inserted: 10}, cp, tt.name)
			n, err := s.CountOrders(ctx, source)
			require.NoError(t, err)
			assert.EqualValues(t, 10, n, tt.name)
		}

		res, err := s.LoadChunk(ctx, ref, source, 1, makeOrders(10, 600))
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Inserted: 600}, res)
	})
}

// TestConcurrentLoads loads 8 runs at once into one database, through two
// stores (as two worker processes would), and checks nothing is lost and
// no write fails with SQLITE_BUSY.
func TestConcurrentLoads(t *testing.T) {
	eachDriverName(t, func(t *testing.T, driver string) {
		ctx := ctxT(t)
		dsn := storetest.DSN(t, driver)
		stores := make([]*store.Store, 2)
		for i := range stores {
			s, err := store.Open(ctx, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, s.Close()) })
			stores[i] = s
		}
		const (
			runs      = 8
			chunks    = 5
			chunkSize = 400
		)
		errs := make(chan error, runs)
		var wg sync.WaitGroup
		for r := range runs {
			wg.Go(func() {
				errs <- loadRun(ctx, stores[r%2], r, chunks, chunkSize)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}

		s := stores[0]
		n, err := s.CountOrders(ctx, "")
		require.NoError(t, err)
		assert.EqualValues(t, runs*chunks*chunkSize, n)
		for r := range runs {
			ref := runRef(fmt.Sprint(r))
			run, err := s.GetRun(ctx, ref)
			require.NoError(t, err)
			assert.Equal(t, runinfo.RunCompleted, run.Status)
			assert.EqualValues(t, chunks*chunkSize, run.Inserted)
			assert.EqualValues(t, chunks*chunkSize, run.Extracted)
			assert.Equal(t, 0, countRows(t, s, "stage_chunks", ref.Key()))
		}
	})
}

// loadRun drives one run through every stage the way the activities do,
// each run into its own source.
func loadRun(ctx context.Context, s *store.Store, r, chunks, chunkSize int) error {
	ref := runRef(fmt.Sprint(r))
	source := fmt.Sprintf("source-%d", r)
	if err := s.BeginRun(ctx, store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID, Source: source}); err != nil {
		return err
	}
	for seq := range chunks {
		orders := makeOrders(seq*chunkSize, chunkSize)
		raw, err := json.Marshal(orders)
		if err != nil {
			return err
		}
		if err := s.PutExtractChunk(ctx, ref, seq, store.NewStagedChunk(raw, len(orders)), "", seq+1 == chunks); err != nil {
			return err
		}
		valid := make([]transform.Valid, len(orders))
		for i, o := range orders {
			valid[i] = transform.Valid{Index: i, Order: o}
		}
		if _, err := s.PutTransformChunk(ctx, ref, seq, valid, nil, seq+1 == chunks, nil); err != nil {
			return err
		}
		data, err := s.ReadChunk(ctx, ref, runinfo.StageExtract, seq)
		if err != nil {
			return err
		}
		var clean []record.Order
		if err := json.Unmarshal(data, &clean); err != nil {
			return err
		}
		if _, err := s.LoadChunk(ctx, ref, source, seq, clean); err != nil {
			return err
		}
	}
	ex, err := s.Checkpoint(ctx, ref, runinfo.StageExtract)
	if err != nil {
		return err
	}
	cp, err := s.Checkpoint(ctx, ref, runinfo.StageLoad)
	if err != nil {
		return err
	}
	return s.CompleteRun(ctx, ref, store.RunRecord{
		Source: source, Extracted: ex.Records, Valid: cp.Records,
		Inserted: cp.Inserted, Updated: cp.Updated, Unchanged: cp.Unchanged,
	})
}

func TestPruneStaging(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		old, fresh := runRef("old"), runRef("fresh")
		require.NoError(t, s.PutExtractChunk(ctx, old, 0, store.NewStagedChunk([]byte("x"), 1), "", false))
		require.NoError(t, s.PutExtractChunk(ctx, old, 1, store.NewStagedChunk([]byte("x"), 1), "", false))
		_, err := s.PutTransformChunk(ctx, old, 0, valids(0, "a"), nil, false, nil)
		require.NoError(t, err)
		cutoff := time.Now().Add(time.Hour) // everything so far is older
		n, err := s.PruneStaging(ctx, cutoff.Add(-2*time.Hour))
		require.NoError(t, err)
		assert.Zero(t, n, "nothing is that old")

		n, err = s.PruneStaging(ctx, cutoff)
		require.NoError(t, err)
		assert.EqualValues(t, 2, n)
		require.NoError(t, s.PutExtractChunk(ctx, fresh, 0, store.NewStagedChunk([]byte("x"), 1), "", false))
		assert.Equal(t, 1, countRows(t, s, "stage_chunks", fresh.Key()))
		assert.Equal(t, 0, countRows(t, s, "stage_chunks", old.Key()))
		assert.Equal(t, 0, keptIDs(t, s, old))
	})
}

// The runs a process transforms at once share MemoryKeys: a run takes
// what is left for its first chunks, the rest of its chunks keep their ids
// in stage_ids, and a run that ends gives its share back. (Not parallel:
// the share is the process's.)
func TestKeysShareTheProcessMemory(t *testing.T) {
	big := store.NewKeys(10, 2*store.MemoryKeys) // twice what fits
	assert.Equal(t, 5, big.MemoryChunks(), "half the run's chunks")
	small := store.NewKeys(4, 100)
	assert.Zero(t, small.MemoryChunks(), "nothing left: every chunk in stage_ids")
	small.Release()
	big.Release()
	again := store.NewKeys(4, 100)
	defer again.Release()
	assert.Equal(t, 4, again.MemoryChunks(), "the big run's share is back")
}
