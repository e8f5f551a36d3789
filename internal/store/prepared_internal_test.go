package store

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPreparedStatements: on SQLite a statement is prepared once by its
// text and reused, in write transactions and on the read pool; one that does not prepare runs
// as text and fails there; past preparedMax texts, statements run as
// text, unprepared but right. PostgreSQL's driver caches its own.
func TestPreparedStatements(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)`)
		return err
	}))

	const insert = `INSERT INTO kv (k, v) VALUES ($1, $2)`
	first := s.prepared(ctx, insert)
	require.NotNil(t, first)
	assert.Same(t, first, s.prepared(ctx, insert), "prepared once")
	for i := range 3 {
		require.NoError(t, s.write(ctx, func(tx *sql.Tx) error {
			_, err := s.txExec(ctx, tx, insert, i, fmt.Sprint("v", i))
			return err
		}))
	}
	var n int
	require.NoError(t, s.write(ctx, func(tx *sql.Tx) error {
		return s.txQueryRow(ctx, tx, `SELECT count(*) FROM kv`).Scan(&n)
	}))
	assert.Equal(t, 3, n)
	for range 2 { // the read pool's statements too
		require.NoError(t, s.dbQueryRow(ctx, `SELECT count(*) FROM kv WHERE k >= $1`, 1).Scan(&n))
		assert.Equal(t, 2, n)
	}
	assert.Len(t, s.rtexts, 1, "prepared once")

	assert.Nil(t, s.prepared(ctx, `SELECT k FROM nowhere`))
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `SELECT k FROM nowhere`)
		return err
	})
	assert.ErrorContains(t, err, "no such table: nowhere", "the text's own error")

	for i := len(s.texts); i < preparedMax; i++ {
		require.NotNil(t, s.prepared(ctx, fmt.Sprintf(`SELECT %d`, i)))
	}
	assert.Nil(t, s.prepared(ctx, `SELECT v FROM kv WHERE k = $1`), "beyond the bound")
	var v string
	require.NoError(t, s.write(ctx, func(tx *sql.Tx) error {
		return s.txQueryRow(ctx, tx, `SELECT v FROM kv WHERE k = $1`, 2).Scan(&v)
	}))
	assert.Equal(t, "v2", v)

	if dsn := os.Getenv("BLUEPRINT_TEST_POSTGRES_URL"); dsn != "" {
		pg, err := Open(ctx, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = pg.Close() })
		assert.Nil(t, pg.prepared(ctx, `SELECT 1`))
	}
}
