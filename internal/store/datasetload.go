package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// The upsert of a dataset's rows is the orders upsert (orders.go) with
// the columns of a definition:
//
//	INSERT ... ON CONFLICT (key) DO UPDATE SET ..., _version = t._version + 1
//	WHERE t._row_hash <> excluded._row_hash
//	RETURNING _version
//
// counted by countReturned. SQLite gets multi-row VALUES through
// statements prepared once per table, shape (the columns, their order and
// the key) and power-of-two row count, with anonymous ? parameters;
// PostgreSQL gets one typed array per column expanded by unnest(): one
// statement, whatever the number of rows.

// sqliteMaxParams bounds the parameters of one SQLite statement (SQLite's
// limit is 32766).
const sqliteMaxParams = 32000

// datasetShape is what the upsert SQL of a definition depends on.
type datasetShape struct {
	def dataset.Definition
	// key is the columns, types and key spelled out: the statement cache's
	// key, so that a changed definition never reuses another's statement.
	key string
	// keyIdx are the indexes in def.Fields of the key's fields.
	keyIdx []int
	// rowsPerStmt is the largest SQLite batch: a power of two.
	rowsPerStmt int
}

func newShape(def dataset.Definition) (*datasetShape, error) {
	if def.Builtin {
		return nil, fmt.Errorf("dataset %q is built in: its loads have their own path (LoadChunk for orders)", def.Name)
	}
	if err := CheckDataset(def); err != nil {
		return nil, err
	}
	sh := &datasetShape{def: def}
	var b strings.Builder
	for i, f := range def.Fields {
		fmt.Fprintf(&b, "%s:%s(%d,%d),", f.ColumnName(), f.Type, f.Precision, f.Scale)
		for _, k := range def.Key {
			if k == f.Name {
				sh.keyIdx = append(sh.keyIdx, i)
			}
		}
	}
	b.WriteString("key:" + keyColumns(def))
	sh.key = b.String()
	sh.rowsPerStmt = batchRows(sqliteRowsPerStatement, sqliteMaxParams/(len(def.Fields)+1))
	return sh, nil
}

// columnList is the INSERT's column list.
func (sh *datasetShape) columnList() string {
	var b strings.Builder
	for _, f := range sh.def.Fields {
		b.WriteString(quoteIdent(f.ColumnName()) + ", ")
	}
	b.WriteString("_source, _row_hash, _version, _first_run, _last_run, _loaded_at")
	return b.String()
}

// conflictTail is the upsert's ON CONFLICT clause and RETURNING.
func (sh *datasetShape) conflictTail() string {
	t := quoteIdent(sh.def.Name)
	var b strings.Builder
	b.WriteString("\nON CONFLICT (" + keyColumns(sh.def) + ") DO UPDATE SET ")
	for i, f := range sh.def.Fields {
		if isKey(sh.keyIdx, i) {
			continue
		}
		c := quoteIdent(f.ColumnName())
		b.WriteString(c + " = excluded." + c + ", ")
	}
	b.WriteString("_source = excluded._source, _row_hash = excluded._row_hash, _version = " + t + "._version + 1, ")
	b.WriteString("_last_run = excluded._last_run, _loaded_at = excluded._loaded_at\n")
	b.WriteString("WHERE " + t + "._row_hash <> excluded._row_hash\nRETURNING _version")
	return b.String()
}

func isKey(keyIdx []int, i int) bool {
	for _, k := range keyIdx {
		if k == i {
			return true
		}
	}
	return false
}

// datasetStmtKey names a prepared SQLite upsert, or the lookup of the
// rows' hashes (skipUnchangedDataset).
type datasetStmtKey struct {
	table, shape string
	rows         int
	lookup       bool
}

// datasetStmt returns the prepared SQLite upsert of n rows of a shape, or
// the lookup of their hashes, preparing it on first use.
func (s *Store) datasetStmt(ctx context.Context, sh *datasetShape, n int, lookup bool) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := datasetStmtKey{sh.def.Name, sh.key, n, lookup}
	if st, ok := s.dstmts[key]; ok {
		return st, nil
	}
	if s.dstmts == nil {
		return nil, fmt.Errorf("prepare statement: %w", sql.ErrConnDone)
	}
	if lookup {
		st, err := s.wdb.PrepareContext(ctx, sh.lookupSQL(n))
		if err != nil {
			return nil, fmt.Errorf("prepare the lookup of %d rows: %w", n, err)
		}
		s.dstmts[key] = st
		return st, nil
	}
	nf := len(sh.def.Fields)
	var q strings.Builder
	q.WriteString("INSERT INTO " + quoteIdent(sh.def.Name) + " (" + sh.columnList() + ")\nSELECT ")
	for i := range nf {
		fmt.Fprintf(&q, "column%d, ", i+1)
	}
	// The SELECT list's parameters come first: source, first_run,
	// last_run, loaded_at; then nf+1 per VALUES row (the hash last).
	fmt.Fprintf(&q, "?, column%d, 1, ?, ?, ? FROM (VALUES ", nf+1)
	row := "(" + strings.Repeat("?,", nf) + "?)"
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
	}
	q.WriteString(") WHERE true") // WHERE: SQLite would read ON as a join clause
	q.WriteString(sh.conflictTail())
	st, err := s.wdb.PrepareContext(ctx, q.String())
	if err != nil {
		return nil, fmt.Errorf("prepare the upsert of %d rows: %w", n, err)
	}
	s.dstmts[key] = st
	return st, nil
}

