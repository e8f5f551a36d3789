package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// A warehouse outage (a PostgreSQL restart or failover, every connection
// dropped, a SQLite file locked by another process) is waited out inside
// the call that meets it: the call's whole read or transaction is tried
// again, with backoff, until the warehouse answers or the store's wait
// bound has passed since the first failure (see SetWait). Only then does
// the call fail. Errors about the work itself (a constraint, a bad value)
// are never retried here.
const (
	// EnvWait is the worker's environment variable that sets the bound
	// (default runinfo.DefaultWarehouseWait, at most runinfo.MaxWarehouseWait).
	EnvWait = "BLUEPRINT_WAREHOUSE_WAIT"
	// waitFirstPause and waitMaxPause bound the pause between two tries:
	// the first retry is almost at once (a dropped connection is usually
	// replaced on the next try), later ones back off to one every 2 s, so
	// a warehouse that is back is used within 2 s.
	waitFirstPause = 100 * time.Millisecond
	waitMaxPause   = 2 * time.Second
	// waitDeadlineMargin is kept free before the context's deadline: the
	// call then fails with the warehouse's error instead of a timeout.
	waitDeadlineMargin = time.Second
)

// WaitFromEnv reads EnvWait with lookup (os.LookupEnv when nil): a
// duration from 0 (no waiting) to runinfo.MaxWarehouseWait,
// runinfo.DefaultWarehouseWait when unset.
func WaitFromEnv(lookup func(string) (string, bool)) (time.Duration, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(EnvWait)
	if !ok || v == "" {
		return runinfo.DefaultWarehouseWait, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > runinfo.MaxWarehouseWait {
		return runinfo.DefaultWarehouseWait, fmt.Errorf("%s=%q: must be a duration from 0s (do not wait) to %s, such as 5m", EnvWait, v, runinfo.MaxWarehouseWait)
	}
	return d, nil
}

// SetWait sets how long a call waits for an unreachable warehouse (0, the
// default of Open, fails at once, as a command-line tool wants). Call it
// before the store is shared.
func (s *Store) SetWait(d time.Duration) { s.wait = d }

// Wait is a call's wait for the warehouse.
type Wait struct {
	// Cause says why the warehouse is unreachable, in a few words and
	// without secrets (see WaitCause).
	Cause string
	// Since is when the call first failed.
	Since time.Time
	// Tries counts the tries after the first failure.
	Tries int
}

// Observer hears about the store calls made with a context (see
// WithObserver): the worker gives one to each activity, to heartbeat
// while a call takes long and to show and log a wait. Its methods are
// called from the calls' goroutines, concurrently, and must return
// quickly.
type Observer interface {
	// Call is called as a call starts; it returns what to call as it ends.
	Call() (done func())
	// Waiting is called when a call waits for the warehouse: at first,
	// and before each further try.
	Waiting(w Wait)
	// Waited is called when the wait is over: back is true when the
	// warehouse answered, false when the call gave up.
	Waited(w Wait, back bool)
}

type observerKey struct{}

type waitKey struct{}

// WithWait returns a context whose store calls wait at most d for an
// unreachable warehouse (0: not at all), when that is less than the
// store's bound: for a write not worth holding its caller up, such as
// the log line of a notification already sent.
func WithWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, waitKey{}, d)
}

// WithObserver returns a context whose store calls report to o; a nil o
// reports nowhere (for calls the observer itself makes).
func WithObserver(ctx context.Context, o Observer) context.Context {
	return context.WithValue(ctx, observerKey{}, o)
}

func observerOf(ctx context.Context) Observer {
	o, _ := ctx.Value(observerKey{}).(Observer)
	return o
}

// WaitError is the error of a call that waited for the warehouse and gave
// up: the bound passed or its context ended.
type WaitError struct {
	Waited time.Duration
	Err    error // the last try's error
	// Ctx is the context's error when it ended the wait (errors.Is sees
	// it: a cancelled activity is cancelled, not failed).
	Ctx error
}

func (e *WaitError) Error() string {
	msg := fmt.Sprintf("the warehouse was unreachable for %s (%s): %v", e.Waited.Round(time.Second), WaitCause(e.Err), e.Err)
	if e.Ctx != nil {
		msg += "; gave up: " + e.Ctx.Error()
	}
	return msg
}

