package source

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// The records of TestOpenRefEveryStyle are products, not orders: what a
// flow of one's own reads. Their fields are nested under attributes, and
// the source's fields: mapping brings them up to the names the flow asks
// for.
const products, productPage = 10, 3

func productRecords(n int) []string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"id":"p-%d","attributes":{"sku":"SKU-%03d","title":"Product %d","price":%d.5,"stock":%d}}`, i, i, i, i+1, i*7)
	}
	return recs
}

// productFields are the fields the flow reads, and wantProduct a record
// as it gets it: those fields, in this order, and nothing else.
var productFields = []string{"id", "sku", "title", "price"}

func wantProduct(i int) string {
	return fmt.Sprintf(`{"id":"p-%d","sku":"SKU-%03d","title":"Product %d","price":%d.5}`, i, i, i, i+1)
}

// productRecordsPath is where each feed style's body holds its records,
// declared in the source's records: (arrays and NDJSON have no path).
var productRecordsPath = map[testutil.FeedStyle]string{
	testutil.FeedNextURL: "data", testutil.FeedNextPage: "data", testutil.FeedTotalPages: "results", testutil.FeedJSONServer: "data",
	testutil.FeedOffsetBody: "items", testutil.FeedCursorToken: "data.orders", testutil.FeedHasMore: "data",
}

// productAPI is a feed behind a gate that wants a bearer token, as a real
// API does, and answers one request (the retryAt-th, counted from 1; 0 for
// none) 503 with Retry-After: 7.
type productAPI struct {
	feed    *testutil.Feed
	url     string // the gate's
	token   string
	retryAt int

	mu       sync.Mutex
	requests int
}

func startProductAPI(t *testing.T, style testutil.FeedStyle, token string, retryAt int) *productAPI {
	t.Helper()
	a := &productAPI{feed: &testutil.Feed{Style: style, Records: productRecords(products), PageSize: productPage}, token: token, retryAt: retryAt}
	a.feed.Start(t)
	target, err := url.Parse(a.feed.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+a.token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		a.mu.Lock()
		a.requests++
		n := a.requests
		a.mu.Unlock()
		if n == a.retryAt {
			w.Header().Set("Retry-After", "7")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

// definition is the products source as a manifest declares it: the feed's
// style (declared, or detected from its URL), its records path, the
// mapping and the bearer token's variable.
func (a *productAPI) definition() *restapi.Definition {
	raw, declared := a.feed.Source()
	def := restapi.Definition{URL: raw}
	if declared != nil {
		def = *declared
	}
	def.Name = "products"
	def.URL = a.url + strings.TrimPrefix(def.URL, a.feed.URL())
	def.Records = productRecordsPath[a.feed.Style]
	def.Fields = map[string]string{"sku": "attributes.sku", "title": "attributes.title", "price": "attributes.price"}
	def.Auth = restapi.Auth{BearerEnv: "PRODUCTS_TOKEN"}
	return &def
}

// readPages drains r, returning each page's records and cursor.
func readPages(t *testing.T, r Reader) (pages [][]string, cursors []string, err error) {
	t.Helper()
	for {
		page, err := r.Next(context.Background())
		if err == io.EOF {
			return pages, cursors, nil
		}
		if err != nil {
			return pages, cursors, err
		}
		pages = append(pages, strs(page.Records))
		cursors = append(cursors, page.Cursor)
	}
}

func openRef(t *testing.T, ref string, def *restapi.Definition, opts ReadOptions, cfg Config) Reader {
	t.Helper()
	r, err := OpenRef(context.Background(), ref, def, opts, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

// TestOpenRefEveryStyle reads products through a named source in every
// pagination style the feeds serve: records from the declared path, the
// fields the flow asks for from the mapped paths, the token from the
// worker's environment. A read resumed from the cursor after page k gets
// exactly the records after it; a 503 with Retry-After fails the page with
// a Transient error that carries the delay, and the retry, from the last
// cursor, reads the rest.
func TestOpenRefEveryStyle(t *testing.T) {
	const token = "products-s3cret"
	env := func(name string) (string, bool) {
		if name == "PRODUCTS_TOKEN" {
			return token, true
		}
		return "", false
	}
	cfg := Config{LookupEnv: env}
	var want []string
	for i := range products {
		want = append(want, wantProduct(i))
	}
	for _, style := range testutil.FeedStyles {
		t.Run(string(style), func(t *testing.T) {
			api := startProductAPI(t, style, token, 0)
			def := api.definition()
			opts := ReadOptions{Fields: productFields}
			pages, cursors, err := readPages(t, openRef(t, "source:products", def, opts, cfg))
			require.NoError(t, err)
			require.Equal(t, want, flatten(pages))
			if style != testutil.FeedSingle {
				require.Len(t, pages, (products+productPage-1)/productPage)
			}
			for _, c := range cursors {
				assert.NotContains(t, c, token)
			}

			for k := 1; k <= len(pages); k++ {
				if cursors[k-1] == "" {
					require.Equal(t, len(pages), k, "only the last page has no cursor")
					continue
				}
				rest, _, err := readPages(t, openRef(t, "source:products", def, ReadOptions{Cursor: cursors[k-1], Fields: productFields}, cfg))
				require.NoError(t, err)
				require.Equal(t, flatten(pages[k:]), flatten(rest), "resumed after page %d", k)
			}

			limited, _, err := readPages(t, openRef(t, "source:products", def, ReadOptions{Fields: productFields, Limit: 4}, cfg))
			require.NoError(t, err)
			require.Equal(t, want[:4], flatten(limited), "a limit ends the read")
		})
		t.Run(string(style)+"/retry after", func(t *testing.T) {
			retryAt := 2 // the second page's request
			if style == testutil.FeedSingle {
				retryAt = 1
			}
			api := startProductAPI(t, style, token, retryAt)
			def := api.definition()
			pages, cursors, err := readPages(t, openRef(t, "source:products", def, ReadOptions{Fields: productFields}, cfg))
			appErr := requireAppError(t, err, runinfo.ErrTransient, true)
			require.Equal(t, 7*time.Second, appErr.NextRetryDelay(), "the server's Retry-After is the next retry's delay")
			require.Contains(t, appErr.Error(), "503 Service Unavailable (retry after 7s)")
			require.Len(t, pages, retryAt-1)
			cursor := ""
			if len(cursors) > 0 {
				cursor = cursors[len(cursors)-1]
			}
			rest, _, err := readPages(t, openRef(t, "source:products", def, ReadOptions{Cursor: cursor, Fields: productFields}, cfg))
			require.NoError(t, err, "the retry reads on from the last cursor")
			require.Equal(t, want, append(flatten(pages), flatten(rest)...))
		})
	}
}

func flatten(pages [][]string) []string {
	out := []string{}
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

// TestOpenRefAuthAndMapping: without the token in the worker's
// environment, or with a wrong one, the read fails for good (BadSource),
// never showing the token. Without Fields the record holds every mapped
// field, sorted; a field the records lack is warned about on the first
// page, whatever its name.
func TestOpenRefAuthAndMapping(t *testing.T) {
	api := startProductAPI(t, testutil.FeedNextURL, "right-token", 0)
	def := api.definition()

	_, err := OpenRef(context.Background(), "source:products", def, ReadOptions{}, Config{LookupEnv: func(string) (string, bool) { return "", false }})
	appErr := requireAppError(t, err, runinfo.ErrBadSource, false)
	require.Contains(t, appErr.Error(), `source "products": auth.bearer_env: environment variable PRODUCTS_TOKEN is not set on the worker`)

	wrong := Config{LookupEnv: func(string) (string, bool) { return "wrong-token", true }}
	_, _, err = readPages(t, openRef(t, "source:products", def, ReadOptions{}, wrong))
	appErr = requireAppError(t, err, runinfo.ErrBadSource, false)
	require.Contains(t, appErr.Error(), "401 Unauthorized")
	require.NotContains(t, appErr.Error(), "wrong-token")

	right := Config{LookupEnv: func(string) (string, bool) { return "right-token", true }}
	def.Fields["colour"] = "attributes.colour"
	r := openRef(t, "source:products", def, ReadOptions{}, right)
	page, err := r.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, `{"price":1.5,"sku":"SKU-000","title":"Product 0"}`, string(page.Records[0]), "every mapped field, by name")
	require.Equal(t, []string{"field mapping: colour is mapped from attributes.colour, which none of the 3 records of the first page has"}, page.Warnings)

	r = openRef(t, "source:products", def, ReadOptions{Fields: []string{"title", "stock", "id"}}, right)
	page, err = r.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, `{"title":"Product 1","id":"p-1"}`, string(page.Records[1]), "an unmapped field is read from the member of its name")
	require.Empty(t, page.Warnings, "colour is not asked for")
}

// TestOpenRefOtherSources: OpenRef reads file:// and demo:// as Open
// does; without a mapping, records pass as they are.
func TestOpenRefOtherSources(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "products.ndjson"), []byte(strings.Join(productRecords(5), "\n")+"\n"), 0o600))
	cfg := Config{FileRoot: dir, PageSize: 2}
	pages, cursors, err := readPages(t, openRef(t, "file:products.ndjson", nil, ReadOptions{Fields: productFields}, cfg))
	require.NoError(t, err)
	require.Equal(t, productRecords(5), flatten(pages))
	rest, _, err := readPages(t, openRef(t, "file:products.ndjson", nil, ReadOptions{Cursor: cursors[0]}, cfg))
	require.NoError(t, err)
	require.Equal(t, productRecords(5)[2:], flatten(rest))

	demo, _, err := readPages(t, openRef(t, "demo://orders?seed=3", nil, ReadOptions{Limit: 5}, cfg))
	require.NoError(t, err)
	require.Len(t, flatten(demo), 5)
	require.Equal(t, readDemo(t, "demo://orders?seed=3", "", 5, cfg), flatten(demo), "the records DataPipeline reads")
}

// TestOpenRefRefused: a reference, definition or option that breaks a rule
// is a BadSource error of one line, naming it with credentials hidden.
func TestOpenRefRefused(t *testing.T) {
	def := &restapi.Definition{Name: "shop", URL: "https://api.example.com/orders"}
	tests := []struct {
		name string
		ref  string
		def  *restapi.Definition
		opts ReadOptions
		want string
	}{
		{"no scheme", "orders.json", nil, ReadOptions{}, "source orders.json: has no scheme; use http(s)://, file://, demo:// or source:NAME"},
		{"unknown scheme", "s3://bucket/key", nil, ReadOptions{}, `source s3://bucket/key: scheme "s3" is not supported`},
		{"too long", "https://api.example.com/" + strings.Repeat("a", restapi.MaxURLLength), nil, ReadOptions{}, "must be at most 4096 characters"},
		{"credentials", "https://user:pw@api.example.com/orders", nil, ReadOptions{}, "source https://user:xxxxx@api.example.com/orders: must not carry credentials"},
		{"named without its definition", "source:shop", nil, ReadOptions{}, `source source:shop: names source "shop" of the manifest's sources:, but its definition is not given`},
		{"another source's definition", "source:crm", def, ReadOptions{}, `source source:crm: the definition given is of source "shop", not "crm"`},
		{"a definition with a URL", "https://api.example.com/orders", def, ReadOptions{}, `a source definition (of "shop") goes with source:shop only`},
		{"a definition that breaks a rule", "source:shop", &restapi.Definition{Name: "shop", URL: "https://api.example.com/o", Paginate: restapi.Paginate{Style: "cursr"}}, ReadOptions{},
			`source source:shop: source "shop": paginate.style: unknown pagination style "cursr"`},
		{"a field that is a path", "source:shop", def, ReadOptions{Fields: []string{"id", "customer.email"}}, `source source:shop: fields[1]: "customer.email" is not a field name`},
		{"negative limit", "demo://orders", nil, ReadOptions{Limit: -1}, "source demo://orders: limit -1: must be 0 (no limit) or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenRef(context.Background(), tt.ref, tt.def, tt.opts, Config{})
			appErr := requireAppError(t, err, runinfo.ErrBadSource, false)
			require.Contains(t, appErr.Error(), tt.want)
			require.NotContains(t, appErr.Error(), "\n")
			require.NotContains(t, appErr.Error(), ":pw@")
		})
	}
}