// lookupSQL reads the hashes of n rows by their key: each VALUES row is
// the row's index in the write, then its key's values; the join seeks
// the table's primary key.
func (sh *datasetShape) lookupSQL(n int) string {
	var q strings.Builder
	q.WriteString("SELECT v.column1, t._row_hash FROM (VALUES ")
	row := "(?" + strings.Repeat(",?", len(sh.keyIdx)) + ")"
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
	}
	q.WriteString(") AS v JOIN " + quoteIdent(sh.def.Name) + " AS t ON ")
	for j, k := range sh.keyIdx {
		if j > 0 {
			q.WriteString(" AND ")
		}
		fmt.Fprintf(&q, "t.%s = v.column%d", quoteIdent(sh.def.Fields[k].ColumnName()), j+2)
	}
	return q.String()
}

// skipUnchangedDataset counts as unchanged, in res, the rows already in
// place with the same hash, and returns the others, in order, for the
// upsert (see skipInPlace). SQLite only.
func (s *Store) skipUnchangedDataset(ctx context.Context, tx *sql.Tx, sh *datasetShape, rows []dataset.Row, res *Loaded) ([]dataset.Row, error) {
	return skipInPlace(rows, func(r dataset.Row) string { return r.Key }, func(idx []int) (map[int]bool, error) {
		same := map[int]bool{}
		perRow := 1 + len(sh.keyIdx)
		args := make([]any, 0, perRow*min(len(idx), sh.rowsPerStmt))
		for len(idx) > 0 {
			n := batchRows(sh.rowsPerStmt, len(idx))
			batch := idx[:n]
			idx = idx[n:]
			args = args[:0]
			for _, i := range batch {
				args = append(args, int64(i))
				for _, k := range sh.keyIdx {
					args = append(args, sqliteValue(rows[i].Values[k]))
				}
			}
			stmt, err := s.datasetStmt(ctx, sh, n, true)
			if err != nil {
				return nil, err
			}
			err = scanHashes(ctx, tx, stmt, args, func(i int64, hash int64) {
				if i >= 0 && int(i) < len(rows) && rows[i].Hash == hash {
					same[int(i)] = true
				}
			})
			if err != nil {
				return nil, fmt.Errorf("read the rows' hashes: %w", err)
			}
		}
		return same, nil
	}, res)
}

// dropDatasetStmts forgets the prepared upserts of a table whose columns
// changed. It runs in a write, so on SQLite (the only user of the cache)
// no upsert of this process is using them.
func (s *Store) dropDatasetStmts(table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.dstmts {
		if k.table == table {
			_ = st.Close()
			delete(s.dstmts, k)
		}
	}
}

// WriteDataset upserts rows of def outside of any run, in one
// transaction (WriteOrders' counterpart). The table must hold def
// (EnsureDataset).
func (s *Store) WriteDataset(ctx context.Context, def dataset.Definition, source string, rows []dataset.Row) (Loaded, error) {
	return s.WriteDatasetAs(ctx, def, runinfo.RunRef{}, source, rows)
}

// WriteDatasetAs is WriteDataset recording run (none when zero) as the
// run that inserted or last changed each row, as WriteOrdersAs does.
func (s *Store) WriteDatasetAs(ctx context.Context, def dataset.Definition, run runinfo.RunRef, source string, rows []dataset.Row) (Loaded, error) {
	sh, err := newShape(def)
	if err != nil {
		return Loaded{}, fmt.Errorf("store: write dataset: %w", err)
	}
	var res Loaded
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.upsertDataset(ctx, tx, sh, source, rows, writerKey(run))
		return err
	})
	if err != nil {
		return Loaded{}, fmt.Errorf("store: write dataset %q: %w", def.Name, err)
	}
	return res, nil
}

