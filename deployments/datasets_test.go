package deployments_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/flowkit"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/starter"
)

// productsDataset is the example dataset, as a manifest section.
const productsDataset = testutil.ProductsYAML

const oneDeployment = "deployments:\n  - name: d\n"

func TestDatasetsParse(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(productsDataset+oneDeployment))
	require.NoError(t, err)
	require.Equal(t, []string{"products"}, m.Datasets.Names())
	want := testutil.Products()
	assert.Equal(t, want, m.Datasets["products"], "fields in the file's order")
	assert.Equal(t, m.Datasets, m.Deployments[0].Datasets)
	assert.Equal(t, []string{"orders", "products"}, m.Datasets.AllNames(), "built-in first")
	orders, ok := m.Datasets.Lookup("orders")
	require.True(t, ok)
	assert.True(t, orders.Builtin)
	_, ok = m.Datasets.Lookup("nope")
	assert.False(t, ok)

	// Bounds keep the file's text: no float64 on the way.
	m, err = deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(`datasets:
  p:
    key: [id]
    fields:
      id: {type: integer, required: true, min: -9223372036854775808, max: 9223372036854775807}
      w:  {type: decimal, precision: 38, scale: 20, min: 0.1, max: "123456789012345678.00000000000000000001"}
`+oneDeployment))
	require.NoError(t, err)
	f := m.Datasets["p"].Fields
	assert.Equal(t, []string{"-9223372036854775808", "9223372036854775807"}, []string{f[0].Min, f[0].Max})
	assert.Equal(t, []string{"0.1", "123456789012345678.00000000000000000001"}, []string{f[1].Min, f[1].Max})

	m, err = deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(oneDeployment))
	require.NoError(t, err)
	assert.NotNil(t, m.Datasets, "no datasets: section, an empty set")
	assert.Equal(t, []string{"orders"}, m.Datasets.AllNames())
}

