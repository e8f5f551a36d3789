package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/klauspost/compress/s2"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// Checkpoint is how far a stage of a run got: every chunk below NextSeq is
// committed, and the counts cover exactly those chunks. A retried activity
// reads it and resumes at NextSeq.
//
// The chunk writers (PutExtractChunk, PutTransformChunk, LoadChunk) share
// these rules: a chunk below NextSeq is already committed and writing it
// again is a no-op; otherwise seq must be NextSeq, the stage must not be
// done, and the run must not be finished (ErrRunFinished), so that a late
// attempt the server gave up on cannot add to a run that moved on.
type Checkpoint struct {
	// NextSeq is the next chunk to write; chunks are numbered from 0.
	NextSeq int `json:"next_seq"`
	// Records counts the records of the committed chunks: raw records for
	// extract, valid plus rejected for transform, orders for load.
	Records int64 `json:"records"`
	// Cursor is the source position after the last extract chunk, for
	// sources that page.
	Cursor string `json:"cursor,omitempty"`
	// Done is set once the stage finished (FinishStage, CompleteRun).
	Done bool `json:"done"`

	// Transform counts.
	Valid    int64            `json:"valid"`
	Rejected int64            `json:"rejected"`
	Reasons  map[string]int64 `json:"rejected_by_reason,omitempty"`

	// MemoryChunks is how many of the run's first chunks keep the ids of
	// their valid records in memory rather than in stage_ids (Keys), as
	// the attempt that committed the first chunk drew the line.
	MemoryChunks int `json:"memory_chunks,omitempty"`

	// Load counts.
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
}

// checkpointCounts is the JSON in stage_checkpoints.counts.
type checkpointCounts struct {
	Valid     int64            `json:"valid,omitempty"`
	Rejected  int64            `json:"rejected,omitempty"`
	Reasons   map[string]int64 `json:"rejected_by_reason,omitempty"`
	Memory    int              `json:"memory_chunks,omitempty"`
	Inserted  int64            `json:"inserted,omitempty"`
	Updated   int64            `json:"updated,omitempty"`
	Unchanged int64            `json:"unchanged,omitempty"`
}

// checkStage rejects a stage name outside allowed.
func checkStage(stage string, allowed ...string) error {
	for _, a := range allowed {
		if stage == a {
			return nil
		}
	}
	return fmt.Errorf("unknown stage %q (want %s)", stage, strings.Join(allowed, " or "))
}

var (
	checkpointStages = []string{runinfo.StageExtract, runinfo.StageTransform, runinfo.StageLoad}
	chunkStages      = []string{runinfo.StageExtract, runinfo.StageTransform}
)

// Checkpoint reads the checkpoint of a stage of a run; the zero value when
// the stage has not committed anything yet.
func (s *Store) Checkpoint(ctx context.Context, ref runinfo.RunRef, stage string) (Checkpoint, error) {
	if err := checkStage(stage, checkpointStages...); err != nil {
		return Checkpoint{}, fmt.Errorf("store: checkpoint of %s: %w", ref.Key(), err)
	}
	var cp Checkpoint
	err := s.read(ctx, func() (err error) {
		cp, err = readCheckpoint(ctx, cachedRows{s, nil}, ref, stage, "")
		return err
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("store: %s checkpoint of %s: %w", stage, ref.Key(), err)
	}
	return cp, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const checkpointQuery = `SELECT next_seq, records, cursor, done, counts FROM stage_checkpoints WHERE run_key = $1 AND stage = $2`

func readCheckpoint(ctx context.Context, q querier, ref runinfo.RunRef, stage, lock string) (Checkpoint, error) {
	var (
		cp     Checkpoint
		counts []byte
	)
	err := q.QueryRowContext(ctx, checkpointQuery+lock, ref.Key(), stage).Scan(&cp.NextSeq, &cp.Records, &cp.Cursor, &cp.Done, &counts)
	if isNoRows(err) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, err
	}
	var c checkpointCounts
	if err := json.Unmarshal(counts, &c); err != nil {
		return Checkpoint{}, fmt.Errorf("counts: %w", err)
	}
	cp.Valid, cp.Rejected, cp.Reasons, cp.MemoryChunks = c.Valid, c.Rejected, c.Reasons, c.Memory
	cp.Inserted, cp.Updated, cp.Unchanged = c.Inserted, c.Updated, c.Unchanged
	return cp, nil
}

// lockCheckpoint reads a checkpoint inside a write transaction, locking its
// row on PostgreSQL so that two attempts of the same stage (a new one and
// a late one the server gave up on) cannot both commit the same chunk. The
// row is created first, as there is nothing to lock otherwise. SQLite
// serializes write transactions as a whole.
func (s *Store) lockCheckpoint(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, stage string) (Checkpoint, error) {
	if s.driver == DriverPostgres {
		if _, err := s.txExec(ctx, tx, `
			INSERT INTO stage_checkpoints (run_key, stage, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (run_key, stage) DO NOTHING`, ref.Key(), stage, s.timeArg(now())); err != nil {
			return Checkpoint{}, fmt.Errorf("create %s checkpoint: %w", stage, err)
		}
	}
	cp, err := readCheckpoint(ctx, cachedRows{s, tx}, ref, stage, s.forUpdate())
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read %s checkpoint: %w", stage, err)
	}
	return cp, nil
}

