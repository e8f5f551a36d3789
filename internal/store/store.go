// Package store is the pipeline's warehouse and staging area, on SQLite (the
// default, pure Go) or PostgreSQL.
//
// Record data never travels through Temporal workflow history: Extract
// stages raw records here in chunks (the one staged copy), Transform reads
// them and writes rejected records and the ids it kept, Load reads the raw
// chunks again and upserts the records Transform kept into the orders
// table. Every chunk write commits in one transaction together with its
// stage checkpoint, so a retried activity resumes after the last committed
// chunk, nothing is written twice and the counts stay exact across crashes.
//
// One database/sql code path serves both databases: SQL uses $N
// placeholders, which PostgreSQL and SQLite (through modernc.org/sqlite)
// both understand. Where they differ (DDL, the bulk upsert, row locks,
// timestamps) the dialect is chosen explicitly.
//
// A flow can own tables too: it declares them as versioned migrations
// (Migration), the worker applies them as it starts (MigrateTables), and
// its activities write them with Write (see tables.go for the SQL that
// is the same on both databases).
//
// SQLite allows one writer at a time. Write transactions start with BEGIN
// IMMEDIATE and wait up to SQLiteBusyTimeout for another process's lock;
// within a process they queue on a semaphore. Readers never wait (WAL).
//
// It must not import `internal/datapipeline`, `internal/report`,
// `internal/source`, `activities` or `workflows`: the warehouse returns its
// own types, so no arrow climbs from it to a flow.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/blueprint-etl/blueprint/internal/redact"
)

// Driver names, as Store.Driver reports them.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DefaultSQLitePath is where Open("") keeps the warehouse.
const DefaultSQLitePath = "data/warehouse.db"

// Tuning of the connections. SQLite waits this long for another process's
// write lock before giving up with SQLITE_BUSY; PostgreSQL fails a connection
// attempt after ConnectTimeout unless the DSN sets connect_timeout.
const (
	SQLiteBusyTimeout = 30 * time.Second
	ConnectTimeout    = 10 * time.Second
)

// ErrRunFinished is returned when a write targets a run that has already
// failed, been cancelled or completed: a late attempt of an activity (one
// the server already timed out) must not add data to a finished run.
var ErrRunFinished = errors.New("run already finished")

// Store is a connection pool to the warehouse. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// wdb runs the write transactions (see write). On SQLite it is a pool
	// of its own, so that every write runs on the same connection and
	// finds its page cache as the last write left it: SQLite drops a
	// connection's cache when another connection has written since, and
	// with writes spread over the read pool's connections, most writes of
	// many concurrent runs began by reading the pages they touch again (200
	// runs at once: 0.68-0.74 of the floor's rate, 0.80-0.87 with one
	// writer, in `make bench`). On PostgreSQL it is db.
	wdb    *sql.DB
	driver string
	// location says where the warehouse is, for logs: see Location.
	location string

	// writeSem serializes this process's write transactions on SQLite,
	// which has one writer at a time anyway: waiting here is cheaper and
	// fairer than every connection polling the file lock through the busy
	// handler. Other processes are still kept out by the file lock
	// (BEGIN IMMEDIATE + busy_timeout). Nil on PostgreSQL.
	writeSem chan struct{}

	// sideWrites bounds the chunk writes that hold a connection while
	// they wait for their turn (loadChunk): the writes before them must
	// find connections to commit with, else every run's younger write
	// would hold one while its older write waited for one. Nil on SQLite,
	// where a write waits for its turn before it begins.
	sideWrites chan struct{}

	// wait bounds how long a call waits for an unreachable warehouse
	// (see retry and SetWait).
	wait time.Duration

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt // SQLite statements prepared once (sqliteStmt)
	// dstmts are the SQLite upserts of datasets, prepared once per table,
	// shape and rows (see datasetStmt); a change of a table drops its own.
	dstmts map[datasetStmtKey]*sql.Stmt
	// texts are the SQLite statements of write transactions, prepared
	// once by their text (see prepared).
	texts map[string]*sql.Stmt
	// rtexts are the read pool's (see dbQueryRow).
	rtexts map[string]*sql.Stmt
}

