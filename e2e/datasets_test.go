//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// The products feed of TestDatasetProducts: productPages pages of
// productPageSize records, paged the way a real API pages them
// (?page=N, meta.total_pages), with the fields under names of the API's
// own, which the named source's fields: mapping maps.
const (
	productPages    = 10
	productPageSize = 40
	productRecords  = productPages * productPageSize
)

// productBad says which rule the record at index i breaks, if any: one
// record in ten per kind, each named by its field and rule.
func productBad(i int) string {
	switch i % 50 {
	case 7:
		return "price.min"
	case 13:
		return "sku.required"
	case 21:
		return "tier.one_of"
	case 33:
		return "stock.type"
	case 41:
		return "title.type"
	case 45:
		return "title.max_length"
	}
	if i == productRecords-1 {
		return "duplicate_key"
	}
	return ""
}

// productRecord is record i of the feed, as the API sends it.
func productRecord(i int, withWeight bool) string {
	sku := fmt.Sprintf(`"sku":"SKU-%04d"`, i)
	title := fmt.Sprintf(`"Widget %d"`, i)
	price := fmt.Sprintf(`"%d.%02d"`, i, i%100)
	stock := strconv.Itoa(i)
	tier := `"pro"`
	switch productBad(i) {
	case "price.min":
		price = `-1`
	case "sku.required":
		sku = `"code":"none"`
	case "tier.one_of":
		tier = `"gold"`
	case "stock.type":
		stock = `99999999999999999999`
	case "title.type":
		title = `"Widget\u0000NUL"`
	case "title.max_length":
		title = `"` + strings.Repeat("x", 100_000) + `"`
	case "duplicate_key":
		sku = `"sku":"SKU-0001"`
	}
	weight := ""
	if withWeight {
		weight = `,"weight":"1.250"`
	}
	return fmt.Sprintf(`{"product":{%s},"name":%s,"pricing":{"amount":%s},"stock":%s,"active":%t,`+
		`"updated":"2026-03-01T10:00:00+02:00","launched":"2025-12-24","contact":"Buyer%d@Example.COM","tier":%s,`+
		`"attrs":{"color":"red","n":%d},"odd key \"x\"":1%s}`,
		sku, title, price, stock, i%2 == 0, i, tier, i, weight)
}

// productFeed serves the feed; with weight set, records carry a weight.
type productFeed struct{ weight bool }

