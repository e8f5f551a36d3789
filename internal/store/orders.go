package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// The upsert is the hot path of a load. Both databases run
//
//	INSERT ... ON CONFLICT (source, record_id) DO UPDATE SET ...,
//	    version = orders.version + 1
//	WHERE orders.row_hash <> excluded.row_hash
//	RETURNING version
//
// so one statement both writes and counts: a returned version of 1 is an
// insert, a higher one an update, and a row not returned was unchanged
// (its hash matched, so the WHERE skipped it).
//
// SQLite gets the rows as a multi-row VALUES list through a statement that
// is prepared once per shape: batches have a power-of-two number of rows up
// to sqliteRowsPerStatement, so a handful of shapes cover every size. The
// values all rows share (source, run, load time) are bound once, in the
// SELECT list around the VALUES. Parameters are anonymous (?): modernc
// binds those several times faster than numbered $N ones.
// PostgreSQL gets them as seven arrays expanded by unnest(): one statement
// (prepared and cached by pgx) whatever the size, binary-encoded.

// sqliteRowsPerStatement is the largest SQLite batch; a power of two. Each
// row binds 7 parameters: 7172 a statement, below SQLite's limit of 32766.
// Larger batches measured no faster.
const sqliteRowsPerStatement = 1024

// batchRows is the rows of the next SQLite batch when left rows remain:
// the largest power of two up to limit (itself a power of two) that fits,
// so that a handful of prepared statement shapes cover every size.
func batchRows(limit, left int) int {
	n := limit
	for n > left {
		n /= 2
	}
	return n
}

// postgresRowsPerStatement bounds the arrays of one PostgreSQL statement,
// to keep memory flat on huge writes.
const postgresRowsPerStatement = 10000

const orderColumns = `source, record_id, customer_email, category, amount, currency, ordered_at, row_hash, version, first_run, last_run, loaded_at`

const upsertTail = `
ON CONFLICT (source, record_id) DO UPDATE SET
	customer_email = excluded.customer_email,
	category = excluded.category,
	amount = excluded.amount,
	currency = excluded.currency,
	ordered_at = excluded.ordered_at,
	row_hash = excluded.row_hash,
	version = orders.version + 1,
	last_run = excluded.last_run,
	loaded_at = excluded.loaded_at
WHERE orders.row_hash <> excluded.row_hash
RETURNING version`

const postgresUpsert = `INSERT INTO orders (` + orderColumns + `)
SELECT $1::text, u.id, u.email, u.category, u.amount::numeric, u.currency, u.ordered_at, u.row_hash, 1, $2::text, $2::text, $3::timestamptz
FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::bigint[])
	AS u(id, email, category, amount, currency, ordered_at, row_hash)` + upsertTail

// WriteOrders upserts orders outside of any run, in one transaction: the
// loading primitive on its own.
func (s *Store) WriteOrders(ctx context.Context, source string, orders []record.Order) (Loaded, error) {
	return s.WriteOrdersAs(ctx, runinfo.RunRef{}, source, orders)
}

// WriteOrdersAs is WriteOrders recording run (none when zero) as the run
// that inserted or last changed each row, as a run's Load does but
// without its checkpoint: the rows a run leaves in the table, written by
// the upsert alone (the benchmark's store-alone baseline).
func (s *Store) WriteOrdersAs(ctx context.Context, run runinfo.RunRef, source string, orders []record.Order) (Loaded, error) {
	var res Loaded
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.upsertOrders(ctx, tx, source, orders, writerKey(run))
		return err
	})
	if err != nil {
		return Loaded{}, fmt.Errorf("store: write orders: %w", err)
	}
	return res, nil
}

// writerKey is what the bookkeeping columns of the rows run writes hold:
// its key, or "" (NULL) for the zero RunRef, a write outside any run.
func writerKey(run runinfo.RunRef) string {
	if run == (runinfo.RunRef{}) {
		return ""
	}
	return run.Key()
}

// upsertOrders writes orders of one source in tx, recording runKey (NULL
// when empty) as the run that inserted or last changed each row. Orders
// are applied in order: a record ID that appears twice is inserted, then
// updated (or left unchanged).
func (s *Store) upsertOrders(ctx context.Context, tx *sql.Tx, source string, orders []record.Order, runKey string) (Loaded, error) {
	var run any
	if runKey != "" {
		run = runKey
	}
	if s.driver == DriverPostgres {
		return s.upsertPostgres(ctx, tx, source, orders, run)
	}
	return s.upsertSQLite(ctx, tx, source, orders, run)
}