// Open connects to the warehouse named by dsn and brings its schema up to
// date (see Migrate).
//
// The DSN forms are:
//
//	""                                  SQLite file ./data/warehouse.db
//	sqlite:PATH, sqlite://PATH, file:PATH, PATH.db (.sqlite, .sqlite3)
//	                                    SQLite file PATH (directories are created);
//	                                    a ?query is passed on to the driver
//	postgres://... or postgresql://...  PostgreSQL; parameters pgx does not know,
//	                                    like search_path=myschema, become
//	                                    session settings
//
// SQLite runs in WAL mode with synchronous=NORMAL, foreign keys on, a busy
// timeout of SQLiteBusyTimeout and immediate write transactions, so the
// concurrent activities of many runs, and several processes, can share the
// file without SQLITE_BUSY errors.
func Open(ctx context.Context, dsn string) (*Store, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	var s *Store
	switch t.driver {
	case DriverSQLite:
		s, err = openSQLite(t.path, t.query)
	default:
		s, err = openPostgres(t.dsn)
	}
	if err != nil {
		return nil, err
	}
	s.location = t.location()
	// A new SQLite connection switches the file to WAL, which SQLite may
	// refuse at once (SQLITE_BUSY) rather than wait while other processes
	// open the same new file: wait as the busy timeout would. A PostgreSQL
	// server that is down is reported at once (no wait).
	var wait time.Duration
	if t.driver == DriverSQLite {
		wait = SQLiteBusyTimeout
	}
	if err := waitFor(ctx, wait, nil, func() error { return s.db.PingContext(ctx) }); err != nil {
		_ = s.closePools()
		return nil, fmt.Errorf("store: connect to %s: %w", RedactDSN(dsn), err)
	}
	if err := s.Migrate(ctx); err != nil {
		_ = s.closePools()
		return nil, fmt.Errorf("store: %s: %w", RedactDSN(dsn), err)
	}
	return s, nil
}

// target is a parsed DSN.
type target struct {
	driver string
	path   string // SQLite file
	query  string // SQLite driver parameters given by the user
	dsn    string // PostgreSQL URL
}

func parseDSN(dsn string) (target, error) {
	dsn = strings.TrimSpace(dsn)
	lower := strings.ToLower(dsn)
	var path string
	switch {
	case dsn == "":
		path = DefaultSQLitePath
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return target{driver: DriverPostgres, dsn: dsn}, nil
	case strings.HasPrefix(lower, "sqlite://"):
		path = dsn[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		path = dsn[len("sqlite:"):]
	case strings.HasPrefix(lower, "file://"):
		path = dsn[len("file://"):]
	case strings.HasPrefix(lower, "file:"):
		path = dsn[len("file:"):]
	case strings.Contains(dsn, "://"):
		return target{}, fmt.Errorf("store: database URL %s: scheme not supported; use postgres://, postgresql://, sqlite: or a path ending in .db", RedactDSN(dsn))
	default:
		p, _, _ := strings.Cut(dsn, "?")
		switch strings.ToLower(filepath.Ext(p)) {
		case ".db", ".sqlite", ".sqlite3", ".db3":
			path = dsn
		default:
			return target{}, fmt.Errorf("store: database %q: not a postgres:// URL, a sqlite: DSN or a path ending in .db", RedactDSN(dsn))
		}
	}
	path, query, _ := strings.Cut(path, "?")
	switch {
	case path == "":
		return target{}, fmt.Errorf("store: database %q: no SQLite file path", dsn)
	case path == ":memory:" || strings.Contains(query, "mode=memory"):
		return target{}, fmt.Errorf("store: in-memory SQLite is not supported (each pooled connection would see its own database); use a file, e.g. in a temporary directory")
	}
	return target{driver: DriverSQLite, path: path, query: query}, nil
}

// sqlitePragmas are applied to every SQLite connection, busy_timeout first
// (openSQLite relies on it) so that switching to WAL already waits for a
// lock held by another process. A DSN's own busy_timeout replaces it:
// past it, a call waits for the lock as for an unreachable warehouse (see
// SetWait).
var sqlitePragmas = []string{
	fmt.Sprintf("_pragma=busy_timeout(%d)", SQLiteBusyTimeout.Milliseconds()),
	"_pragma=journal_mode(WAL)",
	"_pragma=synchronous(NORMAL)",
	"_pragma=foreign_keys(1)",
	// A 32 MiB page cache (per connection, in KiB when negative; SQLite's
	// default is 2 MiB) keeps the hot part of the orders B-tree in memory
	// and spares big load transactions from spilling pages early. Memory
	// is only taken as pages are read.
	"_pragma=cache_size(-32768)",
	// Writers start with BEGIN IMMEDIATE: a deferred transaction that reads
	// first and then writes can fail with SQLITE_BUSY without waiting.
	"_txlock=immediate",
}

func openSQLite(path, query string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
		}
	}
	pragmas := sqlitePragmas
	if strings.Contains(strings.ToLower(query), "busy_timeout") {
		// The driver runs every busy_timeout before the other pragmas, in
		// no set order: the user's must be the only one.
		pragmas = pragmas[1:]
	}
	params := strings.Join(pragmas, "&")
	if query != "" {
		params += "&" + query // later _pragma values win
	}
	db, err := sql.Open("sqlite", path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Readers run in parallel under WAL; writers queue on writeSem. Idle
	// connections are kept: each one carries its own page cache.
	n := max(4, runtime.GOMAXPROCS(0)+2)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	wdb, err := sql.Open("sqlite", path+"?"+params)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Writes are serialized (writeSem), so they all run on the same
	// connection: the pool hands out the one freed last. The second
	// connection is for the statements prepared during a write (see
	// sqliteStmt), which the transaction then prepares on its own.
	wdb.SetMaxOpenConns(2)
	wdb.SetMaxIdleConns(2)
	return &Store{db: db, wdb: wdb, driver: DriverSQLite, writeSem: make(chan struct{}, 1), stmts: map[stmtKey]*sql.Stmt{}, dstmts: map[datasetStmtKey]*sql.Stmt{}, texts: map[string]*sql.Stmt{}, rtexts: map[string]*sql.Stmt{}}, nil
}