func (s *Store) saveCheckpoint(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, stage string, cp Checkpoint) error {
	counts, err := json.Marshal(checkpointCounts{
		Valid: cp.Valid, Rejected: cp.Rejected, Reasons: cp.Reasons, Memory: cp.MemoryChunks,
		Inserted: cp.Inserted, Updated: cp.Updated, Unchanged: cp.Unchanged,
	})
	if err != nil {
		return fmt.Errorf("save %s checkpoint: %w", stage, err)
	}
	_, err = s.txExec(ctx, tx, `
		INSERT INTO stage_checkpoints (run_key, stage, next_seq, records, cursor, done, counts, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (run_key, stage) DO UPDATE SET
			next_seq = excluded.next_seq, records = excluded.records, cursor = excluded.cursor,
			done = excluded.done, counts = excluded.counts, updated_at = excluded.updated_at`,
		ref.Key(), stage, cp.NextSeq, cp.Records, cp.Cursor, cp.Done, string(counts), s.timeArg(now()))
	if err != nil {
		return fmt.Errorf("save %s checkpoint: %w", stage, err)
	}
	return nil
}

// beginChunk starts the write of chunk seq of a stage: it locks the run and
// the stage checkpoint and decides. A chunk below NextSeq is already
// committed, and writing it again is a no-op (skip). Otherwise the chunk
// must be the next one, of a stage that is not done, of a run that is not
// finished (ErrRunFinished).
//
// Locks are always taken run first, then checkpoint, as CompleteRun and
// FinishRun do, so that concurrent transactions cannot deadlock.
func (s *Store) beginChunk(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, stage string, seq int) (cp Checkpoint, skip bool, err error) {
	if seq < 0 {
		return Checkpoint{}, false, fmt.Errorf("chunk %d: sequence numbers start at 0", seq)
	}
	var status string
	err = s.txQueryRow(ctx, tx, `SELECT status FROM pipeline_runs WHERE workflow_id = $1 AND run_id = $2`+s.forShare(),
		ref.WorkflowID, ref.RunID).Scan(&status)
	if err != nil && !isNoRows(err) {
		return Checkpoint{}, false, fmt.Errorf("read run status: %w", err)
	}
	cp, err = s.lockCheckpoint(ctx, tx, ref, stage)
	if err != nil {
		return Checkpoint{}, false, err
	}
	switch {
	case seq < cp.NextSeq:
		return cp, true, nil
	case status != "" && status != runinfo.RunRunning:
		return Checkpoint{}, false, fmt.Errorf("%s chunk %d: the run is %s: %w", stage, seq, status, ErrRunFinished)
	case cp.Done:
		return Checkpoint{}, false, fmt.Errorf("%s chunk %d: the stage is already done with %d chunks", stage, seq, cp.NextSeq)
	case seq > cp.NextSeq:
		return Checkpoint{}, false, fmt.Errorf("%s chunk %d out of order: the next chunk is %d", stage, seq, cp.NextSeq)
	}
	return cp, false, nil
}

// codecS2 marks a staged chunk compressed with S2 (a block, see
// github.com/klauspost/compress/s2); chunks without a codec are plain.
const codecS2 = "s2"

// StagedChunk is a chunk of raw records (NDJSON) as it is staged:
// compressed. Staging is bound by the database's one writer, so the
// compression is done by NewStagedChunk, on the caller's goroutine, ahead
// of the write: NDJSON compresses about 4 to 1, and the writer has that
// much less to write (and Transform and Load to read).
type StagedChunk struct {
	data    []byte
	records int
}

// NewStagedChunk compresses raw, which holds records records.
func NewStagedChunk(raw []byte, records int) StagedChunk {
	return StagedChunk{data: s2.Encode(nil, raw), records: records}
}

