// Package source reads raw records from the places a pipeline extracts from:
// the synthetic demo:// source, local file:// files and http(s):// JSON APIs.
//
// Every source is read page by page through a Reader. After each page the
// caller gets an opaque cursor; handing it back to Open resumes right after
// that page, which is how a retried Extract attempt continues from its last
// checkpoint instead of starting over. Open is DataPipeline's Extract's
// way in; OpenRef is a flow of one's own's: any source URL or source:NAME,
// the fields it reads, a cursor and a limit.
//
// Errors that end a read are Temporal ApplicationErrors typed with the
// pipeline error types, so the activity can return them unchanged and the
// retry policy knows whether another attempt can help.
//
// It must not import `internal/store`, `internal/datapipeline`, `activities`
// or `workflows`: a source only reads.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

// Defaults of the Config fields left at zero.
const (
	DefaultHTTPTimeout      = 30 * time.Second
	DefaultMaxResponseBytes = 64 << 20
	DefaultPageSize         = 5000
	// maxRetryAfter caps a server's Retry-After, so a hostile or buggy
	// server cannot park a run for hours.
	maxRetryAfter = 10 * time.Minute
)

// Config is the worker-side configuration of sources (from env, set by the worker).
type Config struct {
	// FileRoot confines file:// sources: a path must resolve (after Clean and
	// EvalSymlinks) inside this directory. "" means the current working directory.
	FileRoot string
	// HTTPTimeout bounds one HTTP request, body included; 0 means 30s.
	HTTPTimeout time.Duration
	// MaxResponseBytes bounds one HTTP response body; 0 means 64 MiB. A
	// larger body is refused after reading at most MaxResponseBytes+1 bytes.
	MaxResponseBytes int64
	// HTTPClient sends the requests; nil means a client of the reader's own
	// (no shared global state), whose idle connections Close releases.
	HTTPClient *http.Client
	// HTTPHeaders are added to every request to the source URL's origin
	// (e.g. Authorization). They are never logged, and never sent to a next
	// page link on another origin.
	HTTPHeaders map[string]string
	// LookupEnv reads the environment variables a named source's auth
	// names; nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// PageSize is the number of records per page of demo and file sources;
	// 0 means 5000. An HTTP source's pages are the server's pages.
	PageSize int
}

// ConfigFromEnv reads how a process started in this environment reads
// sources: the worker, and `blueprint source check`, which must read as a
// worker would. BLUEPRINT_FILE_ROOT, BLUEPRINT_HTTP_TIMEOUT,
// BLUEPRINT_MAX_RESPONSE_BYTES and BLUEPRINT_HTTP_BEARER_TOKEN; a named
// source's auth variables are read when it is opened (LookupEnv).
func ConfigFromEnv() (Config, error) {
	c := Config{FileRoot: os.Getenv("BLUEPRINT_FILE_ROOT")}
	if v := os.Getenv("BLUEPRINT_HTTP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("BLUEPRINT_HTTP_TIMEOUT=%q: must be a positive duration like 30s", v)
		}
		c.HTTPTimeout = d
	}
	if v := os.Getenv("BLUEPRINT_MAX_RESPONSE_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("BLUEPRINT_MAX_RESPONSE_BYTES=%q: must be a positive integer", v)
		}
		c.MaxResponseBytes = n
	}
	if v := os.Getenv("BLUEPRINT_HTTP_BEARER_TOKEN"); v != "" {
		c.HTTPHeaders = map[string]string{"Authorization": "Bearer " + v}
	}
	return c, nil
}

func (c Config) withDefaults() Config {
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	return c
}

// Attempt tells the synthetic source which attempt of the activity is
// running, so that its simulated outages can be transient: see Open.
type Attempt struct {
	WorkflowID string
	Number     int32 // 1 for the first attempt
	Max        int32 // the retry policy's maximum attempts; 0 = unknown/unlimited
}

// Page is a batch of raw records in source order. Each record is one JSON
// value without newlines, normally an object; a record that is not valid
// JSON is passed on as it is, for Transform to reject.
type Page struct {
	Records [][]byte
	// Cursor is the opaque position right after this page. "" means the
	// source has nothing more; do not pass "" back to Open to resume, as it
	// means "from the beginning" there.
	Cursor string
	// Warnings are things the run's logs should say about the source,
	// e.g. a mapped field that no record of the first page has.
	Warnings []string
}

// Reader yields the pages of one source.
type Reader interface {
	// Next returns the next page, or io.EOF itself (never wrapped) when the
	// limit is reached or the source has nothing more: only the source says
	// that a feed has ended, so a caller compares err == io.EOF. Every other
	// failure, a connection closed before or during a response included, is
	// an error that does not satisfy errors.Is(err, io.EOF). A cancelled ctx
	// ends it promptly with the context's error.
	Next(ctx context.Context) (Page, error)
	// Close releases the reader's file or connections.
	Close() error
}

// Open starts reading spec for DataPipeline's Extract from cursor ("" =
// the beginning), yielding at most limit records in total from this call
// (limit <= 0 yields none). fields are the fields of the run's dataset (see
// ReadOptions.Fields): a named source's fields: mapping maps onto them.
//
// For a demo source, attempt drives failure injection: with fail=always
// every page fails with a retryable error, on every attempt. With
// failure_rate=p an attempt meets an outage with probability p, decided by
// a hash of (seed, workflow ID, attempt number), and fails part-way through
// (after some pages when there are several, so a retry resumes from a
// checkpoint). Outages are transient by construction: the last attempt
// (Number >= Max) never meets one, and when Max is unknown (<= 0) only the
// first attempt can.
func Open(ctx context.Context, spec sourceurl.Spec, cursor string, limit int64, fields []string, attempt Attempt, cfg Config) (Reader, error) {
	return openSpec(ctx, spec, cursor, limit, fields, attempt, cfg)
}

