package loader_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/loader"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

// gadgets is a small declared dataset.
var gadgets = dataset.Definition{
	Name: "gadgets",
	Key:  []string{"sku"},
	Fields: []dataset.Field{
		{Name: "sku", Type: dataset.String, Required: true, MaxLength: 16},
		{Name: "price", Type: dataset.Decimal, Precision: 8, Scale: 2, Min: "0"},
		{Name: "seen", Type: dataset.Timestamp},
	},
}

func chunk(lines ...string) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = []byte(l)
	}
	return out
}

func eachWarehouse(t *testing.T, test func(t *testing.T, st *store.Store)) {
	for _, driver := range storetest.Drivers(t) {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			test(t, storetest.Open(t, driver))
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func count(t *testing.T, st *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, st.DB().QueryRowContext(ctxT(t), query, args...).Scan(&n))
	return n
}

// requireInvalid asserts err is the non-retryable InvalidParameters error
// a flow's activity fails with at once, and that it says msg.
func requireInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "got %v", err)
	assert.True(t, app.NonRetryable())
	assert.Equal(t, runinfo.ErrInvalidParameters, app.Type())
	assert.Contains(t, err.Error(), msg)
}

// TestDatasetLoadsEachChunkOnce: each record of a chunk is loaded or
// rejected by field and rule (duplicate keys across chunks too), and a
// chunk loaded again, as by an attempt resumed from an older heartbeat,
// writes and counts nothing twice.
func TestDatasetLoadsEachChunkOnce(t *testing.T) {
	eachWarehouse(t, func(t *testing.T, st *store.Store) {
		ctx := ctxT(t)
		run := runinfo.RunRef{WorkflowID: "flow-1", RunID: "run-1"}
		def := gadgets
		d, err := loader.Open(ctx, st, run, "https://api.example.com/gadgets", "gadgets", &def)
		require.NoError(t, err)
		assert.Equal(t, "created table gadgets for dataset gadgets", d.TableChange())
		assert.Equal(t, []string{"sku", "price", "seen"}, d.Fields())

		first := chunk(
			`{"sku":"A","price":"1.50","seen":"2026-01-02T03:04:05+01:00"}`,
			`{"sku":"B","price":-1}`,
			`{"sku":"C","price":2}`,
			`{"sku":"A","price":3}`,
		)
		want := loader.Totals{Dataset: "gadgets", Records: 4, Inserted: 2, Rejected: 2,
			Reasons: map[string]int64{"price.min": 1, dataset.ReasonDuplicateKey: 1}}
		for range 2 { // the second time, as a resumed attempt would
			got, err := d.Load(ctx, 0, first)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, 2, count(t, st, `SELECT count(*) FROM gadgets`))
		}

		got, err := d.Load(ctx, 1, chunk(`{"sku":"C","price":9}`, `{"sku":"D"}`, `not json`))
		require.NoError(t, err)
		assert.Equal(t, loader.Totals{Dataset: "gadgets", Records: 7, Inserted: 3, Rejected: 4,
			Reasons: map[string]int64{"price.min": 1, dataset.ReasonDuplicateKey: 2, dataset.ReasonMalformed: 1}}, got)
		assert.Equal(t, "gadgets: 7 records, 3 inserted, 0 updated, 0 unchanged, 4 rejected (duplicate_key: 2, malformed: 1, price.min: 1)", got.OneLine())

		_, err = d.Load(ctx, 3, chunk(`{"sku":"E"}`))
		assert.ErrorContains(t, err, "out of order")

		var price, seen string
		require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT CAST(price AS TEXT), CAST(_last_run AS TEXT) FROM gadgets WHERE sku = 'A'`).Scan(&price, &seen))
		assert.Contains(t, []string{"1.5", "1.50"}, price)
		assert.Equal(t, run.Key(), seen, "a row records the run that wrote it")

		rejected, err := st.Rejected(ctx, run, 0)
		require.NoError(t, err)
		reasons := make([]string, len(rejected))
		for i, r := range rejected {
			reasons[i] = r.Reason
		}
		assert.Equal(t, []string{"price.min", dataset.ReasonDuplicateKey, dataset.ReasonDuplicateKey, dataset.ReasonMalformed}, reasons)
		assert.Contains(t, rejected[0].Detail, "price")

		// The next attempt opens the dataset again: nothing to change, the
		// same claim.
		again, err := loader.Open(ctx, st, run, "https://api.example.com/gadgets", "gadgets", &def)
		require.NoError(t, err)
		assert.Empty(t, again.TableChange())
		got, err = again.Load(ctx, 1, chunk(`{"sku":"C","price":9}`, `{"sku":"D"}`, `not json`))
		require.NoError(t, err)
		assert.Equal(t, int64(3), got.Inserted)
		assert.Equal(t, int64(7), got.Records)

		// A second dataset in the same run would take the first one's
		// chunks for its own: refused.
		_, err = loader.Open(ctx, st, run, "demo://orders", "orders", nil)
		requireInvalid(t, err, "a run loads one dataset")
	})
}

// TestDatasetLoadsTheBuiltinOrders: the built-in orders load through the
// same front, by their own rules and key (source, id).
func TestDatasetLoadsTheBuiltinOrders(t *testing.T) {
	eachWarehouse(t, func(t *testing.T, st *store.Store) {
		ctx := ctxT(t)
		run := runinfo.RunRef{WorkflowID: "flow-2", RunID: "run-2"}
		d, err := loader.Open(ctx, st, run, "file:///data/orders.ndjson", "orders", nil)
		require.NoError(t, err)
		assert.Empty(t, d.TableChange(), "the orders table is the migrations'")
		order := func(id, email string) string {
			return fmt.Sprintf(`{"id":%q,"customer_email":%q,"category":"Books","amount":"12.5","currency":"eur","timestamp":"2024-03-01T10:00:00+01:00"}`, id, email)
		}
		got, err := d.Load(ctx, 0, chunk(order("o-1", " A@Example.COM "), order("o-2", "nobody")))
		require.NoError(t, err)
		assert.Equal(t, loader.Totals{Dataset: "orders", Records: 2, Inserted: 1, Rejected: 1,
			Reasons: map[string]int64{record.ReasonInvalidEmail: 1}}, got)
		var email, currency string
		require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT customer_email, currency FROM orders WHERE source = $1 AND record_id = 'o-1'`,
			"file:///data/orders.ndjson").Scan(&email, &currency))
		assert.Equal(t, []string{"a@example.com", "EUR"}, []string{email, currency}, "the orders' normalisation")
	})
}