func (e *WaitError) Unwrap() []error {
	if e.Ctx != nil {
		return []error{e.Err, e.Ctx}
	}
	return []error{e.Err}
}

// retry runs fn, one whole read or transaction, and runs it again while
// it fails with a connection-class error (IsConnectionError), for up to
// the store's wait bound after the first failure. A transaction that
// failed was rolled back (or its connection is gone), so running it again
// from its start is safe; writes that may have committed just before the
// connection broke are idempotent (chunk writes skip a committed sequence
// number, run records only move forward).
func (s *Store) retry(ctx context.Context, fn func() error) error {
	o := observerOf(ctx)
	if o != nil {
		defer o.Call()()
	}
	bound := s.wait
	if d, ok := ctx.Value(waitKey{}).(time.Duration); ok && d < bound {
		bound = d
	}
	return waitFor(ctx, bound, o, fn)
}

// waitFor is retry's loop; a bound < 0 waits until ctx ends.
func waitFor(ctx context.Context, bound time.Duration, o Observer, fn func() error) error {
	err := fn()
	if err == nil || bound == 0 || !IsConnectionError(err) || ctx.Err() != nil {
		return err
	}
	w := Wait{Cause: WaitCause(err), Since: time.Now()}
	var deadline time.Time
	if bound > 0 {
		deadline = w.Since.Add(bound)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Add(-waitDeadlineMargin).Before(deadline)) {
		deadline = d.Add(-waitDeadlineMargin)
	}
	pause := waitFirstPause
	for {
		if o != nil {
			o.Waiting(w)
		}
		wait := pause
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			wait = min(wait, left)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if o != nil {
				o.Waited(w, false)
			}
			return &WaitError{Waited: time.Since(w.Since), Err: err, Ctx: ctx.Err()}
		case <-t.C:
		}
		pause = min(2*pause, waitMaxPause)
		w.Tries++
		err = fn()
		if err == nil || !IsConnectionError(err) {
			if o != nil {
				o.Waited(w, true)
			}
			return err
		}
		w.Cause = WaitCause(err)
	}
	if o != nil {
		o.Waited(w, false)
	}
	return &WaitError{Waited: time.Since(w.Since), Err: err}
}

// IsConnectionError reports whether err says that the warehouse could not
// be reached or dropped the connection, as opposed to refusing the work:
// PostgreSQL's class 08 (connection exception) and 57P01-57P03 (the
// server is shutting down, crashed, or not accepting connections yet), a
// connection that could not be opened, was refused, reset or closed, and
// SQLite's busy or locked (another process held the file past the busy
// timeout). A context's end is not one, but for a connection attempt's
// own timeout: the caller gave up.
func IsConnectionError(err error) bool {
	var gaveUp *WaitError
	if err == nil || (errors.As(err, &gaveUp) && gaveUp.Ctx != nil) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true // no server answered: refused, unreachable, timed out
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	for _, target := range []error{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT,
		driver.ErrBadConn, pgconn.ErrConnClosed, net.ErrClosed, io.ErrUnexpectedEOF, io.EOF,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// WaitCause says in a few words why the warehouse is unreachable, for
// logs, heartbeats and the Web UI: never the DSN, user or password that a
// driver's connection error may quote.
func WaitCause(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return fmt.Sprintf("%s (SQLSTATE %s)", pg.Message, pg.Code)
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		if lite.Code()&0xff == sqlite3.SQLITE_LOCKED {
			return "the SQLite database is locked (SQLITE_LOCKED)"
		}
		return "the SQLite database is locked by another connection (SQLITE_BUSY)"
	}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, net.ErrClosed):
		return "the connection was closed"
	}
	var connect *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		return "no answer (timeout)"
	case errors.As(err, &connect):
		return "cannot connect"
	}
	return "connection lost"
}

// OpenWaiting is Open for a worker: while the warehouse cannot be reached
// (IsConnectionError) it tries again, with backoff, until ctx ends,
// telling o about the wait (o may be nil). Any other error is returned at
// once: a wrong DSN or password does not heal by waiting.
func OpenWaiting(ctx context.Context, dsn string, o Observer) (*Store, error) {
	var s *Store
	err := waitFor(ctx, -1, o, func() (err error) {
		s, err = Open(ctx, dsn)
		return err
	})
	return s, err
}
