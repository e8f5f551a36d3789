package source

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// apiRecords is the feed every style test serves: 10 records, in pages of 3.
const apiRecords, apiPage = 10, 3

func apiRecord(i int) string { return fmt.Sprintf(`{"id":"ord-%d"}`, i) }

// apiSlice returns the records [from, from+apiPage) that exist, as a JSON array.
func apiSlice(from int) (string, int) {
	var recs []string
	for i := from; i < from+apiPage && i < apiRecords; i++ {
		recs = append(recs, apiRecord(i))
	}
	return "[" + strings.Join(recs, ",") + "]", len(recs)
}

// namedSpec is the spec of a named source, built the way the Extract
// activity builds it: from the workflow input's Params.
func namedSpec(t *testing.T, def restapi.Definition) sourceurl.Spec {
	t.Helper()
	if def.Name == "" {
		def.Name = "test-source"
	}
	p := datapipeline.Params{BatchSize: 1000, SourceURL: restapi.RefPrefix + def.Name, Source: &def}
	require.Empty(t, p.CheckParams())
	spec, err := p.Spec()
	require.NoError(t, err)
	return spec
}

func intParam(r *http.Request, name string, def int) int {
	if v := r.URL.Query().Get(name); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil {
			return n
		}
	}
	return def
}

// TestHTTPPaginationStyles reads the same 10 records through each style,
// then resumes from the checkpoint cursor after the second page and reads
// exactly the rest.
func TestHTTPPaginationStyles(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		// def is nil for a plain URL (auto-detection).
		def  *restapi.Definition
		path string
		// emptyEnds: the style learns of the end from an empty page.
		emptyEnds bool
	}{
		{
			name: "page number in the body, nested records, auto-detected",
			handler: func(w http.ResponseWriter, r *http.Request) {
				page := intParam(r, "page", 1)
				list, _ := apiSlice((page - 1) * apiPage)
				next := "null"
				if page*apiPage < apiRecords {
					next = strconv.Itoa(page + 1)
				}
				fmt.Fprintf(w, `{"data":{"orders":%s},"next":%s}`, list, next)
			},
			def:  &restapi.Definition{Records: "data.orders"},
			path: "/orders",
		},
		{
			name: "page and total_pages, auto-detected from a plain URL",
			handler: func(w http.ResponseWriter, r *http.Request) {
				page := intParam(r, "page", 1)
				list, _ := apiSlice((page - 1) * apiPage)
				fmt.Fprintf(w, `{"results":%s,"page":%d,"total_pages":%d}`, list, page, (apiRecords+apiPage-1)/apiPage)
			},
			path: "/orders",
		},
		{
			name: "page style declared, custom parameter names, stops on an empty page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, "3", r.URL.Query().Get("per_page"))
				page := intParam(r, "p", 1)
				list, _ := apiSlice((page - 1) * apiPage)
				if (page-1)*apiPage >= apiRecords {
					list = "[]"
				}
				fmt.Fprint(w, list)
			},
			def:       &restapi.Definition{Paginate: restapi.Paginate{Style: restapi.StylePage, PageParam: "p", SizeParam: "per_page", Size: apiPage}},
			path:      "/orders",
			emptyEnds: true,
		},
		{
			name: "offset/limit with the total in the body, auto-detected",
			handler: func(w http.ResponseWriter, r *http.Request) {
				off := intParam(r, "offset", 0)
				list, _ := apiSlice(off)
				fmt.Fprintf(w, `{"items":%s,"offset":%d,"limit":%d,"total":%d}`, list, off, apiPage, apiRecords)
			},
			path: "/orders?limit=3",
		},
		{
			name: "offset/limit with X-Total-Count (json-server style)",
			handler: func(w http.ResponseWriter, r *http.Request) {
				off := intParam(r, "_start", 0)
				require.Equal(t, "3", r.URL.Query().Get("_limit"))
				list, _ := apiSlice(off)
				w.Header().Set("X-Total-Count", strconv.Itoa(apiRecords))
				fmt.Fprint(w, list)
			},
			def: &restapi.Definition{Paginate: restapi.Paginate{Style: restapi.StyleOffset, OffsetParam: "_start", SizeParam: "_limit",
				Size: apiPage, TotalHeader: "X-Total-Count"}},
			path: "/orders",
		},
		{
			name: "cursor token in the body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				from := 0
				if c := r.URL.Query().Get("starting_after"); c != "" {
					n, err := strconv.Atoi(strings.TrimPrefix(c, "c"))
					require.NoError(t, err)
					from = n
				}
				list, n := apiSlice(from)
				next := `""`
				if from+n < apiRecords {
					next = fmt.Sprintf(`"c%d"`, from+n)
				}
				fmt.Fprintf(w, `{"data":{"orders":%s},"meta":{"next_cursor":%s}}`, list, next)
			},
			def: &restapi.Definition{Records: "data.orders", Paginate: restapi.Paginate{Style: restapi.StyleCursor,
				CursorParam: "starting_after", Next: "meta.next_cursor"}},
			path: "/orders",
		},
		{
			name: "cursor from the last record with has_more (Stripe style)",
			handler: func(w http.ResponseWriter, r *http.Request) {
				from := 0
				if c := r.URL.Query().Get("starting_after"); c != "" {
					n, err := strconv.Atoi(strings.TrimPrefix(c, "ord-"))
					require.NoError(t, err)
					from = n + 1
				}
				list, n := apiSlice(from)
				fmt.Fprintf(w, `{"object":"list","data":%s,"has_more":%v}`, list, from+n < apiRecords)
			},
			def: &restapi.Definition{Paginate: restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "starting_after",
				CursorField: "id", HasMore: "has_more", SizeParam: "limit", Size: apiPage}},
			path: "/v1/charges",
		},
	}
	var want []string
	for i := range apiRecords {
		want = append(want, apiRecord(i))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tt.handler(w, r)
			})
			var spec sourceurl.Spec
			if tt.def == nil {
				spec = mustSpec(t, srv.URL+tt.path)
			} else {
				def := *tt.def
				def.URL = srv.URL + tt.path
				spec = namedSpec(t, def)
			}
			got, cursors, err := readAll(t, open(t, spec, "", 100, Attempt{}, Config{}))
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.GreaterOrEqual(t, len(cursors), 4, "10 records in pages of 3")
			for i, c := range cursors[:len(cursors)-1] {
				require.NotEmpty(t, c, "cursor %d", i)
			}
			if tt.emptyEnds {
				require.Equal(t, "p=5&per_page=3", cursors[len(cursors)-1][len(srv.URL+tt.path)+1:], "an empty page ends the read")
			} else {
				require.Empty(t, cursors[len(cursors)-1], "the last page ends the read")
			}

			rest, _, err := readAll(t, open(t, spec, cursors[1], 100, Attempt{}, Config{}))
			require.NoError(t, err)
			require.Equal(t, want[2*apiPage:], rest, "resuming after the second page reads exactly the rest")

			requests.Store(0)
			limited, _, err := readAll(t, open(t, spec, "", 4, Attempt{}, Config{}))
			require.NoError(t, err)
			require.Equal(t, want[:4], limited)
			require.EqualValues(t, 2, requests.Load(), "no request after the limit is reached")
		})
	}
}