// TestDatasetsReject: every mistake in a dataset is reported as
// FILE:LINE: datasets.NAME...: at the line of the offending node, be it
// the parser's (a key, a YAML type) or the model's (dataset.Validate).
func TestDatasetsReject(t *testing.T) {
	ds := func(body string) string { return "datasets:\n  p:\n" + body + oneDeployment }
	keyed := func(fields string) string {
		return ds("    key: [id]\n    fields:\n      id: {type: string, required: true}\n" + fields)
	}
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"not a mapping", "datasets: [p]\n" + oneDeployment,
			[]string{"m.yaml:1: datasets: must be a mapping of dataset names to definitions (e.g. products: {key: [sku], fields: {...}}), got a list"}},
		{"built-in name", "datasets:\n  orders:\n    key: [id]\n    fields: {id: {type: string, required: true}}\n" + oneDeployment,
			[]string{"m.yaml:2: datasets.orders: orders is built in; name the dataset otherwise (a run names orders without declaring it)"}},
		{"bad name", "datasets:\n  Products:\n    key: [id]\n" + oneDeployment,
			[]string{`m.yaml:2: datasets.Products: "Products" is not a valid name: use ` + dataset.NameRule}},
		{"dataset not a mapping", ds("    [sku]\n"),
			[]string{"m.yaml:3: datasets.p: must be a mapping with `key:` and `fields:`, got a list"}},
		{"unknown dataset key", ds("    keys: [id]\n    fields: {id: {type: string, required: true}}\n"),
			[]string{
				"m.yaml:2: datasets.p.key: missing; a dataset needs a key: the field or fields a load upserts by, e.g. key: [sku]",
				`m.yaml:3: datasets.p.keys: unknown key (valid: description, key, fields); did you mean "key"?`,
			}},
		{"no fields", ds("    key: [id]\n"),
			[]string{"m.yaml:2: datasets.p.fields: missing; a dataset needs fields, e.g. fields: {sku: {type: string, required: true}}"}},
		{"empty fields", ds("    key: [id]\n    fields: {}\n"),
			[]string{
				"m.yaml:3: datasets.p.key[0]: no field \"id\"",
				"m.yaml:4: datasets.p.fields: a dataset needs at least one field",
			}},
		{"key not a list", ds("    key: sku\n    fields: {sku: {type: string, required: true}}\n"),
			[]string{`m.yaml:3: datasets.p.key: must be a list of field names such as [sku], got the string "sku"`}},
		{"key of no field", ds("    key:\n      - id\n      - skuu\n    fields:\n      id: {type: string, required: true}\n      sku: {type: string, required: true}\n"),
			[]string{`m.yaml:5: datasets.p.key[1]: no field "skuu"; did you mean "sku"?`}},
		{"key field optional", ds("    key: [id]\n    fields:\n      id: {type: string}\n"),
			[]string{`m.yaml:3: datasets.p.key[0]: key field "id" must be required: true (a key cannot be missing)`}},
		{"unknown field key", keyed("      n: {type: integer, requird: true}\n"),
			[]string{`m.yaml:6: datasets.p.fields.n.requird: unknown key (valid: type, required, max_length, precision, scale, min, max, one_of, pattern); did you mean "required"?`}},
		{"unknown type", keyed("      n:\n        type: int\n"),
			[]string{`m.yaml:7: datasets.p.fields.n.type: unknown type "int": use one of string, integer, decimal, boolean, timestamp, date, email, json; did you mean "integer"?`}},
		{"no type", keyed("      n:\n        required: true\n"),
			[]string{`m.yaml:6: datasets.p.fields.n.type: a field needs a type: one of string, integer, decimal, boolean, timestamp, date, email, json`}},
		{"field not a mapping", keyed("      n: string\n"),
			[]string{`m.yaml:6: datasets.p.fields.n: must be a mapping with at least a type, e.g. {type: string}, got the string "string"`}},
		{"bad field name", keyed("      Price: {type: integer}\n"),
			[]string{`m.yaml:6: datasets.p.fields.Price: "Price" is not a valid name: use ` + dataset.NameRule}},
		{"required not a boolean", keyed("      n: {type: integer, required: \"yes\"}\n"),
			[]string{`m.yaml:6: datasets.p.fields.n.required: must be true or false, got the string "yes"`}},
		{"max_length not a number", keyed("      n:\n        type: string\n        max_length: 1.5\n"),
			[]string{`m.yaml:8: datasets.p.fields.n.max_length: must be a whole number, got the number 1.5`}},
		{"rule of another type", keyed("      n:\n        type: integer\n        max_length: 10\n"),
			[]string{`m.yaml:8: datasets.p.fields.n.max_length: max_length does not apply to an integer field (only to string and email)`}},
		{"decimal without precision", keyed("      price: {type: decimal, scale: 2}\n"),
			[]string{`m.yaml:6: datasets.p.fields.price.precision: a decimal field needs a precision from 1 to 38 (its number of digits), not 0`}},
		{"scale over precision", keyed("      price:\n        type: decimal\n        precision: 4\n        scale: 6\n"),
			[]string{`m.yaml:9: datasets.p.fields.price.scale: scale (digits after the point) must be from 0 to the precision 4, not 6`}},
		{"min not a number", keyed("      n:\n        type: integer\n        min: lots\n"),
			[]string{`m.yaml:8: datasets.p.fields.n.min: min "lots"`}},
		{"min a list", keyed("      n:\n        type: integer\n        min: [0]\n"),
			[]string{`m.yaml:8: datasets.p.fields.n.min: must be a single value, got a list`}},
		{"min over max", keyed("      n:\n        type: integer\n        min: 5\n        max: 1\n"),
			[]string{`m.yaml:8: datasets.p.fields.n.min: min 5 is greater than max 1`}},
		{"bad pattern", keyed("      code:\n        type: string\n        pattern: \"([a-z\"\n"),
			[]string{`m.yaml:8: datasets.p.fields.code.pattern: pattern is not a valid RE2 expression: error parsing regexp: missing closing ]: ` + "`[a-z`"}},
		{"one_of repeated", keyed("      tier:\n        type: string\n        one_of:\n          - free\n          - pro\n          - free\n"),
			[]string{`m.yaml:11: datasets.p.fields.tier.one_of[2]: "free" is listed more than once`}},
		{"one_of number", keyed("      tier: {type: string, one_of: [1, 2]}\n"),
			[]string{
				`m.yaml:6: datasets.p.fields.tier.one_of[0]: must be a string, got the integer 1 (quote it if you mean the text)`,
				`m.yaml:6: datasets.p.fields.tier.one_of[1]: must be a string, got the integer 2 (quote it if you mean the text)`,
			}},
		{"duplicate field", keyed("      n: {type: integer}\n      n: {type: string}\n"),
			[]string{`m.yaml:7: datasets.p.fields.n: duplicate key (first at line 6)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(c.yaml))
			require.Error(t, err)
			assert.True(t, badinput.Is(err))
			var got []string
			for _, p := range deployments.Problems(err) {
				got = append(got, p.String())
			}
			require.Len(t, got, len(c.want), "%s", strings.Join(got, "\n"))
			for i, w := range c.want {
				assert.True(t, strings.HasPrefix(got[i], w), "got  %s\nwant %s...", got[i], w)
			}
		})
	}
}

// TestDatasetsResolve: a deployment's dataset parameter (or a --param)
// naming a declared dataset brings its definition into the run's input;
// a built-in one brings none; a named source's fields: mapping is checked
// against the run's dataset.
func TestDatasetsResolve(t *testing.T) {
	manifest := productsDataset + `sources:
  catalogue:
    url: https://api.example.com/products
    fields: {sku: code, price: pricing.amount}
deployments:
  - name: products
    parameters:
      dataset: products
      source_url: source:catalogue
  - name: orders
    parameters:
      dataset: orders
`
	m, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(manifest))
	require.NoError(t, err)
	d, err := m.Get("products")
	require.NoError(t, err)
	doc, err := d.Params()
	require.NoError(t, err)
	p := asParams(t, doc)
	require.NotNil(t, p.DatasetDefinition, "the input carries the definition")
	assert.Equal(t, m.Datasets["products"], *p.DatasetDefinition)

	d, err = m.Get("orders")
	require.NoError(t, err)
	doc, err = d.Params()
	require.NoError(t, err)
	assert.Nil(t, asParams(t, doc).DatasetDefinition, "a built-in dataset needs none")

	doc, err = starter.ParseParams(d, nil, []string{"dataset=products"})
	require.NoError(t, err)
	p = asParams(t, doc)
	require.NotNil(t, p.DatasetDefinition, "a --param brings the definition too")
	assert.Equal(t, "products", p.DatasetDefinition.Name)
	_, err = starter.ParseParams(d, nil, []string{"dataset=prodcts"})
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	assert.Contains(t, err.Error(), `dataset=prodcts: unknown dataset "prodcts" (datasets: orders, products); did you mean "products"?`)
}

// TestDatasetsResolveReject: a dataset parameter's problems are reported
// at its line, as FILE:LINE: deployments[i].parameters.dataset.
func TestDatasetsResolveReject(t *testing.T) {
	source := "sources:\n  catalogue:\n    url: https://api.example.com/products\n    fields: {sku: code}\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown dataset", productsDataset + "deployments:\n  - name: d\n    parameters:\n      dataset: prodcts\n",
			`m.yaml:19: deployments[0].parameters.dataset: invalid value: dataset=prodcts: unknown dataset "prodcts" (datasets: orders, products); did you mean "products"?`},
		{"not a name", "deployments:\n  - name: d\n    parameters:\n      dataset: Products\n",
			`m.yaml:4: deployments[0].parameters.dataset: invalid value: dataset="Products": "Products" is not a valid name`},
		{"a mapping to no field of the dataset", productsDataset + source + "deployments:\n  - name: d\n    parameters:\n      source_url: source:catalogue\n",
			`m.yaml:23: deployments[0].parameters.source_url: invalid value: source_url=source:catalogue: source "catalogue": fields.sku: "sku" is not a record field (valid: id, customer_email, category, amount, currency, timestamp)`},
		{"a mapping to a field of another dataset", productsDataset + strings.Replace(source, "{sku: code}", "{id: code}", 1) +
			"deployments:\n  - name: d\n    parameters:\n      dataset: products\n      source_url: source:catalogue\n",
			`m.yaml:24: deployments[0].parameters.source_url: invalid value: source_url=source:catalogue: source "catalogue": fields.id: "id" is not a record field (valid: sku, title, price, stock, active, updated_at, launched, email, tier, attrs)`},
		{"a broken dataset is reported once", "datasets:\n  p:\n    key: [id]\n    fields: {id: {type: strin, required: true}}\ndeployments:\n  - name: d\n    parameters:\n      dataset: p\n",
			`m.yaml:4: datasets.p.fields.id.type: unknown type "strin"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(c.yaml))
			require.Error(t, err)
			problems := deployments.Problems(err)
			require.Len(t, problems, 1, "%v", err)
			assert.True(t, strings.HasPrefix(problems[0].String(), c.want), "got  %s\nwant %s...", problems[0], c.want)
		})
	}
}