// Records is how many records the chunk holds.
func (c StagedChunk) Records() int { return c.records }

func (s *Store) insertChunk(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, stage string, seq int, c StagedChunk) error {
	data := c.data
	if data == nil {
		data = []byte{} // an empty chunk, not NULL
	}
	if _, err := s.txExec(ctx, tx, `
		INSERT INTO stage_chunks (run_key, stage, seq, records, data, codec) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (run_key, stage, seq) DO UPDATE SET records = excluded.records, data = excluded.data, codec = excluded.codec`,
		ref.Key(), stage, seq, c.records, data, codecS2); err != nil {
		return fmt.Errorf("write %s chunk %d: %w", stage, seq, err)
	}
	return nil
}

// PutExtractChunk stages chunk seq of raw records and advances the
// extract checkpoint to seq+1 with the source's cursor, in one
// transaction; done also marks the stage done (the last chunk: it spares
// a one-chunk run a transaction). Writing a committed chunk again is a
// no-op, so Records stays exact when a retried attempt repeats it. logs
// are written with the chunk (ChunkLog).
func (s *Store) PutExtractChunk(ctx context.Context, ref runinfo.RunRef, seq int, c StagedChunk, cursor string, done bool, logs ...ChunkLog) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		cp, skip, err := s.beginChunk(ctx, tx, ref, runinfo.StageExtract, seq)
		if err != nil || skip {
			return err
		}
		if err := s.insertChunk(ctx, tx, ref, runinfo.StageExtract, seq, c); err != nil {
			return err
		}
		cp.NextSeq, cp.Records, cp.Cursor, cp.Done = seq+1, cp.Records+int64(c.records), cursor, done
		if err := s.saveCheckpoint(ctx, tx, ref, runinfo.StageExtract, cp); err != nil {
			return err
		}
		return s.chunkLogs(ctx, tx, ref, logs)
	})
	if err != nil {
		return fmt.Errorf("store: run %s: %w", ref.Key(), err)
	}
	return nil
}

// FinishStage marks a stage of a run done: a retried activity that finds
// it done has nothing left to do.
func (s *Store) FinishStage(ctx context.Context, ref runinfo.RunRef, stage string) error {
	if err := checkStage(stage, checkpointStages...); err != nil {
		return fmt.Errorf("store: finish stage of %s: %w", ref.Key(), err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		cp, err := s.lockCheckpoint(ctx, tx, ref, stage)
		if err != nil || cp.Done {
			return err
		}
		cp.Done = true
		return s.saveCheckpoint(ctx, tx, ref, stage, cp)
	})
	if err != nil {
		return fmt.Errorf("store: finish %s stage of %s: %w", stage, ref.Key(), err)
	}
	return nil
}

// ErrLoadClaimed is wrapped by ClaimLoad's error when the run's load is
// another dataset's.
var ErrLoadClaimed = errors.New("the run already loads another dataset")

// loadClaim prefixes the name of the dataset a run's load belongs to, kept
// in the load checkpoint's cursor (which no stage but extract uses).
const loadClaim = "dataset:"

// ClaimLoad makes the load bookkeeping of run ref (its transform and load
// checkpoints, kept ids and rejected records: one sequence of chunks per
// stage) the bookkeeping of dataset name, once. A run loads one dataset
// through it: a second dataset would otherwise take the first one's
// committed chunks for its own and skip them. Claiming the same name again
// is a no-op; another name, or a load that already committed chunks
// without a claim, is ErrLoadClaimed.
func (s *Store) ClaimLoad(ctx context.Context, ref runinfo.RunRef, name string) error {
	claim := loadClaim + name
	err := s.write(ctx, func(tx *sql.Tx) error {
		cp, err := s.lockCheckpoint(ctx, tx, ref, runinfo.StageLoad)
		switch {
		case err != nil || cp.Cursor == claim:
			return err
		case cp.Cursor != "":
			return fmt.Errorf("it loads dataset %s, not %s: %w", strings.TrimPrefix(cp.Cursor, loadClaim), name, ErrLoadClaimed)
		case cp.NextSeq > 0:
			return fmt.Errorf("its load committed %d chunks of no named dataset, not of %s: %w", cp.NextSeq, name, ErrLoadClaimed)
		}
		cp.Cursor = claim
		return s.saveCheckpoint(ctx, tx, ref, runinfo.StageLoad, cp)
	})
	if err != nil {
		return fmt.Errorf("store: run %s: %w", ref.Key(), err)
	}
	return nil
}