func TestHTTPSinglePage(t *testing.T) {
	var requests atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		// A next link the single style must not follow.
		fmt.Fprint(w, `{"data":[{"id":"a"},{"id":"b"}],"next":"/orders?page=2"}`)
	})
	spec := namedSpec(t, restapi.Definition{URL: srv.URL + "/orders", Paginate: restapi.Paginate{Style: restapi.StyleSingle}})
	got, cursors, err := readAll(t, open(t, spec, "", 100, Attempt{}, Config{}))
	require.NoError(t, err)
	require.Equal(t, []string{`{"id":"a"}`, `{"id":"b"}`}, got)
	require.Equal(t, []string{""}, cursors)
	require.EqualValues(t, 1, requests.Load())
}

// TestHTTPPaginationLoop: an API whose next page is one already read
// fails the read with a non-retryable BadSource, instead of running
// forever. The message says what the paginator changed (the query
// parameter, or where the next link came from) and how to declare the
// style in a named source, naming the manifest's keys.
func TestHTTPPaginationLoop(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		def     *restapi.Definition
		path    string // "" means /orders
		msg     string // after "pagination loops: the next page <URL> was already read by this run: "
	}{
		{"link back to the first page", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("page") == "2" {
				w.Header().Set("Link", `</orders>; rel="next"`)
			} else {
				w.Header().Set("Link", `</orders?page=2>; rel="next"`)
			}
			fmt.Fprint(w, `[{"id":"a"}]`)
		}, nil, "", `the next page is the response's Link header rel="next", which points back; the link style was detected from the first response; ` +
			"if the API reads another parameter, declare its style in a named source of the deployments manifest " +
			"(sources: {NAME: {url: URL, paginate: {style: page, page_param: PARAM}}}) and run it with source_url=source:NAME"},
		{"next URL to itself", respond("application/json", `{"data":[{"id":"a"}],"next":"/orders"}`), nil, "",
			"the next page is the body's next page URL (next), which points back; the next_url style was detected"},
		{"page number that never moves", respond("application/json", `{"data":[{"id":"a"}],"next":2}`), nil, "",
			"the page number (the body's next) was sent in the query parameter page, and the server answered with the same page again; " +
				"the page style was detected from the first response; if the API reads another parameter, declare its style in a named source " +
				"of the deployments manifest (sources: {NAME: {url: URL, paginate: {style: page, next: next, page_param: PARAM}}}) and run it with source_url=source:NAME"},
		{"json-server 1.0 without _page in the URL", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"first":1,"prev":null,"next":2,"last":3,"pages":3,"items":3,"data":[{"id":"a"}]}`)
		}, nil, "/orders?_per_page=1", "the page number (the body's next) was sent in the query parameter page, and the server answered with the same page again; " +
			"the page style was detected"},
		{"page number in a named source with the style detected", respond("application/json", `{"data":[{"id":"a"}],"next":2}`),
			&restapi.Definition{Name: "shop"}, "", "the page number (the body's next) was sent in the query parameter page, and the server answered with the same page again; " +
				`the page style was detected from the first response; if the API reads another parameter, declare its style in paginate of source "shop" ` +
				"in the deployments manifest (paginate: {style: page, next: next, page_param: PARAM})"},
		{"declared page parameter the server ignores", respond("application/json", `{"data":[{"id":"a"}],"next":2}`),
			&restapi.Definition{Name: "shop", Paginate: restapi.Paginate{Style: restapi.StylePage, Next: "next", PageParam: "pg"}}, "",
			"the page number (the body's next) was sent in the query parameter pg, and the server answered with the same page again; " +
				`check paginate.page_param of source "shop" in the deployments manifest: it must name the parameter the API reads`},
		{"cursor that never moves", respond("application/json", `{"data":[{"id":"a"}],"cursor":"same"}`),
			&restapi.Definition{Paginate: restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "after", Next: "cursor"}}, "",
			"the cursor (the body's cursor) was sent in the query parameter after, and the server answered with the same cursor again; " +
				`check paginate.cursor_param of source "test-source" in the deployments manifest: it must name the parameter the API reads`},
		{"declared link style", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", `</orders>; rel="next"`)
			fmt.Fprint(w, `[{"id":"a"}]`)
		}, &restapi.Definition{Name: "shop", Paginate: restapi.Paginate{Style: restapi.StyleLink}}, "",
			`the next page is the response's Link header rel="next", which points back; if the API pages by a query parameter, ` +
				`declare its style in paginate of source "shop" in the deployments manifest (paginate: {style: page, page_param: PARAM})`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tt.handler(w, r)
			})
			path := cmp.Or(tt.path, "/orders")
			spec := mustSpec(t, srv.URL+path)
			if tt.def != nil {
				def := *tt.def
				def.URL = srv.URL + path
				spec = namedSpec(t, def)
			}
			_, _, err := readAll(t, open(t, spec, "", 1000, Attempt{}, Config{}))
			appErr := requireAppError(t, err, runinfo.ErrBadSource, false)
			require.Contains(t, appErr.Error(), "pagination loops: the next page "+srv.URL)
			require.Contains(t, appErr.Error(), " was already read by this run: "+tt.msg)
			require.LessOrEqual(t, requests.Load(), int32(3))
		})
	}
}

