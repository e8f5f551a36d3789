package source

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// serve starts a test server that answers every request with handler.
func serve(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

// respond answers with a fixed content type and body.
func respond(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		fmt.Fprint(w, body)
	}
}

func TestHTTPBodies(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        []string
	}{
		{"json array", "application/json", "[{\"id\": \"a\"},\n {\"id\":\"b\"}, 3]", []string{`{"id":"a"}`, `{"id":"b"}`, `3`}},
		{"ndjson by content type", "application/x-ndjson; charset=utf-8", "{\"id\": \"a\"}\n\n{\"id\":\"b\"}\nbroken\n", []string{`{"id":"a"}`, `{"id":"b"}`, `broken`}},
		{"jsonl starting with an array", "application/jsonl", "[1, 2]\n[3]\n", []string{`[1,2]`, `[3]`}},
		{"ndjson mislabelled as json", "application/json", "{\"id\":\"a\"}\n{\"id\":\"b\"}\n", []string{`{"id":"a"}`, `{"id":"b"}`}},
		{"ndjson by first byte", "text/plain", "\"a\"\n42\n", []string{`"a"`, `42`}},
		{"envelope data", "application/json", `{"data": [{"id": "a"}], "total": 1}`, []string{`{"id":"a"}`}},
		{"envelope items", "application/json", `{"items": [{"id": "a"}, {"id": "b"}]}`, []string{`{"id":"a"}`, `{"id":"b"}`}},
		{"envelope records", "", `{"records": [1], "next": null}`, []string{`1`}},
		{"envelope results", "application/json", `{"results": [], "next_url": ""}`, []string{}},
		{"envelope null list", "application/json", `{"data": null}`, []string{}},
		{"empty body", "application/json", "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, respond(tt.contentType, tt.body))
			got, _, err := readAll(t, open(t, mustSpec(t, srv.URL+"/orders"), "", 100, Attempt{}, Config{}))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// pager serves 9 records in 3 pages of 3, linking pages with the Link
// header or an envelope, and counts requests.
type pager struct {
	envelope bool
	requests atomic.Int32
	headers  atomic.Pointer[http.Header]
}

func (p *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	h := r.Header.Clone()
	p.headers.Store(&h)
	page := 1
	fmt.Sscanf(r.URL.Query().Get("page"), "%d", &page)
	var records []string
	for i := (page-1)*3 + 1; i <= page*3; i++ {
		records = append(records, fmt.Sprintf(`{"id":"ord-%d"}`, i))
	}
	next := ""
	switch page {
	case 1:
		next = "/orders?page=2" // relative
	case 2:
		next = "http://" + r.Host + "/orders?page=3" // absolute
	}
	list := "[" + strings.Join(records, ",") + "]"
	if p.envelope {
		fmt.Fprintf(w, `{"data": %s, "next": %q}`, list, next)
		return
	}
	if next != "" {
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", </orders?page=1>; rel="first"`, next))
	}
	fmt.Fprint(w, list)
}

func TestHTTPPaging(t *testing.T) {
	var want []string
	for i := 1; i <= 9; i++ {
		want = append(want, fmt.Sprintf(`{"id":"ord-%d"}`, i))
	}
	for _, envelope := range []bool{false, true} {
		t.Run(fmt.Sprintf("envelope=%v", envelope), func(t *testing.T) {
			p := &pager{envelope: envelope}
			srv := serve(t, p.ServeHTTP)
			spec := mustSpec(t, srv.URL+"/orders")
			cfg := Config{HTTPHeaders: map[string]string{"Authorization": "Bearer t0ken"}}

			got, cursors, err := readAll(t, open(t, spec, "", 100, Attempt{}, cfg))
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.Equal(t, []string{srv.URL + "/orders?page=2", srv.URL + "/orders?page=3", ""}, cursors)
			require.EqualValues(t, 3, p.requests.Load())
			h := *p.headers.Load()
			require.Equal(t, "Bearer t0ken", h.Get("Authorization"))
			require.Equal(t, "application/json, application/x-ndjson", h.Get("Accept"))

			rest, _, err := readAll(t, open(t, spec, cursors[0], 100, Attempt{}, cfg))
			require.NoError(t, err)
			require.Equal(t, want[3:], rest, "resume from the second page")

			p.requests.Store(0)
			limited, _, err := readAll(t, open(t, spec, "", 5, Attempt{}, cfg))
			require.NoError(t, err)
			require.Equal(t, want[:5], limited)
			require.EqualValues(t, 2, p.requests.Load(), "no request after the limit is reached")
		})
	}
}

func TestHTTPHeadersStayOnOrigin(t *testing.T) {
	var foreignAuth atomic.Value
	foreign := serve(t, func(w http.ResponseWriter, r *http.Request) {
		foreignAuth.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("X-Api-Key"))
		fmt.Fprint(w, `[2]`)
	})
	origin := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cr3t" || r.Header.Get("X-Api-Key") != "k" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Link", "<"+foreign.URL+"/more>; rel=next")
		fmt.Fprint(w, `[1]`)
	})
	spec := mustSpec(t, origin.URL)
	cfg := Config{HTTPHeaders: map[string]string{"Authorization": "Bearer s3cr3t", "X-Api-Key": "k"}}
	got, cursors, err := readAll(t, open(t, spec, "", 10, Attempt{}, cfg))
	require.NoError(t, err)
	require.Equal(t, []string{"1", "2"}, got)
	require.Equal(t, "|", foreignAuth.Load(), "credentials must not follow a link to another origin")
	for _, c := range cursors {
		require.NotContains(t, c, "s3cr3t")
	}
}