// LoadDatasetChunk upserts chunk seq of a run's rows of def into its
// table and advances the load checkpoint, in one transaction, exactly
// once like LoadChunk (see Checkpoint): a chunk already committed is not
// written again, and gives zero counts. The table must hold def
// (EnsureDataset, before the run's first chunk). A row the database
// refuses is a *RowError naming its key. logs are written with the chunk
// (ChunkLog).
func (s *Store) LoadDatasetChunk(ctx context.Context, ref runinfo.RunRef, source string, seq int, def dataset.Definition, rows []dataset.Row, logs ...ChunkLog) (Loaded, error) {
	return s.LoadDatasetChunkAfter(ctx, ref, source, seq, def, rows, nil, logs...)
}

// LoadDatasetChunkAfter is LoadDatasetChunk for a chunk written beside the
// one before it, as LoadChunkAfter is LoadChunk's.
func (s *Store) LoadDatasetChunkAfter(ctx context.Context, ref runinfo.RunRef, source string, seq int, def dataset.Definition, rows []dataset.Row, turn Turn, logs ...ChunkLog) (Loaded, error) {
	sh, err := newShape(def)
	if err != nil {
		return Loaded{}, fmt.Errorf("store: run %s: %w", ref.Key(), err)
	}
	return s.loadChunk(ctx, ref, seq, len(rows), turn, func(tx *sql.Tx) (Loaded, error) {
		res, err := s.upsertDataset(ctx, tx, sh, source, rows, ref.Key())
		if err != nil {
			return res, fmt.Errorf("dataset %q: %w", def.Name, err)
		}
		return res, nil
	}, nil, logs)
}

// upsertDataset writes rows in tx, recording run (nil outside a run) as
// the run that inserted or last changed each. Rows are applied in order:
// a key that appears twice is inserted, then updated (or left unchanged).
// A row the database refuses although its values passed checkValue (it
// should not happen: the rules ran) is found by writing the batch's rows
// one at a time, and named in a *RowError.
func (s *Store) upsertDataset(ctx context.Context, tx *sql.Tx, sh *datasetShape, source string, rows []dataset.Row, run any) (Loaded, error) {
	if run == "" {
		run = nil
	}
	for i := range rows {
		if err := sh.checkRow(&rows[i]); err != nil {
			return Loaded{}, err
		}
	}
	var res Loaded
	upsert := s.upsertDatasetSQLite
	if s.driver == DriverPostgres {
		upsert = s.upsertDatasetPostgres
	} else {
		var err error
		if rows, err = s.skipUnchangedDataset(ctx, tx, sh, rows, &res); err != nil {
			return Loaded{}, err
		}
	}
	// The savepoint lets a refused row be looked for: a failed statement
	// aborts PostgreSQL's transaction up to it.
	if _, err := s.txExec(ctx, tx, `SAVEPOINT dataset_rows`); err != nil {
		return Loaded{}, fmt.Errorf("upsert: %w", err)
	}
	err := upsert(ctx, tx, sh, source, rows, run, &res)
	if err == nil || !isDataError(err) {
		return res, err
	}
	if _, rbErr := s.txExec(ctx, tx, `ROLLBACK TO SAVEPOINT dataset_rows`); rbErr != nil {
		return Loaded{}, errors.Join(err, rbErr)
	}
	return Loaded{}, s.findRefusedRow(ctx, tx, sh, source, rows, run, upsert, err)
}

type datasetUpsert func(ctx context.Context, tx *sql.Tx, sh *datasetShape, source string, rows []dataset.Row, run any, res *Loaded) error

// findRefusedRow writes rows one at a time, each under a savepoint, to
// name the first one the database refuses. The transaction is rolled
// back afterwards: the load fails.
func (s *Store) findRefusedRow(ctx context.Context, tx *sql.Tx, sh *datasetShape, source string, rows []dataset.Row, run any, upsert datasetUpsert, batchErr error) error {
	for i := range rows {
		if _, err := s.txExec(ctx, tx, `SAVEPOINT dataset_row`); err != nil {
			break
		}
		var res Loaded
		err := upsert(ctx, tx, sh, source, rows[i:i+1], run, &res)
		if err != nil && isDataError(err) {
			return &RowError{Dataset: sh.def.Name, RecordID: rows[i].Key, Err: err}
		}
		if _, err := s.txExec(ctx, tx, `ROLLBACK TO SAVEPOINT dataset_row`); err != nil {
			break
		}
	}
	return &RowError{Dataset: sh.def.Name, RecordID: rows[0].Key, Err: fmt.Errorf("a row of the %d from this one: %w", len(rows), batchErr)}
}