func openPostgres(dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: database URL %s: %w", RedactDSN(dsn), redactErr(err, dsn))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = ConnectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	n := max(8, 4*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n / 2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	// Half the pool may wait for their turn inside a transaction; the
	// other half serves the writes they wait for, and reads.
	return &Store{db: db, wdb: db, driver: DriverPostgres, sideWrites: make(chan struct{}, n/2)}, nil
}

// redactErr keeps a password that a parse error may quote out of the message.
func redactErr(err error, dsn string) error {
	msg := err.Error()
	if !strings.Contains(msg, dsn) {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, dsn, RedactDSN(dsn)))
}

// Close releases the prepared statements and the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	closeStmts(s.stmts)
	closeStmts(s.dstmts)
	closeStmts(s.texts)
	closeStmts(s.rtexts)
	s.stmts, s.dstmts, s.texts, s.rtexts = nil, nil, nil, nil
	s.mu.Unlock()
	return s.closePools()
}

// closeStmts closes the prepared statements of a cache.
func closeStmts[K comparable](cache map[K]*sql.Stmt) {
	for _, st := range cache {
		_ = st.Close()
	}
}

// closePools closes the read pool and, on SQLite, the writer's.
func (s *Store) closePools() error {
	err := s.db.Close()
	if s.wdb != s.db {
		err = errors.Join(err, s.wdb.Close())
	}
	return err
}

// Location says where the warehouse is, with no secret in it, for logs
// and to compare workers' warehouses (see target.location): "sqlite:" and
// the file's absolute path (the default file resolved), or
// "postgres://host:port/db" without user or password.
func (s *Store) Location() string { return s.location }

// Driver is DriverSQLite or DriverPostgres.
func (s *Store) Driver() string { return s.driver }

// DB is the underlying pool, for tests and benchmarks.
func (s *Store) DB() *sql.DB { return s.db }

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// RedactDSN masks the credentials of a DSN, so it can be logged or
// printed: in a URL whatever redact.URL hides (the password, or
// user info without one; password and other credential parameters), in a
// keyword/value string the password=... value.
func RedactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		return redact.URL(dsn)
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// write runs fn in a transaction and commits it if fn returns nil. On
// SQLite it first waits for this process's write turn (see writeSem).
// When the warehouse cannot be reached, or drops the connection, the
// whole transaction runs again (see retry): fn must start from scratch
// each time it is called.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := s.nestedWrite(ctx); err != nil {
		return err
	}
	return s.retry(ctx, func() error { return s.writeOnce(ctx, fn) })
}

func (s *Store) writeOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.writeSem != nil {
		select {
		case s.writeSem <- struct{}{}:
			defer func() { <-s.writeSem }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn, a read that needs no transaction, and runs it again while
// the warehouse cannot be reached (see retry): fn must start from scratch
// each time it is called.
func (s *Store) read(ctx context.Context, fn func() error) error {
	return s.retry(ctx, fn)
}

// forUpdate and forShare are the row-lock clauses of a locking SELECT.
// SQLite needs none: its write transactions are serialized as a whole.
func (s *Store) forUpdate() string {
	if s.driver == DriverPostgres {
		return " FOR UPDATE"
	}
	return ""
}

func (s *Store) forShare() string {
	if s.driver == DriverPostgres {
		return " FOR SHARE"
	}
	return ""
}