func (f *productFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || p < 1 {
		p = 1
	}
	recs := make([]string, 0, productPageSize)
	for i := (p - 1) * productPageSize; i < p*productPageSize && i < productRecords; i++ {
		recs = append(recs, productRecord(i, f.weight))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"data":{"items":[%s]},"meta":{"page":%d,"total_pages":%d}}`, strings.Join(recs, ","), p, productPages)
}

// productsManifest is the products dataset, read from a named
// source with a field mapping. EXTRA is more fields, PRICE the type of
// price.
const productsManifest = `sources:
  shop:
    url: ORIGIN/products
    records: data.items
    paginate: {style: page, total_pages: meta.total_pages}
    fields: {sku: product.sku, title: name, price: pricing.amount, updated_at: updated, email: contact}
datasets:
  products:
    description: Product catalogue
    key: [sku]
    fields:
      sku:        {type: string, required: true, max_length: 64}
      title:      {type: string, required: true, max_length: 500}
      price:      {PRICE}
      stock:      {type: integer, min: 0}
      active:     {type: boolean}
      updated_at: {type: timestamp}
      launched:   {type: date}
      email:      {type: email}
      tier:       {type: string, one_of: [free, pro, enterprise]}
      attrs:      {type: json}
EXTRA
deployments:
  - name: products-sync
    task_queue: QUEUE
    parameters: {batch_size: 100000, source_url: "source:shop", dataset: products}
`

// TestDatasetProducts is issue 22's acceptance test, on SQLite and on
// PostgreSQL: a dataset declared in the manifest is loaded from a local
// paginated HTTP server through a named source with a field mapping; the
// worker is SIGKILLed in the middle of Load; the table then holds exactly
// the valid records, typed, and every bad record is rejected with a
// reason naming its field and rule. A second run inserts nothing; a field
// added to the dataset adds a column and keeps the rows; a changed type
// is refused by `blueprint run` and `blueprint deploy` with exit 2, and
// nothing starts.
func TestDatasetProducts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		wh   func(t *testing.T) *warehouse
	}{
		{"sqlite", sqliteWarehouse},
		{"postgres", func(t *testing.T) *warehouse { return postgresWarehouse(t, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wh := tc.wh(t)
			if wh == nil {
				t.Fatal("BLUEPRINT_TEST_POSTGRES_URL is not set: make test-e2e needs PostgreSQL")
			}
			testDatasetProducts(t, wh)
		})
	}
}

func testDatasetProducts(t *testing.T, wh *warehouse) {
	srv := startServer(t, false)
	c := srv.client()
	g := newGates(t)
	queue := "e2e-datasets"
	w := startWorker(t, "datasets", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, "BLUEPRINT_TASK_QUEUE="+queue,
		fmt.Sprint("BLUEPRINT_CHUNK_RECORDS=", productPageSize), g.env())

	feed := &productFeed{}
	ts := httptest.NewServer(feed)
	t.Cleanup(ts.Close)

	path := filepath.Join(t.TempDir(), "deployments.yaml")
	writeManifest := func(price, extra string) {
		m := strings.NewReplacer("ORIGIN", ts.URL, "QUEUE", queue, "{PRICE}", price, "EXTRA\n", extra).Replace(productsManifest)
		require.NoError(t, os.WriteFile(path, []byte(m), 0o600))
	}
	decimalPrice := "{type: decimal, precision: 12, scale: 2, min: 0}"
	writeManifest(decimalPrice, "")
	env := childEnv(t, "TEMPORAL_ADDRESS="+srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN)
	run := func(id string) datapipeline.Summary {
		t.Helper()
		res := blueprint(t, env, "run", "products-sync", "-f", path, "--id", id)
		require.Equal(t, 0, res.code, "%s", res)
		var sum datapipeline.Summary
		require.NoError(t, c.GetWorkflow(testContext(t), id, "").Get(testContext(t), &sum))
		return sum
	}

	// The expected outcome, from the feed's own description of each record.
	wantReasons := map[string]int64{}
	for i := range productRecords {
		if r := productBad(i); r != "" {
			wantReasons[r]++
		}
	}
	valid := int64(productRecords)
	for _, n := range wantReasons {
		valid -= n
	}

	// First run: SIGKILL the worker in the middle of Load.
	id := fmt.Sprintf("products-%d", time.Now().UnixNano())
	point := gate.Chunk(id, runinfo.StageLoad, 1, 4)
	require.NoError(t, g.dir.Hold(point))
	t.Cleanup(func() { _ = g.dir.Release(point) })
	res := blueprint(t, env, "run", "products-sync", "-f", path, "--id", id)
	require.Equal(t, 0, res.code, "%s", res)
	g.wait([]string{point})
	w.kill()
	figures.kills.Add(1)
	w.restart()
	g.release([]string{point})
	var sum datapipeline.Summary
	require.NoError(t, c.GetWorkflow(testContext(t), id, "").Get(testContext(t), &sum))
	figures.runs.Add(1)
	ld := activityOf(t, activityRuns(events(t, c, id, "")), datapipeline.LoadActivity)
	require.GreaterOrEqual(t, ld.Attempt, int32(2), "Load was killed and retried")

	assert.Equal(t, int64(productRecords), sum.Extracted)
	assert.Equal(t, valid, sum.Valid)
	assert.Equal(t, wantReasons, sum.Reasons, "every bad record is rejected, named by its field and rule")
	assert.Equal(t, datapipeline.LoadResult{Inserted: valid}, datapipeline.LoadResult{Inserted: sum.Loaded.Inserted, Updated: sum.Loaded.Updated, Unchanged: sum.Loaded.Unchanged},
		"every valid record inserted once, across the kill")
	require.Equal(t, valid, wh.count(t, "SELECT count(*) FROM products"), "exactly the valid records, none twice")
	figures.rowsChecked.Add(valid)

	rejected, err := wh.Rejected(context.Background(), runinfo.RunRef{WorkflowID: id, RunID: sum.RunID}, 0)
	require.NoError(t, err)
	byReason := map[string]int64{}
	for _, r := range rejected {
		byReason[r.Reason]++
		require.NotEmpty(t, r.Detail, "a rejection says what is wrong")
	}
	assert.Equal(t, wantReasons, byReason, "the rejected records are kept with their reasons")

	// The rows are typed, in the normal form of their type.
	checkProduct(t, wh, 2)

	// Second run: nothing new.
	again := run(fmt.Sprintf("products-again-%d", time.Now().UnixNano()))
	assert.Equal(t, datapipeline.LoadResult{Unchanged: valid}, datapipeline.LoadResult{Inserted: again.Loaded.Inserted, Updated: again.Loaded.Updated, Unchanged: again.Loaded.Unchanged},
		"a second identical run inserts nothing")

	// A field added to the dataset adds a nullable column; the rows stay.
	feed.weight = true
	writeManifest(decimalPrice, "      weight:     {type: decimal, precision: 8, scale: 3}\n")
	more := run(fmt.Sprintf("products-weight-%d", time.Now().UnixNano()))
	assert.Equal(t, valid, more.Loaded.Updated, "every row gets its weight")
	require.Equal(t, valid, wh.count(t, "SELECT count(*) FROM products"), "the rows are kept")
	require.Equal(t, valid, wh.count(t, "SELECT count(*) FROM products WHERE weight = 1.25"), "the new column holds the new field")

	// A changed type is refused before anything starts.
	writeManifest("{type: integer, min: 0}", "      weight:     {type: decimal, precision: 8, scale: 3}\n")
	refused := fmt.Sprintf("products-refused-%d", time.Now().UnixNano())
	res = blueprint(t, env, "run", "products-sync", "-f", path, "--id", refused)
	require.Equal(t, 2, res.code, "%s", res)
	for _, s := range []string{`"price"`, "decimal(12,2)", "integer"} {
		require.Contains(t, res.stderr, s, "the refusal names the column and both types")
	}
	requireNoWorkflow(t, c, refused)
	res = blueprint(t, env, "deploy", "-f", path)
	require.Equal(t, 2, res.code, "%s", res)
	require.Contains(t, res.stderr, "decimal(12,2)")
	require.Equal(t, valid, wh.count(t, "SELECT count(*) FROM products"), "nothing was dropped")
}

// checkProduct reads record i of the feed back from the products table
// and checks each column's value in its type's normal form.
func checkProduct(t *testing.T, wh *warehouse, i int) {
	t.Helper()
	q := `SELECT title, price, stock, active, substr(updated_at, 1, 19), launched, email, tier, json_extract(attrs, '$.color') FROM products WHERE sku = $1`
	if wh.Driver() == store.DriverPostgres {
		q = `SELECT title, price::text, stock, active::int, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'), launched::text, email, tier, attrs->>'color' FROM products WHERE sku = $1`
	}
	var (
		title, price, updated, launched, email, tier, color string
		stock, active                                       int64
	)
	require.NoError(t, wh.DB().QueryRowContext(context.Background(), q, fmt.Sprintf("SKU-%04d", i)).
		Scan(&title, &price, &stock, &active, &updated, &launched, &email, &tier, &color))
	assert.Equal(t, fmt.Sprintf("Widget %d", i), title)
	assert.Equal(t, fmt.Sprintf("%d.%02d", i, i%100), price)
	assert.Equal(t, int64(i), stock)
	assert.Equal(t, int64(1), active)
	assert.Equal(t, "2026-03-01T08:00:00", updated, "a timestamp is stored in UTC")
	assert.Equal(t, "2025-12-24", launched)
	assert.Equal(t, fmt.Sprintf("buyer%d@example.com", i), email, "an email is lower-cased")
	assert.Equal(t, "pro", tier)
	assert.Equal(t, "red", color)
}
