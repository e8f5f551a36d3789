package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

// mustSpec parses a source URL the way the workflow does.
func mustSpec(t testing.TB, raw string) sourceurl.Spec {
	t.Helper()
	spec, err := sourceurl.Parse(raw)
	require.NoError(t, err, raw)
	return spec
}

// open opens a source and closes it at the end of the test.
func open(t testing.TB, spec sourceurl.Spec, cursor string, limit int64, attempt Attempt, cfg Config) Reader {
	t.Helper()
	r, err := Open(context.Background(), spec, cursor, limit, restapi.RecordFields, attempt, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

// readAll drains r and returns its records and the cursor after each page.
// It stops at the first error, which it returns.
func readAll(t testing.TB, r Reader) (records []string, cursors []string, err error) {
	t.Helper()
	records = []string{}
	for {
		page, err := r.Next(context.Background())
		if err == io.EOF { // the Reader contract: io.EOF itself, never wrapped
			return records, cursors, nil
		}
		if err != nil {
			return records, cursors, err
		}
		for _, rec := range page.Records {
			require.False(t, bytes.ContainsAny(rec, "\n"), "record has a newline: %q", rec)
			records = append(records, string(rec))
		}
		cursors = append(cursors, page.Cursor)
	}
}

// requireAppError checks that err is an ApplicationError of errType with
// the given retryability, and returns it for further checks.
func requireAppError(t testing.TB, err error, errType string, retryable bool) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "not an ApplicationError: %v", err)
	require.Equal(t, errType, appErr.Type(), "error: %v", err)
	require.Equal(t, !retryable, appErr.NonRetryable(), "error: %v", err)
	return appErr
}

func TestOpenUnknownKind(t *testing.T) {
	_, err := Open(context.Background(), sourceurl.Spec{Kind: "ftp"}, "", 10, restapi.RecordFields, Attempt{}, Config{})
	requireAppError(t, err, runinfo.ErrBadSource, false)
}

func TestOpenCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Open(ctx, mustSpec(t, "demo://orders"), "", 10, restapi.RecordFields, Attempt{}, Config{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"99999999999", maxRetryAfter},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0}, // in the past
		{"Mon, 02 Mar 2026 12:00:00 GMT", maxRetryAfter},
		{"soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			require.Equal(t, tt.want, retryAfter(tt.value, now))
		})
	}
}

func TestLinkNext(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"simple", []string{`<https://api.test/p?page=2>; rel="next"`}, "https://api.test/p?page=2"},
		{"unquoted", []string{`</p/2>; rel=next`}, "/p/2"},
		{"among others", []string{`<https://a.test/1>; rel="prev", <https://a.test/3>; rel="next", <https://a.test/9>; rel="last"`}, "https://a.test/3"},
		{"multi-valued rel", []string{`<https://a.test/9>; rel="last next"`}, "https://a.test/9"},
		{"second header", []string{`<https://a.test/1>; rel="prev"`, `<https://a.test/2>; title="x"; REL="Next"`}, "https://a.test/2"},
		{"no next", []string{`<https://a.test/1>; rel="prev"`}, ""},
		{"garbage", []string{`>; rel="next" <`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, linkNext(tt.values))
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`quote " and \ backslash`, `"quote \" and \\ backslash"`},
		{"line\nbreak\r\ttab\x01", `"line\nbreak\r\ttab\u0001"`},
		{"héllo ✓", `"héllo ✓"`},
		{"bad \xff utf8", `"bad \ufffd utf8"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, string(appendJSONString(nil, tt.in)))
		})
	}
}
