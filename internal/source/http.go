package source

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

// httpReader reads a JSON API one server page per Next. The cursor is the
// next page's URL without user info: a next link, or the URL with the next
// page number, offset or cursor token set, so that resuming needs nothing
// but the checkpoint, and a checkpoint (visible in the Temporal UI) never
// holds the URL's password. The password, the configured headers and the
// source's auth are sent only to the source URL's origin.
type httpReader struct {
	client    *http.Client
	ownClient bool
	cfg       Config
	origin    *url.URL // the source URL, credentials included
	next      *url.URL // the page to fetch next; nil when there is none
	remaining int64
	pager     *paginator
	headers   map[string]string // sent to the origin only
	fields    *fieldMap         // nil: records pass as they are
	// first is true until the read's first page when the read starts at
	// the beginning: that page is where a mapping's fields are looked for.
	first bool
	// recordsAt is where the first page read had its records (see Layout).
	recordsAt string
	read      bool // a page was read
}

func openHTTP(spec sourceurl.Spec, cursor string, limit int64, fields []string, cfg Config) (Reader, error) {
	if spec.URL == nil {
		return nil, badSource(nil, "http source has no URL")
	}
	def := restapi.Definition{}
	if spec.API != nil {
		def = *spec.API
		if problems := def.Validate(); len(problems) > 0 {
			return nil, badSource(nil, "source %q: %s", def.Name, problems[0])
		}
	}
	headers, err := authHeaders(def, cfg)
	if err != nil {
		return nil, err
	}
	pg, err := newPaginator(def)
	if err != nil {
		return nil, err
	}
	r := &httpReader{client: cfg.HTTPClient, cfg: cfg, origin: spec.URL, next: pg.start(withoutUser(spec.URL)),
		remaining: max(limit, 0), pager: pg, headers: headers, fields: newFieldMap(def.Fields, fields), first: cursor == ""}
	if cursor != "" {
		u, err := url.Parse(cursor)
		if err != nil || !isHTTP(u) {
			return nil, badSource(nil, "cursor %s is not an http(s) URL", redact.URL(cursor))
		}
		r.next = u
	}
	if r.client == nil {
		r.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		r.ownClient = true
	}
	return r, nil
}

