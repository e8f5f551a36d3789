package testutil

// This file serves order feeds over a real local HTTP server, in every
// pagination style the source package reads, and makes them fail the way
// real servers do: a connection closed without an answer, a 5xx, a body
// cut short. The tests of the source package, of the workflows and the
// e2e suite read the same feeds.

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/blueprint-etl/blueprint/internal/restapi"
)

// FeedStyle is how a feed pages: one per pagination style of the source
// package, and per kind of body (JSON array, NDJSON, envelope).
type FeedStyle string

// The styles a Feed serves. Those without a Definition are auto-detected
// from a plain URL.
const (
	// FeedLinkArray: JSON arrays, a Link rel="next" header (?page=N).
	FeedLinkArray FeedStyle = "link-array"
	// FeedLinkNDJSON: NDJSON bodies, a Link rel="next" header.
	FeedLinkNDJSON FeedStyle = "link-ndjson"
	// FeedNextURL: {"data":[...],"next":"/orders?page=N"}.
	FeedNextURL FeedStyle = "next-url"
	// FeedNextPage: {"data":[...],"next":N} (?page=N).
	FeedNextPage FeedStyle = "next-page"
	// FeedTotalPages: {"results":[...],"page":N,"total_pages":T}.
	FeedTotalPages FeedStyle = "total-pages"
	// FeedJSONServer: json-server 1.0's ?_page=N&_per_page=P with
	// {"first":1,"prev":..,"next":..,"last":T,"pages":T,"items":n,"data":[...]}.
	FeedJSONServer FeedStyle = "json-server-1"
	// FeedOffsetBody: {"items":[...],"offset":O,"limit":L,"total":n} (?offset=O&limit=L).
	FeedOffsetBody FeedStyle = "offset-body"
	// FeedOffsetHeader: JSON arrays with X-Total-Count (?_start=O&_limit=L), declared.
	FeedOffsetHeader FeedStyle = "offset-header"
	// FeedCursorToken: {"data":{"orders":[...]},"meta":{"next_cursor":"cK"}}, declared.
	FeedCursorToken FeedStyle = "cursor-token"
	// FeedHasMore: Stripe's {"data":[...],"has_more":B}, ?starting_after=<last id>, declared.
	FeedHasMore FeedStyle = "has-more"
	// FeedPageUntilEmpty: JSON arrays by ?p=N&per_page=P until an empty one, declared.
	FeedPageUntilEmpty FeedStyle = "page-until-empty"
	// FeedSingle: every record in one JSON array.
	FeedSingle FeedStyle = "single"
)

// FeedStyles lists every style.
var FeedStyles = []FeedStyle{FeedLinkArray, FeedLinkNDJSON, FeedNextURL, FeedNextPage, FeedTotalPages, FeedJSONServer, FeedOffsetBody, FeedOffsetHeader,
	FeedCursorToken, FeedHasMore, FeedPageUntilEmpty, FeedSingle}

// NDJSON reports whether the style's bodies are NDJSON: a body of those
// cut at a line's end by a close, with no length, reads as complete.
func (s FeedStyle) NDJSON() bool { return s == FeedLinkNDJSON }

// FeedFault is how a page's first request fails.
type FeedFault string

// The faults a Feed injects.
const (
	// NoFault answers every request.
	NoFault FeedFault = ""
	// FaultDrop closes the connection without answering.
	FaultDrop FeedFault = "drop"
	// FaultServerError answers 503 Service Unavailable.
	FaultServerError FeedFault = "503"
	// FaultShortBody sends a Content-Length and fewer bytes, then closes.
	FaultShortBody FeedFault = "short-body"
	// FaultOpenChunked sends a chunked body without its last chunk, then closes.
	FaultOpenChunked FeedFault = "open-chunked"
	// FaultCutDocument sends the body without a length and closes the
	// connection inside its JSON document (possibly before its first
	// byte). Not for NDJSON styles: their cut cannot be told from an end.
	FaultCutDocument FeedFault = "cut-document"
	// FaultNotFound answers 404 Not Found: a BadSource, which no retry
	// cures (not in FeedFaults, whose faults a retry gets past).
	FaultNotFound FeedFault = "404"
)