func (s *Store) upsertSQLite(ctx context.Context, tx *sql.Tx, source string, orders []record.Order, run any) (Loaded, error) {
	var res Loaded
	for i := range orders {
		if err := checkOrder(&orders[i]); err != nil {
			return Loaded{}, err
		}
	}
	orders, err := s.skipUnchangedSQLite(ctx, tx, source, orders, &res)
	if err != nil {
		return Loaded{}, err
	}
	loadedAt := now().Format(timeLayout)
	const perRow = 7
	args := make([]any, 0, 4+perRow*min(len(orders), sqliteRowsPerStatement))
	for len(orders) > 0 {
		n := batchRows(sqliteRowsPerStatement, len(orders))
		batch := orders[:n]
		orders = orders[n:]
		// The parameters in statement order: the SELECT list's (source,
		// first_run, last_run, loaded_at), then perRow per VALUES row.
		args = append(args[:0], source, run, run, loadedAt)
		for i := range batch {
			o := &batch[i]
			args = append(args, o.ID, cleanText(o.CustomerEmail), cleanText(o.Category), o.Amount,
				cleanText(o.Currency), o.Timestamp.UTC().Format(timeLayout), o.Hash())
		}
		stmt, err := s.sqliteStmt(ctx, stmtUpsert, n)
		if err != nil {
			return Loaded{}, err
		}
		rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
		if err != nil {
			return Loaded{}, fmt.Errorf("upsert orders: %w", err)
		}
		if err := countReturned(rows, n, &res); err != nil {
			return Loaded{}, err
		}
	}
	return res, nil
}

// skipUnchangedSQLite counts as unchanged, in res, the orders whose row is
// already in place with the same hash, and returns the others, in order,
// for the upsert (see skipInPlace).
func (s *Store) skipUnchangedSQLite(ctx context.Context, tx *sql.Tx, source string, orders []record.Order, res *Loaded) ([]record.Order, error) {
	// The probe's lookup tells whether the write's ids sit together: the
	// lookup of all of them reads their range only if the probe's did.
	tryRange := true
	return skipInPlace(orders, func(o record.Order) string { return o.ID }, func(idx []int) (map[int]bool, error) {
		same, ranged, err := s.sameOrderHashes(ctx, tx, source, orders, idx, tryRange)
		tryRange = ranged
		return same, err
	}, res)
}

// sameOrderHashes returns which of orders[idx] have their row of source
// in place with the same hash.
//
// A write's ids usually sit together in the key's order (an API's ids
// grow), and then reading the rows between its smallest and its largest
// id is one pass along the primary key, two to three times faster than a
// seek for each id, which compares the source's text first. With
// tryRange, the pass is tried first and stops after twice as many rows as
// ids plus one: ids scattered among other rows (random keys) are then
// looked up one by one; ranged says the pass sufficed.
func (s *Store) sameOrderHashes(ctx context.Context, tx *sql.Tx, source string, orders []record.Order, idx []int, tryRange bool) (same map[int]bool, ranged bool, err error) {
	same = map[int]bool{}
	at := make(map[string]int, len(idx)) // an ID's last index: one twice is upserted anyway
	lo, hi := orders[idx[0]].ID, orders[idx[0]].ID
	for _, i := range idx {
		id := orders[i].ID
		at[id] = i
		lo, hi = min(lo, id), max(hi, id)
	}
	match := func(id string, hash int64) {
		if i, ok := at[id]; ok && orders[i].Hash() == hash {
			same[i] = true
		}
	}
	if tryRange {
		stmt, err := s.sqliteStmt(ctx, stmtOrderRange, 0)
		if err != nil {
			return nil, false, err
		}
		limit := 2*len(idx) + 1
		var ids []string
		var hashes []int64
		err = scanHashes(ctx, tx, stmt, []any{source, lo, hi, limit}, func(id string, hash int64) {
			ids, hashes = append(ids, id), append(hashes, hash)
		})
		if err != nil {
			return nil, false, fmt.Errorf("read the orders' hashes: %w", err)
		}
		if len(ids) < limit {
			for k, id := range ids {
				match(id, hashes[k])
			}
			return same, true, nil
		}
	}
	args := make([]any, 0, 1+min(len(idx), sqliteRowsPerStatement))
	for len(idx) > 0 {
		n := batchRows(sqliteRowsPerStatement, len(idx))
		batch := idx[:n]
		idx = idx[n:]
		args = append(args[:0], source)
		for _, i := range batch {
			args = append(args, orders[i].ID)
		}
		stmt, err := s.sqliteStmt(ctx, stmtOrderHashes, n)
		if err != nil {
			return nil, false, err
		}
		if err := scanHashes(ctx, tx, stmt, args, match); err != nil {
			return nil, false, fmt.Errorf("read the orders' hashes: %w", err)
		}
	}
	return same, false, nil
}

// SQLite statements prepared once per shape, by kind and rows per
// statement.
const (
	stmtUpsert = iota
	stmtKeepIDs
	stmtLookupIDs
	stmtOrderHashes
	stmtOrderRange // one shape, whatever the rows
)

