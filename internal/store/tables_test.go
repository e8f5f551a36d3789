package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

// salesV1 and salesV2 are the two versions of a test flow's table: the
// second adds a column, with a default for the rows already there.
var (
	salesV1 = store.Migration{Version: 1, SQL: []string{`CREATE TABLE sales (
		id     TEXT   NOT NULL PRIMARY KEY,
		amount BIGINT NOT NULL
	)`}}
	salesV2 = store.Migration{Version: 2, SQL: []string{
		`ALTER TABLE sales ADD COLUMN note TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX sales_note ON sales (note)`,
	}}
)

// applied reads the versions of owner recorded in flow_migrations.
func applied(t *testing.T, s *store.Store, owner string) []int {
	t.Helper()
	rows, err := s.Query(ctxT(t), `SELECT version FROM flow_migrations WHERE owner = $1 ORDER BY version`, owner)
	require.NoError(t, err)
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(t, rows.Err())
	return vs
}

// tableExists says whether a table can be read.
func tableExists(t *testing.T, s *store.Store, table string) bool {
	t.Helper()
	var n int
	// table is one of the test's own constants.
	return s.QueryRow(ctxT(t), `SELECT count(*) FROM `+table).Scan(&n) == nil
}

// TestMigrateTables: the versions are applied in order, in one call or
// across calls (the rows written in between are kept), and a call with
// nothing new to apply changes nothing.
func TestMigrateTables(t *testing.T) {
	tests := []struct {
		name  string
		calls []int // how many versions each call declares
	}{
		{name: "two versions in one call", calls: []int{2}},
		{name: "one version per call", calls: []int{1, 2}},
		{name: "re-run", calls: []int{1, 1, 2, 2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachDriver(t, func(t *testing.T, s *store.Store) {
				ctx := ctxT(t)
				all := []store.Migration{salesV1, salesV2}
				rows := 0
				for i, n := range tt.calls {
					require.NoError(t, s.MigrateTables(ctx, "Sales", all[:n]))
					assert.Equal(t, []int{1, 2}[:n], applied(t, s, "Sales"))
					// A row written by every call's version of the flow.
					require.NoError(t, s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
						_, err := tx.Exec(ctx, `INSERT INTO sales (id, amount) VALUES ($1, $2)`, fmt.Sprint("s", i), int64(i))
						return err
					}))
					rows++
				}
				var count int
				var notes string
				require.NoError(t, s.QueryRow(ctx, `SELECT count(*), coalesce(max(note), 'none') FROM sales`).Scan(&count, &notes))
				assert.Equal(t, rows, count, "every row is kept")
				assert.Equal(t, "", notes, "the rows written before version 2 have its default")
				assert.Empty(t, applied(t, s, "Other"), "versions are counted per flow")
			})
		})
	}
}

// TestMigrateTablesConcurrently: workers starting at once (several stores
// on one database, several calls on each) apply each version once.
func TestMigrateTablesConcurrently(t *testing.T) {
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
		ms := []store.Migration{salesV1, salesV2, {Version: 3, SQL: []string{`CREATE TABLE sale_lines (sale TEXT NOT NULL, line BIGINT NOT NULL, PRIMARY KEY (sale, line))`}}}
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = stores[i%len(stores)].MigrateTables(ctx, "Sales", ms) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, []int{1, 2, 3}, applied(t, stores[0], "Sales"))
	})
}

