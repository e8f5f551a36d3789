package datapipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

// TestCheckSource: a definition may map any field name; DataPipeline
// reads only the record fields, so a definition it is given maps only
// those, and its own rules hold too.
func TestCheckSource(t *testing.T) {
	def := restapi.Definition{Name: "shop", URL: "https://api.example.com/orders",
		Fields: map[string]string{"id": "order_id", "amount": "total.value"}}
	require.Empty(t, CheckSource(def, restapi.RecordFields))

	def.Fields = map[string]string{"id": "order_id", "ammount": "total", "sku": "sku", "a.b": "c"}
	var got []string
	for _, p := range CheckSource(def, restapi.RecordFields) {
		got = append(got, p.String())
	}
	assert.Equal(t, []string{
		`fields.a.b: "a.b" is not a field name (letters, digits, '_' and '-', starting with a letter or '_', at most 64 characters)`,
		`fields.ammount: "ammount" is not a record field (valid: id, customer_email, category, amount, currency, timestamp); did you mean "amount"?`,
		`fields.sku: "sku" is not a record field (valid: id, customer_email, category, amount, currency, timestamp)`,
	}, got, "a name that is no field name at all is said once, by the definition's own rule")

	p := Params{BatchSize: 1, SourceURL: "source:shop", Source: &def}
	assert.Contains(t, p.CheckParams(), `source.fields.sku: "sku" is not a record field (valid: id, customer_email, category, amount, currency, timestamp)`)
	_, err := p.Spec()
	require.Error(t, err, "Extract refuses what the workflow would")
}

// TestSpec: the source a run reads, resolved as every reader resolves a
// reference (sourceurl.Resolve).
func TestSpec(t *testing.T) {
	def := &restapi.Definition{Name: "shop", URL: "https://api.example.com/orders"}
	spec, err := Params{SourceURL: "source:shop", Source: def}.Spec()
	require.NoError(t, err)
	assert.Equal(t, sourceurl.HTTP, spec.Kind)
	assert.Equal(t, def, spec.API)
	spec, err = Params{SourceURL: "file:orders.csv"}.Spec()
	require.NoError(t, err)
	assert.Equal(t, "orders.csv", spec.Path)
	_, err = Params{SourceURL: "source:crm", Source: def}.Spec()
	require.EqualError(t, err, `source: the definition is of source "shop", but source_url names "crm"`)
}
