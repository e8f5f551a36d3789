package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// httpReader reads a JSON API one server page per Next. The cursor is the
// next page's URL without user info, so that a checkpoint (visible in the
// Temporal UI) never holds the URL's password; the password and the
// configured headers are sent only to the source URL's origin.
type httpReader struct {
	client    *http.Client
	ownClient bool
	cfg       Config
	origin    *url.URL // the source URL, credentials included
	next      *url.URL // the page to fetch next; nil when there is none
	remaining int64
}

func openHTTP(spec pipeline.SourceSpec, cursor string, limit int64, cfg Config) (Reader, error) {
	if spec.URL == nil {
		return nil, badSource(nil, "http source has no URL")
	}
	r := &httpReader{client: cfg.HTTPClient, cfg: cfg, origin: spec.URL, next: withoutUser(spec.URL), remaining: max(limit, 0)}
	if cursor != "" {
		u, err := url.Parse(cursor)
		if err != nil || !isHTTP(u) {
			return nil, badSource(nil, "cursor %s is not an http(s) URL", pipeline.RedactURL(cursor))
		}
		r.next = u
	}
	if r.client == nil {
		r.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		r.ownClient = true
	}
	return r, nil
}

func (r *httpReader) Next(ctx context.Context) (Page, error) {
	if r.next == nil || r.remaining <= 0 {
		return Page{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	records, next, err := r.fetch(ctx, r.next)
	if err != nil {
		return Page{}, err
	}
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
	return Page{Records: records, Cursor: cursor}, nil
}

func (r *httpReader) Close() error {
	if r.ownClient {
		r.client.CloseIdleConnections()
	}
	return nil
}

// fetch GETs one page and returns its records and the next page's URL.
func (r *httpReader) fetch(ctx context.Context, u *url.URL) ([][]byte, *url.URL, error) {
	shown := pipeline.RedactURL(u.String())
	reqCtx, cancel := context.WithTimeout(ctx, r.cfg.HTTPTimeout)
	defer cancel()
	target := *u
	sameOrigin := strings.EqualFold(u.Scheme, r.origin.Scheme) && strings.EqualFold(u.Host, r.origin.Host)
	if sameOrigin && target.User == nil {
		target.User = r.origin.User
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, nil, badSource(nil, "GET %s: cannot build the request", shown)
	}
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	if sameOrigin {
		for k, v := range r.cfg.HTTPHeaders {
			req.Header.Set(k, v)
		}
	}

	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, r.requestError(ctx, shown, err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, shown, time.Now()); err != nil {
		return nil, nil, err
	}
	limit := r.cfg.MaxResponseBytes
	if resp.ContentLength > limit {
		return nil, nil, badSource(nil, "GET %s: response larger than %d bytes", shown, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, r.requestError(ctx, shown, err)
	}
	if int64(len(body)) > limit {
		return nil, nil, badSource(nil, "GET %s: response larger than %d bytes", shown, limit)
	}

	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	records, nextRaw, err := decodeBody(body, mediaType)
	if err != nil {
		var fe *formatError
		if errors.As(err, &fe) {
			return nil, nil, badData(nil, "GET %s: %s at byte %d of the response", shown, fe.Msg, fe.Offset)
		}
		return nil, nil, badData(err, "GET %s: unreadable response", shown)
	}
	if link := linkNext(resp.Header.Values("Link")); link != "" {
		nextRaw = link
	}
	next, err := resolveNext(resp.Request.URL, u, nextRaw)
	if err != nil {
		return nil, nil, badData(nil, "GET %s: %v", shown, err)
	}
	return records, next, nil
}

// requestError classifies a failed request or body read. The cause is the
// transport's error without the *url.Error wrapper, which would repeat the
// URL unredacted.
func (r *httpReader) requestError(ctx context.Context, shown string, err error) error {
	if ctx.Err() != nil { // the activity is cancelled or timed out: not a source problem
		return fmt.Errorf("GET %s: %w", shown, ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return transient(0, nil, "GET %s: no complete response within %s", shown, r.cfg.HTTPTimeout)
	}
	return transient(0, err, "GET %s: request failed", shown)
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

// ndjsonTypes are the media types that announce one JSON value per line.
var ndjsonTypes = map[string]bool{
	"application/x-ndjson": true, "application/ndjson": true,
	"application/jsonl": true, "application/x-jsonlines": true, "application/jsonlines": true,
}

// decodeBody splits a response body into records: a JSON array, NDJSON, or
// an object envelope {"data"|"items"|"records"|"results": [...], "next": "url"}.
// It returns the envelope's next link, if any.
func decodeBody(body []byte, mediaType string) (records [][]byte, next string, err error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case mediaType == "text/html":
		return nil, "", &formatError{Msg: "response is an HTML page, want JSON or NDJSON"}
	case ndjsonTypes[mediaType] || len(trimmed) == 0:
		records, _, err = collect(newLineDecoder(bytes.NewReader(body), 0), -1)
		return records, "", err
	case trimmed[0] == '[':
		records, _, err = collect(newArrayDecoder(bytes.NewReader(body)), -1)
		return records, "", err
	case trimmed[0] == '{':
		return decodeObject(body)
	default:
		records, _, err = collect(newLineDecoder(bytes.NewReader(body), 0), -1)
		return records, "", err
	}
}

// decodeObject reads a body that starts with an object: an envelope, or
// NDJSON objects sent as application/json.
func decodeObject(body []byte) (records [][]byte, next string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, "", &formatError{Offset: se.Offset, Msg: "malformed JSON: " + se.Error(), Err: err}
		}
		return nil, "", &formatError{Offset: dec.InputOffset(), Msg: "input ends early: unterminated JSON object", Err: io.ErrUnexpectedEOF}
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		records, _, err = collect(newLineDecoder(bytes.NewReader(body), 0), -1)
		return records, "", err
	}
	var env struct {
		Data    json.RawMessage `json:"data"`
		Items   json.RawMessage `json:"items"`
		Records json.RawMessage `json:"records"`
		Results json.RawMessage `json:"results"`
		Next    json.RawMessage `json:"next"`
		NextURL json.RawMessage `json:"next_url"`
	}
	if err := json.Unmarshal(first, &env); err != nil { // cannot fail: first is a valid object
		return nil, "", &formatError{Msg: "malformed JSON object", Err: err}
	}
	var list json.RawMessage
	for _, l := range []json.RawMessage{env.Data, env.Items, env.Records, env.Results} {
		if l != nil {
			list = l
			break
		}
	}
	switch {
	case list == nil:
		return nil, "", &formatError{Msg: "JSON object has no data, items, records or results array"}
	case string(list) == "null":
	case list[0] != '[':
		return nil, "", &formatError{Msg: "the envelope's record list is not a JSON array"}
	default:
		if records, _, err = collect(newArrayDecoder(bytes.NewReader(list)), -1); err != nil {
			return nil, "", err
		}
	}
	for _, n := range []json.RawMessage{env.Next, env.NextURL} {
		if n == nil || string(n) == "null" {
			continue
		}
		if err := json.Unmarshal(n, &next); err != nil {
			return nil, "", &formatError{Msg: "the envelope's next link is not a string"}
		}
		if next != "" {
			break
		}
	}
	return records, next, nil
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

// resolveNext resolves a next link against the URL that answered. A link
// back to the page itself ends the read rather than looping forever.
func resolveNext(base, requested *url.URL, link string) (*url.URL, error) {
	if link == "" {
		return nil, nil
	}
	next, err := base.Parse(link)
	if err != nil || !isHTTP(next) {
		return nil, fmt.Errorf("next page link %s is not an http(s) URL", pipeline.RedactURL(link))
	}
	next = withoutUser(next)
	if next.String() == requested.String() {
		return nil, nil
	}
	return next, nil
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
