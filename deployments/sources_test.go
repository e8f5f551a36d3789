package deployments_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/starter"
)

const sourcesManifest = `sources:
  shop-orders:
    url: https://api.example.com/v1/orders
    records: data.orders
    paginate: {style: cursor, cursor_param: starting_after, next: meta.next_cursor}
    fields: {id: order_id, customer_email: customer.email, amount: total_price, timestamp: created_at}
    auth: {bearer_env: SHOP_TOKEN}
  crm:
    url: https://crm.example.com/api/orders?status=paid
    paginate:
      style: offset
      offset_param: _start
      size_param: _limit
      size: 500
      total_header: X-Total-Count
    headers: {Accept-Version: "2"}
    auth: {basic_user: etl, basic_password_env: CRM_PASSWORD}
deployments:
  - name: shop
    parameters:
      source_url: source:shop-orders
  - name: plain
    parameters:
      source_url: https://api.example.com/orders
`

func TestSourcesParse(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(sourcesManifest))
	require.NoError(t, err)
	require.Equal(t, []string{"crm", "shop-orders"}, m.Sources.Names())
	shop := restapi.Definition{
		Name: "shop-orders", URL: "https://api.example.com/v1/orders", Records: "data.orders",
		Paginate: restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "starting_after", Next: "meta.next_cursor"},
		Fields:   map[string]string{"id": "order_id", "customer_email": "customer.email", "amount": "total_price", "timestamp": "created_at"},
		Auth:     restapi.Auth{BearerEnv: "SHOP_TOKEN"},
	}
	assert.Equal(t, shop, m.Sources["shop-orders"])
	assert.Equal(t, restapi.Paginate{Style: restapi.StyleOffset, OffsetParam: "_start", SizeParam: "_limit", Size: 500, TotalHeader: "X-Total-Count"},
		m.Sources["crm"].Paginate)

	d, err := m.Get("shop")
	require.NoError(t, err)
	doc, err := d.Params()
	require.NoError(t, err)
	p := asParams(t, doc)
	require.NotNil(t, p.Source, "the workflow input carries the definition")
	assert.Equal(t, shop, *p.Source)
	spec, err := p.Spec()
	require.NoError(t, err)
	assert.Equal(t, sourceurl.HTTP, spec.Kind)
	assert.Equal(t, "https://api.example.com/v1/orders", spec.URL.String())

	plain, err := m.Get("plain")
	require.NoError(t, err)
	doc, err = plain.Params()
	require.NoError(t, err)
	assert.Nil(t, asParams(t, doc).Source, "a plain URL carries no definition")

	// A --param may name any source of the manifest, and the definition follows.
	doc, err = starter.ParseParams(plain, nil, []string{"source_url=source:crm"})
	require.NoError(t, err)
	p = asParams(t, doc)
	require.NotNil(t, p.Source)
	assert.Equal(t, "crm", p.Source.Name)
	_, err = starter.ParseParams(plain, nil, []string{"source_url=source:shop"})
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	assert.Contains(t, err.Error(), `source_url=source:shop: unknown source "shop" (sources: crm, shop-orders; did you mean "shop-orders"?)`)
	_, err = starter.ParseParams(plain, []byte(`{"source": {"name": "x"}}`), nil)
	require.Error(t, err, "the definition is not a parameter one sets by hand")
}