// FeedFaults lists every fault a retry gets past.
var FeedFaults = []FeedFault{FaultDrop, FaultServerError, FaultShortBody, FaultOpenChunked, FaultCutDocument}

// RequestAt names one request of a feed: the Request-th (counted from 1)
// of page Page (0-based).
type RequestAt struct{ Page, Request int }

// RequestFault is the fault of one request.
type RequestFault struct {
	RequestAt
	Fault FeedFault
}

// Feed serves Records in pages of PageSize by Style. Every response
// closes its connection (Connection: close), so that each request is a
// fresh connection, which Go's transport never retries by itself. The
// first request of page FaultPage (0-based, in the order a full read asks
// for them) fails with Fault, cut after CutAt bytes of the body for the
// faults that cut it (CutAt is reduced below the body's length); later
// requests of that page are answered, but for those Faults names.
//
// Hold, when its Request is not 0, holds that request at a gate: a test
// waits on Arrived, looks at the run in that state, then calls Release,
// and the request gets its answer (or its fault). Polling from outside
// for such a passing state may miss it on a fast machine, or see it too
// late on a loaded one.
type Feed struct {
	Style     FeedStyle
	Records   []string
	PageSize  int
	Fault     FeedFault
	FaultPage int
	CutAt     int
	Faults    []RequestFault
	Hold      RequestAt

	srv *httptest.Server
	mu  sync.Mutex
	// requests counts the requests of each page.
	requests map[int]int
	faulted  bool
	// arrived is closed when the held request arrives; open when it is
	// released.
	arrived, open chan struct{}
	opened        sync.Once
}

// OrderRecords returns n valid order records with ids prefix-0, prefix-1, ...
func OrderRecords(prefix string, n int) []string {
	recs := make([]string, n)
	for i := range recs {
		id := fmt.Sprintf("%s-%d", prefix, i)
		recs[i] = fmt.Sprintf(`{"id":%q,"customer_email":"buyer.%d@example.com","category":"books","amount":"%d.50","currency":"EUR","timestamp":"2026-03-01T10:00:00Z"}`, id, i, i%90+1)
	}
	return recs
}

// Start serves the feed until the test ends.
func (f *Feed) Start(t testing.TB) {
	t.Helper()
	f.requests = map[int]int{}
	f.arrived, f.open = make(chan struct{}), make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	// Cleanups run last in, first out: the gate opens before the server
	// closes, which waits for its handlers.
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.Release)
}

// Arrived is closed when the held request has arrived.
func (f *Feed) Arrived() <-chan struct{} { return f.arrived }

// Release lets the held request go on, and any later one pass.
func (f *Feed) Release() { f.opened.Do(func() { close(f.open) }) }

// Pages is the number of pages a full read requests (with the empty
// page that ends FeedPageUntilEmpty).
func (f *Feed) Pages() int {
	n := (len(f.Records) + f.PageSize - 1) / f.PageSize
	switch f.Style {
	case FeedSingle:
		return 1
	case FeedPageUntilEmpty:
		return n + 1
	default:
		return max(n, 1)
	}
}

// Faulted reports whether the fault was served.
func (f *Feed) Faulted() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faulted
}

// Requests returns how many requests page got.
func (f *Feed) Requests(page int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[page]
}