// TestJSONServer1Shape reads json-server 1.0's pages ({"first":1,"prev":
// null,"next":2,"last":N,"pages":N,"items":M,"data":[...]}) from a plain
// URL with ?_page=1&_per_page=P: the URL's parameter that holds the
// current page number carries the next one, so no manifest entry is
// needed. make test-realapi checks the same against json-server itself.
func TestJSONServer1Shape(t *testing.T) {
	for _, perPage := range []int{1, 2, 5, 200} {
		t.Run(fmt.Sprintf("_per_page=%d", perPage), func(t *testing.T) {
			f := &testutil.Feed{Style: testutil.FeedJSONServer, Records: testutil.OrderRecords("js", 23), PageSize: perPage}
			f.Start(t)
			raw, def := f.Source()
			require.Nil(t, def, "a plain URL")
			require.Equal(t, fmt.Sprintf("%s/orders?_page=1&_per_page=%d", f.URL(), perPage), raw)
			got, cursors, err := readAll(t, open(t, mustSpec(t, raw), "", 1000, Attempt{}, Config{}))
			require.NoError(t, err)
			require.Equal(t, f.Records, got)
			pages := (23 + perPage - 1) / perPage
			require.Len(t, cursors, pages)
			for p := range pages {
				require.Equal(t, 1, f.Requests(p), "page %d is read once", p+1)
			}
			if pages > 2 {
				require.Equal(t, fmt.Sprintf("%s/orders?_page=3&_per_page=%d", f.URL(), perPage), cursors[1])
				rest, _, err := readAll(t, open(t, mustSpec(t, raw), cursors[1], 1000, Attempt{}, Config{}))
				require.NoError(t, err)
				require.Equal(t, f.Records[2*perPage:], rest, "resuming after the second page")
			}
		})
	}
	t.Run("two parameters hold the page number", func(t *testing.T) {
		srv := serve(t, respond("application/json", `{"next":2,"data":[{"id":"a"}]}`))
		_, _, err := readAll(t, open(t, mustSpec(t, srv.URL+"/orders?pg=1&sheet=1"), "", 1000, Attempt{}, Config{}))
		appErr := requireAppError(t, err, runinfo.ErrBadData, false)
		require.Contains(t, appErr.Error(), "pagination is ambiguous: the body's next page is 2 and the URL's parameters pg, sheet all hold the current page 1; "+
			"declare which one carries the page number in a named source (paginate: {style: page, next: next, page_param: NAME})")
	})
	t.Run("a parameter named page wins a tie", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("_page") == "2" {
				fmt.Fprint(w, `{"next":null,"data":[{"id":"b"}]}`)
				return
			}
			fmt.Fprint(w, `{"next":2,"data":[{"id":"a"}]}`)
		})
		got, _, err := readAll(t, open(t, mustSpec(t, srv.URL+"/orders?sheet=1&_page=1"), "", 1000, Attempt{}, Config{}))
		require.NoError(t, err)
		require.Equal(t, []string{`{"id":"a"}`, `{"id":"b"}`}, got)
	})
}

