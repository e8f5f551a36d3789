package store

import (
	"context"
	"database/sql"
)

// inPlaceProbe is how many of a write's first rows are looked up to tell
// whether most of the write is in place already.
const inPlaceProbe = 32

// skipInPlace returns the rows of a write to upsert, in order, and counts
// the others as unchanged in res. On SQLite the upsert of a row already in
// place with the same hash (its conflict, then the WHERE that skips it)
// costs about three times reading its hash, so a write that mostly
// changes nothing, such as a daily re-run of the same source, reads the
// hashes first (same: the indexes, of those given, whose row is in place
// with the same hash) and upserts only the other rows. A probe of its
// first inPlaceProbe rows tells which kind of write it is: when fewer
// than a quarter of them are in place, every row is upserted, and a write
// of new rows pays for the probe alone. A key that is twice in the write
// (key) is always upserted, as the upsert applies its rows in order. The
// table is left as the upsert of every row would leave it: an unchanged
// row is not written.
func skipInPlace[T any](rows []T, key func(T) string, same func(idx []int) (map[int]bool, error), res *Loaded) ([]T, error) {
	n := len(rows)
	if n == 0 {
		return rows, nil
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	probe := all[:min(n, inPlaceProbe)]
	found, err := same(probe)
	if err != nil || len(found) == 0 || len(found)*4 < len(probe) {
		return rows, err
	}
	if len(probe) < n {
		if found, err = same(all); err != nil {
			return nil, err
		}
	}
	seen := make(map[string]int, n)
	for _, r := range rows {
		seen[key(r)]++
	}
	kept := make([]T, 0, n-len(found))
	for i, r := range rows {
		if found[i] && seen[key(r)] == 1 {
			res.Unchanged++
			continue
		}
		kept = append(kept, r)
	}
	return kept, nil
}

// scanHashes runs a lookup of keys and hashes (stmt with args, in tx) and
// gives each row's key and hash to fn.
func scanHashes[K any](ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, args []any, fn func(key K, hash int64)) error {
	rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key  K
			hash int64
		)
		if err := rows.Scan(&key, &hash); err != nil {
			return err
		}
		fn(key, hash)
	}
	return rows.Err()
}
