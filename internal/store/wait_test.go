package store_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// refusedError is the error of a real connection attempt to a port where
// nothing listens, with a password in the DSN.
func refusedError(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pgx.Connect(ctx, fmt.Sprintf("postgres://etl:s3cr3t-pw@127.0.0.1:%d/db?sslmode=disable", testutil.FreePort(t)))
	require.Error(t, err)
	return err
}

// silentError is the error of a real connection attempt to a server that
// accepts the connection and never answers: the attempt's own timeout.
func silentError(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	_, err = pgx.Connect(ctxT(t), "postgres://etl@"+ln.Addr().String()+"/db?sslmode=disable&connect_timeout=1")
	require.Error(t, err)
	return err
}

// sqliteErrors returns a real SQLITE_BUSY (another connection holds the
// write lock, and the busy timeout is 0) and a real constraint violation.
func sqliteErrors(t *testing.T) (busy, constraint error) {
	t.Helper()
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "lock.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	holder, other := open(), open()
	_, err := holder.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	require.NoError(t, err)
	_, err = holder.ExecContext(ctx, `INSERT INTO t VALUES (1)`)
	require.NoError(t, err)
	conn, err := holder.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `BEGIN EXCLUSIVE`)
	require.NoError(t, err)
	_, busy = other.ExecContext(ctx, `INSERT INTO t VALUES (2)`)
	require.Error(t, busy)
	_, err = conn.ExecContext(ctx, `ROLLBACK`)
	require.NoError(t, err)
	_, constraint = other.ExecContext(ctx, `INSERT INTO t VALUES (1)`)
	require.Error(t, constraint)
	return busy, constraint
}

func TestIsConnectionError(t *testing.T) {
	busy, constraint := sqliteErrors(t)
	refused := refusedError(t)
	pg := func(code string) error {
		return &pgconn.PgError{Severity: "FATAL", Code: code, Message: "server says " + code}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused (real)", refused, true},
		{"connection refused, wrapped", fmt.Errorf("store: connect to x: %w", refused), true},
		{"no answer within connect_timeout (real)", silentError(t), true},
		{"08000 connection_exception", pg("08000"), true},
		{"08003 connection_does_not_exist", pg("08003"), true},
		{"08006 connection_failure", pg("08006"), true},
		{"08001 cannot connect now", pg("08001"), true},
		{"57P01 admin_shutdown (pg_terminate_backend, fast stop)", pg("57P01"), true},
		{"57P02 crash_shutdown", pg("57P02"), true},
		{"57P03 cannot_connect_now (starting up)", fmt.Errorf("begin transaction: %w", pg("57P03")), true},
		{"57014 query_canceled", pg("57014"), false},
		{"40001 serialization_failure", pg("40001"), false},
		{"23505 unique_violation", pg("23505"), false},
		{"22003 numeric out of range in a row", &store.RowError{RecordID: "a", Err: pg("22003")}, false},
		{"28P01 wrong password", pg("28P01"), false},
		{"53300 too_many_connections", pg("53300"), false},
		{"SQLite busy past its busy timeout (real)", busy, true},
		{"SQLite busy, wrapped", fmt.Errorf("commit: %w", busy), true},
		{"SQLite constraint (real)", constraint, false},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"broken pipe", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{"unexpected EOF mid-response", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"bad connection", driver.ErrBadConn, true},
		{"pgx conn closed", pgconn.ErrConnClosed, true},
		{"gave up waiting", &store.WaitError{Waited: time.Minute, Err: refused}, true},
		{"gave up waiting: cancelled", &store.WaitError{Waited: time.Minute, Err: refused, Ctx: context.Canceled}, false},
		{"context cancelled", context.Canceled, false},
		{"deadline exceeded", fmt.Errorf("query: %w", context.DeadlineExceeded), false},
		{"no rows", sql.ErrNoRows, false},
		{"run finished", store.ErrRunFinished, false},
		{"anything else", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, store.IsConnectionError(tt.err), "%v", tt.err)
		})
	}
}

func TestWaitCauseHasNoSecrets(t *testing.T) {
	refused := refusedError(t)
	require.Contains(t, refused.Error(), "etl", "the driver's message names the user")
	cause := store.WaitCause(fmt.Errorf("store: %w", refused))
	assert.Equal(t, "connection refused", cause)
	busy, _ := sqliteErrors(t)
	assert.Equal(t, "the SQLite database is locked by another connection (SQLITE_BUSY)", store.WaitCause(busy))
	assert.Equal(t, "terminating connection due to administrator command (SQLSTATE 57P01)",
		store.WaitCause(&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}))
	assert.Equal(t, "the connection was closed", store.WaitCause(io.ErrUnexpectedEOF))
}

