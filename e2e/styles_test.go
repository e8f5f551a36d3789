//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/source"
)

// The feed of TestPaginationStylesSurviveKill: per style, stylePages pages
// of stylePageSize records, named the way real APIs name them.
const (
	stylePages    = 20
	stylePageSize = 100
	// styleGate is the page (0-based) that blocks until the worker has been
	// killed: by then every earlier page is a committed chunk.
	styleGate  = 9
	styleToken = "e2e-s3cr3t-token"
)

// styleManifest declares one source and one deployment per pagination
// style; ORIGIN and QUEUE are filled in.
const styleManifest = `sources:
  by-link:
    url: ORIGIN/link/orders
    records: data.orders
    paginate: {style: link}
    fields: &shop {id: order_id, customer_email: customer.email, amount: total_price, timestamp: created_at}
  by-next-url:
    url: ORIGIN/next_url/orders
    records: data.orders
    paginate: {style: next_url, next: links.next}
    fields: *shop
  by-page:
    url: ORIGIN/page/orders
    records: data.orders
    paginate: {style: page, total_pages: meta.total_pages}
    fields: *shop
  by-offset:
    url: ORIGIN/offset/orders
    paginate: {style: offset, offset_param: _start, size_param: _limit, size: 100, total_header: X-Total-Count}
    fields: *shop
  by-cursor:
    url: ORIGIN/cursor/orders
    records: data.orders
    paginate: {style: cursor, cursor_param: starting_after, next: meta.next_cursor}
    fields: *shop
    auth: {bearer_env: E2E_SHOP_TOKEN}
  by-single:
    url: ORIGIN/single/orders
    records: data.orders
    paginate: {style: single}
    fields: *shop
deployments:
`

var styleNames = []string{"link", "next_url", "page", "offset", "cursor", "single"}

// styleFeed serves the feed in every style and blocks each style's gate
// page, the first time it is asked for, until released.
type styleFeed struct {
	t       *testing.T
	mu      sync.Mutex
	hits    map[string]int // "style page" -> requests
	waiting map[string]bool
	release chan struct{}
}

func (f *styleFeed) record(style string, i int) string {
	return fmt.Sprintf(`{"order_id":"%s-%d","customer":{"email":"buyer%d@example.com"},"category":"books","total_price":%d.5,"currency":"EUR","created_at":"2026-03-01T10:00:00Z"}`,
		style, i, i, 10+i%7)
}

func (f *styleFeed) page(style string, p int) string {
	var recs []string
	for i := p * stylePageSize; i < (p+1)*stylePageSize; i++ {
		recs = append(recs, f.record(style, i))
	}
	return "[" + strings.Join(recs, ",") + "]"
}

func (f *styleFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	style := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	q := r.URL.Query()
	num := func(name string, def int) int {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err == nil {
				return n
			}
		}
		return def
	}
	p := 0
	switch style {
	case "link", "page":
		p = num("page", 1) - 1
	case "next_url":
		p = num("p", 0)
	case "offset":
		p = num("_start", 0) / stylePageSize
	case "cursor":
		if r.Header.Get("Authorization") != "Bearer "+styleToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		p = num("starting_after", 0) / stylePageSize
	case "single":
	default:
		http.NotFound(w, r)
		return
	}
	gate := styleGate
	if style == "single" {
		gate = 0
	}
	f.mu.Lock()
	key := fmt.Sprintf("%s %d", style, p)
	f.hits[key]++
	first := f.hits[key] == 1
	if p == gate && first {
		f.waiting[style] = true
	}
	f.mu.Unlock()
	if p == gate && first {
		select {
		case <-f.release:
		case <-r.Context().Done():
			return
		}
	}
	time.Sleep(20 * time.Millisecond)
	w.Header().Set("Content-Type", "application/json")
	origin := "http://" + r.Host
	list := f.page(style, p)
	last := p == stylePages-1
	switch style {
	case "link":
		if !last {
			w.Header().Set("Link", fmt.Sprintf(`<%s/link/orders?page=%d>; rel="next"`, origin, p+2))
		}
		fmt.Fprintf(w, `{"data":{"orders":%s}}`, list)
	case "next_url":
		next := "null"
		if !last {
			next = strconv.Quote(fmt.Sprintf("/next_url/orders?p=%d", p+1))
		}
		fmt.Fprintf(w, `{"data":{"orders":%s},"links":{"next":%s}}`, list, next)
	case "page":
		fmt.Fprintf(w, `{"data":{"orders":%s},"meta":{"page":%d,"total_pages":%d}}`, list, p+1, stylePages)
	case "offset":
		require.Equal(f.t, strconv.Itoa(stylePageSize), q.Get("_limit"))
		w.Header().Set("X-Total-Count", strconv.Itoa(stylePages*stylePageSize))
		fmt.Fprint(w, list)
	case "cursor":
		next := `""`
		if !last {
			next = strconv.Quote(strconv.Itoa((p + 1) * stylePageSize))
		}
		fmt.Fprintf(w, `{"data":{"orders":%s},"meta":{"next_cursor":%s}}`, list, next)
	case "single":
		var all []string
		for i := range stylePages {
			all = append(all, strings.Trim(f.page(style, i), "[]"))
		}
		fmt.Fprintf(w, `{"data":{"orders":[%s]}}`, strings.Join(all, ","))
	}
}