func TestHTTPStatus(t *testing.T) {
	future := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	tests := []struct {
		status     int
		retryAfter string
		errType    string
		retryable  bool
		minDelay   time.Duration
		maxDelay   time.Duration
	}{
		{http.StatusInternalServerError, "", runinfo.ErrTransient, true, 0, 0},
		{http.StatusBadGateway, "", runinfo.ErrTransient, true, 0, 0},
		{http.StatusServiceUnavailable, "3", runinfo.ErrTransient, true, 3 * time.Second, 3 * time.Second},
		{http.StatusTooManyRequests, "3", runinfo.ErrTransient, true, 3 * time.Second, 3 * time.Second},
		{http.StatusTooManyRequests, future, runinfo.ErrTransient, true, time.Minute, 2 * time.Minute},
		{http.StatusTooManyRequests, "86400", runinfo.ErrTransient, true, 10 * time.Minute, 10 * time.Minute},
		{http.StatusRequestTimeout, "", runinfo.ErrTransient, true, 0, 0},
		{http.StatusNotFound, "", runinfo.ErrBadSource, false, 0, 0},
		{http.StatusUnauthorized, "", runinfo.ErrBadSource, false, 0, 0},
		{http.StatusBadRequest, "", runinfo.ErrBadSource, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.retryAfter), func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				http.Error(w, `{"error":"nope"}`, tt.status)
			})
			_, _, err := readAll(t, open(t, mustSpec(t, srv.URL+"/orders"), "", 10, Attempt{}, Config{}))
			appErr := requireAppError(t, err, tt.errType, tt.retryable)
			require.Contains(t, appErr.Error(), fmt.Sprint(tt.status))
			require.Contains(t, appErr.Error(), srv.URL+"/orders")
			require.GreaterOrEqual(t, appErr.NextRetryDelay(), tt.minDelay)
			require.LessOrEqual(t, appErr.NextRetryDelay(), tt.maxDelay)
		})
	}
}

func TestHTTPMalformed(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		msg         string
	}{
		{"syntax error", "application/json", `[{"id":"a"} {"id":"b"}]`, "malformed JSON"},
		{"broken object", "application/json", `{"data": [1,}`, "malformed JSON"},
		{"object without a list", "application/json", `{"id":"a"}`, "no data, items, records or results array"},
		{"list not an array", "application/json", `{"data":{"id":"a"}}`, "not a JSON array"},
		{"next not a string", "application/json", `{"data":[],"next":true}`, "next is a boolean, neither a next page URL nor a page number"},
		{"next not http", "application/json", `{"data":[],"next":"file:///etc/passwd"}`, "not an http(s) URL"},
		{"html", "text/html; charset=utf-8", "<html><body>Login</body></html>", "HTML page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, respond(tt.contentType, tt.body))
			_, _, err := readAll(t, open(t, mustSpec(t, srv.URL), "", 10, Attempt{}, Config{}))
			appErr := requireAppError(t, err, runinfo.ErrBadData, false)
			require.Contains(t, appErr.Error(), tt.msg)
		})
	}
}