// ReadChunk returns a staged chunk, decompressed. A chunk that does not exist (never
// written, or dropped when the run ended) gives an error wrapping
// sql.ErrNoRows.
func (s *Store) ReadChunk(ctx context.Context, ref runinfo.RunRef, stage string, seq int) ([]byte, error) {
	if err := checkStage(stage, chunkStages...); err != nil {
		return nil, fmt.Errorf("store: read chunk of %s: %w", ref.Key(), err)
	}
	var (
		data  []byte
		codec string
	)
	err := s.read(ctx, func() error {
		return s.dbQueryRow(ctx, `SELECT data, codec FROM stage_chunks WHERE run_key = $1 AND stage = $2 AND seq = $3`,
			ref.Key(), stage, seq).Scan(&data, &codec)
	})
	if err != nil {
		return nil, fmt.Errorf("store: read %s chunk %d of %s: %w", stage, seq, ref.Key(), err)
	}
	switch codec {
	case "":
		return data, nil
	case codecS2:
		raw, err := s2.Decode(nil, data)
		if err != nil {
			return nil, fmt.Errorf("store: read %s chunk %d of %s: decompress: %w", stage, seq, ref.Key(), err)
		}
		return raw, nil
	default:
		return nil, fmt.Errorf("store: read %s chunk %d of %s: unknown codec %q", stage, seq, ref.Key(), codec)
	}
}

// PutTransformChunk commits chunk seq of the transform stage, in one
// transaction: it keeps the ids of the chunk's valid records for the
// run's duplicate check, in keys when keys.InMemory(seq), else in
// stage_ids (valid must hold no id twice: transform.Chunk with a fresh
// Deduper sees to that); a valid record whose id an earlier chunk kept is
// rejected as transform.Duplicate instead. It stores the rejected records
// and adds the counts to the transform checkpoint; done also marks the
// stage done. Clean records are not staged: Load reads the raw chunk again
// and skips the rejected indexes (RejectedIndexes).
//
// keys must hold the keys of the run's chunks before seq that keep theirs
// in memory, and PutTransformChunk adds this chunk's once it is committed;
// nil keys (a flow kit's dataset, whose chunks cannot be read again to
// rebuild them) keep every chunk's in stage_ids. The checkpoint records
// where keys draw the line (MemoryChunks); a chunk committed by an attempt
// that drew it elsewhere is an error, which a retry cures (ResumeKeys
// from the checkpoint).
//
// It returns the checkpoint after the chunk. Writing a committed chunk
// again is a no-op that returns the checkpoint as it is.
func (s *Store) PutTransformChunk(ctx context.Context, ref runinfo.RunRef, seq int, valid []transform.Valid, rejects []record.Rejected, done bool, keys *Keys) (Checkpoint, error) {
	out, err := s.putTransformChunk(ctx, ref, seq, valid, rejects, done, keys)
	switch {
	case err != nil || done:
	case keys.InMemory(seq):
		// Committed, now or by an earlier try: the chunks after it check
		// against its keys. Not before the commit, which the store may try
		// more than once.
		keys.Add(valid)
	default:
		// Its keys are in stage_ids (or were there before it: a valid
		// record it found to be a duplicate).
		keys.remember(seq, valid)
	}
	return out, err
}