// TestMigrateTablesPerDialect: SQLite and Postgres replace SQL on their
// database (an empty list does nothing there), and an instant written
// with TimeArg reads back as the same Time on both.
func TestMigrateTablesPerDialect(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ms := []store.Migration{
			{
				Version:  1,
				SQLite:   []string{`CREATE TABLE events (id BIGINT PRIMARY KEY, at TEXT NOT NULL)`},
				Postgres: []string{`CREATE TABLE events (id BIGINT PRIMARY KEY, at TIMESTAMPTZ NOT NULL)`},
			},
			{
				Version:  2,
				SQL:      []string{`CREATE INDEX events_at ON events (at)`},
				Postgres: []string{},
			},
		}
		require.NoError(t, s.MigrateTables(ctx, "Events", ms))
		assert.Equal(t, []int{1, 2}, applied(t, s, "Events"))

		var colType string
		var indexes int
		if s.Driver() == store.DriverSQLite {
			require.NoError(t, s.QueryRow(ctx, `SELECT type FROM pragma_table_info('events') WHERE name = 'at'`).Scan(&colType))
			require.NoError(t, s.QueryRow(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_at'`).Scan(&indexes))
			assert.Equal(t, "TEXT", colType)
			assert.Equal(t, 1, indexes, "SQL applies where no override replaces it")
		} else {
			require.NoError(t, s.QueryRow(ctx, `SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'at'`).Scan(&colType))
			require.NoError(t, s.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'events_at'`).Scan(&indexes))
			assert.Equal(t, "timestamp with time zone", colType)
			assert.Equal(t, 0, indexes, "an empty override does nothing")
		}

		at := []time.Time{
			time.Date(2024, 3, 1, 12, 0, 5, 0, time.FixedZone("CET", 3600)),
			time.Date(2024, 3, 1, 11, 0, 5, 500_000_000, time.UTC),
		}
		require.NoError(t, s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			for i, a := range at {
				if _, err := tx.Exec(ctx, `INSERT INTO events (id, at) VALUES ($1, $2)`, int64(i), s.TimeArg(a)); err != nil {
					return err
				}
			}
			return nil
		}))
		// 11:00:05Z sorts before 11:00:05.5Z: the text is fixed-width.
		rows, err := s.Query(ctx, `SELECT at FROM events ORDER BY at`)
		require.NoError(t, err)
		defer rows.Close()
		var got []time.Time
		for rows.Next() {
			var v store.Time
			require.NoError(t, rows.Scan(&v))
			require.True(t, v.Valid)
			got = append(got, v.Time)
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, []time.Time{at[0].UTC(), at[1]}, got)
	})
}

// TestMigrateTablesFailure: a version whose statement fails leaves none
// of its statements behind, on SQLite too, and the error names the flow,
// the version and the statement; the versions before it stay applied.
func TestMigrateTablesFailure(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		bad := store.Migration{Version: 2, SQL: []string{
			`CREATE TABLE sale_lines (sale TEXT NOT NULL, line BIGINT NOT NULL)`,
			`INSERT INTO sales (id, amount)
				SELECT id FROM nowhere`,
		}}
		err := s.MigrateTables(ctx, "Sales", []store.Migration{salesV1, bad})
		require.Error(t, err)
		assert.Contains(t, err.Error(), `flow "Sales": migration version 2 failed at "INSERT INTO sales (id, amount)", so none of it was applied`)
		assert.Equal(t, []int{1}, applied(t, s, "Sales"))
		assert.True(t, tableExists(t, s, "sales"))
		assert.False(t, tableExists(t, s, "sale_lines"), "the version's first statement was rolled back")

		good := bad
		good.SQL = bad.SQL[:1]
		require.NoError(t, s.MigrateTables(ctx, "Sales", []store.Migration{salesV1, good}))
		assert.Equal(t, []int{1, 2}, applied(t, s, "Sales"))
	})
}

// TestMigrateTablesRefused: what the warehouse refuses to apply, before
// applying any of it.
func TestMigrateTablesRefused(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		require.NoError(t, s.MigrateTables(ctx, "Sales", []store.Migration{salesV1, salesV2}))
		tests := []struct {
			name string
			ms   []store.Migration
			want string
		}{
			{
				name: "a version applied but no longer declared",
				ms:   []store.Migration{salesV1},
				want: `flow "Sales": migration version 2 was applied to the warehouse but is no longer declared (the flow declares 1): the flow's code is older than its tables; run the code that declares it`,
			},
			{
				name: "none declared",
				want: `flow "Sales": migration version 1 was applied to the warehouse but is no longer declared (the flow declares 0)`,
			},
			{
				name: "a gap",
				ms:   []store.Migration{salesV1, salesV2, {Version: 4, SQL: []string{`DROP TABLE sales`}}},
				want: `flow "Sales": migration version 4 comes after version 2: versions go up by one, with no gap (version 3 is missing)`,
			},
			{
				name: "a built-in table",
				ms:   []store.Migration{salesV1, salesV2, {Version: 3, SQL: []string{`DROP TABLE sales`}}, {Version: 4, SQL: []string{`ALTER TABLE orders ADD COLUMN x TEXT`}}},
				want: `flow "Sales": migration version 4 may not alter table orders: orders is a built-in table of the warehouse, and a flow may not create, alter or drop one, nor give its own table that name`,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assert.ErrorContains(t, s.MigrateTables(ctx, "Sales", tt.ms), tt.want)
				assert.Equal(t, []int{1, 2}, applied(t, s, "Sales"), "nothing applied")
				assert.True(t, tableExists(t, s, "sales"))
			})
		}
	})
}

