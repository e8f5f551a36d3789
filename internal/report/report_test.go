package report

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/blueprint-etl/blueprint/internal/restapi"
)

// TestNightlySourceDefinitions: each source:NAME item's child gets the
// definition of NAME; a definition comes only with an item that names
// it, under its own name, and DataPipeline (every child) must be able to
// read it. An item without a definition is its child's to refuse.
func TestNightlySourceDefinitions(t *testing.T) {
	shop := restapi.Definition{Name: "shop", URL: "https://api.example.com/orders", Fields: map[string]string{"id": "order_id"}}
	crm := restapi.Definition{Name: "crm", URL: "https://crm.example.com/orders"}
	p := NightlyParams{Sources: []string{"source:shop", "demo://orders", "source:crm", "source:gone"},
		SourceDefinitions: map[string]restapi.Definition{"shop": shop, "crm": crm}}
	assert.Empty(t, p.CheckParams())
	assert.Equal(t, &shop, p.SourceDefinition("source:shop"))
	assert.Equal(t, &crm, p.SourceDefinition("source:crm"))
	assert.Nil(t, p.SourceDefinition("demo://orders"))
	assert.Nil(t, p.SourceDefinition("source:gone"))
	assert.Nil(t, p.SourceDefinition("not a url"))

	products := restapi.Definition{Name: "products", URL: "https://api.example.com/products", Fields: map[string]string{"sku": "attributes.sku"}}
	p = NightlyParams{Sources: []string{"source:shop", "source:products"},
		SourceDefinitions: map[string]restapi.Definition{"shop": crm, "products": products, "extra": crm}}
	assert.Equal(t, []string{
		"source_definitions.extra: a source definition goes with a sources item source:extra only",
		`source_definitions.products.fields.sku: "sku" is not a record field (valid: id, customer_email, category, amount, currency, timestamp)`,
		`source_definitions.shop: the definition is of source "crm"`,
	}, p.CheckParams())
}