func (s *Store) putTransformChunk(ctx context.Context, ref runinfo.RunRef, seq int, valid []transform.Valid, rejects []record.Rejected, done bool, keys *Keys) (Checkpoint, error) {
	var out Checkpoint
	err := s.write(ctx, func(tx *sql.Tx) error {
		cp, skip, err := s.beginChunk(ctx, tx, ref, runinfo.StageTransform, seq)
		if err == nil && cp.NextSeq > 0 && cp.MemoryChunks != keys.MemoryChunks() {
			// Another attempt (a late one) committed the first chunk
			// meanwhile, with its own line: this one's ids in memory
			// would miss some of its duplicates.
			return fmt.Errorf("transform chunk %d: the attempt that committed the first chunk keeps the ids of the first %d chunks in memory, this one %d: the next attempt resumes with the run's", seq, cp.MemoryChunks, keys.MemoryChunks())
		}
		if err != nil || skip {
			out = cp
			return err
		}
		cp.MemoryChunks = keys.MemoryChunks()
		seen, err := s.seenIDs(ctx, tx, ref, valid, seq, done, keys)
		if err != nil {
			return fmt.Errorf("transform chunk %d: %w", seq, err)
		}
		nValid := len(valid)
		rejects := rejects[:len(rejects):len(rejects)] // append copies: the caller's slice stays as it was
		for _, v := range valid {
			if _, dup := seen[v.ID()]; dup {
				rejects = append(rejects, transform.Duplicate(v))
				nValid--
			}
		}
		if err := s.insertRejects(ctx, tx, ref, seq, rejects); err != nil {
			return err
		}
		cp.NextSeq = seq + 1
		cp.Records += int64(nValid + len(rejects))
		cp.Valid += int64(nValid)
		cp.Rejected += int64(len(rejects))
		for _, r := range rejects {
			if cp.Reasons == nil {
				cp.Reasons = map[string]int64{}
			}
			cp.Reasons[r.Reason]++
		}
		cp.Done = done
		out = cp
		return s.saveCheckpoint(ctx, tx, ref, runinfo.StageTransform, cp)
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("store: run %s: %w", ref.Key(), err)
	}
	return out, nil
}

// idsPerStatement bounds the rows of one stage_ids insert. On SQLite the
// batches have a power-of-two size up to it, each shape prepared once (as
// the upsert of orders does); one parameter a row, far below the limit.
const idsPerStatement = 4096

// seenIDs returns the ids of valid that earlier chunks of the run kept,
// in keys (the first chunks', and the chunk before's, which keys remember
// although it kept them in stage_ids) or in stage_ids, and keeps the
// others in stage_ids for the chunks to come unless chunk seq keeps its own in keys (which
// PutTransformChunk adds after the commit). A chunk with no earlier one
// keeping its ids in stage_ids looks nothing up there, and the last
// (done) keeps none: a one-chunk run, or one whose chunks all keep their
// ids in memory, touches stage_ids not at all.
func (s *Store) seenIDs(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, valid []transform.Valid, seq int, done bool, keys *Keys) (map[string]struct{}, error) {
	if len(valid) == 0 {
		return nil, nil
	}
	seen := map[string]struct{}{}
	rest := valid
	if keys.Len() > 0 || keys.recentFor(seq) {
		rest = make([]transform.Valid, 0, len(valid))
		for _, v := range valid {
			if keys.seenBefore(seq, v.ID()) {
				seen[v.ID()] = struct{}{}
			} else {
				rest = append(rest, v)
			}
		}
	}
	// Chunks keys.MemoryChunks() to seq-1 kept their ids in stage_ids.
	stored := seq > keys.MemoryChunks()
	switch {
	case len(rest) == 0 || keys.InMemory(seq) || (done && !stored):
		return seen, nil
	case done:
		found, err := s.lookupIDs(ctx, tx, ref, rest)
		maps.Copy(seen, found)
		return seen, err
	}
	kept, err := s.keepIDs(ctx, tx, ref, rest)
	if err != nil {
		return nil, err
	}
	for _, v := range rest {
		if _, ok := kept[v.ID()]; !ok {
			seen[v.ID()] = struct{}{}
		}
	}
	return seen, nil
}

// collectIDs adds the record_id column of rows to set and closes rows.
func collectIDs(rows *sql.Rows, set map[string]struct{}) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		set[id] = struct{}{}
	}
	return rows.Err()
}

// lookupIDs returns the ids of valid that the run's stage_ids holds.
func (s *Store) lookupIDs(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, valid []transform.Valid) (map[string]struct{}, error) {
	found := map[string]struct{}{}
	err := s.eachIDBatch(ctx, tx, ref, valid, stmtLookupIDs,
		`SELECT record_id FROM stage_ids WHERE run = $1 AND record_id = ANY($2::text[])`, found)
	if err != nil {
		return nil, fmt.Errorf("look up ids: %w", err)
	}
	return found, nil
}

// keepIDs adds the ids of valid to the run's stage_ids and returns those
// that were new: an id it does not return was kept by an earlier chunk.
func (s *Store) keepIDs(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, valid []transform.Valid) (map[string]struct{}, error) {
	kept := make(map[string]struct{}, len(valid))
	if s.driver == DriverPostgres {
		plain, err := s.keepNewIDs(ctx, tx, ref, valid)
		if err != nil {
			return nil, fmt.Errorf("keep ids: %w", err)
		}
		if plain {
			for _, v := range valid {
				kept[v.ID()] = struct{}{}
			}
			return kept, nil
		}
	}
	err := s.eachIDBatch(ctx, tx, ref, valid, stmtKeepIDs,
		`INSERT INTO stage_ids (run, record_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING record_id`, kept)
	if err != nil {
		return nil, fmt.Errorf("keep ids: %w", err)
	}
	return kept, nil
}

