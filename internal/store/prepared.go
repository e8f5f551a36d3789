package store

import (
	"context"
	"database/sql"
)

// preparedMax bounds the statements prepared by their text (prepared):
// the store's statements are constants, a few dozen; a text built for one
// call (an IN list of its length) beyond the bound is prepared each time,
// as every statement was before.
const preparedMax = 256

// prepared returns query as a statement prepared once for the write
// connection on SQLite, or nil (on PostgreSQL, whose driver caches the
// statements it prepares, or when preparing failed: the caller runs the
// text, and meets the error there). modernc prepares a statement given as
// text on every call, which is most of what a small statement costs:
// without these, preparing took a tenth of a small run's worker CPU
// (`make bench`'s latency profile).
func (s *Store) prepared(ctx context.Context, query string) *sql.Stmt {
	if s.driver != DriverSQLite {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.texts[query]; ok {
		return st
	}
	if s.texts == nil || len(s.texts) >= preparedMax {
		return nil
	}
	st, err := s.wdb.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s.texts[query] = st
	return st
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