// TestShippedProductsDataset: the shipped manifest declares the products
// dataset that demo://products generates and the bench loads, field for
// field (testutil.Products), and its products-demo deployment carries the
// definition in the run's input.
func TestShippedProductsDataset(t *testing.T) {
	m, err := deployments.Default(flows.Registry.Flows())
	require.NoError(t, err)
	got, ok := m.Datasets.Lookup("products")
	require.True(t, ok)
	want := testutil.Products()
	got.Description, want.Description = "", ""
	assert.Equal(t, want, got)

	d, err := m.Get("products-demo")
	require.NoError(t, err)
	p, err := d.Params()
	require.NoError(t, err)
	assert.Equal(t, "products", p["dataset"])
	assert.NotNil(t, p["dataset_definition"], "the definition travels in the input")
}

// userDatasetParams are the parameters of a user-style flow that loads a
// dataset through the flow kit (internal/flowkit's OpenDataset).
type userDatasetParams struct {
	Dataset           string                     `json:"dataset" validate:"required,dataset"`
	DatasetDefinition *flowkit.DatasetDefinition `json:"dataset_definition,omitempty" param:"-"`
}

// userNoCarrierParams name a dataset but cannot carry a definition.
type userNoCarrierParams struct {
	Dataset string `json:"dataset" validate:"required,dataset"`
}