// TestSourcesReject: every rule of a source is checked at load time, with
// the line of the offending value.
func TestSourcesReject(t *testing.T) {
	const deps = "deployments:\n  - name: d\n"
	src := func(body string) string { return "sources:\n  s:\n    url: https://api.example.com/o\n" + body + deps }
	cases := []struct {
		name  string
		yaml  string
		line  int
		field string
		want  string
	}{
		{"unknown style", src("    paginate: {style: cursr}\n"), 4, "sources.s.paginate.style", `unknown pagination style "cursr" (valid: auto, link, next_url, page, offset, cursor, single); did you mean "cursor"?`},
		{"bad records path", src("    records: data..orders\n"), 4, "sources.s.records", `"data..orders" is not a dotted path`},
		{"bad next path", src("    paginate:\n      style: cursor\n      cursor_param: after\n      next: .meta\n"), 7, "sources.s.paginate.next", `".meta" is not a dotted path`},
		{"bad field path", src("    fields: {id: \"order id\"}\n"), 4, "sources.s.fields.id", `"order id" is not a dotted path`},
		{"not a field name", src("    fields:\n      order.id: id\n"), 5, "sources.s.fields.order.id", `"order.id" is not a field name (letters, digits, '_' and '-', starting with a letter or '_', at most 64 characters)`},
		// DataPipeline's rule (datapipeline.CheckSource), at the line that gives it the source.
		{"DataPipeline reads no such field", src("    fields:\n      order_id: id\n") + "    parameters:\n      source_url: source:s\n", 9,
			"deployments[0].parameters.source_url", `source_url=source:s: source "s": fields.order_id: "order_id" is not a record field (valid: id, customer_email, category, amount, currency, timestamp)`},
		{"NightlyETL's child reads no such field", src("    fields:\n      order_id: id\n") + "    workflow: NightlyETL\n    parameters:\n      sources:\n        - demo://orders\n        - source:s\n", 12,
			"deployments[0].parameters.sources[1]", `sources[1]=source:s: source "s": fields.order_id: "order_id" is not a record field`},
		{"unknown key", src("    pagination: {style: page}\n"), 4, "sources.s.pagination", `unknown key (valid: url, records, paginate, fields, headers, auth); did you mean "paginate"?`},
		{"unknown paginate key", src("    paginate: {style: page, pages: total}\n"), 4, "sources.s.paginate.pages", "unknown key (valid: style, next,"},
		{"key the style does not use", src("    paginate:\n      style: link\n      cursor_param: after\n"), 6, "sources.s.paginate.cursor_param", "is not used by style link"},
		{"cursor without its parameter", src("    paginate:\n      style: cursor\n      next: meta.next\n"), 4, "sources.s.paginate.cursor_param", "is missing"},
		{"size not an integer", src("    paginate: {style: offset, size: lots}\n"), 4, "sources.s.paginate.size", "must be an integer"},
		{"size out of range", src("    paginate: {style: offset, size: 0}\n"), 4, "sources.s.paginate.size", "0 must be from 1 to 100000"},
		{"two auth schemes", src("    auth: {bearer_env: A, header: X-Api-Key, header_env: B}\n"), 4, "sources.s.auth", "give one scheme"},
		{"worker's own variable", src("    auth:\n      bearer_env: BLUEPRINT_DATABASE_URL\n"), 5, "sources.s.auth.bearer_env", "is the worker's own configuration"},
		{"bad variable name", src("    auth: {bearer_env: 1TOKEN}\n"), 4, "sources.s.auth.bearer_env", "is not an environment variable name"},
		{"credential in a static header", src("    headers:\n      Authorization: Bearer abc\n"), 5, "sources.s.headers.Authorization", "looks like a credential"},
		{"unknown auth key", src("    auth: {token_env: T}\n"), 4, "sources.s.auth.token_env", "unknown key"},
		{"password in the URL", "sources:\n  s:\n    url: https://u:pw@api.example.com/o\n" + deps, 3, "sources.s.url", "must not carry credentials (user info before the host)"},
		{"api key in the URL", "sources:\n  s:\n    url: https://api.example.com/o?api_key=abc\n" + deps, 3, "sources.s.url", "holds a credential in its query"},
		{"not http", "sources:\n  s:\n    url: file:///etc/passwd\n" + deps, 3, "sources.s.url", "is not an absolute http(s) URL"},
		{"missing url", "sources:\n  s:\n    records: data\n" + deps, 2, "sources.s.url", "missing"},
		{"bad name", "sources:\n  Shop_Orders:\n    url: https://a.example.com/\n" + deps, 2, "sources.Shop_Orders", "is not a valid source name"},
		{"not a mapping", "sources: [a]\n" + deps, 1, "sources", "must be a mapping of source names"},
		{"unknown source", deps + "    parameters:\n      source_url: source:nope\n", 4, "deployments[0].parameters.source_url", `unknown source "nope" (the manifest has no sources: section)`},
		{"bad source reference", deps + "    parameters:\n      source_url: source:Nope\n", 4, "deployments[0].parameters.source_url", "NAME is lower-case letters"},
		{"unknown source in a list", src("") + "    workflow: NightlyETL\n    parameters:\n      sources: [demo://orders]\n    schedule:\n      cron: \"0 3 * * *\"\n      parameters:\n        sources:\n          - source:s\n          - source:shop\n",
			14, "deployments[0].schedule.parameters.sources[1]", `sources[1]=source:shop: unknown source "shop" (sources: s)`},
		{"a flow that cannot carry a definition", src("") + "    workflow: FlowstestKinds\n    parameters:\n      sources: [source:s]\n", 8,
			"deployments[0].parameters.sources[0]", "names a source of the manifest, but the flow's input has no member to carry its definition"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deployments.Parse(flowstest.WithKinds(flows.Registry.Flows()), "m.yaml", []byte(tc.yaml))
			require.Error(t, err)
			require.True(t, badinput.Is(err))
			got := problemFor(t, err, tc.field)
			assert.Equal(t, tc.line, got.Line, "%v", got)
			assert.Contains(t, got.Msg, tc.want)
			assert.Contains(t, err.Error(), fmt.Sprintf("m.yaml:%d: %s: ", tc.line, tc.field))
		})
	}
}

// TestSourcesBrokenNotRepeated: a deployment that refers to a source with
// problems does not add an "unknown source" line of its own.
func TestSourcesBrokenNotRepeated(t *testing.T) {
	_, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte("sources:\n  s:\n    url: https://a.example.com/\n    records: a..b\ndeployments:\n  - name: d\n    parameters:\n      source_url: source:s\n"))
	require.Error(t, err)
	require.Len(t, deployments.Problems(err), 1, "%v", err)
	assert.False(t, strings.Contains(err.Error(), "unknown source"))
}

