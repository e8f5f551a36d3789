package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one versioned schema change, written once per dialect. A
// released migration is never edited: add a new one instead.
type migration struct {
	version  int
	name     string
	sqlite   []string
	postgres []string
}

// migrations are applied in order; schema_migrations records each one.
var migrations = []migration{
	{
		version: 1,
		name:    "warehouse and staging tables",
		sqlite: []string{
			// WITHOUT ROWID keeps each order in its primary-key B-tree
			// alone, instead of a table plus an index: half the writes.
			`CREATE TABLE orders (
				source         TEXT    NOT NULL,
				record_id      TEXT    NOT NULL CHECK (record_id <> ''),
				customer_email TEXT    NOT NULL,
				category       TEXT    NOT NULL,
				amount         TEXT    NOT NULL, -- exact decimal, canonical form
				currency       TEXT    NOT NULL,
				ordered_at     TEXT    NOT NULL, -- RFC 3339, UTC, fixed width
				row_hash       INTEGER NOT NULL,
				version        INTEGER NOT NULL DEFAULT 1,
				first_run      TEXT,
				last_run       TEXT,
				loaded_at      TEXT    NOT NULL,
				PRIMARY KEY (source, record_id)
			) WITHOUT ROWID, STRICT`,
			`CREATE TABLE pipeline_runs (
				workflow_id        TEXT    NOT NULL,
				run_id             TEXT    NOT NULL,
				deployment         TEXT    NOT NULL DEFAULT '',
				source             TEXT    NOT NULL DEFAULT '',
				params             TEXT,
				status             TEXT    NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
				extracted          INTEGER NOT NULL DEFAULT 0,
				valid              INTEGER NOT NULL DEFAULT 0,
				rejected           INTEGER NOT NULL DEFAULT 0,
				rejected_by_reason TEXT,
				inserted           INTEGER NOT NULL DEFAULT 0,
				updated            INTEGER NOT NULL DEFAULT 0,
				unchanged          INTEGER NOT NULL DEFAULT 0,
				started_at         TEXT    NOT NULL,
				finished_at        TEXT,
				extract_ms         INTEGER NOT NULL DEFAULT 0,
				transform_ms       INTEGER NOT NULL DEFAULT 0,
				load_ms            INTEGER NOT NULL DEFAULT 0,
				error              TEXT    NOT NULL DEFAULT '',
				PRIMARY KEY (workflow_id, run_id)
			) STRICT`,
			`CREATE INDEX pipeline_runs_started_at ON pipeline_runs (started_at)`,
			`CREATE TABLE stage_chunks (
				run_key TEXT    NOT NULL,
				stage   TEXT    NOT NULL CHECK (stage IN ('extract', 'transform')),
				seq     INTEGER NOT NULL CHECK (seq >= 0),
				records INTEGER NOT NULL,
				data    BLOB    NOT NULL,
				PRIMARY KEY (run_key, stage, seq)
			) STRICT`,
			`CREATE TABLE stage_checkpoints (
				run_key    TEXT    NOT NULL,
				stage      TEXT    NOT NULL CHECK (stage IN ('extract', 'transform', 'load')),
				next_seq   INTEGER NOT NULL DEFAULT 0,
				records    INTEGER NOT NULL DEFAULT 0,
				cursor     TEXT    NOT NULL DEFAULT '',
				done       INTEGER NOT NULL DEFAULT 0,
				counts     TEXT    NOT NULL DEFAULT '{}',
				updated_at TEXT    NOT NULL,
				PRIMARY KEY (run_key, stage)
			) STRICT`,
			`CREATE TABLE rejected_records (
				run_key     TEXT    NOT NULL,
				chunk_seq   INTEGER NOT NULL,
				idx         INTEGER NOT NULL,
				record_id   TEXT    NOT NULL DEFAULT '',
				reason      TEXT    NOT NULL,
				detail      TEXT    NOT NULL DEFAULT '',
				raw         TEXT    NOT NULL DEFAULT '',
				rejected_at TEXT    NOT NULL,
				PRIMARY KEY (run_key, chunk_seq, idx)
			) STRICT`,
			`CREATE INDEX rejected_records_reason ON rejected_records (reason)`,
		},
		postgres: []string{
			`CREATE TABLE orders (
				source         TEXT          NOT NULL,
				record_id      TEXT          NOT NULL CHECK (record_id <> ''),
				customer_email TEXT          NOT NULL,
				category       TEXT          NOT NULL,
				amount         NUMERIC(20,6) NOT NULL,
				currency       TEXT          NOT NULL,
				ordered_at     TIMESTAMPTZ   NOT NULL,
				row_hash       BIGINT        NOT NULL,
				version        BIGINT        NOT NULL DEFAULT 1,
				first_run      TEXT,
				last_run       TEXT,
				loaded_at      TIMESTAMPTZ   NOT NULL,
				PRIMARY KEY (source, record_id)
			)`,
			`CREATE TABLE pipeline_runs (
				workflow_id        TEXT        NOT NULL,
				run_id             TEXT        NOT NULL,
				deployment         TEXT        NOT NULL DEFAULT '',
				source             TEXT        NOT NULL DEFAULT '',
				params             JSONB,
				status             TEXT        NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
				extracted          BIGINT      NOT NULL DEFAULT 0,
				valid              BIGINT      NOT NULL DEFAULT 0,
				rejected           BIGINT      NOT NULL DEFAULT 0,
				rejected_by_reason JSONB,
				inserted           BIGINT      NOT NULL DEFAULT 0,
				updated            BIGINT      NOT NULL DEFAULT 0,
				unchanged          BIGINT      NOT NULL DEFAULT 0,
				started_at         TIMESTAMPTZ NOT NULL,
				finished_at        TIMESTAMPTZ,
				extract_ms         BIGINT      NOT NULL DEFAULT 0,
				transform_ms       BIGINT      NOT NULL DEFAULT 0,
				load_ms            BIGINT      NOT NULL DEFAULT 0,
				error              TEXT        NOT NULL DEFAULT '',
				PRIMARY KEY (workflow_id, run_id)
			)`,
			`CREATE INDEX pipeline_runs_started_at ON pipeline_runs (started_at)`,
			`CREATE TABLE stage_chunks (
				run_key TEXT    NOT NULL,
				stage   TEXT    NOT NULL CHECK (stage IN ('extract', 'transform')),
				seq     INTEGER NOT NULL CHECK (seq >= 0),
				records BIGINT  NOT NULL,
				data    BYTEA   NOT NULL,
				PRIMARY KEY (run_key, stage, seq)
			)`,
			`CREATE TABLE stage_checkpoints (
				run_key    TEXT        NOT NULL,
				stage      TEXT        NOT NULL CHECK (stage IN ('extract', 'transform', 'load')),
				next_seq   INTEGER     NOT NULL DEFAULT 0,
				records    BIGINT      NOT NULL DEFAULT 0,
				cursor     TEXT        NOT NULL DEFAULT '',
				done       BOOLEAN     NOT NULL DEFAULT false,
				counts     JSONB       NOT NULL DEFAULT '{}',
				updated_at TIMESTAMPTZ NOT NULL,
				PRIMARY KEY (run_key, stage)
			)`,
			`CREATE TABLE rejected_records (
				run_key     TEXT        NOT NULL,
				chunk_seq   INTEGER     NOT NULL,
				idx         INTEGER     NOT NULL,
				record_id   TEXT        NOT NULL DEFAULT '',
				reason      TEXT        NOT NULL,
				detail      TEXT        NOT NULL DEFAULT '',
				raw         TEXT        NOT NULL DEFAULT '',
				rejected_at TIMESTAMPTZ NOT NULL,
				PRIMARY KEY (run_key, chunk_seq, idx)
			)`,
			`CREATE INDEX rejected_records_reason ON rejected_records (reason)`,
		},
	},
	{
		version: 2,
		name:    "staged chunks are stored uncompressed",
		// SQLite never compresses. PostgreSQL compresses every ~1 MB
		// chunk with pglz on write and inflates it on read, for data that
		// lives only minutes: storing it EXTERNAL (out of line, plain)
		// made staging 2.3x faster to write and 8x faster to read (make
		// bench, 40 chunks).
		sqlite:   []string{},
		postgres: []string{`ALTER TABLE stage_chunks ALTER COLUMN data SET STORAGE EXTERNAL`},
	},
	{
		version: 3,
		name:    "the ids a run kept, for its duplicate check; compressed staged chunks",
		// Transform no longer stages clean chunks (Load reads the raw ones
		// again), and the ids of a run's valid records live here instead
		// of in the worker's memory, so that a run of any size needs none
		// for them and a retried Transform resumes without rebuilding
		// them. Rows go with the run's staged chunks. A run is named by
		// runNumber, not its long key: the rows stay small, and so does
		// the cost of writing one per valid record.
		//
		// Staged chunks get a codec: S2-compressed (s2) from now on, plain
		// NDJSON ('') for those staged before.
		sqlite: []string{
			`ALTER TABLE stage_chunks ADD COLUMN codec TEXT NOT NULL DEFAULT ''`,
			`CREATE TABLE stage_ids (
				run       INTEGER NOT NULL,
				record_id TEXT    NOT NULL,
				PRIMARY KEY (run, record_id)
			) WITHOUT ROWID, STRICT`,
		},
		postgres: []string{
			`ALTER TABLE stage_chunks ADD COLUMN codec TEXT NOT NULL DEFAULT ''`,
			`CREATE TABLE stage_ids (
				run       BIGINT NOT NULL,
				record_id TEXT   NOT NULL,
				PRIMARY KEY (run, record_id)
			)`,
		},
	},
	{
		version: 4,
		name:    "run logs",
		// One row per log line of a run, written by its activities (and
		// the end-of-run step) as they go, so the lines of a worker that
		// died are kept. id gives the order lines were written in, which
		// `runs logs --follow` pages on. once_key is set on a line that
		// must be written once however often its writer is retried (NULLs
		// are distinct, so ordinary lines never collide).
		sqlite: []string{
			`CREATE TABLE run_logs (
				id          INTEGER PRIMARY KEY AUTOINCREMENT,
				workflow_id TEXT    NOT NULL,
				run_id      TEXT    NOT NULL,
				logged_at   TEXT    NOT NULL,
				level       TEXT    NOT NULL CHECK (level IN ('info', 'warn', 'error')),
				stage       TEXT    NOT NULL DEFAULT '',
				attempt     INTEGER NOT NULL DEFAULT 0,
				message     TEXT    NOT NULL,
				once_key    TEXT
			) STRICT`,
			`CREATE INDEX run_logs_run ON run_logs (workflow_id, run_id, id)`,
			`CREATE UNIQUE INDEX run_logs_once ON run_logs (workflow_id, run_id, once_key)`,
			`CREATE INDEX run_logs_logged_at ON run_logs (logged_at)`,
		},
		postgres: []string{
			`CREATE TABLE run_logs (
				id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				workflow_id TEXT        NOT NULL,
				run_id      TEXT        NOT NULL,
				logged_at   TIMESTAMPTZ NOT NULL,
				level       TEXT        NOT NULL CHECK (level IN ('info', 'warn', 'error')),
				stage       TEXT        NOT NULL DEFAULT '',
				attempt     INTEGER     NOT NULL DEFAULT 0,
				message     TEXT        NOT NULL,
				once_key    TEXT
			)`,
			`CREATE INDEX run_logs_run ON run_logs (workflow_id, run_id, id)`,
			`CREATE UNIQUE INDEX run_logs_once ON run_logs (workflow_id, run_id, once_key)`,
			`CREATE INDEX run_logs_logged_at ON run_logs (logged_at)`,
		},
	},
	{
		version: 5,
		name:    "daily revenue report and the time range each run loaded",
		// daily_revenue is the OrdersReport flow's output: one row per day
		// (in the report's time zone), category and currency. Revenue is
		// an exact decimal, the sum of NUMERIC(20,6) amounts.
		// run_loaded_range keeps the first and last ordered_at a run
		// loaded, written with each load chunk, so that a retried Load
		// still knows the range of the chunks an earlier attempt committed.
		sqlite: []string{
			`CREATE TABLE daily_revenue (
				timezone    TEXT    NOT NULL,
				day         TEXT    NOT NULL, -- YYYY-MM-DD
				category    TEXT    NOT NULL,
				currency    TEXT    NOT NULL,
				orders      INTEGER NOT NULL,
				revenue     TEXT    NOT NULL, -- exact decimal, canonical form
				computed_at TEXT    NOT NULL,
				PRIMARY KEY (timezone, day, category, currency)
			) WITHOUT ROWID`,
			`CREATE TABLE run_loaded_range (
				run_key          TEXT NOT NULL PRIMARY KEY,
				first_ordered_at TEXT NOT NULL,
				last_ordered_at  TEXT NOT NULL
			) WITHOUT ROWID`,
		},
		postgres: []string{
			`CREATE TABLE daily_revenue (
				timezone    TEXT          NOT NULL,
				day         DATE          NOT NULL,
				category    TEXT          NOT NULL,
				currency    TEXT          NOT NULL,
				orders      BIGINT        NOT NULL,
				revenue     NUMERIC(38,6) NOT NULL,
				computed_at TIMESTAMPTZ   NOT NULL,
				PRIMARY KEY (timezone, day, category, currency)
			)`,
			`CREATE TABLE run_loaded_range (
				run_key          TEXT        NOT NULL PRIMARY KEY,
				first_ordered_at TIMESTAMPTZ NOT NULL,
				last_ordered_at  TIMESTAMPTZ NOT NULL
			)`,
		},
	},
	{
		version: 6,
		name:    "the flows' own tables: the versions each flow applied",
		// One row per version of a flow's Tables that MigrateTables
		// applied, written in the transaction that applied it: owner is
		// the flow's name.
		sqlite: []string{
			`CREATE TABLE flow_migrations (
				owner      TEXT    NOT NULL,
				version    INTEGER NOT NULL CHECK (version >= 1),
				applied_at TEXT    NOT NULL,
				PRIMARY KEY (owner, version)
			) WITHOUT ROWID, STRICT`,
		},
		postgres: []string{
			`CREATE TABLE flow_migrations (
				owner      TEXT        NOT NULL,
				version    INTEGER     NOT NULL CHECK (version >= 1),
				applied_at TIMESTAMPTZ NOT NULL,
				PRIMARY KEY (owner, version)
			)`,
		},
	},
	{
		version: 7,
		name:    "the record of every flow's runs",
		// One row per run of any flow, written when the run ends (by the
		// EndRun step every flow ends with), so that a run's outcome and
		// its readable failure are in the warehouse for every flow, and not
		// only DataPipeline's in pipeline_runs.
		sqlite: []string{
			`CREATE TABLE flow_runs (
				workflow_id TEXT NOT NULL,
				run_id      TEXT NOT NULL,
				flow        TEXT NOT NULL,
				deployment  TEXT NOT NULL DEFAULT '',
				status      TEXT NOT NULL CHECK (status IN ('completed', 'failed', 'cancelled')),
				stage       TEXT NOT NULL DEFAULT '',
				summary     TEXT NOT NULL DEFAULT '',
				error       TEXT NOT NULL DEFAULT '',
				ended_at    TEXT NOT NULL,
				PRIMARY KEY (workflow_id, run_id)
			) WITHOUT ROWID, STRICT`,
			`CREATE INDEX flow_runs_ended_at ON flow_runs (ended_at)`,
		},
		postgres: []string{
			`CREATE TABLE flow_runs (
				workflow_id TEXT        NOT NULL,
				run_id      TEXT        NOT NULL,
				flow        TEXT        NOT NULL,
				deployment  TEXT        NOT NULL DEFAULT '',
				status      TEXT        NOT NULL CHECK (status IN ('completed', 'failed', 'cancelled')),
				stage       TEXT        NOT NULL DEFAULT '',
				summary     TEXT        NOT NULL DEFAULT '',
				error       TEXT        NOT NULL DEFAULT '',
				ended_at    TIMESTAMPTZ NOT NULL,
				PRIMARY KEY (workflow_id, run_id)
			)`,
			`CREATE INDEX flow_runs_ended_at ON flow_runs (ended_at)`,
		},
	},
	{
		version: 8,
		name:    "the catalog of datasets",
		// One row per dataset whose table the warehouse holds (see
		// datasets.go): the definition its table was last made or changed
		// for, as JSON, which the next deploy is compared with, and the
		// fields a later definition removed (retired, a JSON array), whose
		// columns stay. Written in the transaction that changes the table.
		sqlite: []string{
			`CREATE TABLE dataset_catalog (
				name       TEXT NOT NULL PRIMARY KEY,
				definition TEXT NOT NULL,
				retired    TEXT NOT NULL DEFAULT '[]',
				created_at TEXT NOT NULL,
				updated_at TEXT NOT NULL
			) WITHOUT ROWID, STRICT`,
		},
		postgres: []string{
			`CREATE TABLE dataset_catalog (
				name       TEXT        NOT NULL PRIMARY KEY,
				definition TEXT        NOT NULL,
				retired    TEXT        NOT NULL DEFAULT '[]',
				created_at TIMESTAMPTZ NOT NULL,
				updated_at TIMESTAMPTZ NOT NULL
			)`,
		},
	},
}