func TestWaitFromEnv(t *testing.T) {
	tests := []struct {
		value   string
		set     bool
		want    time.Duration
		wantErr bool
	}{
		{set: false, want: runinfo.DefaultWarehouseWait},
		{value: "", set: true, want: runinfo.DefaultWarehouseWait},
		{value: "30s", set: true, want: 30 * time.Second},
		{value: "0s", set: true, want: 0},
		{value: "1h", set: true, want: time.Hour},
		{value: "61m", set: true, wantErr: true},
		{value: "-1s", set: true, wantErr: true},
		{value: "5", set: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.value), func(t *testing.T) {
			got, err := store.WaitFromEnv(func(k string) (string, bool) {
				require.Equal(t, store.EnvWait, k)
				return tt.value, tt.set
			})
			if tt.wantErr {
				require.ErrorContains(t, err, store.EnvWait+"="+fmt.Sprintf("%q", tt.value)+": must be a duration from 0s (do not wait) to 1h0m0s")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// observer records what the store tells it; waiting receives each
// Waiting call.
type observer struct {
	mu      sync.Mutex
	calls   int
	open    int
	waiting chan store.Wait
	waited  []bool
}

func newObserver() *observer { return &observer{waiting: make(chan store.Wait, 1000)} }

func (o *observer) Call() func() {
	o.mu.Lock()
	o.calls++
	o.open++
	o.mu.Unlock()
	return func() { o.mu.Lock(); o.open--; o.mu.Unlock() }
}

func (o *observer) Waiting(w store.Wait) { o.waiting <- w }

func (o *observer) Waited(_ store.Wait, back bool) {
	o.mu.Lock()
	o.waited = append(o.waited, back)
	o.mu.Unlock()
}

func (o *observer) result() (open int, waited []bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.open, append([]bool(nil), o.waited...)
}

// run starts fn in a goroutine and returns its error's channel.
func run(fn func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return done
}

// lockSQLite holds an exclusive lock on the SQLite file of st, from a
// connection of its own, until the returned function is called.
func lockSQLite(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	conn, err := db.Conn(ctxT(t))
	require.NoError(t, err)
	_, err = conn.ExecContext(ctxT(t), `BEGIN EXCLUSIVE`)
	require.NoError(t, err)
	return func() {
		_, err := conn.ExecContext(context.Background(), `COMMIT`)
		require.NoError(t, err)
		require.NoError(t, conn.Close())
	}
}

// TestWaitForSQLiteLock: another connection holds the file's write lock
// past the busy timeout; the write waits (telling its observer) and
// commits once the lock is released.
func TestWaitForSQLiteLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warehouse.db")
	st, err := store.Open(ctxT(t), "sqlite:"+path+"?_pragma=busy_timeout(20)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	st.SetWait(time.Minute)
	var busyTimeout int
	require.NoError(t, st.DB().QueryRowContext(ctxT(t), `PRAGMA busy_timeout`).Scan(&busyTimeout))
	require.Equal(t, 20, busyTimeout, "the DSN's busy_timeout replaces the store's")
	o := newObserver()
	ctx := store.WithObserver(ctxT(t), o)
	ref := runinfo.RunRef{WorkflowID: "wf", RunID: "r1"}

	release := lockSQLite(t, path)
	done := run(func() error {
		return st.BeginRun(ctx, store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID, Source: "demo"})
	})
	w := <-o.waiting // the write met the lock and waits
	assert.Equal(t, "the SQLite database is locked by another connection (SQLITE_BUSY)", w.Cause)
	assert.Zero(t, w.Tries)
	select {
	case err := <-done:
		t.Fatalf("the write returned while the lock is held: %v", err)
	default:
	}
	release()
	require.NoError(t, <-done)
	open, waited := o.result()
	assert.Zero(t, open, "every call ended")
	assert.Equal(t, []bool{true}, waited, "one wait, over because the warehouse answered")
	got, err := st.GetRun(ctxT(t), ref)
	require.NoError(t, err)
	assert.Equal(t, runinfo.RunRunning, got.Status)
}

// TestWaitGivesUpAfterTheBound: a lock held past the store's bound fails
// the call with a WaitError that names the cause; a store without a bound
// fails at once.
func TestWaitGivesUpAfterTheBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warehouse.db")
	st, err := store.Open(ctxT(t), "sqlite:"+path+"?_pragma=busy_timeout(20)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	release := lockSQLite(t, path)
	defer release()
	ref := runinfo.RunRef{WorkflowID: "wf", RunID: "r1"}

	o := newObserver()
	err = st.FinishRun(store.WithObserver(ctxT(t), o), ref, runinfo.RunFailed, "boom")
	require.Error(t, err)
	var we *store.WaitError
	require.False(t, errors.As(err, &we), "no bound, no wait: %v", err)
	assert.True(t, store.IsConnectionError(err))
	assert.Empty(t, o.waiting)

	st.SetWait(300 * time.Millisecond)
	err = st.FinishRun(store.WithObserver(ctxT(t), o), ref, runinfo.RunFailed, "boom")
	require.ErrorAs(t, err, &we)
	assert.GreaterOrEqual(t, we.Waited, 300*time.Millisecond)
	assert.Contains(t, err.Error(), "the warehouse was unreachable for")
	assert.Contains(t, err.Error(), "(the SQLite database is locked by another connection (SQLITE_BUSY))")
	_, waited := o.result()
	assert.Equal(t, []bool{false}, waited, "the wait ended without the warehouse")
	assert.NotEmpty(t, o.waiting)

	// A context may ask for a shorter wait.
	st.SetWait(time.Minute)
	err = st.FinishRun(store.WithWait(ctxT(t), 200*time.Millisecond), ref, runinfo.RunFailed, "boom")
	require.ErrorAs(t, err, &we)
	assert.Less(t, we.Waited, time.Minute)

	// A context that ends (a cancelled activity) ends the wait: the
	// error says so.
	ctx, cancel := context.WithCancel(ctxT(t))
	o = newObserver()
	done := run(func() error { return st.FinishRun(store.WithObserver(ctx, o), ref, runinfo.RunFailed, "boom") })
	<-o.waiting
	cancel()
	err = <-done
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorAs(t, err, &we)
	assert.False(t, store.IsConnectionError(err))
}

// TestWaitDoesNotRetryDataErrors: an error about the work fails the call
// at once, with no wait, whatever the bound.
func TestWaitDoesNotRetryDataErrors(t *testing.T) {
	eachDriver(t, func(t *testing.T, st *store.Store) {
		st.SetWait(time.Minute)
		o := newObserver()
		ctx := store.WithObserver(ctxT(t), o)
		err := st.FinishRun(ctx, runinfo.RunRef{WorkflowID: "wf", RunID: "r"}, "done", "")
		require.ErrorContains(t, err, `status "done" is not`)
		rows := makeOrders(0, 1)
		rows[0].Amount = "1" + fmt.Sprint(time.Now().Year()) + "0000000000000000000000000000000000000000"
		_, err = st.WriteOrders(ctx, "src", rows)
		require.Error(t, err)
		assert.False(t, store.IsConnectionError(err), "%v", err)
		assert.Empty(t, o.waiting, "no wait")
	})
}

// TestWaitRetriesTheWholeTransaction drops the connection of a write that
// is blocked inside its transaction (on the shared PostgreSQL server, only
// this test's own session, found by its application_name): the write gets
// 57P01, and its whole transaction runs again and commits once the lock
// is gone.
func TestWaitRetriesTheWholeTransaction(t *testing.T) {
	dsn := storetest.DSN(t, store.DriverPostgres)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	app := testutil.UniqueID("bp-wait")
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	st, err := store.Open(ctxT(t), u.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	st.SetWait(time.Minute)
	ctx := ctxT(t)
	schema := q.Get("search_path")

	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer admin.Close(context.Background())
	tx, err := admin.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	_, err = tx.Exec(ctx, `LOCK TABLE `+schema+`.pipeline_runs IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)

	o := newObserver()
	ref := runinfo.RunRef{WorkflowID: "wf", RunID: "r1"}
	done := run(func() error {
		return st.BeginRun(store.WithObserver(ctx, o), store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID, Source: "demo"})
	})
	// The write waits for the lock inside its transaction (a state that
	// lasts until the lock is released).
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n))
		return n == 1
	}, time.Minute, 20*time.Millisecond)
	var killed int
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed))
	require.Positive(t, killed)
	w := <-o.waiting
	assert.Equal(t, "terminating connection due to administrator command (SQLSTATE 57P01)", w.Cause)
	require.NoError(t, tx.Rollback(ctx))
	require.NoError(t, <-done)
	_, waited := o.result()
	assert.Equal(t, []bool{true}, waited)
	got, err := st.GetRun(ctx, ref)
	require.NoError(t, err)
	assert.Equal(t, "demo", got.Source)
}

// TestWaitOutlivesAPostgresRestart stops a private PostgreSQL server under
// a store: a write waits while connections are refused, and commits once
// the server is back; a store opened while the server is down waits too.
func TestWaitOutlivesAPostgresRestart(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("%s is not set; skipping the PostgreSQL variant", storetest.PostgresEnv)
	}
	t.Parallel()
	c := storetest.NewCluster(t)
	ctx := ctxT(t)
	st, err := store.Open(ctx, c.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	st.SetWait(time.Minute)
	ref := runinfo.RunRef{WorkflowID: "wf", RunID: "r1"}
	require.NoError(t, st.BeginRun(ctx, store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID, Source: "demo"}))

	c.Stop()
	o := newObserver()
	done := run(func() error { return st.FinishRun(store.WithObserver(ctx, o), ref, runinfo.RunFailed, "boom") })
	w := <-o.waiting
	assert.Contains(t, []string{"connection refused", "no such file or directory", "the connection was closed",
		"terminating connection due to administrator command (SQLSTATE 57P01)"}, w.Cause)
	opened := newObserver()
	reopened := run(func() error {
		s, err := store.OpenWaiting(ctx, c.URL(), opened)
		if err == nil {
			err = s.Close()
		}
		return err
	})
	<-opened.waiting
	c.Start()
	require.NoError(t, <-done)
	require.NoError(t, <-reopened)
	got, err := st.GetRun(ctx, ref)
	require.NoError(t, err)
	assert.Equal(t, runinfo.RunFailed, got.Status)
	assert.Equal(t, "boom", got.Error)
	_, waited := o.result()
	assert.Equal(t, []bool{true}, waited)
}