// TestOpenRefInAnActivity: in an activity, the activity's attempt drives
// a demo source's outages, as it does Extract's: with failure_rate=1 the
// first attempt meets one and the retry does not. (The SDK's test
// environment does not tell an activity its retry policy, so the maximum
// is unknown there, and only the first attempt can meet an outage; on a
// server every attempt but the last can: see attemptOf's test.) Outside an
// activity there is no attempt: the read is a first one.
func TestOpenRefInAnActivity(t *testing.T) {
	const ref = "demo://orders?failure_rate=1"
	read := func(ctx context.Context) (int, error) {
		r, err := OpenRef(ctx, ref, nil, ReadOptions{Limit: 10}, Config{PageSize: 10})
		if err != nil {
			return 0, err
		}
		defer r.Close()
		page, err := r.Next(ctx)
		return len(page.Records), err
	}
	_, err := read(context.Background())
	requireAppError(t, err, runinfo.ErrTransient, true)

	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(conn.QuietLogger())
	env := ts.NewTestWorkflowEnvironment()
	var attempts []int32
	env.RegisterActivityWithOptions(func(ctx context.Context) (int, error) {
		attempts = append(attempts, activity.GetInfo(ctx).Attempt)
		return read(ctx)
	}, activity.RegisterOptions{Name: "ReadProducts"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) (int, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3}})
		var n int
		err := workflow.ExecuteActivity(ctx, "ReadProducts").Get(ctx, &n)
		return n, err
	}, workflow.RegisterOptions{Name: "ReadFlow"})
	env.ExecuteWorkflow("ReadFlow")
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var n int
	require.NoError(t, env.GetWorkflowResult(&n))
	require.Equal(t, 10, n)
	require.Equal(t, []int32{1, 2}, attempts, "the first attempt meets the outage, the retry reads")
}

func TestAttemptOf(t *testing.T) {
	info := activity.Info{WorkflowExecution: workflow.Execution{ID: "wf"}, Attempt: 2, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}}
	require.Equal(t, Attempt{WorkflowID: "wf", Number: 2, Max: 3}, attemptOf(info))
	info.RetryPolicy = nil
	require.Equal(t, Attempt{WorkflowID: "wf", Number: 2}, attemptOf(info), "no policy from the server: the maximum is unknown")
}