// Source returns the source_url to read the feed with, and the named
// source's definition for the styles that are declared (nil for those
// detected from a plain URL). A named source's source_url is
// source:NAME; its definition goes in the workflow input.
func (f *Feed) Source() (sourceURL string, def *restapi.Definition) {
	base := f.srv.URL + "/orders"
	size := strconv.Itoa(f.PageSize)
	named := func(d restapi.Definition) (string, *restapi.Definition) {
		d.Name = "feed-" + string(f.Style)
		d.URL = base
		return restapi.RefPrefix + d.Name, &d
	}
	switch f.Style {
	case FeedJSONServer:
		return base + "?_page=1&_per_page=" + size, nil
	case FeedOffsetBody:
		return base + "?limit=" + size, nil
	case FeedOffsetHeader:
		return named(restapi.Definition{Paginate: restapi.Paginate{Style: restapi.StyleOffset, OffsetParam: "_start", SizeParam: "_limit",
			Size: f.PageSize, TotalHeader: "X-Total-Count"}})
	case FeedCursorToken:
		return named(restapi.Definition{Records: "data.orders", Paginate: restapi.Paginate{Style: restapi.StyleCursor,
			CursorParam: "starting_after", Next: "meta.next_cursor"}})
	case FeedHasMore:
		return named(restapi.Definition{Paginate: restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "starting_after",
			CursorField: "id", HasMore: "has_more", SizeParam: "limit", Size: f.PageSize}})
	case FeedPageUntilEmpty:
		return named(restapi.Definition{Paginate: restapi.Paginate{Style: restapi.StylePage, PageParam: "p", SizeParam: "per_page", Size: f.PageSize}})
	default:
		return base, nil
	}
}

// URL is the server's base URL.
func (f *Feed) URL() string { return f.srv.URL }

// page returns the 0-based page a request asks for.
func (f *Feed) page(r *http.Request) (int, error) {
	q := r.URL.Query()
	num := func(name string, def int) (int, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		return strconv.Atoi(v)
	}
	switch f.Style {
	case FeedSingle:
		return 0, nil
	case FeedJSONServer:
		n, err := num("_page", 1)
		return n - 1, err
	case FeedPageUntilEmpty:
		n, err := num("p", 1)
		return n - 1, err
	case FeedOffsetBody:
		n, err := num("offset", 0)
		return n / f.PageSize, err
	case FeedOffsetHeader:
		n, err := num("_start", 0)
		return n / f.PageSize, err
	case FeedCursorToken:
		c := q.Get("starting_after")
		if c == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(strings.TrimPrefix(c, "c"))
		return n / f.PageSize, err
	case FeedHasMore:
		c := q.Get("starting_after")
		if c == "" {
			return 0, nil
		}
		for i, rec := range f.Records {
			if strings.Contains(rec, fmt.Sprintf(`"id":%q`, c)) {
				return (i + 1) / f.PageSize, nil
			}
		}
		return 0, fmt.Errorf("no record %q", c)
	default:
		n, err := num("page", 1)
		return n - 1, err
	}
}

// body returns the page's content type, extra headers and body.
func (f *Feed) body(page int) (string, http.Header, []byte) {
	h := http.Header{}
	from := min(page*f.PageSize, len(f.Records))
	to := min(from+f.PageSize, len(f.Records))
	if f.Style == FeedSingle {
		from, to = 0, len(f.Records)
	}
	list := "[" + strings.Join(f.Records[from:to], ",") + "]"
	last := max((len(f.Records)+f.PageSize-1)/f.PageSize, 1)
	more := to < len(f.Records)
	nextNum := "null"
	if more {
		nextNum = strconv.Itoa(page + 2)
	}
	switch f.Style {
	case FeedLinkArray, FeedLinkNDJSON:
		if more {
			h.Set("Link", fmt.Sprintf(`</orders?page=%d>; rel="next"`, page+2))
		}
		if f.Style == FeedLinkNDJSON {
			return "application/x-ndjson", h, []byte(strings.Join(f.Records[from:to], "\n") + "\n")
		}
		return "application/json", h, []byte(list)
	case FeedNextURL:
		next := "null"
		if more {
			next = fmt.Sprintf(`"/orders?page=%d"`, page+2)
		}
		return "application/json", h, fmt.Appendf(nil, `{"data":%s,"next":%s}`, list, next)
	case FeedNextPage:
		return "application/json", h, fmt.Appendf(nil, `{"data":%s,"next":%s}`, list, nextNum)
	case FeedTotalPages:
		return "application/json", h, fmt.Appendf(nil, `{"results":%s,"page":%d,"total_pages":%d}`, list, page+1, last)
	case FeedJSONServer:
		prev := "null"
		if page > 0 {
			prev = strconv.Itoa(page)
		}
		return "application/json", h, fmt.Appendf(nil, `{"first":1,"prev":%s,"next":%s,"last":%d,"pages":%d,"items":%d,"data":%s}`,
			prev, nextNum, last, last, len(f.Records), list)
	case FeedOffsetBody:
		return "application/json", h, fmt.Appendf(nil, `{"items":%s,"offset":%d,"limit":%d,"total":%d}`, list, from, f.PageSize, len(f.Records))
	case FeedOffsetHeader:
		h.Set("X-Total-Count", strconv.Itoa(len(f.Records)))
		return "application/json", h, []byte(list)
	case FeedCursorToken:
		next := `""`
		if more {
			next = fmt.Sprintf(`"c%d"`, to)
		}
		return "application/json", h, fmt.Appendf(nil, `{"data":{"orders":%s},"meta":{"next_cursor":%s}}`, list, next)
	case FeedHasMore:
		return "application/json", h, fmt.Appendf(nil, `{"object":"list","data":%s,"has_more":%v}`, list, more)
	default: // FeedPageUntilEmpty, FeedSingle
		return "application/json", h, []byte(list)
	}
}