// ReadOptions say what a read of OpenRef yields.
type ReadOptions struct {
	// Cursor is where the read resumes: a Page.Cursor of an earlier read
	// of the same source, "" for the beginning.
	Cursor string
	// Fields are the fields the caller reads from each record (names
	// that follow restapi.CheckFieldName). A named source's fields:
	// mapping says where each is in a source record; one it does not map
	// is read from the member of the same name, and the record holds the
	// fields asked for, in this order, and nothing else. Nil asks for
	// every field the mapping names. Without a mapping, records pass as
	// they are: every field is under its own name already. A record that
	// is not a JSON object always passes as it is, for the caller to
	// reject.
	Fields []string
	// Limit bounds the records of this read; 0 means no limit (a demo://
	// source never ends by itself: give it one).
	Limit int64
}

// OpenRef opens a source for a flow of one's own, as DataPipeline's
// Extract opens its source_url: ref is any source URL (http(s)://,
// file://, demo://) or source:NAME, checked by the rules of every
// source_url parameter (sourceurl.Resolve: its length, scheme and form).
// A source:NAME is read by def, its definition from the run's input (the
// blueprint CLI puts it there from the manifest's sources:); def must be
// that source's (its Name is NAME), and nil for any other URL:
// sourceurl.DefinitionOf(ref, defs) picks it from the definitions by name
// that the flow's input carries.
//
// In an activity, the activity's attempt drives a demo source's failure
// injection (see Open); anywhere else there is no attempt. Every error,
// of OpenRef and of the Reader's Next, is an ApplicationError the
// activity can return unchanged: Transient (retryable, with a server's
// Retry-After as the next retry's delay), BadSource or BadData (not
// retryable). A bad ref, def or opts is BadSource.
func OpenRef(ctx context.Context, ref string, def *restapi.Definition, opts ReadOptions, cfg Config) (Reader, error) {
	shown := redact.URL(ref)
	spec, err := sourceurl.Resolve(ref, def)
	if err != nil {
		return nil, badSource(nil, "source %s: %v", shown, err)
	}
	for i, f := range opts.Fields {
		if err := restapi.CheckFieldName(f); err != nil {
			return nil, badSource(nil, "source %s: fields[%d]: %v", shown, i, err)
		}
	}
	limit := opts.Limit
	switch {
	case limit < 0:
		return nil, badSource(nil, "source %s: limit %d: must be 0 (no limit) or more", shown, limit)
	case limit == 0:
		limit = math.MaxInt64
	}
	var attempt Attempt
	if activity.IsActivity(ctx) {
		attempt = attemptOf(activity.GetInfo(ctx))
	}
	return openSpec(ctx, spec, opts.Cursor, limit, opts.Fields, attempt, cfg)
}

// attemptOf is the attempt of an activity: its number, and the maximum
// of its retry policy when the server sent it (0, unknown, otherwise).
func attemptOf(info activity.Info) Attempt {
	a := Attempt{WorkflowID: info.WorkflowExecution.ID, Number: info.Attempt}
	if info.RetryPolicy != nil {
		a.Max = info.RetryPolicy.MaximumAttempts
	}
	return a
}

// openSpec starts a read of spec that yields the fields wanted (see
// ReadOptions.Fields).
func openSpec(ctx context.Context, spec sourceurl.Spec, cursor string, limit int64, fields []string, attempt Attempt, cfg Config) (Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	switch spec.Kind {
	case sourceurl.Demo:
		return openDemo(spec, cursor, limit, attempt, cfg)
	case sourceurl.File:
		return openFile(spec, cursor, limit, cfg)
	case sourceurl.HTTP:
		return openHTTP(spec, cursor, limit, fields, cfg)
	default:
		return nil, badSource(nil, "source kind %q is not supported", spec.Kind)
	}
}

// newError builds the ApplicationError every failure of this package is.
// Its cause never is or wraps io.EOF (see notTheEnd).
func newError(errType string, retryable bool, delay time.Duration, cause error, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), errType, temporal.ApplicationErrorOptions{
		NonRetryable:   !retryable,
		NextRetryDelay: delay,
		Cause:          notTheEnd(cause),
	})
}

// notTheEnd returns cause, or, when cause is or wraps io.EOF, an error
// with the same message that wraps io.ErrUnexpectedEOF instead. io.EOF
// from a Reader means the feed is exhausted; the io.EOF of a transport or
// a file read (a server that closed the connection before answering) is
// a failure, and must never read as the end of the feed to a caller that
// looks down the error's chain.
func notTheEnd(cause error) error {
	if cause == nil || !errors.Is(cause, io.EOF) {
		return cause
	}
	return &cutShort{msg: cause.Error()}
}

// cutShort is an input that ended before it was complete.
type cutShort struct{ msg string }

func (e *cutShort) Error() string { return e.msg }
func (e *cutShort) Unwrap() error { return io.ErrUnexpectedEOF }

// badSource: the source cannot be read as configured; retrying cannot help.
func badSource(cause error, format string, args ...any) error {
	return newError(runinfo.ErrBadSource, false, 0, cause, format, args...)
}

// badData: the source's bytes are not in the declared format.
func badData(cause error, format string, args ...any) error {
	return newError(runinfo.ErrBadData, false, 0, cause, format, args...)
}

// transient: another attempt may succeed; delay (0 = the policy's) is the
// server's Retry-After, if it sent one.
func transient(delay time.Duration, cause error, format string, args ...any) error {
	return newError(runinfo.ErrTransient, true, delay, cause, format, args...)
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