func TestHTTPRecordsPath(t *testing.T) {
	tests := []struct {
		name, path, body string
		want             []string
		msg              string
	}{
		{"nested", "data.orders", `{"data":{"orders":[{"id":"a"},{"id":"b"}]}}`, []string{`{"id":"a"}`, `{"id":"b"}`}, ""},
		{"top-level key outside the envelope names", "orders", `{"orders":[{"id":"a"}],"count":1}`, []string{`{"id":"a"}`}, ""},
		{"null list is an empty page", "data.orders", `{"data":{"orders":null}}`, []string{}, ""},
		{"missing path", "data.orders", `{"data":{"order":[]}}`, nil, `response has no data.orders (records path); its top-level keys are: "data"`},
		{"not an array", "data", `{"data":{"orders":[]}}`, nil, "data (records path) is not a JSON array"},
		{"not an object", "data", `[{"id":"a"}]`, nil, "response is not a JSON object, so it has no data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, respond("application/json", tt.body))
			spec := namedSpec(t, restapi.Definition{URL: srv.URL, Records: tt.path})
			got, _, err := readAll(t, open(t, spec, "", 100, Attempt{}, Config{}))
			if tt.msg != "" {
				appErr := requireAppError(t, err, runinfo.ErrBadData, false)
				require.Contains(t, appErr.Error(), tt.msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestHTTPFieldMapping maps nested source fields onto the record fields;
// a record without a mapped field lacks that field (Transform rejects it
// with its reason), and a mapping no record of the first page has is
// reported once, on the first page.
func TestHTTPFieldMapping(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			fmt.Fprint(w, `{"data":[{"order_id":3,"customer":{"email":"c@example.com"},"total_price":"1.5","created_at":"2026-03-01T10:00:00Z","category":"toys","currency":"EUR"}],"next":null}`)
			return
		}
		fmt.Fprint(w, `{"data":[`+
			`{"order_id":"A-1","customer":{"email":"a@example.com","name":"A"},"total_price":12.5,"currency":"EUR","created_at":"2026-03-01T10:00:00Z","category":"books","id":"internal-1"},`+
			`{"order_id":"A-2","customer":{"name":"B"},"total_price":3,"currency":"USD","created_at":"2026-03-01T11:00:00Z"},`+
			`"not an object"],"next":2}`)
	})
	spec := namedSpec(t, restapi.Definition{URL: srv.URL + "/orders", Fields: map[string]string{
		"id": "order_id", "customer_email": "customer.email", "amount": "total_price", "timestamp": "created_at", "currency": "meta.currency_code",
	}})
	r := open(t, spec, "", 100, Attempt{}, Config{})
	page, err := r.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{
		`{"id":"A-1","customer_email":"a@example.com","category":"books","amount":12.5,"timestamp":"2026-03-01T10:00:00Z"}`,
		`{"id":"A-2","amount":3,"timestamp":"2026-03-01T11:00:00Z"}`,
		`"not an object"`,
	}, strs(page.Records), "the source's own id is replaced by the mapped one; currency's path is missing everywhere")
	require.Equal(t, []string{"field mapping: currency is mapped from meta.currency_code, which none of the 3 records of the first page has"}, page.Warnings)

	page, err = r.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{`{"id":3,"customer_email":"c@example.com","category":"toys","amount":"1.5","timestamp":"2026-03-01T10:00:00Z"}`}, strs(page.Records))
	require.Empty(t, page.Warnings, "only the first page is checked")
}

