package loader

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// TestKeptAreTheRowsOfTheCheck: the rows of Check's valid records (Kept,
// which Load takes from Transform on the same worker) are exactly what
// Rows normalises again from the raw chunk without Check's rejections,
// whatever the chunk holds, for orders and for a declared dataset.
func TestKeptAreTheRowsOfTheCheck(t *testing.T) {
	orders, err := For(mustLookup(t, "orders"))
	require.NoError(t, err)
	good := func(id, email, amount string) string {
		return `{"id":"` + id + `","customer_email":"` + email + `","category":" Books ","amount":` + amount + `,"currency":"eur","timestamp":"2026-01-02T03:04:05+01:00"}`
	}
	for _, tt := range []struct {
		name  string
		chunk string
	}{
		{"all valid", good("a", "A@Example.com", `"10.50"`) + "\n" + good("b", "b@example.com", "7")},
		{"rejected and duplicate", good("a", "a@example.com", "1") + "\n" + good("x", "not an email", "1") + "\n" + good("a", "a@example.com", "2") + "\nnot json\n" + good("c", "c@example.com", "3.10")},
		{"blank lines and spaces", "\n  " + good("a", "a@example.com", "1") + "  \n\n" + good("b", "b@example.com", "2") + "\n"},
		{"nothing valid", "not json\n{}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.chunk)
			valid, rejects := orders.Check(raw, transform.NewDeduper())
			want, err := orders.Rows(raw, indexes(rejects))
			require.NoError(t, err)
			got, ok := orders.Kept(valid)
			require.True(t, ok)
			require.IsType(t, orderRows{}, got)
			assert.Equal(t, append([]record.Order{}, want.(orderRows)...), append([]record.Order{}, got.(orderRows)...))
		})
	}

	things, err := For(dataset.Definition{Name: "things", Key: []string{"k", "n"}, Fields: []dataset.Field{
		{Name: "k", Type: dataset.String, Required: true},
		{Name: "n", Type: dataset.Integer, Required: true},
		{Name: "price", Type: dataset.Decimal, Precision: 8, Scale: 2, Min: "0"},
		{Name: "at", Type: dataset.Timestamp},
		{Name: "note", Type: dataset.String},
	}})
	require.NoError(t, err)
	raw := []byte(`{"k":"a","n":1,"price":"1.5","at":"2026-01-02T03:04:05+01:00"}
{"k":"a","n":2,"price":-1}

  {"k":"b","n":1,"note":"x"}
{"k":"a","n":1,"price":3}
not json
{"n":4}`)
	valid, rejects := things.Check(raw, transform.NewDeduper())
	require.Len(t, valid, 2, "a/1 and b/1: a negative price, a duplicate key, malformed and keyless records rejected")
	want, err := things.Rows(raw, indexes(rejects))
	require.NoError(t, err)
	got, ok := things.Kept(valid)
	require.True(t, ok)
	require.IsType(t, datasetRows{}, got)
	assert.Equal(t, want.(datasetRows).rows, got.(datasetRows).rows, "a declared dataset's rows too")
	assert.Equal(t, want.(datasetRows).def, got.(datasetRows).def)
}

// indexes are the positions of rejects in their chunk, as Load reads
// them (store.RejectedIndexes).
func indexes(rejects []record.Rejected) []int {
	out := make([]int, len(rejects))
	for i, r := range rejects {
		out[i] = r.Index
	}
	return out
}

func mustLookup(t *testing.T, name string) dataset.Definition {
	def, ok := dataset.Lookup(name)
	require.True(t, ok)
	return def
}
