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
// whatever the chunk holds; a declared dataset's valid records carry no
// rows.
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
			rejected := make([]int, len(rejects))
			for i, r := range rejects {
				rejected[i] = r.Index
			}
			want, err := orders.Rows(raw, rejected)
			require.NoError(t, err)
			got, ok := orders.Kept(valid)
			require.True(t, ok)
			require.IsType(t, orderRows{}, got)
			assert.Equal(t, append([]record.Order{}, want.(orderRows)...), append([]record.Order{}, got.(orderRows)...))
		})
	}

	products, err := For(dataset.Definition{Name: "things", Key: []string{"k"}, Fields: []dataset.Field{{Name: "k", Type: dataset.String, Required: true}}})
	require.NoError(t, err)
	valid, _ := products.Check([]byte(`{"k":"a"}`), transform.NewDeduper())
	_, ok := products.Kept(valid)
	assert.False(t, ok, "a declared dataset's rows are normalised by Rows")
}

func mustLookup(t *testing.T, name string) dataset.Definition {
	def, ok := dataset.Lookup(name)
	require.True(t, ok)
	return def
}