func strs(records [][]byte) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = string(r)
	}
	return out
}

// TestHTTPAuthFromEnv sends each auth scheme with its secret read from the
// worker's environment, and never shows the secret in an error or cursor.
func TestHTTPAuthFromEnv(t *testing.T) {
	const secret = "s3cr3t-Value"
	tests := []struct {
		name  string
		auth  restapi.Auth
		env   map[string]string
		check func(r *http.Request) bool
	}{
		{"bearer", restapi.Auth{BearerEnv: "SHOP_TOKEN"}, map[string]string{"SHOP_TOKEN": secret},
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+secret }},
		{"basic with a literal user", restapi.Auth{BasicUser: "shop", BasicPasswordEnv: "SHOP_PASSWORD"}, map[string]string{"SHOP_PASSWORD": secret},
			func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "shop" && p == secret }},
		{"basic with the user from the environment", restapi.Auth{BasicUserEnv: "SHOP_USER", BasicPasswordEnv: "SHOP_PASSWORD"},
			map[string]string{"SHOP_USER": "u2", "SHOP_PASSWORD": secret},
			func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "u2" && p == secret }},
		{"api key header", restapi.Auth{Header: "X-Api-Key", HeaderEnv: "SHOP_KEY"}, map[string]string{"SHOP_KEY": secret},
			func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == secret }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sawStatic atomic.Bool
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				sawStatic.Store(r.Header.Get("Accept-Version") == "2026-01")
				if !tt.check(r) {
					http.Error(w, "unauthorized", http.StatusUnauthorized)
					return
				}
				if r.URL.Query().Get("page") == "" {
					fmt.Fprint(w, `{"data":[{"id":"a"}],"next":"?page=2"}`)
					return
				}
				fmt.Fprint(w, `{"data":[{"id":"b"}]}`)
			})
			def := restapi.Definition{URL: srv.URL + "/orders", Auth: tt.auth, Headers: map[string]string{"Accept-Version": "2026-01"}}
			spec := namedSpec(t, def)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, cursors, err := readAll(t, open(t, spec, "", 100, Attempt{}, Config{}))
			require.NoError(t, err)
			require.Equal(t, []string{`{"id":"a"}`, `{"id":"b"}`}, got)
			require.True(t, sawStatic.Load(), "static headers are sent")
			for _, c := range cursors {
				require.NotContains(t, c, secret)
			}

			// Unset: the read fails before any request, naming the
			// variable and not its value.
			for k := range tt.env {
				t.Setenv(k, "")
			}
			_, err = Open(context.Background(), spec, "", 100, restapi.RecordFields, Attempt{}, Config{})
			appErr := requireAppError(t, err, runinfo.ErrBadSource, false)
			require.Contains(t, appErr.Error(), "is not set on the worker")
			assert.NotContains(t, appErr.Error(), secret)
		})
	}
	t.Run("BLUEPRINT_HTTP_BEARER_TOKEN still applies to a plain URL", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+secret {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `[1]`)
		})
		cfg := Config{HTTPHeaders: map[string]string{"Authorization": "Bearer " + secret}}
		got, _, err := readAll(t, open(t, mustSpec(t, srv.URL), "", 100, Attempt{}, cfg))
		require.NoError(t, err)
		require.Equal(t, []string{"1"}, got)
	})
	t.Run("a named source gets only the auth it declares", func(t *testing.T) {
		var got atomic.Value
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("X-Api-Key"))
			fmt.Fprint(w, `[1]`)
		})
		t.Setenv("SHOP_KEY", "k3y")
		cfg := Config{HTTPHeaders: map[string]string{"Authorization": "Bearer " + secret}}
		spec := namedSpec(t, restapi.Definition{URL: srv.URL, Auth: restapi.Auth{Header: "X-Api-Key", HeaderEnv: "SHOP_KEY"}})
		_, _, err := readAll(t, open(t, spec, "", 100, Attempt{}, cfg))
		require.NoError(t, err)
		require.Equal(t, "|k3y", got.Load(), "the worker's bearer token is not sent to a named source")
	})
	t.Run("basic auth header is well formed", func(t *testing.T) {
		h, err := authHeaders(restapi.Definition{Auth: restapi.Auth{BasicUser: "u", BasicPasswordEnv: "P"}},
			Config{LookupEnv: func(string) (string, bool) { return "p", true }})
		require.NoError(t, err)
		require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("u:p")), h["Authorization"])
	})
}