// authHeaders returns the headers sent to the source's origin: for a
// plain URL the worker's (BLUEPRINT_HTTP_BEARER_TOKEN); for a named source
// its static ones and its auth, whose secrets are read from the worker's
// environment now. A named source gets no header it did not declare, so
// the worker's token never goes to an API that uses another scheme.
// Errors name the variable, never its value.
func authHeaders(def restapi.Definition, cfg Config) (map[string]string, error) {
	h := make(map[string]string, len(cfg.HTTPHeaders)+len(def.Headers)+1)
	if def.Name == "" { // a plain URL; a named source declares its own auth
		for k, v := range cfg.HTTPHeaders {
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
	for k, v := range def.Headers {
		h[http.CanonicalHeaderKey(k)] = v
	}
	lookup := cfg.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	env := func(key, name string) (string, error) {
		v, ok := lookup(name)
		if !ok || v == "" {
			return "", badSource(nil, "source %q: auth.%s: environment variable %s is not set on the worker", def.Name, key, name)
		}
		if strings.ContainsAny(v, "\r\n") {
			return "", badSource(nil, "source %q: auth.%s: environment variable %s holds a line break", def.Name, key, name)
		}
		return v, nil
	}
	a := def.Auth
	switch {
	case a.BearerEnv != "":
		tok, err := env("bearer_env", a.BearerEnv)
		if err != nil {
			return nil, err
		}
		h["Authorization"] = "Bearer " + tok
	case a.BasicPasswordEnv != "":
		user := a.BasicUser
		if a.BasicUserEnv != "" {
			var err error
			if user, err = env("basic_user_env", a.BasicUserEnv); err != nil {
				return nil, err
			}
		}
		pass, err := env("basic_password_env", a.BasicPasswordEnv)
		if err != nil {
			return nil, err
		}
		h["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	case a.HeaderEnv != "":
		v, err := env("header_env", a.HeaderEnv)
		if err != nil {
			return nil, err
		}
		h[http.CanonicalHeaderKey(a.Header)] = v
	}
	return h, nil
}

func (r *httpReader) Next(ctx context.Context) (Page, error) {
	if r.next == nil || r.remaining <= 0 {
		return Page{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	requested := r.next
	resp, err := r.fetch(ctx, requested)
	if err != nil {
		return Page{}, err
	}
	shown := redact.URL(requested.String())
	records, err := resp.records(r.pager.def.Records)
	if err != nil {
		return Page{}, pageError(shown, resp, err)
	}
	next, err := r.pager.next(requested, resp, records)
	if err != nil {
		return Page{}, pageError(shown, resp, err)
	}
	if !r.read {
		r.read, r.recordsAt = true, resp.recordsPath(r.pager.def.Records)
	}
	var warnings []string
	if r.fields != nil {
		if r.first && len(records) > 0 {
			warnings = r.fields.missing(records)
		}
		for i, rec := range records {
			records[i] = r.fields.apply(rec)
		}
	}
	r.first = false
	if int64(len(records)) > r.remaining {
		records = records[:r.remaining] // the cursor still names the next page: the limit ends the read
	}
	r.remaining -= int64(len(records))
	r.next = next
	if next == nil && len(records) == 0 {
		return Page{}, io.EOF
	}
	cursor := ""
	if next != nil {
		cursor = next.String()
	}
	return Page{Records: records, Cursor: cursor, Warnings: warnings}, nil
}

// pageError turns what is wrong with a page into the activity's error:
// a JSON document that ends early is a truncated response, Transient (the
// next attempt asks for the page again); a loop is BadSource (the API is
// misbehaving or misconfigured); anything else BadData.
func pageError(shown string, resp *response, err error) error {
	var fe *formatError
	var le *loopError
	switch {
	case errors.As(err, &fe) && errors.Is(fe.Err, io.ErrUnexpectedEOF):
		return transient(0, nil, "GET %s: the response is truncated: %s (%d bytes arrived)", shown, fe.Msg, len(resp.body))
	case errors.As(err, &le):
		return badSource(nil, "GET %s: %v", shown, err)
	case errors.As(err, &fe) && fe.Offset > 0:
		return badData(nil, "GET %s: %s at byte %d of the response", shown, fe.Msg, fe.Offset)
	case errors.As(err, &fe):
		return badData(nil, "GET %s: %s", shown, fe.Msg)
	default:
		return badData(nil, "GET %s: %v", shown, err)
	}
}

// Layout is what a read found out about an HTTP source's pages, for a
// person checking a source before a run reads it (`blueprint source
// check`): how it pages and where its records are.
type Layout struct {
	// Pagination is the pagination style (a restapi.Style* name): the
	// declared one, or the one detected from the first response.
	Pagination string `json:"pagination"`
	// Records is the dotted path of the record list in a page: the
	// declared records: path, or the envelope member it was found in
	// ("data", "items"...); "" when the body is the list itself (a JSON
	// array, NDJSON).
	Records string `json:"records"`
}

// LayoutOf returns the Layout r found reading its first page; ok is false
// before a page was read and for a source that is not read over HTTP
// (demo://, file://), which has no pages of its own.
func LayoutOf(r Reader) (l Layout, ok bool) {
	h, isHTTP := r.(*httpReader)
	if !isHTTP || !h.read {
		return Layout{}, false
	}
	return Layout{Pagination: h.pager.style, Records: h.recordsAt}, true
}

func (r *httpReader) Close() error {
	if r.ownClient {
		r.client.CloseIdleConnections()
	}
	return nil
}

// response is one answered page.
type response struct {
	url       *url.URL // the URL that answered, after redirects
	header    http.Header
	body      []byte
	mediaType string
	// delimited: the body's end was marked (a Content-Length, a chunked
	// body's last chunk, an HTTP/2 stream's end), so Go's transport has
	// checked that all of it arrived. Otherwise the server closing the
	// connection was the only end: a body cut short then reads as complete
	// unless its JSON is unterminated.
	delimited bool
	parsed    bool                       // obj is computed
	obj       map[string]json.RawMessage // the body's top-level object, if it is one
}

// fetch GETs one page.
func (r *httpReader) fetch(ctx context.Context, u *url.URL) (*response, error) {
	shown := redact.URL(u.String())
	reqCtx, cancel := context.WithTimeout(ctx, r.cfg.HTTPTimeout)
	defer cancel()
	target := *u
	sameOrigin := strings.EqualFold(u.Scheme, r.origin.Scheme) && strings.EqualFold(u.Host, r.origin.Host)
	if sameOrigin && target.User == nil {
		target.User = r.origin.User
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, badSource(nil, "GET %s: cannot build the request", shown)
	}
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	if sameOrigin {
		for k, v := range r.headers {
			req.Header.Set(k, v)
		}
	}

	resp, err := r.client.Do(req)
	if err != nil {
		return nil, r.requestError(ctx, shown, err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, shown, time.Now()); err != nil {
		return nil, err
	}
	limit := r.cfg.MaxResponseBytes
	if resp.ContentLength > limit {
		return nil, badSource(nil, "GET %s: response larger than %d bytes", shown, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, r.bodyError(ctx, shown, resp, len(body), err)
	}
	if int64(len(body)) > limit {
		return nil, badSource(nil, "GET %s: response larger than %d bytes", shown, limit)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	delimited := resp.ContentLength >= 0 || len(resp.TransferEncoding) > 0 || resp.ProtoMajor >= 2 || resp.Uncompressed
	return &response{url: resp.Request.URL, header: resp.Header, body: body, mediaType: mediaType, delimited: delimited}, nil
}

// requestError classifies a request that got no response. The cause is
// the transport's error without the *url.Error wrapper, which would repeat
// the URL unredacted. A connection the server closed before answering
// (the transport's io.EOF) is Transient like any other network failure:
// it is never the end of the feed.
func (r *httpReader) requestError(ctx context.Context, shown string, err error) error {
	if ctx.Err() != nil { // the activity is cancelled or timed out: not a source problem
		return fmt.Errorf("GET %s: %w", shown, ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return transient(0, nil, "GET %s: no complete response within %s", shown, r.cfg.HTTPTimeout)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return transient(0, err, "GET %s: the server closed the connection without answering", shown)
	}
	return transient(0, err, "GET %s: request failed", shown)
}

// bodyError classifies a response whose body could not be read in full
// after n bytes: shorter than its Content-Length, a chunked body without
// its last chunk, a connection reset, a timeout. All are Transient: the
// next attempt asks for the page again.
func (r *httpReader) bodyError(ctx context.Context, shown string, resp *http.Response, n int, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return r.requestError(ctx, shown, err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return transient(0, err, "GET %s: the response broke off after %d bytes", shown, n)
	}
	switch {
	case resp.ContentLength >= 0:
		return transient(0, err, "GET %s: the response is truncated: %d of its %d bytes (Content-Length) arrived", shown, n, resp.ContentLength)
	case slices.Contains(resp.TransferEncoding, "chunked"):
		return transient(0, err, "GET %s: the response is truncated: its chunked body ends after %d bytes without its last chunk", shown, n)
	default:
		return transient(0, err, "GET %s: the response is truncated after %d bytes", shown, n)
	}
}

// statusError maps a non-2xx status to an error: 408, 429 and 5xx may pass,
// so they are retryable, honouring Retry-After; other statuses will not.
func statusError(resp *http.Response, shown string, now time.Time) error {
	code := resp.StatusCode
	status := strconv.Itoa(code) + " " + http.StatusText(code)
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		delay := retryAfter(resp.Header.Get("Retry-After"), now)
		if delay > 0 {
			return transient(delay, nil, "GET %s: %s (retry after %s)", shown, status, delay)
		}
		return transient(0, nil, "GET %s: %s", shown, status)
	default:
		return badSource(nil, "GET %s: %s", shown, status)
	}
}

// retryAfter parses a Retry-After value (seconds or an HTTP date), capped
// at maxRetryAfter; 0 means none.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return min(max(d, 0), maxRetryAfter)
}

// linkNext returns the target of the rel="next" link of Link headers.
func linkNext(values []string) string {
	for _, v := range values {
		for {
			start := strings.IndexByte(v, '<')
			end := strings.IndexByte(v, '>')
			if start < 0 || end < start {
				break
			}
			target := v[start+1 : end]
			v = v[end+1:]
			params := v
			if i := strings.IndexByte(v, '<'); i >= 0 {
				params = v[:i]
			}
			for _, p := range strings.Split(params, ";") {
				key, val, ok := strings.Cut(strings.Trim(p, " \t,"), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(key), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target
					}
				}
			}
		}
	}
	return ""
}

func isHTTP(u *url.URL) bool {
	s := strings.ToLower(u.Scheme)
	return (s == "http" || s == "https") && u.Host != ""
}

func withoutUser(u *url.URL) *url.URL {
	c := *u
	c.User = nil
	return &c
}