// TestCheckMigrations: the checks that need no database.
func TestCheckMigrations(t *testing.T) {
	sql := func(v int, q ...string) store.Migration { return store.Migration{Version: v, SQL: q} }
	ok := func(v int) store.Migration { return sql(v, fmt.Sprintf("CREATE TABLE t%d (x TEXT)", v)) }
	tests := []struct {
		name string
		ms   []store.Migration
		want string // "" when accepted
	}{
		{name: "none", ms: nil},
		{name: "1, 2, 3", ms: []store.Migration{ok(1), ok(2), ok(3)}},
		{name: "starts at 0", ms: []store.Migration{ok(0)}, want: `flow "F": the first migration is version 0: versions start at 1 and go up by one`},
		{name: "starts at 2", ms: []store.Migration{ok(2)}, want: `flow "F": the first migration is version 2`},
		{name: "duplicate", ms: []store.Migration{ok(1), ok(2), ok(2)}, want: `flow "F": migration version 2 is declared twice: each version is declared once`},
		{name: "out of order", ms: []store.Migration{ok(1), ok(3), ok(2)}, want: `flow "F": migration version 3 comes after version 1: versions go up by one, with no gap (version 2 is missing)`},
		{name: "going back", ms: []store.Migration{ok(1), ok(2), ok(1)}, want: `flow "F": migration version 1 comes after version 2: list the migrations in version order`},
		{name: "no statement", ms: []store.Migration{{Version: 1}}, want: `flow "F": migration version 1 has no statement for sqlite: set SQL, or SQLite`},
		{name: "no statement for postgres", ms: []store.Migration{{Version: 1, SQLite: []string{"CREATE TABLE t (x TEXT)"}}}, want: `flow "F": migration version 1 has no statement for postgres: set SQL, or Postgres`},
		{name: "nothing on purpose", ms: []store.Migration{{Version: 1, SQL: []string{}}}},
		{name: "empty statement", ms: []store.Migration{sql(1, "CREATE TABLE t (x TEXT)", "  \n")}, want: `flow "F": migration version 1: statement 2 for sqlite is empty`},
		{name: "built-in in the postgres override", ms: []store.Migration{{Version: 1, SQL: []string{"CREATE TABLE t (x TEXT)"}, Postgres: []string{"DROP TABLE IF EXISTS run_logs"}}},
			want: `flow "F": migration version 1 may not drop table run_logs: run_logs is a built-in table`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.CheckMigrations("F", tt.ms)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
	assert.ErrorContains(t, store.CheckMigrations(" ", nil), "tables without an owner")
}

// TestBuiltinTablesRefused: a statement that creates, alters, drops or
// truncates a built-in table, builds on one or takes its name is refused,
// however it is spelled; one that only mentions the name is not.
func TestBuiltinTablesRefused(t *testing.T) {
	tests := []struct {
		stmt string
		want string // "" when accepted
	}{
		{`CREATE TABLE orders (x TEXT)`, "create table orders"},
		{`create table if not exists "Orders" (x text)`, "create table orders"},
		{`CREATE TEMP TABLE main.pipeline_runs (x TEXT)`, "create table pipeline_runs"},
		{`CREATE UNLOGGED TABLE IF NOT EXISTS public.stage_chunks (x TEXT)`, "create table stage_chunks"},
		{`CREATE OR REPLACE VIEW daily_revenue AS SELECT 1`, "create view daily_revenue"},
		{"-- the report\nALTER TABLE daily_revenue ADD COLUMN note TEXT", "alter table daily_revenue"},
		{`ALTER TABLE IF EXISTS ONLY "run_logs" DROP COLUMN stage`, "alter table run_logs"},
		{`ALTER TABLE mine RENAME TO run_loaded_range`, "rename a table to run_loaded_range"},
		{`DROP TABLE mine, stage_ids`, "drop table stage_ids"},
		{`DROP TABLE IF EXISTS schema_migrations CASCADE`, "drop table schema_migrations"},
		{`DROP VIEW flow_migrations`, "drop view flow_migrations"},
		{`TRUNCATE TABLE rejected_records`, "truncate table rejected_records"},
		{`TRUNCATE stage_checkpoints`, "truncate table stage_checkpoints"},
		{`CREATE UNIQUE INDEX IF NOT EXISTS mine_x ON orders (customer_email)`, "create an index on table orders"},
		{`CREATE INDEX ON ONLY orders (category)`, "create an index on table orders"},
		{"CREATE TRIGGER t AFTER UPDATE OF status ON pipeline_runs BEGIN INSERT INTO mine VALUES (1); END", "create a trigger on table pipeline_runs"},
		{`CREATE TABLE mine (x TEXT); DROP TABLE orders`, "drop table orders"},
		{"CREATE TABLE [orders] (x TEXT)", "create table orders"},
		{"CREATE TABLE `orders` (x TEXT)", "create table orders"},

		{`CREATE TABLE my_orders (orders BIGINT NOT NULL, note TEXT DEFAULT 'DROP TABLE orders')`, ""},
		{`/* CREATE TABLE orders */ CREATE TABLE mine (x TEXT)`, ""},
		{`CREATE TABLE mine (x TEXT) -- DROP TABLE orders`, ""},
		{`CREATE TABLE mine AS SELECT category, count(*) AS orders FROM orders GROUP BY category`, ""},
		{`CREATE INDEX mine_orders ON mine (orders)`, ""},
		{`ALTER TABLE mine RENAME COLUMN orders TO order_count`, ""},
		{`ALTER TABLE mine ADD COLUMN daily_revenue TEXT`, ""},
		{`INSERT INTO mine SELECT record_id FROM orders`, ""},
		{`CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN DROP TABLE orders; END $body$ LANGUAGE plpgsql`, ""},
		{`COMMENT ON TABLE mine IS E'not orders\'; DROP TABLE orders'`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			err := store.CheckMigrations("F", []store.Migration{{Version: 1, SQL: []string{tt.stmt}}})
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, `flow "F": migration version 1 may not `+tt.want+": ")
			assert.ErrorContains(t, err, "a flow may not create, alter or drop one, nor give its own table that name")
		})
	}
}