// TestHTTPPaginationErrors: a declared style whose markers are missing
// or malformed fails as BadData naming the path.
func TestHTTPPaginationErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		pg   restapi.Paginate
		msg  string
	}{
		{"total_pages missing", `{"data":[1]}`, restapi.Paginate{Style: restapi.StylePage, TotalPages: "meta.pages"}, "response has no meta.pages (paginate.total_pages)"},
		{"total not a number", `{"data":[1],"total":"many"}`, restapi.Paginate{Style: restapi.StyleOffset, Total: "total"}, `the total (total) is a string, want a number`},
		{"total header missing", `{"data":[1]}`, restapi.Paginate{Style: restapi.StyleOffset, TotalHeader: "X-Total-Count"}, `X-Total-Count header is ""`},
		{"has_more not a boolean", `{"data":[1],"has_more":"yes","c":"x"}`, restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "after", Next: "c", HasMore: "has_more"}, "has_more (has_more) is a string, want true or false"},
		{"cursor an object", `{"data":[1],"c":{}}`, restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "after", Next: "c"}, "the next cursor is an object"},
		{"ambiguous auto-detection", `{"data":[1],"next":2,"offset":0,"total":5}`, restapi.Paginate{}, "pagination is ambiguous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, respond("application/json", tt.body))
			spec := namedSpec(t, restapi.Definition{URL: srv.URL, Paginate: tt.pg})
			_, _, err := readAll(t, open(t, spec, "", 100, Attempt{}, Config{}))
			appErr := requireAppError(t, err, runinfo.ErrBadData, false)
			require.Contains(t, appErr.Error(), tt.msg)
		})
	}
}
