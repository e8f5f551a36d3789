package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// feedSpec is the spec a run of the feed reads.
func feedSpec(t *testing.T, f *testutil.Feed) sourceurl.Spec {
	t.Helper()
	raw, def := f.Source()
	if def != nil {
		return namedSpec(t, *def)
	}
	return mustSpec(t, raw)
}

// requireNotTheEnd checks that err is a retryable Transient error that no
// caller can take for the end of the feed.
func requireNotTheEnd(t *testing.T, err error, msg string) {
	t.Helper()
	require.NotErrorIs(t, err, io.EOF, "a failure never reads as the end of the feed: %v", err)
	appErr := requireAppError(t, err, runinfo.ErrTransient, true)
	require.Contains(t, appErr.Error(), msg)
}

// TestHTTPFaultsAreNotTheEnd: each way a server fails a page is a
// Transient error, never io.EOF or an error that wraps it. The server
// closes every connection, so each request is on a fresh one, which Go's
// transport does not retry by itself.
func TestHTTPFaultsAreNotTheEnd(t *testing.T) {
	tests := []struct {
		fault testutil.FeedFault
		style testutil.FeedStyle
		msg   string
	}{
		{testutil.FaultDrop, testutil.FeedNextPage, "the server closed the connection without answering"},
		{testutil.FaultDrop, testutil.FeedLinkNDJSON, "the server closed the connection without answering"},
		{testutil.FaultServerError, testutil.FeedCursorToken, "503 Service Unavailable"},
		{testutil.FaultShortBody, testutil.FeedLinkArray, "the response is truncated: 40 of its"},
		{testutil.FaultShortBody, testutil.FeedLinkNDJSON, "the response is truncated: 40 of its"},
		{testutil.FaultOpenChunked, testutil.FeedOffsetBody, "its chunked body ends after 40 bytes without its last chunk"},
		{testutil.FaultOpenChunked, testutil.FeedLinkNDJSON, "its chunked body ends after 40 bytes without its last chunk"},
		{testutil.FaultCutDocument, testutil.FeedNextURL, "the response is truncated: input ends early: unterminated JSON object"},
		{testutil.FaultCutDocument, testutil.FeedJSONServer, "the response is truncated: input ends early: unterminated JSON object"},
		{testutil.FaultCutDocument, testutil.FeedLinkArray, "the response is truncated: input ends early: unterminated JSON array"},
		{testutil.FaultCutDocument, testutil.FeedHasMore, "the response is truncated: input ends early: unterminated JSON object"},
		{testutil.FaultCutDocument, testutil.FeedCursorToken, "the response is truncated: input ends early: unterminated JSON object"},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault)+" "+string(tt.style), func(t *testing.T) {
			f := &testutil.Feed{Style: tt.style, Records: testutil.OrderRecords("f", 9), PageSize: 3, Fault: tt.fault, FaultPage: 1, CutAt: 40}
			f.Start(t)
			r := open(t, feedSpec(t, f), "", 100, Attempt{}, Config{})
			page, err := r.Next(context.Background())
			require.NoError(t, err)
			require.Len(t, page.Records, 3)
			_, err = r.Next(context.Background())
			requireNotTheEnd(t, err, tt.msg)
			require.True(t, f.Faulted())

			// The retry, from the checkpoint, reads the rest.
			rest, _, err := readAll(t, open(t, feedSpec(t, f), page.Cursor, 100, Attempt{}, Config{}))
			require.NoError(t, err)
			require.Equal(t, f.Records[3:], rest)
		})
	}
}

// TestHTTPUnterminatedDocument: a body that arrived in full (its length
// was sent) but whose JSON document is unterminated is a truncated
// response, Transient: the server may send it whole on the next attempt.
func TestHTTPUnterminatedDocument(t *testing.T) {
	tests := []struct {
		name, body, records, msg string
	}{
		{"array", `[{"id":"a"}, {"id":`, "", "unterminated JSON array (19 bytes arrived)"},
		{"envelope", `{"data":[{"id":"a"}],"next":`, "", "unterminated JSON object (28 bytes arrived)"},
		{"records path", `{"result":{"orders":[{"id":"a"}]`, "result.orders", "unterminated JSON object (32 bytes arrived)"},
		{"NDJSON sent as JSON, first object cut", `{"id":"a","customer_email":`, "", "unterminated JSON object (27 bytes arrived)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, respond("application/json", tt.body))
			spec := mustSpec(t, srv.URL)
			if tt.records != "" {
				spec = namedSpec(t, restapi.Definition{URL: srv.URL, Records: tt.records})
			}
			_, _, err := readAll(t, open(t, spec, "", 10, Attempt{}, Config{}))
			requireNotTheEnd(t, err, "the response is truncated: input ends early: "+tt.msg)
		})
	}
}

// rawServer answers every request with the bytes response writes on the
// connection, which it then closes: responses without a length.
func rawServer(t *testing.T, response string) string {
	t.Helper()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		_, _ = buf.WriteString(response)
		_ = buf.Flush()
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn)) // until the client closes
	})
	return srv.URL
}