// keepNewIDs adds the ids of valid to the run's stage_ids on PostgreSQL
// with a plain INSERT, and reports whether they all went in. When one of
// them was kept by an earlier chunk, it undoes what it inserted (back to
// a savepoint) and reports false: the caller keeps them one by one, ON
// CONFLICT DO NOTHING.
//
// Why not ON CONFLICT every time: on PostgreSQL it inserts each row
// speculatively and confirms it with a second WAL record, twice the cost
// of a plain insert (5.1 against 2.4 µs an id, a million ids into a
// stage_ids of two million, in psql). A run's ids beyond those held in
// memory (Keys) are mostly new, and the near duplicates among them (of
// the chunk before) are found in memory (Keys.remember), so a chunk that
// meets an earlier one here is the exception, and pays one statement more.
func (s *Store) keepNewIDs(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, valid []transform.Valid) (bool, error) {
	if _, err := s.txExec(ctx, tx, `SAVEPOINT keep_ids`); err != nil {
		return false, err
	}
	run := RunNumber(ref)
	errMet := errors.New("an id kept by an earlier chunk")
	err := postgresIDBatches(valid, func(ids []string) error {
		_, err := s.txExec(ctx, tx, `INSERT INTO stage_ids (run, record_id) SELECT $1, unnest($2::text[])`, run, ids)
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == pgUniqueViolation {
			return errMet
		}
		return err
	})
	switch {
	case errors.Is(err, errMet):
		if _, err := s.txExec(ctx, tx, `ROLLBACK TO SAVEPOINT keep_ids`); err != nil {
			return false, err
		}
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// postgresIDBatches calls fn with the ids of valid, postgresRowsPerStatement
// at a time (one array parameter of a statement), until fn fails.
func postgresIDBatches(valid []transform.Valid, fn func(ids []string) error) error {
	ids := make([]string, 0, min(len(valid), postgresRowsPerStatement))
	for len(valid) > 0 {
		batch := valid[:min(len(valid), postgresRowsPerStatement)]
		valid = valid[len(batch):]
		ids = ids[:0]
		for _, v := range batch {
			ids = append(ids, v.ID())
		}
		if err := fn(ids); err != nil {
			return err
		}
	}
	return nil
}

// pgUniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const pgUniqueViolation = "23505"

// eachIDBatch runs a statement over the ids of valid in batches and
// collects the ids it returns into set: on PostgreSQL pgQuery, with the
// run number and an array of ids; on SQLite the prepared statement of
// kind for each power-of-two batch size.
func (s *Store) eachIDBatch(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, valid []transform.Valid, kind int, pgQuery string, set map[string]struct{}) error {
	run := RunNumber(ref)
	if s.driver == DriverPostgres {
		return postgresIDBatches(valid, func(ids []string) error {
			rows, err := s.txQuery(ctx, tx, pgQuery, run, ids)
			if err != nil {
				return err
			}
			return collectIDs(rows, set)
		})
	}
	args := make([]any, 0, 1+min(len(valid), idsPerStatement))
	for len(valid) > 0 {
		n := batchRows(idsPerStatement, len(valid))
		batch := valid[:n]
		valid = valid[n:]
		args = append(args[:0], run)
		for _, v := range batch {
			args = append(args, v.ID())
		}
		stmt, err := s.sqliteStmt(ctx, kind, n)
		if err != nil {
			return err
		}
		rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		if err := collectIDs(rows, set); err != nil {
			return err
		}
	}
	return nil
}

// RunNumber names a run in stage_ids: a 64-bit hash of its key. Two runs
// share a number with a probability of 2^-64 per pair, and it would only
// matter while both are staging.
func RunNumber(ref runinfo.RunRef) int64 {
	h := fnv.New64a()
	h.Write([]byte(ref.Key()))
	return int64(h.Sum64())
}

// RejectedIndexes returns the indexes of the records of chunk seq that
// Transform rejected, in order: Load skips them when it reads the raw
// chunk again.
func (s *Store) RejectedIndexes(ctx context.Context, ref runinfo.RunRef, seq int) ([]int, error) {
	var out []int
	err := s.read(ctx, func() error {
		rows, err := s.dbQuery(ctx, `SELECT idx FROM rejected_records WHERE run_key = $1 AND chunk_seq = $2 ORDER BY idx`, ref.Key(), seq)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = nil
		for rows.Next() {
			var i int
			if err := rows.Scan(&i); err != nil {
				return err
			}
			out = append(out, i)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: rejected indexes of chunk %d of %s: %w", seq, ref.Key(), err)
	}
	return out, nil
}

// rejectsPerStatement bounds a multi-row INSERT of rejected records: at
// most eight parameters a row, well below both databases' limits.
const rejectsPerStatement = 1000

// insertRejects writes rejected records. On SQLite each row takes eight
// plain ? parameters: SQLite reads $N as a named parameter and looks each
// one up in a list of the names seen so far, which made a statement of a
// thousand rows cost more to parse than to run (a quarter of Transform's
// writes in make bench's profile). PostgreSQL numbers its parameters.
func (s *Store) insertRejects(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, seq int, rejects []record.Rejected) error {
	at := s.timeArg(now())
	sqlite := s.driver == DriverSQLite
	for len(rejects) > 0 {
		batch := rejects[:min(len(rejects), rejectsPerStatement)]
		rejects = rejects[len(batch):]
		var q strings.Builder
		q.WriteString(`INSERT INTO rejected_records (run_key, chunk_seq, idx, record_id, reason, detail, raw, rejected_at) VALUES `)
		var args []any
		if sqlite {
			args = make([]any, 0, 8*len(batch))
		} else {
			args = make([]any, 0, 3+5*len(batch))
			args = append(args, ref.Key(), seq, at)
		}
		for i, r := range batch {
			if i > 0 {
				q.WriteByte(',')
			}
			if sqlite {
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, ref.Key(), seq, r.Index, cleanText(r.RecordID), cleanText(r.Reason), cleanText(r.Detail), cleanText(r.Raw), at)
				continue
			}
			p := 4 + 5*i
			fmt.Fprintf(&q, "($1, $2, $%d, $%d, $%d, $%d, $%d, $3)", p, p+1, p+2, p+3, p+4)
			args = append(args, r.Index, cleanText(r.RecordID), cleanText(r.Reason), cleanText(r.Detail), cleanText(r.Raw))
		}
		q.WriteString(` ON CONFLICT (run_key, chunk_seq, idx) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil { // a text per count: not prepared
			return fmt.Errorf("write rejected records of chunk %d: %w", seq, err)
		}
	}
	return nil
}

// LoadChunk upserts chunk seq of clean orders into the orders table and
// advances the load checkpoint (cumulative counts), in one transaction. It
// returns this chunk's counts; a chunk that is already committed is not
// written again, and gives zero counts. logs are written with the chunk
// (ChunkLog).
func (s *Store) LoadChunk(ctx context.Context, ref runinfo.RunRef, source string, seq int, orders []record.Order, logs ...ChunkLog) (Loaded, error) {
	return s.LoadChunkAfter(ctx, ref, source, seq, orders, nil, logs...)
}

// LoadChunkAfter is LoadChunk for a chunk written beside the one before it
// (ParallelWrites): its transaction writes the rows, then waits for turn
// before it checks the checkpoint and commits.
func (s *Store) LoadChunkAfter(ctx context.Context, ref runinfo.RunRef, source string, seq int, orders []record.Order, turn Turn, logs ...ChunkLog) (Loaded, error) {
	return s.loadChunk(ctx, ref, seq, len(orders), turn, func(tx *sql.Tx) (Loaded, error) {
		return s.upsertOrders(ctx, tx, source, orders, ref.Key())
	}, func(tx *sql.Tx) error {
		return s.widenLoadedRange(ctx, tx, ref, orders)
	}, logs)
}

// Turn is what a chunk write waits for before it commits (LoadChunkAfter):
// the chunk before it committed, and its stage counted it. It returns an
// error when that chunk will not commit. A nil Turn waits for nothing.
type Turn func(context.Context) error

// ParallelWrites is how many chunk writes of a stage may run at once, each
// on a connection of its own and committing in turn (LoadChunkAfter): two
// on PostgreSQL, whose server writes each transaction's rows on a core of
// its own (a million orders upserted by two connections at once took
// 6.8-7.1 s, by one 10.4-11.4 s, on a 2-core machine), and one on SQLite,
// which has a single writer.
func (s *Store) ParallelWrites() int { return ParallelWritesOn(s.driver) }

// ParallelWritesOn is ParallelWrites of a store on driver.
func ParallelWritesOn(driver string) int {
	if driver == DriverPostgres {
		return 2
	}
	return 1
}

// errChunkCommitted ends a try of loadChunk that finds its chunk
// committed: what the try wrote is rolled back.
var errChunkCommitted = errors.New("the chunk is already committed")

// loadChunk is the transaction of a Load chunk, for orders and datasets
// alike: upsert writes the chunk's rows (most of the work); then the write
// waits for turn; then it checks and advances the checkpoint (beginChunk),
// runs finish (more of the chunk's writes, nil for none) and writes logs,
// and commits. Everything that touches the run's own rows (its status,
// checkpoint, loaded range and log lines) comes after the turn, so two
// chunks written at once never wait for each other's locks: only the
// rows come first, and Transform kept one record per key in a run.
//
// A write waits for its turn inside its transaction only when it gets one
// of the store's side writes (sideWrites); otherwise, and always on
// SQLite, it waits before it begins, holding no connection and no write
// turn, and then writes as a lone chunk does.
func (s *Store) loadChunk(ctx context.Context, ref runinfo.RunRef, seq, rows int, turn Turn,
	upsert func(*sql.Tx) (Loaded, error), finish func(*sql.Tx) error, logs []ChunkLog) (Loaded, error) {
	wait := func() error {
		if err := turn(ctx); err != nil {
			return fmt.Errorf("store: run %s: load chunk %d: %w", ref.Key(), seq, err)
		}
		return nil
	}
	side := false
	if turn != nil {
		select {
		case s.sideWrites <- struct{}{}: // a nil channel never takes one
			side = true
			defer func() { <-s.sideWrites }()
		default:
			if err := wait(); err != nil {
				return Loaded{}, err
			}
		}
	}
	var res Loaded
	err := s.write(ctx, func(tx *sql.Tx) error {
		got, err := upsert(tx)
		if err != nil {
			return fmt.Errorf("load chunk %d: %w", seq, err)
		}
		if side {
			if err := turn(ctx); err != nil {
				return fmt.Errorf("load chunk %d: %w", seq, err)
			}
		}
		// A try that finds the chunk committed keeps the counts of the
		// try before it, whose commit went through although its answer
		// was lost with the connection (see retry).
		cp, skip, err := s.beginChunk(ctx, tx, ref, runinfo.StageLoad, seq)
		switch {
		case err != nil:
			return err
		case skip:
			return errChunkCommitted
		}
		if finish != nil {
			if err := finish(tx); err != nil {
				return fmt.Errorf("load chunk %d: %w", seq, err)
			}
		}
		cp.NextSeq = seq + 1
		cp.Records += int64(rows)
		cp.Inserted += got.Inserted
		cp.Updated += got.Updated
		cp.Unchanged += got.Unchanged
		if err := s.saveCheckpoint(ctx, tx, ref, runinfo.StageLoad, cp); err != nil {
			return err
		}
		if err := s.chunkLogs(ctx, tx, ref, logs); err != nil {
			return err
		}
		res = got
		return nil
	})
	if err != nil && !errors.Is(err, errChunkCommitted) {
		return Loaded{}, fmt.Errorf("store: run %s: %w", ref.Key(), err)
	}
	return res, nil
}

// Rejected returns the rejected records of a run in the order they were
// met; limit <= 0 means all of them.
func (s *Store) Rejected(ctx context.Context, ref runinfo.RunRef, limit int) ([]record.Rejected, error) {
	q := `SELECT idx, record_id, reason, detail, raw FROM rejected_records WHERE run_key = $1 ORDER BY chunk_seq, idx`
	args := []any{ref.Key()}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	var out []record.Rejected
	err := s.read(ctx, func() error {
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = nil
		for rows.Next() {
			var r record.Rejected
			if err := rows.Scan(&r.Index, &r.RecordID, &r.Reason, &r.Detail, &r.Raw); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: rejected records of %s: %w", ref.Key(), err)
	}
	return out, nil
}

// PruneStaging drops the staged chunks (and kept ids) of runs whose
// checkpoints have not moved since before: runs that ended without
// FinishRun or CompleteRun (a terminated workflow, a lost worker). It
// returns how many chunks it dropped. A janitor should pass a time well
// beyond the longest run.
func (s *Store) PruneStaging(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		const stale = `SELECT run_key FROM stage_checkpoints GROUP BY run_key HAVING max(updated_at) < $1`
		res, err := s.txExec(ctx, tx, `DELETE FROM stage_chunks WHERE run_key IN (`+stale+`)`, s.timeArg(before))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		rows, err := s.txQuery(ctx, tx, stale, s.timeArg(before))
		if err != nil {
			return err
		}
		var runs []int64
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				_ = rows.Close()
				return err
			}
			wf, run, _ := strings.Cut(key, "/")
			runs = append(runs, RunNumber(runinfo.RunRef{WorkflowID: wf, RunID: run}))
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, r := range runs {
			if _, err := s.txExec(ctx, tx, `DELETE FROM stage_ids WHERE run = $1`, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune staging: %w", err)
	}
	return n, nil
}