// asParams decodes a parameter document as the DataPipeline workflow
// receives it.
func asParams(t *testing.T, doc map[string]any) datapipeline.Params {
	t.Helper()
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	v, err := flows.DataPipeline.Params.Decode(b)
	require.NoError(t, err)
	return *v.(*datapipeline.Params)
}

// TestSourcesOfAList: the source_url rule, not a parameter's name, marks a
// parameter that names sources. Every source:NAME item of NightlyETL's
// sources (from the manifest or a --param) brings its definition into
// the input's source_definitions, which the decoded parameters carry.
// A source a DataPipeline run does not read may map any field name.
func TestSourcesOfAList(t *testing.T) {
	const manifest = sourcesManifest + `  - name: nightly
    workflow: NightlyETL
    parameters:
      sources: [source:shop-orders, demo://orders, source:crm]
`
	const products = `  products:
    url: https://api.example.com/products
    fields: {sku: attributes.sku, title: attributes.title, unit-price: attributes.price.amount}
`
	m, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(strings.Replace(manifest, "sources:\n", "sources:\n"+products, 1)))
	require.NoError(t, err, "a mapping's target is any field name")
	assert.Equal(t, map[string]string{"sku": "attributes.sku", "title": "attributes.title", "unit-price": "attributes.price.amount"}, m.Sources["products"].Fields)

	d, err := m.Get("nightly")
	require.NoError(t, err)
	doc, err := d.Params()
	require.NoError(t, err)
	p := asNightly(t, doc)
	assert.Equal(t, []string{"source:shop-orders", "demo://orders", "source:crm"}, p.Sources)
	assert.Equal(t, map[string]restapi.Definition{"shop-orders": m.Sources["shop-orders"], "crm": m.Sources["crm"]}, p.SourceDefinitions)
	assert.Equal(t, m.Sources["crm"], *p.SourceDefinition("source:crm"))
	assert.Nil(t, p.SourceDefinition("demo://orders"))

	// --param: the first replaces the manifest's list, the next append;
	// each source:NAME gets its definition, and only those.
	doc, err = starter.ParseParams(d, nil, []string{"sources=source:crm", "sources=https://api.example.com/orders"})
	require.NoError(t, err)
	p = asNightly(t, doc)
	assert.Equal(t, map[string]restapi.Definition{"crm": m.Sources["crm"]}, p.SourceDefinitions)
	doc, err = starter.ParseParams(d, nil, []string{"sources=demo://orders"})
	require.NoError(t, err)
	assert.Empty(t, asNightly(t, doc).SourceDefinitions)

	for _, tc := range []struct{ param, want string }{
		{"sources=source:shop", `sources[0]=source:shop: unknown source "shop" (sources: crm, products, shop-orders; did you mean "shop-orders"?)`},
		// DataPipeline's rule holds for each child's source: a source it cannot read is refused before the run starts.
		{"sources=source:products", `source_definitions.products.fields.sku: "sku" is not a record field`},
	} {
		_, err = starter.ParseParams(d, nil, []string{tc.param})
		require.Error(t, err, tc.param)
		assert.True(t, badinput.Is(err))
		assert.Contains(t, err.Error(), tc.want)
	}
	_, err = starter.ParseParams(d, []byte(`{"source_definitions": {}}`), nil)
	require.Error(t, err, "the definitions are not a parameter one sets by hand")
}

// asNightly decodes a parameter document as the NightlyETL workflow
// receives it.
func asNightly(t *testing.T, doc map[string]any) report.NightlyParams {
	t.Helper()
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	v, err := flows.NightlyETL.Params.Decode(b)
	require.NoError(t, err)
	return *v.(*report.NightlyParams)
}

// ownParams are the parameters of a flow of one's own that reads sources:
// the source_url rule marks them, whatever their names, and the input's
// map of definitions receives those they name.
type ownParams struct {
	From    string                        `json:"from" validate:"required,source_url_length,source_url" help:"where to read"`
	Also    []string                      `json:"also" validate:"dive,source_url_length,source_url" help:"more sources"`
	Sources map[string]restapi.Definition `json:"sources" param:"-"`
}

func TestSourcesOfAFlowOfOnesOwn(t *testing.T) {
	own := flow.New("OwnFlow", func(workflow.Context, ownParams) (string, error) { return "", nil }, flow.Options{})
	manifest := strings.Replace(sourcesManifest, "deployments:\n", `deployments:
  - name: own
    workflow: OwnFlow
    parameters:
      from: source:crm
      also: [https://api.example.com/more, source:shop-orders, source:crm]
`, 1)
	m, err := deployments.Parse(flow.MustRegistry(append(flows.Registry.Flows().Flows(), own)...), "m.yaml", []byte(manifest))
	require.NoError(t, err)
	d, err := m.Get("own")
	require.NoError(t, err)
	doc, err := d.Params()
	require.NoError(t, err)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	v, err := own.Params.Decode(b)
	require.NoError(t, err)
	p := v.(*ownParams)
	assert.Equal(t, map[string]restapi.Definition{"crm": m.Sources["crm"], "shop-orders": m.Sources["shop-orders"]}, p.Sources)
	assert.Equal(t, m.Sources["crm"], *sourceurl.DefinitionOf(p.From, p.Sources))
}