// TestHTTPBodyEndedByClose: a body without a length ends where the server
// closes the connection. A JSON document is complete only when it is
// terminated; an NDJSON body that closes cleanly is complete, an empty
// one included.
func TestHTTPBodyEndedByClose(t *testing.T) {
	head := func(contentType string) string {
		return "HTTP/1.1 200 OK\r\nContent-Type: " + contentType + "\r\nConnection: close\r\n\r\n"
	}
	tests := []struct {
		name, response string
		want           []string // nil: a truncated response
	}{
		{"complete array", head("application/json") + `[{"id":"a"},{"id":"b"}]`, []string{`{"id":"a"}`, `{"id":"b"}`}},
		{"cut array", head("application/json") + `[{"id":"a"},{"id":"b"}`, nil},
		{"cut envelope", head("application/json") + `{"data":[{"id":"a"}],"next":nu`, nil},
		{"empty JSON body", head("application/json"), nil},
		{"empty body without a type", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", nil},
		{"NDJSON", head("application/x-ndjson") + "{\"id\":\"a\"}\n{\"id\":\"b\"}\n", []string{`{"id":"a"}`, `{"id":"b"}`}},
		{"NDJSON without the last newline", head("application/x-ndjson") + "{\"id\":\"a\"}\n{\"id\":\"b\"}", []string{`{"id":"a"}`, `{"id":"b"}`}},
		{"empty NDJSON body", head("application/x-ndjson"), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := rawServer(t, tt.response)
			got, _, err := readAll(t, open(t, mustSpec(t, url), "", 100, Attempt{}, Config{}))
			if tt.want == nil {
				requireNotTheEnd(t, err, "the response is truncated: input ends early")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestFeedNeverEndsShort is the property: a feed whose server fails one
// page (any page, any fault, a body cut anywhere) is read in full by
// retrying from the checkpoint, as Extract's next attempt does: all its
// records, each once, in order. The failed read ends with a Transient
// error, never with the end of the feed. Random cases from fixed seeds,
// so that a failure replays.
func TestFeedNeverEndsShort(t *testing.T) {
	const cases = 300
	rng := rand.New(rand.NewPCG(19, 2026))
	for i := range cases {
		style := testutil.FeedStyles[rng.IntN(len(testutil.FeedStyles))]
		fault := testutil.FeedFaults[rng.IntN(len(testutil.FeedFaults))]
		if fault == testutil.FaultCutDocument && style.NDJSON() {
			fault = testutil.FaultShortBody // an NDJSON body cut by a close at a line's end is complete by definition
		}
		f := &testutil.Feed{Style: style, Records: testutil.OrderRecords(fmt.Sprint("p", i), 1+rng.IntN(30)), PageSize: 1 + rng.IntN(7), Fault: fault}
		f.FaultPage = rng.IntN(f.Pages())
		f.CutAt = rng.IntN(f.PageSize*170 + 80)
		name := fmt.Sprintf("%d %s %s at page %d of %d, byte %d, %d records", i, style, fault, f.FaultPage, f.Pages(), f.CutAt, len(f.Records))
		t.Run(name, func(t *testing.T) {
			f.Start(t)
			spec := feedSpec(t, f)
			got, failures := readRetrying(t, spec, int64(len(f.Records))+5)
			require.Equal(t, f.Records, got, "all the records, each once, in order")
			require.True(t, f.Faulted())
			require.Len(t, failures, 1, "the fault fails one read, and its retry succeeds")
			requireNotTheEnd(t, failures[0], "")
		})
	}
}

// readRetrying reads spec to its end as Extract's attempts do: each
// attempt opens the source at the last checkpoint's cursor and reads until
// the source says it has ended (io.EOF itself) or a page fails; a failed
// read is retried while the error is retryable, up to the policy's
// attempts. It returns the records and the failures.
func readRetrying(t *testing.T, spec sourceurl.Spec, limit int64) (records []string, failures []error) {
	t.Helper()
	ctx := context.Background()
	cursor := ""
	for range runinfo.MaxAttempts {
		r, err := Open(ctx, spec, cursor, limit-int64(len(records)), restapi.RecordFields, Attempt{}, Config{})
		require.NoError(t, err)
		for err == nil {
			var page Page
			page, err = r.Next(ctx)
			if err == io.EOF {
				require.NoError(t, r.Close())
				return records, failures
			}
			if err != nil {
				break
			}
			for _, rec := range page.Records {
				records = append(records, string(rec))
			}
			cursor = page.Cursor
			if cursor == "" {
				require.NoError(t, r.Close())
				return records, failures
			}
		}
		require.NoError(t, r.Close())
		failures = append(failures, err)
		var appErr interface{ NonRetryable() bool }
		if !errors.As(err, &appErr) || appErr.NonRetryable() {
			t.Fatalf("a read failed for good after %d records: %v", len(records), err)
		}
	}
	t.Fatalf("every attempt failed: %v", strings.Join(strings.Fields(fmt.Sprint(failures)), " "))
	return nil, nil
}
