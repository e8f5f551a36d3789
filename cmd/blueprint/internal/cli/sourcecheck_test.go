package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// checkOutput is the part of `source check -o json` the tests read.
type checkOutput struct {
	Dataset     string            `json:"dataset"`
	Pagination  string            `json:"pagination"`
	Declared    bool              `json:"declared"`
	RecordsPath string            `json:"records_path"`
	Pages       int               `json:"pages"`
	More        bool              `json:"more"`
	Records     int               `json:"records"`
	Loaded      int               `json:"loaded"`
	Rejected    int               `json:"rejected"`
	Reasons     map[string]int    `json:"reasons"`
	Sample      []json.RawMessage `json:"sample"`
}

func checkJSON(t *testing.T, r result) checkOutput {
	t.Helper()
	var out checkOutput
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.String())
	return out
}

// sourceYAML is a named source's definition as a manifest's sources:
// entry (JSON is YAML), without its name, which is the entry's key.
func sourceYAML(t *testing.T, def restapi.Definition) string {
	t.Helper()
	b, err := json.Marshal(def)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	delete(m, "name")
	b, err = json.Marshal(m)
	require.NoError(t, err)
	return fmt.Sprintf("  %s: %s\n", def.Name, b)
}

// TestSourceCheckStyles reads a feed in every pagination style the
// source package reads, with one bad email and one repeated id among
// good orders: each is counted by its reason, and the exit code is 1.
// --pages bounds the read; a clean read exits 0.
func TestSourceCheckStyles(t *testing.T) {
	good := testutil.OrderRecords("chk", 4)
	bad := testutil.RejectOrder(t, good[0], "invalid_email")
	bad = strings.Replace(bad, `"chk-0"`, `"chk-bad"`, 1)
	records := append(append([]string{}, good...), bad, good[0])
	want := map[testutil.FeedStyle]string{
		testutil.FeedLinkArray: restapi.StyleLink, testutil.FeedLinkNDJSON: restapi.StyleLink, testutil.FeedNextURL: restapi.StyleNextURL,
		testutil.FeedNextPage: restapi.StylePage, testutil.FeedTotalPages: restapi.StylePage, testutil.FeedJSONServer: restapi.StylePage,
		testutil.FeedOffsetBody: restapi.StyleOffset, testutil.FeedOffsetHeader: restapi.StyleOffset, testutil.FeedCursorToken: restapi.StyleCursor,
		testutil.FeedHasMore: restapi.StyleCursor, testutil.FeedPageUntilEmpty: restapi.StylePage, testutil.FeedSingle: restapi.StyleSingle,
	}
	require.Len(t, want, len(testutil.FeedStyles))
	for _, style := range testutil.FeedStyles {
		t.Run(string(style), func(t *testing.T) {
			f := &testutil.Feed{Style: style, Records: records, PageSize: 2}
			f.Start(t)
			url, def := f.Source()
			manifest := manifestOf(deployment("d", "q", "{}", ""))
			if def != nil {
				manifest = "sources:\n" + sourceYAML(t, *def) + manifest
			}
			path := writeManifest(t, manifest)

			r := blueprint(t, "-f", path, "source", "check", url, "--pages", "10", "-o", "json")
			require.Equal(t, 1, r.code, r.String())
			out := checkJSON(t, r)
			assert.Equal(t, want[style], out.Pagination)
			assert.Equal(t, def != nil, out.Declared)
			assert.Equal(t, len(records), out.Records)
			assert.Equal(t, 4, out.Loaded)
			assert.Equal(t, map[string]int{"invalid_email": 1, "duplicate_id": 1}, out.Reasons)
			assert.False(t, out.More)
			require.Len(t, out.Sample, 5)
			assert.JSONEq(t, good[0], string(out.Sample[0]))
			assert.Equal(t, "blueprint: 2 of 6 records read would be rejected (duplicate_id 1, invalid_email 1)\n", r.stderr)

			if style == testutil.FeedSingle {
				return // one page: no page limit to test
			}
			r = blueprint(t, "-f", path, "source", "check", url, "--pages", "1", "-o", "json")
			require.Equal(t, 0, r.code, "the first page is clean\n%s", r)
			out = checkJSON(t, r)
			assert.Equal(t, 1, out.Pages)
			assert.True(t, out.More)
			assert.Equal(t, 2, out.Loaded)
		})
	}
}

