package store

import (
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLiteWritesShareOneConnection: every write transaction runs on the
// same connection, however many reads run beside it, so that no write
// finds its page cache dropped. PRAGMA data_version, read inside each
// write, stays the same on one connection that alone writes, and changes
// on any connection another one has written past.
func TestSQLiteWritesShareOneConnection(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "w.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	require.NoError(t, s.write(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), `CREATE TABLE written (n INTEGER)`)
		return err
	}))
	const writers, writes = 4, 25
	versions := make(chan int64, writers*writes)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range writes {
				require.NoError(t, s.write(t.Context(), func(tx *sql.Tx) error {
					var v int64
					if err := tx.QueryRowContext(t.Context(), `PRAGMA data_version`).Scan(&v); err != nil {
						return err
					}
					versions <- v
					_, err := tx.ExecContext(t.Context(), `INSERT INTO written (n) VALUES (1)`)
					return err
				}))
				var n int
				require.NoError(t, s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM written`).Scan(&n))
			}
		})
	}
	wg.Wait()
	close(versions)
	seen := map[int64]int{}
	for v := range versions {
		seen[v]++
	}
	require.Len(t, seen, 1, "data_version inside the writes, by value: a write saw another connection's commit")
	var n int
	require.NoError(t, s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM written`).Scan(&n))
	require.Equal(t, writers*writes, n)
}