type stmtKey struct{ kind, rows int }

// sqliteStmt returns the prepared statement of a kind for n rows,
// preparing it on first use. database/sql then prepares it once per pooled
// connection.
func (s *Store) sqliteStmt(ctx context.Context, kind, n int) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := stmtKey{kind, n}
	if st, ok := s.stmts[key]; ok {
		return st, nil
	}
	if s.stmts == nil {
		return nil, fmt.Errorf("prepare statement: %w", sql.ErrConnDone)
	}
	var q strings.Builder
	switch kind {
	case stmtUpsert:
		q.Grow(160 + n*16 + len(upsertTail))
		q.WriteString(`INSERT INTO orders (` + orderColumns + `)
SELECT ?, column1, column2, column3, column4, column5, column6, column7, 1, ?, ?, ? FROM (VALUES `)
		for i := range n {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(`(?,?,?,?,?,?,?)`)
		}
		q.WriteString(`) WHERE true`) // WHERE: SQLite would read ON as a join clause
		q.WriteString(upsertTail)
	case stmtKeepIDs:
		q.Grow(120 + n*4)
		q.WriteString(`INSERT INTO stage_ids (run, record_id) SELECT ?, column1 FROM (VALUES `)
		for i := range n {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(`(?)`)
		}
		q.WriteString(`) WHERE true ON CONFLICT DO NOTHING RETURNING record_id`)
	case stmtOrderRange:
		q.WriteString(`SELECT record_id, row_hash FROM orders WHERE source = ? AND record_id BETWEEN ? AND ? ORDER BY record_id LIMIT ?`)
	case stmtOrderHashes:
		q.Grow(90 + n*2)
		q.WriteString(`SELECT record_id, row_hash FROM orders WHERE source = ? AND record_id IN (`)
		for i := range n {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('?')
		}
		q.WriteByte(')')
	case stmtLookupIDs:
		q.Grow(80 + n*2)
		q.WriteString(`SELECT record_id FROM stage_ids WHERE run = ? AND record_id IN (`)
		for i := range n {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('?')
		}
		q.WriteByte(')')
	}
	st, err := s.wdb.PrepareContext(ctx, q.String())
	if err != nil {
		return nil, fmt.Errorf("prepare statement of %d rows: %w", n, err)
	}
	s.stmts[key] = st
	return st, nil
}

func (s *Store) upsertPostgres(ctx context.Context, tx *sql.Tx, source string, orders []record.Order, run any) (Loaded, error) {
	var res Loaded
	loadedAt := now()
	size := min(len(orders), postgresRowsPerStatement)
	var (
		ids, emails, categories = make([]string, 0, size), make([]string, 0, size), make([]string, 0, size)
		amounts, currencies     = make([]string, 0, size), make([]string, 0, size)
		times                   = make([]time.Time, 0, size)
		hashes                  = make([]int64, 0, size)
		// seen holds the IDs of the batch: PostgreSQL refuses to change a
		// row twice in one statement, so a repeated ID starts a new batch.
		seen = make(map[string]struct{}, size)
	)
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		rows, err := s.txQuery(ctx, tx, postgresUpsert, source, run, loadedAt,
			ids, emails, categories, amounts, currencies, times, hashes)
		if err != nil {
			return fmt.Errorf("upsert orders: %w", err)
		}
		if err := countReturned(rows, len(ids), &res); err != nil {
			return err
		}
		ids, emails, categories = ids[:0], emails[:0], categories[:0]
		amounts, currencies, times, hashes = amounts[:0], currencies[:0], times[:0], hashes[:0]
		clear(seen)
		return nil
	}
	for i := range orders {
		o := &orders[i]
		if err := checkOrder(o); err != nil {
			return Loaded{}, err
		}
		if _, dup := seen[o.ID]; dup || len(ids) == postgresRowsPerStatement {
			if err := flush(); err != nil {
				return Loaded{}, err
			}
		}
		seen[o.ID] = struct{}{}
		ids = append(ids, o.ID)
		emails = append(emails, cleanText(o.CustomerEmail))
		categories = append(categories, cleanText(o.Category))
		amounts = append(amounts, o.Amount)
		currencies = append(currencies, cleanText(o.Currency))
		times = append(times, o.Timestamp.UTC())
		hashes = append(hashes, o.Hash())
	}
	if err := flush(); err != nil {
		return Loaded{}, err
	}
	return res, nil
}