// TestBuiltinTables: the list is read from the built-in migrations; a
// new built-in table joins it by itself.
func TestBuiltinTables(t *testing.T) {
	assert.Equal(t, []string{
		"daily_revenue", "dataset_catalog", "flow_migrations", "flow_runs", "orders", "pipeline_runs", "rejected_records", "run_loaded_range",
		"run_logs", "schema_migrations", "stage_checkpoints", "stage_chunks", "stage_ids",
	}, store.BuiltinTables())
	eachDriver(t, func(t *testing.T, s *store.Store) {
		for _, table := range store.BuiltinTables() {
			assert.True(t, tableExists(t, s, table), table)
		}
	})
}

// TestWrite: concurrent Writes all commit, on SQLite one at a time (the
// store's single writer), and the upsert form (with RETURNING) is the
// same on both databases.
func TestWrite(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		require.NoError(t, s.MigrateTables(ctx, "Counts", []store.Migration{{Version: 1, SQL: []string{
			`CREATE TABLE counts (k TEXT NOT NULL PRIMARY KEY, n BIGINT NOT NULL, label TEXT NOT NULL DEFAULT '')`,
		}}}))

		const writers = 8
		var active, most atomic.Int32
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				errs[i] = s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
					now := active.Add(1)
					defer active.Add(-1)
					for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
					}
					var n int64
					return tx.QueryRow(ctx, `INSERT INTO counts (k, n, label) VALUES ($1, 1, $2)
						ON CONFLICT (k) DO UPDATE SET n = counts.n + excluded.n, label = excluded.label
						RETURNING n`, "total", fmt.Sprint("writer ", i)).Scan(&n)
				})
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		if s.Driver() == store.DriverSQLite {
			assert.Equal(t, int32(1), most.Load(), "SQLite's writes queue on the store's single writer")
		}
		var n int64
		var label string
		require.NoError(t, s.QueryRow(ctx, `SELECT n, label FROM counts WHERE k = $1`, "total").Scan(&n, &label))
		assert.Equal(t, int64(writers), n)
		assert.Contains(t, label, "writer ", "excluded.c is the row that was refused")

		// A failing function commits nothing; DO NOTHING keeps the row.
		boom := errors.New("boom")
		require.ErrorIs(t, s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO counts (k, n) VALUES ($1, $2)`, "lost", int64(1)); err != nil {
				return err
			}
			return boom
		}), boom)
		require.NoError(t, s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO counts (k, n) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING`, "total", int64(0))
			return err
		}))
		assert.ErrorIs(t, s.QueryRow(ctx, `SELECT n FROM counts WHERE k = $1`, "lost").Scan(&n), sql.ErrNoRows)
		require.NoError(t, s.QueryRow(ctx, `SELECT n FROM counts WHERE k = $1`, "total").Scan(&n))
		assert.Equal(t, int64(writers), n)

		// A write inside Write's function, with its context, is refused
		// at once: on SQLite it would wait for itself.
		err := s.Write(ctx, func(ctx context.Context, _ *store.Tx) error {
			return s.Write(ctx, func(context.Context, *store.Tx) error { return nil })
		})
		assert.ErrorContains(t, err, "a write inside the function of Write")
	})
}