func (f *Feed) serve(w http.ResponseWriter, r *http.Request) {
	page, err := f.page(r)
	if err != nil || page < 0 {
		http.Error(w, fmt.Sprintf("bad page request %s: %v", r.URL, err), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests[page]++
	at := RequestAt{Page: page, Request: f.requests[page]}
	fault := NoFault
	if at.Request == 1 && page == f.FaultPage {
		fault, f.faulted = f.Fault, f.Fault != NoFault
	}
	for _, rf := range f.Faults {
		if rf.RequestAt == at {
			fault, f.faulted = rf.Fault, rf.Fault != NoFault
		}
	}
	f.mu.Unlock()
	if f.Hold.Request > 0 && f.Hold == at {
		close(f.arrived)
		select {
		case <-f.open:
		case <-r.Context().Done():
			return
		}
	}

	contentType, header, body := f.body(page)
	switch fault {
	case FaultServerError:
		w.Header().Set("Connection", "close")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case FaultNotFound:
		w.Header().Set("Connection", "close")
		http.NotFound(w, r)
		return
	}
	if fault == NoFault {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Connection", "close")
		_, _ = w.Write(body)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err) // httptest's server always hijacks
	}
	defer conn.Close()
	cut := max(min(f.CutAt, len(body)-1), 0)
	writeRaw(conn, buf, fault, contentType, header, body, cut)
}

// writeRaw writes a faulty response on a hijacked connection.
func writeRaw(conn net.Conn, buf *bufio.ReadWriter, fault FeedFault, contentType string, header http.Header, body []byte, cut int) {
	if fault == FaultDrop {
		return // closed without a byte
	}
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n", contentType)
	keys := make([]string, 0, len(header))
	for k := range header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(buf, "%s: %s\r\n", k, header.Get(k))
	}
	switch fault {
	case FaultShortBody:
		fmt.Fprintf(buf, "Content-Length: %d\r\n\r\n", len(body))
		buf.Write(body[:cut])
	case FaultOpenChunked:
		buf.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		if cut > 0 {
			fmt.Fprintf(buf, "%x\r\n", cut)
			buf.Write(body[:cut])
			buf.WriteString("\r\n")
		}
	case FaultCutDocument:
		buf.WriteString("\r\n")
		buf.Write(body[:cut])
	}
	_ = buf.Flush()
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite() // the bytes sent arrive before the end
	}
}

// HeldFeed starts a feed of n valid orders in pages of 100 linked by Link
// headers, that holds the request hold and fails the requests of faults,
// and returns it with the source_url that reads it.
func HeldFeed(t testing.TB, n int, hold RequestAt, faults ...RequestFault) (*Feed, string) {
	t.Helper()
	f := &Feed{Style: FeedLinkArray, Records: OrderRecords("held", n), PageSize: 100, Hold: hold, Faults: faults}
	f.Start(t)
	url, _ := f.Source()
	return f, url
}