// countReturned adds the outcome of an upsert of n rows to res and closes
// rows.
func countReturned(rows *sql.Rows, n int, res *Loaded) error {
	defer rows.Close()
	returned := 0
	for rows.Next() {
		var version int64
		if err := rows.Scan(&version); err != nil {
			return fmt.Errorf("upsert: read the versions: %w", err)
		}
		returned++
		if version == 1 {
			res.Inserted++
		} else {
			res.Updated++
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("upsert: %w", err)
	}
	res.Unchanged += int64(n - returned)
	return nil
}

// RowError is an order the store refuses to write because of its content.
// No retry can cure it: Load reports it as BadData, naming the record.
// Transform rejects, with a reason, every record that would break one of
// the limits checked here (record's), so a RowError means the two have
// drifted apart.
//
// A dataset's row is one too: Dataset names the dataset, RecordID is the
// row's key (dataset.Row.Key).
type RowError struct {
	RecordID string
	Dataset  string // "" for an order
	Err      error
}

func (e *RowError) Error() string {
	if e.Dataset != "" {
		return fmt.Sprintf("dataset %q: record %q: %v", e.Dataset, e.RecordID, e.Err)
	}
	return fmt.Sprintf("order %q: %v", e.RecordID, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// checkOrder refuses what the orders table cannot hold exactly, with the
// same message on both databases, before the database sees the row: an ID
// that is empty, longer than record.MaxIDLen or not valid text (it is part
// of the key, so it cannot be repaired like the other columns), an amount
// outside record's limits, a timestamp outside record's years.
func checkOrder(o *record.Order) error {
	var err error
	switch {
	case o.ID == "":
		err = errors.New("the id is empty")
	case len(o.ID) > record.MaxIDLen:
		err = fmt.Errorf("the id is longer than %d bytes", record.MaxIDLen)
	case cleanText(o.ID) != o.ID:
		err = errors.New("the id is not valid UTF-8 text")
	default:
		if y := o.Timestamp.UTC().Year(); y < record.MinYear || y > record.MaxYear {
			err = fmt.Errorf("timestamp %s is outside the years %d to %d", o.Timestamp.UTC().Format(time.RFC3339Nano), record.MinYear, record.MaxYear)
		} else {
			err = checkAmount(o.Amount)
		}
	}
	if err != nil {
		return &RowError{RecordID: cleanText(o.ID), Err: err}
	}
	return nil
}

// cleanText makes s storable as TEXT in PostgreSQL, which refuses NUL and
// invalid UTF-8: both become U+FFFD. Well-formed text is returned as is.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// CountOrders counts the orders of a source, or of all sources when source
// is "".
func (s *Store) CountOrders(ctx context.Context, source string) (int64, error) {
	var n int64
	err := s.read(ctx, func() error {
		if source == "" {
			return s.dbQueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&n)
		}
		return s.dbQueryRow(ctx, `SELECT count(*) FROM orders WHERE source = $1`, source).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("store: count orders: %w", err)
	}
	return n, nil
}

// StoredOrder is a row of the orders table.
type StoredOrder struct {
	record.Order
	Source string `json:"source"`
	// Version is 1 when inserted and grows with every change.
	Version int64 `json:"version"`
	// FirstRun inserted the row and LastRun last changed it (run keys, ""
	// when written outside a run).
	FirstRun string    `json:"first_run,omitempty"`
	LastRun  string    `json:"last_run,omitempty"`
	LoadedAt time.Time `json:"loaded_at"`
}

// Order reads one order. An order that does not exist gives an error
// wrapping sql.ErrNoRows. On PostgreSQL the timestamp has microsecond
// precision.
func (s *Store) Order(ctx context.Context, source, id string) (StoredOrder, error) {
	var (
		o                 StoredOrder
		first, last       sql.NullString
		orderedAt, loaded scanTime
	)
	err := s.read(ctx, func() error {
		return s.dbQueryRow(ctx, `
			SELECT source, record_id, customer_email, category, CAST(amount AS TEXT), currency, ordered_at,
				version, first_run, last_run, loaded_at
			FROM orders WHERE source = $1 AND record_id = $2`, source, id).
			Scan(&o.Source, &o.ID, &o.CustomerEmail, &o.Category, &o.Amount, &o.Currency, &orderedAt,
				&o.Version, &first, &last, &loaded)
	})
	if err != nil {
		return StoredOrder{}, fmt.Errorf("store: order %q of %s: %w", id, source, err)
	}
	o.Amount = canonicalDecimal(o.Amount)
	o.Timestamp, o.LoadedAt = orderedAt.Time, loaded.Time
	o.FirstRun, o.LastRun = first.String, last.String
	return o, nil
}

// Loaded counts what a load did to the orders table. It is the warehouse's
// own type, so that nothing here depends on a flow's contract; a flow's
// result converts it (the fields are the same).
type Loaded struct {
	Inserted  int64
	Updated   int64
	Unchanged int64
	// FirstOrderedAt and LastOrderedAt bound the ordered_at of every
	// order the run loaded (inserted, updated or unchanged): the days a
	// report must cover. Nil when nothing was loaded.
	FirstOrderedAt *time.Time
	LastOrderedAt  *time.Time
}