// TestSourceCheckDataset checks a declared dataset's records, read
// through a named source's fields: mapping: the sample is as mapped and
// each rule's rejections are counted by field and rule; the text output
// says the same.
func TestSourceCheckDataset(t *testing.T) {
	f := &testutil.Feed{Style: testutil.FeedLinkArray, PageSize: 3, Records: []string{
		`{"code":"A1","title":"Mug","pricing":{"amount":"12.50"},"stock":3,"tier":"pro","extra":1}`,
		`{"code":"A2","title":"Cup","pricing":{"amount":"-1"}}`,
		`{"code":"A1","title":"Mug again"}`,
		`{"title":"No code"}`,
		`{"code":"A3","title":"Bowl","tier":"gold"}`,
		`{"code":"A4","title":"Plate","pricing":{"amount":1.5e1},"active":true,"launched":"2026-02-01"}`,
	}}
	f.Start(t)
	path := writeManifest(t, productsManifest+"sources:\n  catalogue:\n    url: "+f.URL()+"/orders\n    fields: {sku: code, price: pricing.amount}\n"+
		manifestOf(deployment("d", "q", "{}", "")))

	r := blueprint(t, "-f", path, "source", "check", "source:catalogue", "--dataset", "products", "-o", "json")
	require.Equal(t, 1, r.code, r.String())
	out := checkJSON(t, r)
	assert.Equal(t, "products", out.Dataset)
	assert.Equal(t, restapi.StyleLink, out.Pagination)
	assert.Equal(t, 2, out.Pages)
	assert.Equal(t, 2, out.Loaded)
	assert.Equal(t, map[string]int{"price.min": 1, "duplicate_key": 1, "sku.required": 1, "tier.one_of": 1}, out.Reasons)
	require.NotEmpty(t, out.Sample)
	assert.JSONEq(t, `{"sku":"A1","title":"Mug","price":"12.50","stock":3,"tier":"pro"}`, string(out.Sample[0]), "mapped")

	r = blueprint(t, "-f", path, "source", "check", "source:catalogue", "--dataset", "products")
	require.Equal(t, 1, r.code, r.String())
	for _, want := range []string{
		"Pagination:    link (detected)\n",
		"Records path:  (the body is the list)\n",
		"Would load:    2\n",
		"Rejected:      4\n",
		`  {"sku":"A1","title":"Mug","price":"12.50","stock":3,"tier":"pro"}`,
		"price.min",
		`key "A1" was already seen in this run`,
	} {
		assert.Contains(t, r.stdout, want)
	}

	// The orders' rules refuse the mapping: sku is no field of theirs.
	r = blueprint(t, "-f", path, "source", "check", "source:catalogue")
	assert.Equal(t, 2, r.code, r.String())
	assert.Equal(t, `blueprint: source "catalogue" for dataset orders: fields.price: "price" is not a record field (valid: id, customer_email, category, amount, currency, timestamp); `+
		`fields.sku: "sku" is not a record field (valid: id, customer_email, category, amount, currency, timestamp)`+"\n", r.stderr)
}

// TestSourceCheckBadInput: what is wrong with the command is exit 2 and
// reads nothing; a source that cannot be read is exit 1, in one line.
func TestSourceCheckBadInput(t *testing.T) {
	var hits int
	srv500 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits++
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(srv500.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	path := writeManifest(t, productsManifest+"sources:\n  shop:\n    url: "+srv500.URL+"/orders\n"+manifestOf(deployment("d", "q", "{}", "")))

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{srv500.URL, "--dataset", "prodcts"}, 2, `blueprint: --dataset: unknown dataset "prodcts" (datasets: orders, products); did you mean "products"?`},
		{[]string{"ftp://example.com/orders"}, 2, "blueprint: source ftp://example.com/orders: "},
		{[]string{srv500.URL, "--pages", "0"}, 2, "blueprint: --pages 0: must be 1 or more"},
		{[]string{"source:shpo"}, 2, `unknown source "shpo" (sources: shop; did you mean "shop"?)`},
		{[]string{"source:shop"}, 1, "/orders: 500 Internal Server Error"},
		{[]string{closed.URL + "/orders"}, 1, "request failed"},
	} {
		r := blueprint(t, append([]string{"-f", path, "source", "check"}, c.args...)...)
		assert.Equal(t, c.code, r.code, "%v\n%s", c.args, r)
		assert.Contains(t, r.stderr, c.msg, c.args)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %s", r.stderr)
	}
	assert.Equal(t, 1, hits, "bad input reads nothing")
}

// productsManifest declares the example dataset.
const productsManifest = testutil.ProductsYAML

// TestSourceCheckReadsAsAWorker: source check reads with the settings a
// worker started in the same environment reads with (source.ConfigFromEnv,
// their one owner), and a bad one is bad input, as it stops a worker.
func TestSourceCheckReadsAsAWorker(t *testing.T) {
	f := &testutil.Feed{Style: testutil.FeedSingle, Records: testutil.OrderRecords("env", 20), PageSize: 20}
	f.Start(t)
	path := writeManifest(t, manifestOf(deployment("d", "q", "{}", "")))
	check := func() result { return blueprint(t, "-f", path, "source", "check", f.URL()+"/orders") }

	r := check()
	require.Equal(t, 0, r.code, r.String())

	t.Setenv("BLUEPRINT_MAX_RESPONSE_BYTES", "64")
	r = check()
	assert.Equal(t, 1, r.code, r.String())
	assert.Contains(t, r.stderr, "response larger than 64 bytes")

	t.Setenv("BLUEPRINT_MAX_RESPONSE_BYTES", "")
	t.Setenv("BLUEPRINT_HTTP_TIMEOUT", "soon")
	r = check()
	assert.Equal(t, 2, r.code, r.String())
	assert.Equal(t, "blueprint: BLUEPRINT_HTTP_TIMEOUT=\"soon\": must be a positive duration like 30s\n", r.stderr)
}