// TestDatasetRefusesWhatNoRetryCures: a changed type, an unknown dataset
// and a definition of another name fail at once, and leave the table as
// it was.
func TestDatasetRefusesWhatNoRetryCures(t *testing.T) {
	eachWarehouse(t, func(t *testing.T, st *store.Store) {
		ctx := ctxT(t)
		def := gadgets
		d, err := loader.Open(ctx, st, runinfo.RunRef{WorkflowID: "flow-3", RunID: "a"}, "demo://x", "gadgets", &def)
		require.NoError(t, err)
		_, err = d.Load(ctx, 0, chunk(`{"sku":"A","price":1}`))
		require.NoError(t, err)

		changed := gadgets
		changed.Fields = append([]dataset.Field(nil), gadgets.Fields...)
		changed.Fields[1] = dataset.Field{Name: "price", Type: dataset.Integer}
		for _, c := range []struct {
			name string
			def  *dataset.Definition
			msg  string
		}{
			{"gadgets", &changed, "price"},
			{"widgets", nil, `dataset "widgets": the input carries no definition of it`},
			{"widgets", &def, `the definition given is of dataset "gadgets"`},
		} {
			_, err := loader.Open(ctx, st, runinfo.RunRef{WorkflowID: "flow-3", RunID: "b-" + c.name}, "demo://x", c.name, c.def)
			requireInvalid(t, err, c.msg)
		}
		assert.Equal(t, 1, count(t, st, `SELECT count(*) FROM gadgets`))
		var typ string
		require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT CAST(price AS TEXT) FROM gadgets`).Scan(&typ))
		assert.True(t, strings.HasPrefix(typ, "1"), "the rows are kept: %q", typ)
	})
}
