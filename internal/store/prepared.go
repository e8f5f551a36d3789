package store

import (
	"context"
	"database/sql"
)

// preparedMax bounds the statements prepared by their text (prepared):
// only the store's constant texts go through it, a few dozen. A text
// built for one call (a VALUES list of its length, a LIMIT) is run as
// text: a prepared statement of hundreds of rows holds its program's
// memory on every connection.
const preparedMax = 256

// prepared returns query as a statement prepared once for the write
// connection on SQLite, or nil (on PostgreSQL, whose driver caches the
// statements it prepares, or when preparing failed: the caller runs the
// text, and meets the error there). modernc prepares a statement given as
// text on every call, which is most of what a small statement costs:
// without these, preparing took a tenth of a small run's worker CPU
// (`make bench`'s latency profile).
func (s *Store) prepared(ctx context.Context, query string) *sql.Stmt {
	return s.preparedOn(ctx, s.wdb, s.texts, query)
}

// preparedOn is prepared for db, with cache its statements by text.
func (s *Store) preparedOn(ctx context.Context, db *sql.DB, cache map[string]*sql.Stmt, query string) *sql.Stmt {
	if s.driver != DriverSQLite {
		return nil
	}
	s.mu.Lock()
	st, ok := cache[query]
	full := cache == nil || len(cache) >= preparedMax
	s.mu.Unlock()
	if ok || full {
		return st
	}
	// Prepared without the lock, which a write may want meanwhile: the
	// pool may have to wait for a connection.
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if had, ok := cache[query]; ok || cache == nil || len(cache) >= preparedMax {
		_ = st.Close() // prepared meanwhile, or closed, or full
		return had
	}
	cache[query] = st
	return st
}

// dbQueryRow is the read pool's QueryRowContext through statements
// prepared once by their text on SQLite, as prepared is for writes.
func (s *Store) dbQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.preparedOn(ctx, s.db, s.rtexts, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

// dbQuery is the read pool's QueryContext, as dbQueryRow.
func (s *Store) dbQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.preparedOn(ctx, s.db, s.rtexts, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, query, args...)
}

// cachedRows queries one row through the store's prepared statements: in
// tx, or on the read pool when tx is nil.
type cachedRows struct {
	s  *Store
	tx *sql.Tx
}

func (c cachedRows) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if c.tx != nil {
		return c.s.txQueryRow(ctx, c.tx, query, args...)
	}
	return c.s.dbQueryRow(ctx, query, args...)
}

// txExec is tx.ExecContext through prepared.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.prepared(ctx, query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQueryRow is tx.QueryRowContext through prepared.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.prepared(ctx, query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// txQuery is tx.QueryContext through prepared.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := s.prepared(ctx, query); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}