func (f *styleFeed) allWaiting() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiting) == len(styleNames)
}

func (f *styleFeed) requests(style string, page int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[fmt.Sprintf("%s %d", style, page)]
}

// TestPaginationStylesSurviveKill reads a named source of every
// pagination style, started with `blueprint run` from a manifest; kills
// the worker with SIGKILL while every read waits for a page past its
// committed checkpoints; and checks that each run resumes from its
// checkpoint (the pages before it are not asked for again) and loads
// exactly the feed's rows, none lost, none twice.
func TestPaginationStylesSurviveKill(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()
	wh := sqliteWarehouse(t)
	queue := "e2e-styles"
	w := startWorker(t, "styles", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, "BLUEPRINT_TASK_QUEUE="+queue,
		fmt.Sprint("BLUEPRINT_CHUNK_RECORDS=", stylePageSize), "E2E_SHOP_TOKEN="+styleToken)

	feed := &styleFeed{t: t, hits: map[string]int{}, waiting: map[string]bool{}, release: make(chan struct{})}
	ts := httptest.NewServer(feed)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		select {
		case <-feed.release:
		default:
			close(feed.release)
		}
	})

	manifest := strings.ReplaceAll(styleManifest, "ORIGIN", ts.URL)
	for _, s := range styleNames {
		name := "by-" + strings.ReplaceAll(s, "_", "-")
		manifest += fmt.Sprintf("  - name: %s\n    task_queue: %s\n    parameters: {batch_size: 100000, source_url: \"source:%s\"}\n", name, queue, name)
	}
	path := filepath.Join(t.TempDir(), "deployments.yaml")
	require.NoError(t, os.WriteFile(path, []byte(manifest), 0o600))
	m, err := deployments.Load(flows.Registry.Flows(), path)
	require.NoError(t, err)

	env := childEnv(t, "TEMPORAL_ADDRESS="+srv.addr)
	ids := map[string]string{}
	for _, s := range styleNames {
		name := "by-" + strings.ReplaceAll(s, "_", "-")
		id := fmt.Sprintf("styles-%s-%d", name, time.Now().UnixNano())
		res := blueprint(t, env, "run", name, "-f", path, "--id", id)
		require.Equal(t, 0, res.code, "%s", res)
		require.NotContains(t, res.stdout+res.stderr, styleToken)
		ids[s] = id
	}

	require.Eventually(t, feed.allWaiting, hangGuard, 50*time.Millisecond, "every style waits at its gate page")
	w.kill()
	figures.kills.Add(1)
	w.restart()
	close(feed.release)

	for _, s := range styleNames {
		name := "by-" + strings.ReplaceAll(s, "_", "-")
		run := c.GetWorkflow(testContext(t), ids[s], "")
		var sum datapipeline.Summary
		require.NoError(t, run.Get(testContext(t), &sum), "run of %s must complete", name)

		d, err := m.Get(name)
		require.NoError(t, err)
		doc, err := d.Params()
		require.NoError(t, err)
		raw, err := json.Marshal(doc)
		require.NoError(t, err)
		v, err := flows.DataPipeline.Params.Decode(raw) // the input as the workflow reads it
		require.NoError(t, err)
		p := v.(*datapipeline.Params)
		spec, err := p.Spec()
		require.NoError(t, err)
		exp := expectSpec(t, spec, p.BatchSize, source.Config{LookupEnv: func(k string) (string, bool) { return styleToken, k == "E2E_SHOP_TOKEN" }})
		require.Len(t, exp.Valid, stylePages*stylePageSize, "every record of %s is valid once mapped", name)
		require.Equal(t, ts.URL+"/"+s+"/orders", exp.Source, "a named source's records are keyed by its URL")
		wh.checkRun(t, exp, sum)

		ex := activityOf(t, activityRuns(events(t, c, run.GetID(), run.GetRunID())), datapipeline.ExtractActivity)
		require.GreaterOrEqual(t, ex.Attempt, int32(2), "%s: Extract was killed and retried", name)
		if s == "single" {
			require.Equal(t, 2+1, feed.requests(s, 0), "single page: read again after the kill (and once by the check)")
			continue
		}
		// Each page was read once by the run and once by expectSpec; the
		// gate page once more, by the attempt that was killed.
		for p := range stylePages {
			want := 2
			if p == styleGate {
				want = 3
			}
			require.Equal(t, want, feed.requests(s, p), "%s: requests of page %d (the retry resumes at the checkpoint)", name, p)
		}
	}
	logs := w.logs.String()
	require.Contains(t, logs, "resuming extract")
	require.NotContains(t, logs, styleToken, "the token is never logged")
	hist := ""
	for _, id := range ids {
		for _, e := range events(t, c, id, "") {
			hist += e.String()
		}
	}
	require.NotContains(t, hist, styleToken, "the token is never in history")
	require.Contains(t, hist, "E2E_SHOP_TOKEN", "history names the variable")
}