func TestHTTPOversize(t *testing.T) {
	const limit = 4096
	var written atomic.Int64
	endless := serve(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat(`{"id":"x"}`+"\n", 100))
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	declared := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		fmt.Fprint(w, "[") // the rest never comes: the declared length is enough to refuse
	})
	for name, srv := range map[string]*httptest.Server{"endless body": endless, "declared length": declared} {
		t.Run(name, func(t *testing.T) {
			// A generous timeout: reading the whole body would end in a
			// Transient timeout, not in the BadSource this test wants.
			cfg := Config{MaxResponseBytes: limit, HTTPTimeout: time.Minute}
			_, _, err := readAll(t, open(t, mustSpec(t, srv.URL), "", 10, Attempt{}, cfg))
			appErr := requireAppError(t, err, runinfo.ErrBadSource, false)
			require.Contains(t, appErr.Error(), "response larger than 4096 bytes")
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"body stalls", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `[{"id":"a"},`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.handler)
			cfg := Config{HTTPTimeout: 200 * time.Millisecond}
			_, _, err := readAll(t, open(t, mustSpec(t, srv.URL), "", 10, Attempt{}, cfg))
			appErr := requireAppError(t, err, runinfo.ErrTransient, true)
			require.Contains(t, appErr.Error(), "no complete response within 200ms")
		})
	}
}

func TestHTTPCancelled(t *testing.T) {
	// The context is cancelled once the request is at the server.
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(cancel)
		<-r.Context().Done()
	})
	r := open(t, mustSpec(t, srv.URL), "", 10, Attempt{}, Config{})
	_, err := r.Next(ctx)
	require.ErrorIs(t, err, context.Canceled, "a cancelled activity is not a source failure")
}

func TestHTTPUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, _, err := readAll(t, open(t, mustSpec(t, url), "", 10, Attempt{}, Config{}))
	requireAppError(t, err, runinfo.ErrTransient, true)
}

func TestHTTPBadCursor(t *testing.T) {
	for _, cursor := range []string{"file:///etc/passwd", "::", "/relative"} {
		_, err := Open(context.Background(), mustSpec(t, "https://api.example.com/orders"), cursor, 10, restapi.RecordFields, Attempt{}, Config{})
		requireAppError(t, err, runinfo.ErrBadSource, false)
	}
}

// TestHTTPRedactsSecrets makes every kind of failure happen with a URL that
// holds a password and an API key, and checks neither leaks into the error.
func TestHTTPRedactsSecrets(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"404":       func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		"503":       func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
		"malformed": respond("application/json", "[{"),
		"oversize":  respond("application/json", "["+strings.Repeat("1,", 100)+"1]"),
		"timeout":   func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		"bad link":  respond("application/json", `{"data":[],"next":"gopher://x"}`),
		"redirected": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
		},
	}
	for name, handler := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, handler)
			raw := srv.URL + "/orders?api_key=t0ken&page=1"
			cfg := Config{HTTPTimeout: 200 * time.Millisecond, MaxResponseBytes: 100}
			_, _, err := readAll(t, open(t, mustSpec(t, raw), "", 10, Attempt{}, cfg))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "s3cr3t")
			assert.NotContains(t, err.Error(), "t0ken")
			assert.Contains(t, err.Error(), srv.Listener.Addr().String()+"/orders?api_key=xxxxx", "the URL is named, redacted")
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		_, _, err := readAll(t, open(t, mustSpec(t, "http://127.0.0.1:1/?token=t0ken"), "", 10, Attempt{}, Config{}))
		requireAppError(t, err, runinfo.ErrTransient, true)
		assert.NotContains(t, err.Error(), "s3cr3t")
		assert.NotContains(t, err.Error(), "t0ken")
	})
}