func noResult[P any](workflow.Context, P) (string, error) { return "", nil }

// TestDatasetsResolveForAUserFlow: a user-style flow's dataset parameter
// gets its declared dataset's definition in its input, from the manifest
// and from a --param, as DataPipeline's does; a flow whose input has no
// member for it may name built-in datasets only.
func TestDatasetsResolveForAUserFlow(t *testing.T) {
	all, err := flow.NewRegistry(append(flows.Registry.Flows().Flows(),
		flowkit.New("CatalogSync", noResult[userDatasetParams], flowkit.Options{}),
		flowkit.New("NoCarrier", noResult[userNoCarrierParams], flowkit.Options{}))...)
	require.NoError(t, err)
	m, err := deployments.Parse(all, "m.yaml", []byte(productsDataset+`deployments:
  - name: catalog
    workflow: CatalogSync
    parameters:
      dataset: products
  - name: catalog-orders
    workflow: CatalogSync
    parameters:
      dataset: orders
`))
	require.NoError(t, err)
	d, err := m.Get("catalog")
	require.NoError(t, err)
	doc, err := d.Params()
	require.NoError(t, err)
	require.Contains(t, doc, "dataset_definition", "the input carries the definition")
	assert.Equal(t, "products", doc["dataset_definition"].(dataset.Definition).Name)

	d, err = m.Get("catalog-orders")
	require.NoError(t, err)
	doc, err = d.Params()
	require.NoError(t, err)
	assert.NotContains(t, doc, "dataset_definition", "a built-in dataset needs none")
	doc, err = starter.ParseParams(d, nil, []string{"dataset=products"})
	require.NoError(t, err)
	assert.Contains(t, doc, "dataset_definition", "a --param brings the definition too")

	_, err = deployments.Parse(all, "m.yaml", []byte(productsDataset+"deployments:\n  - name: n\n    workflow: NoCarrier\n    parameters:\n      dataset: products\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deployments[0].parameters.dataset: invalid value: dataset=products: names a dataset of the manifest, but the flow's input has no member to carry its definition")
}
