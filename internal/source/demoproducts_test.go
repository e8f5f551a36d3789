package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// TestDemoOrdersPinned pins the bytes of demo://orders: the products
// generator beside it must not move a single one (runs, docs and tests
// count on the orders' rejects).
func TestDemoOrdersPinned(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"demo://orders", "a8721960b74a0ed9f096447b15a500da23f9b2c977f1692cf2ce1c6b99d82815"},
		{"demo://orders?seed=42", "8c0a9bfac83e80244c567229e3273a023509939358fec94b483f66da9e1c25c6"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			records := readDemo(t, tt.url, "", 5000, Config{})
			sum := sha256.Sum256([]byte(strings.Join(records, "\n")))
			assert.Equal(t, tt.want, hex.EncodeToString(sum[:]))
		})
	}
}

func TestDemoProductsDeterministic(t *testing.T) {
	a := readDemo(t, "demo://products?seed=7", "", 3000, Config{})
	b := readDemo(t, "demo://products?seed=7&latency=0s", "", 3000, Config{PageSize: 128})
	c := readDemo(t, "demo://products?seed=8", "", 3000, Config{})
	orders := readDemo(t, "demo://orders?seed=7", "", 3000, Config{})
	require.Len(t, a, 3000)
	require.Equal(t, a, b, "same seed, same records, whatever the page size")
	require.NotEqual(t, a, c)
	require.NotEqual(t, a, orders, "the dataset picks the generator")
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	assert.Less(t, same, 10, "another seed must give other records, not a shifted copy")
}

func TestDemoProductsResume(t *testing.T) {
	for _, pageSize := range []int{1, 100, 300, 5000} {
		t.Run(fmt.Sprint(pageSize), func(t *testing.T) {
			const limit = 1000
			cfg := Config{PageSize: pageSize}
			spec := mustSpec(t, "demo://products?seed=3")
			all, cursors, err := readAll(t, open(t, spec, "", limit, Attempt{}, cfg))
			require.NoError(t, err)
			require.Len(t, all, limit)
			for i, cursor := range cursors {
				if pageSize == 1 && i%97 != 0 {
					continue // a sample is enough
				}
				var done int
				_, err := fmt.Sscan(cursor, &done)
				require.NoError(t, err)
				rest, _, err := readAll(t, open(t, spec, cursor, limit-int64(done), Attempt{}, cfg))
				require.NoError(t, err)
				require.Equal(t, all[done:], rest, "resume from %s", cursor)
			}
		})
	}
}

// TestDemoProductsFailures: the failure options hold for products too.
func TestDemoProductsFailures(t *testing.T) {
	spec := mustSpec(t, "demo://products?failure_rate=1")
	cfg := Config{PageSize: 100}
	want := readDemo(t, "demo://products", "", 1000, cfg)
	records, _, err := readAll(t, open(t, spec, "", 1000, Attempt{WorkflowID: "wf", Number: 1, Max: runinfo.MaxAttempts}, cfg))
	requireAppError(t, err, runinfo.ErrTransient, true)
	require.Less(t, len(records), 1000)
	require.Equal(t, want[:len(records)], records, "the records before the outage are the same")
	got, _, err := readAll(t, open(t, spec, "", 1000, Attempt{WorkflowID: "wf", Number: runinfo.MaxAttempts, Max: runinfo.MaxAttempts}, cfg))
	require.NoError(t, err, "the last attempt never meets an outage")
	require.Equal(t, want, got)

	_, _, err = readAll(t, open(t, mustSpec(t, "demo://products?fail=always"), "", 10, Attempt{}, cfg))
	requireAppError(t, err, runinfo.ErrTransient, true)
}

// productReasons is the reason a run rejects a product with each flaw for.
var productReasons = map[productFlaw]string{
	productClean:         "",
	productSKUMissing:    "sku.required",
	productSKUTooLong:    "sku.max_length",
	productTitleNull:     "title.required",
	productPriceNegative: "price.min",
	productPriceScale:    "price.scale",
	productPriceText:     "price.type",
	productStockNegative: "stock.min",
	productStockFraction: "stock.type",
	productActiveText:    "active.type",
	productUpdatedAtBad:  "updated_at.type",
	productLaunchedBad:   "launched.type",
	productEmailBad:      "email.type",
	productTierBad:       "tier.one_of",
	productDuplicateSKU:  dataset.ReasonDuplicateKey,
	productNonObject:     dataset.ReasonMalformed,
}

// TestDemoProductsRules checks every product against the products
// dataset as a run does (Normalize, then the duplicate check on the keys
// of the records kept): a clean one is kept, a flawed one is rejected for
// its flaw's reason, and each flaw appears.
func TestDemoProductsRules(t *testing.T) {
	require.Len(t, productReasons, int(numProductFlaws), "a reason for every flaw")
	rules, err := dataset.Compile(testutil.Products())
	require.NoError(t, err)
	const n = 20_000
	for _, seed := range []uint64{1, 42} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			records := readDemo(t, fmt.Sprintf("demo://products?seed=%d", seed), "", n, Config{})
			require.Len(t, records, n)
			seen := map[string]bool{}
			counts := map[string]int{}
			fixed := map[string]int{} // valid variants a clean record may take
			for i, raw := range records {
				flaw := productFlawOf(seed, uint64(i))
				row, reason, detail := rules.Normalize([]byte(raw))
				if reason == "" && seen[row.Key] {
					reason = dataset.ReasonDuplicateKey
				}
				if reason == "" {
					seen[row.Key] = true
				}
				require.Equal(t, productReasons[flaw], reason, "record %d (flaw %d): %s: %s", i, flaw, detail, raw)
				counts[reason]++
				if flaw == productClean {
					noteVariants(fixed, raw, row)
				}
			}
			for flaw, reason := range productReasons {
				assert.Positive(t, counts[reason], "flaw %d (%q) never appears", flaw, reason)
			}
			rejected := n - counts[""]
			assert.InDelta(t, 0.025, float64(rejected)/n, 0.008, "rejected %d of %d", rejected, n)
			for _, variant := range []string{"no email", "email fixed", "price as number", "stock as string", "active as string", "attrs with tags"} {
				assert.Positive(t, fixed[variant], "clean records never have %s", variant)
			}
		})
	}
}

// noteVariants counts the valid variants of clean record raw (row its
// normal form), so the test knows the feed exercises them.
func noteVariants(fixed map[string]int, raw string, row dataset.Row) {
	const email, attrs = 7, 9
	switch {
	case row.Values[email] == nil:
		fixed["no email"]++
	case !strings.Contains(raw, `"email":"`+row.Values[email].(string)+`"`):
		fixed["email fixed"]++
	}
	if !strings.Contains(raw, `"price":"`) {
		fixed["price as number"]++
	}
	if strings.Contains(raw, `"stock":"`) {
		fixed["stock as string"]++
	}
	if strings.Contains(raw, `"active":"`) {
		fixed["active as string"]++
	}
	if strings.Contains(row.Values[attrs].(string), `"tags"`) {
		fixed["attrs with tags"]++
	}
}

func BenchmarkDemoProducts(b *testing.B) {
	r := open(b, mustSpec(b, "demo://products?seed=1"), "", 1<<62, Attempt{}, Config{})
	records := 0
	for b.Loop() {
		page, err := r.Next(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		records += len(page.Records)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