// SchemaVersion is the version the code expects, the last migration's.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrateLockClass is the first key of the PostgreSQL advisory lock that
// serializes migrations ("bprt"); the second is derived from the schema, so
// databases in different schemas migrate independently.
const migrateLockClass = 0x62707274

// lockMigrations takes the migration lock for the rest of tx: PostgreSQL's
// advisory lock; on SQLite the write lock tx already holds (BEGIN
// IMMEDIATE) is the lock. The built-in tables (Migrate) and the flows'
// own tables (MigrateTables) share it, so that of the workers that start
// at once exactly one applies each migration, and no flow's migration
// runs beside a built-in one.
func (s *Store) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if s.driver != DriverPostgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))`, migrateLockClass); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	return nil
}

// Migrate brings the schema up to date. It is idempotent, and safe when
// several processes run it at once: everything happens in one transaction
// that holds PostgreSQL's advisory lock, or SQLite's write lock (BEGIN
// IMMEDIATE), so exactly one of them applies each migration and the others
// then find it recorded. DDL is transactional on both databases, so a
// failed migration leaves no trace.
func (s *Store) Migrate(ctx context.Context) error {
	// Fast path without a write lock, so that opening an up-to-date
	// database (every CLI command does) never waits for a long load.
	var current int
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current)
	if err == nil && current == SchemaVersion() {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		ddl := `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL
		)`
		if s.driver == DriverPostgres {
			ddl = `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER PRIMARY KEY,
				name       TEXT NOT NULL,
				applied_at TIMESTAMPTZ NOT NULL
			)`
		}
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("migrate: create schema_migrations: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate: read version: %w", err)
		}
		if current > SchemaVersion() {
			return fmt.Errorf("migrate: the database schema is at version %d, newer than this program's %d; upgrade the program", current, SchemaVersion())
		}
		for _, m := range migrations {
			if m.version <= current {
				continue
			}
			stmts := m.sqlite
			if s.driver == DriverPostgres {
				stmts = m.postgres
			}
			for _, q := range stmts {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("migrate: version %d (%s): %w", m.version, m.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, s.timeArg(now())); err != nil {
				return fmt.Errorf("migrate: record version %d: %w", m.version, err)
			}
		}
		return nil
	})
}