// TestPlaceholders: $n binds by number on both databases, in any order
// and more than once, in Tx and Store queries alike.
func TestPlaceholders(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		require.NoError(t, s.MigrateTables(ctx, "Pairs", []store.Migration{{Version: 1, SQL: []string{
			`CREATE TABLE pairs (k TEXT NOT NULL PRIMARY KEY, a TEXT NOT NULL, b BIGINT NOT NULL, ok BOOLEAN NOT NULL)`,
		}}}))
		require.NoError(t, s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO pairs (b, k, a, ok) VALUES ($3, $1, $2, $4)`, "k1", "alpha", int64(7), true); err != nil {
				return err
			}
			res, err := tx.Exec(ctx, `UPDATE pairs SET a = $1 WHERE k = $2 AND a <> $1`, "beta", "k1")
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("updated %d rows (%v)", n, err)
			}
			var a string
			return tx.QueryRow(ctx, `SELECT a FROM pairs WHERE k = $1 AND b = $2`, "k1", int64(7)).Scan(&a)
		}))
		var a string
		var b int64
		var ok bool
		require.NoError(t, s.QueryRow(ctx, `SELECT a, b, ok FROM pairs WHERE b = $2 AND k = $1 AND b >= $2`, "k1", int64(7)).Scan(&a, &b, &ok))
		assert.Equal(t, "beta", a)
		assert.Equal(t, int64(7), b)
		assert.True(t, ok)
		assert.ErrorIs(t, s.QueryRow(ctx, `SELECT a FROM pairs WHERE k = $1`, "k2").Scan(&a), sql.ErrNoRows)
		assert.Error(t, s.QueryRow(ctx, `SELECT a FROM nowhere WHERE k = $1`, "k1").Scan(&a))
	})
}