// isDataError reports whether the database refused a statement for the
// data it was given (PostgreSQL's classes 22, data exception, and 23,
// integrity constraint violation; SQLite's constraint and type mismatch
// errors), which no retry can cure.
func isDataError(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23")
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG:
			return true
		}
	}
	return false
}

// checkRow refuses, before the database sees it, a row that does not fit
// the definition: not one value per field, a value whose Go type is not
// its field's normal form (see dataset.Value), a key value missing, text
// that is not valid UTF-8 or holds NUL, an instant outside the years 1 to
// 9999 (the fixed-width text of SQLite, PostgreSQL's limits). dataset's
// normaliser produces none of these: an error here means the two drifted.
func (sh *datasetShape) checkRow(r *dataset.Row) error {
	refuse := func(format string, args ...any) error {
		return &RowError{Dataset: sh.def.Name, RecordID: cleanText(r.Key), Err: fmt.Errorf(format, args...)}
	}
	if len(r.Values) != len(sh.def.Fields) {
		return refuse("%d values for %d fields", len(r.Values), len(sh.def.Fields))
	}
	for i, f := range sh.def.Fields {
		v := r.Values[i]
		if v == nil {
			if isKey(sh.keyIdx, i) {
				return refuse("key field %q has no value", f.Name)
			}
			continue
		}
		ok := false
		switch f.Type {
		case dataset.String, dataset.Email, dataset.Decimal, dataset.Date, dataset.JSON:
			var str string
			str, ok = v.(string)
			if ok && cleanText(str) != str {
				return refuse("field %q is not valid UTF-8 text, or holds a NUL byte", f.Name)
			}
		case dataset.Integer:
			_, ok = v.(int64)
		case dataset.Boolean:
			_, ok = v.(bool)
		case dataset.Timestamp:
			var t time.Time
			t, ok = v.(time.Time)
			if y := t.UTC().Year(); ok && (y < 1 || y > 9999) {
				return refuse("field %q: timestamp %s is outside the years 1 to 9999", f.Name, t.UTC().Format(time.RFC3339Nano))
			}
		}
		if !ok {
			return refuse("field %q of type %s holds a %T, not its normal form", f.Name, f.Type, v)
		}
	}
	return nil
}

func (s *Store) upsertDatasetSQLite(ctx context.Context, tx *sql.Tx, sh *datasetShape, source string, rows []dataset.Row, run any, res *Loaded) error {
	loadedAt := now().Format(timeLayout)
	perRow := len(sh.def.Fields) + 1
	args := make([]any, 0, 4+perRow*min(len(rows), sh.rowsPerStmt))
	for len(rows) > 0 {
		n := batchRows(sh.rowsPerStmt, len(rows))
		batch := rows[:n]
		rows = rows[n:]
		args = append(args[:0], source, run, run, loadedAt)
		for i := range batch {
			for _, v := range batch[i].Values {
				args = append(args, sqliteValue(v))
			}
			args = append(args, batch[i].Hash)
		}
		stmt, err := s.datasetStmt(ctx, sh, n, false)
		if err != nil {
			return err
		}
		rs, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
		if err := countReturned(rs, n, res); err != nil {
			return err
		}
	}
	return nil
}

// sqliteValue is the bind value of a normal-form value in its SQLite
// column: booleans as 0 and 1, instants as timeLayout text, the rest as
// they are (checkRow checked the types).
func sqliteValue(v dataset.Value) any {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case time.Time:
		return x.UTC().Format(timeLayout)
	}
	return v
}

// pgColumn collects one column's values for unnest. A column without
// NULL travels as a plain slice ([]string, []int64...), which pgx encodes
// without reflection (twice as fast as pgtype values); one with NULLs as
// pgtype values, Valid false where the row has none.
type pgColumn struct {
	text  []string
	ints  []int64
	bools []bool
	times []time.Time
	valid []bool
	nulls bool
}

func (c *pgColumn) reset() {
	c.text, c.ints, c.bools, c.times, c.valid, c.nulls = c.text[:0], c.ints[:0], c.bools[:0], c.times[:0], c.valid[:0], false
}

// add appends a value of field type t (nil for NULL).
func (c *pgColumn) add(t dataset.Type, v dataset.Value) {
	ok := v != nil
	c.valid = append(c.valid, ok)
	c.nulls = c.nulls || !ok
	switch t {
	case dataset.Integer:
		x, _ := v.(int64)
		c.ints = append(c.ints, x)
	case dataset.Boolean:
		x, _ := v.(bool)
		c.bools = append(c.bools, x)
	case dataset.Timestamp:
		x, _ := v.(time.Time)
		c.times = append(c.times, x.UTC())
	default:
		x, _ := v.(string)
		c.text = append(c.text, x)
	}
}

// array is the column's bind value.
func (c *pgColumn) array(t dataset.Type) any {
	switch t {
	case dataset.Integer:
		if !c.nulls {
			return c.ints
		}
		return withNulls(c.ints, c.valid, func(x int64, ok bool) pgtype.Int8 { return pgtype.Int8{Int64: x, Valid: ok} })
	case dataset.Boolean:
		if !c.nulls {
			return c.bools
		}
		return withNulls(c.bools, c.valid, func(x bool, ok bool) pgtype.Bool { return pgtype.Bool{Bool: x, Valid: ok} })
	case dataset.Timestamp:
		if !c.nulls {
			return c.times
		}
		return withNulls(c.times, c.valid, func(x time.Time, ok bool) pgtype.Timestamptz { return pgtype.Timestamptz{Time: x, Valid: ok} })
	}
	if !c.nulls {
		return c.text
	}
	return withNulls(c.text, c.valid, func(x string, ok bool) pgtype.Text { return pgtype.Text{String: x, Valid: ok} })
}

func withNulls[T, P any](xs []T, valid []bool, mk func(T, bool) P) []P {
	out := make([]P, len(xs))
	for i, x := range xs {
		out[i] = mk(x, valid[i])
	}
	return out
}

// pgArrayType is the array type a field's values travel in, and pgCast
// the cast of an element to its column's type ("" for none).
func pgArrayType(f dataset.Field) string {
	switch f.Type {
	case dataset.Integer:
		return "bigint[]"
	case dataset.Boolean:
		return "boolean[]"
	case dataset.Timestamp:
		return "timestamptz[]"
	}
	return "text[]"
}

func pgCast(f dataset.Field) string {
	switch f.Type {
	case dataset.Decimal:
		return "::numeric"
	case dataset.Date:
		return "::date"
	case dataset.JSON:
		return "::jsonb"
	}
	return ""
}

// postgresDatasetSQL is the unnest upsert of a shape.
func postgresDatasetSQL(sh *datasetShape) string {
	nf := len(sh.def.Fields)
	var sel, arrays, names strings.Builder
	for i, f := range sh.def.Fields {
		fmt.Fprintf(&sel, "u.f%d%s, ", i, pgCast(f))
		fmt.Fprintf(&arrays, "$%d::%s, ", i+4, pgArrayType(f))
		fmt.Fprintf(&names, "f%d, ", i)
	}
	fmt.Fprintf(&arrays, "$%d::bigint[]", nf+4)
	names.WriteString("h")
	return "INSERT INTO " + quoteIdent(sh.def.Name) + " (" + sh.columnList() + ")\nSELECT " + sel.String() +
		"$1::text, u.h, 1, $2::text, $2::text, $3::timestamptz\nFROM unnest(" + arrays.String() + ") AS u(" + names.String() + ")" +
		sh.conflictTail()
}

func (s *Store) upsertDatasetPostgres(ctx context.Context, tx *sql.Tx, sh *datasetShape, source string, rows []dataset.Row, run any, res *Loaded) error {
	query := postgresDatasetSQL(sh)
	loadedAt := now()
	size := min(len(rows), postgresRowsPerStatement)
	cols := make([]pgColumn, len(sh.def.Fields))
	hashes := make([]int64, 0, size)
	// seen holds the keys of the batch: PostgreSQL refuses to change a
	// row twice in one statement, so a repeated key starts a new batch.
	seen := make(map[string]struct{}, size)
	args := make([]any, 3+len(cols)+1)
	flush := func() error {
		if len(hashes) == 0 {
			return nil
		}
		args[0], args[1], args[2] = source, run, loadedAt
		for i, f := range sh.def.Fields {
			args[3+i] = cols[i].array(f.Type)
		}
		args[3+len(cols)] = hashes
		rs, err := s.txQuery(ctx, tx, query, args...)
		if err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
		if err := countReturned(rs, len(hashes), res); err != nil {
			return err
		}
		for i := range cols {
			cols[i].reset()
		}
		hashes = hashes[:0]
		clear(seen)
		return nil
	}
	for r := range rows {
		row := &rows[r]
		if _, dup := seen[row.Key]; dup || len(hashes) == postgresRowsPerStatement {
			if err := flush(); err != nil {
				return err
			}
		}
		seen[row.Key] = struct{}{}
		for i, f := range sh.def.Fields {
			cols[i].add(f.Type, row.Values[i])
		}
		hashes = append(hashes, row.Hash)
	}
	return flush()
}
