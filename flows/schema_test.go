package flows_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
)

// ruleParams has every rule the JSON Schema maps, on the kinds it maps it
// for, with and without defaults: no shipped flow has them all, and the
// fuzz test compares the schema with the decoder on it too.
type ruleParams struct {
	Code    string                   `json:"code" validate:"required,min=2,max=5"`
	Label   string                   `json:"label" validate:"gt=1,lt=4" default:"abc"`
	Level   int8                     `json:"level" validate:"gte=-3,lte=100"`
	Small   int8                     `json:"small"`
	Step    int32                    `json:"step" validate:"gt=0,lt=1000"`
	Free    int                      `json:"free"`
	Count   int                      `json:"count" validate:"required" default:"1"`
	Factor  float64                  `json:"factor" validate:"gt=0,lt=2" default:"1"`
	Scale   float64                  `json:"scale" validate:"min=-1.5"`
	Any     float64                  `json:"any"`
	NonZero float64                  `json:"non_zero" validate:"required" default:"2"`
	On      bool                     `json:"on" validate:"required" default:"true"`
	Wait    time.Duration            `json:"wait" validate:"required,gt=1ms,lt=1h" default:"1s"`
	Pause   time.Duration            `json:"pause" validate:"min=0,max=60000000000"`
	Zone    string                   `json:"zone" validate:"timezone" default:"UTC"`
	Hook    string                   `json:"hook" validate:"http_url" default:"https://example.com/hook"`
	Tags    []string                 `json:"tags" validate:"required,gte=1,lte=3,unique,dive,required,max=8"`
	Feeds   []string                 `json:"feeds" validate:"gt=0,lt=3,dive,source_url_length,source_url" default:"[\"demo://orders\"]"`
	Mode    string                   `json:"mode" validate:"required,oneof=a b"`
	When    time.Time                `json:"when" validate:"required" default:"2025-01-01T00:00:00Z"`
	Day     flow.Date                `json:"day" validate:"required" default:"2025-01-01"`
	Limit   datapipeline.RejectLimit `json:"limit"`
	Batch   int                      `json:"batch" validate:"batch_size" default:"10"`
	Data    string                   `json:"data" validate:"dataset"`
	Inner   ruleInner                `json:"inner"`
}

type ruleInner struct {
	Since flow.Date `json:"since" validate:"required"`
	Note  string    `json:"note" validate:"max=3"`
}

var rulesFlow = flow.New("SchemaRules", func(workflow.Context, ruleParams) (string, error) { return "", nil }, flow.Options{Description: "every rule the JSON Schema maps (tests only)"})

// schemaFlows are the flows whose schemas are checked: every shipped one,
// flowstest's one of each kind and rulesFlow.
func schemaFlows() []*flow.Flow {
	return append(flowstest.WithKinds(flows.Registry.Flows()).Flows(), rulesFlow)
}

// validDocs are a parameter document each flow accepts, the base of the
// fuzz test's bad values: a deployment's for a shipped flow.
var validDocs = map[string]string{
	"NightlyETL":  `{"sources": ["demo://orders?seed=1"]}`,
	"SchemaRules": `{"code": "ab", "step": 5, "tags": ["x"], "mode": "a", "inner": {"since": "2025-01-01"}}`,
}

// inspectJSON is what `blueprint flows inspect NAME -o json` prints.
func inspectJSON(t testing.TB, f *flow.Flow) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(f.JSONSchema()))
	return buf.Bytes()
}

// offline is the only loader the compilers have: it fails the test,
// because every schema they need (the 2020-12 meta-schema and its
// vocabularies) is embedded in the library.
type offline struct{ t testing.TB }

func (l offline) Load(url string) (any, error) {
	l.t.Errorf("the JSON Schema compiler asked for %s: nothing may be loaded (no network)", url)
	return nil, fmt.Errorf("%s: nothing is loaded in tests", url)
}

func newCompiler(t testing.TB) *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(offline{t})
	c.AssertFormat()
	return c
}

func parseJSON(t testing.TB, b []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	require.NoError(t, err)
	return v
}

func schemaURL(f *flow.Flow) string {
	return "https://blueprint.invalid/flows/" + f.Name + ".schema.json"
}

// compiled is a flow's schema as the fuzz test uses it.
type compiled struct {
	flow   *flow.Flow
	doc    map[string]any // the JSON Schema, decoded
	schema *jsonschema.Schema
	c      *jsonschema.Compiler
}

func compile(t testing.TB, f *flow.Flow) compiled {
	t.Helper()
	doc := parseJSON(t, inspectJSON(t, f))
	c := newCompiler(t)
	require.NoError(t, c.AddResource(schemaURL(f), doc))
	sch, err := c.Compile(schemaURL(f))
	require.NoError(t, err, "%s", f.Name)
	return compiled{flow: f, doc: doc.(map[string]any), schema: sch, c: c}
}

// TestSchemaIsValidJSONSchema: every flow's `flows inspect -o json` is a
// JSON Schema that the 2020-12 meta-schema accepts, with nothing loaded
// from the network.
func TestSchemaIsValidJSONSchema(t *testing.T) {
	c := newCompiler(t)
	meta, err := c.Compile(flow.JSONSchemaDialect)
	require.NoError(t, err, "the meta-schema is embedded in the library")
	for _, f := range schemaFlows() {
		t.Run(f.Name, func(t *testing.T) {
			doc := parseJSON(t, inspectJSON(t, f))
			require.NoError(t, meta.Validate(doc))
			compile(t, f)
			assert.Equal(t, flow.JSONSchemaDialect, doc.(map[string]any)["$schema"])
		})
	}
	t.Run("the meta-schema refuses a bad schema", func(t *testing.T) {
		require.Error(t, meta.Validate(parseJSON(t, []byte(`{"type": "integer", "minimum": "one", "required": "name"}`))))
	})
}

// TestSchemaMapsEveryRule: no flow has a rule the JSON Schema cannot map,
// and rulesFlow has every rule the table maps, so that the fuzz test
// covers each.
func TestSchemaMapsEveryRule(t *testing.T) {
	for _, f := range schemaFlows() {
		assert.Empty(t, f.Params.UnmappedRules(), "%s: add the rule to internal/flow's ruleSchemas", f.Name)
	}
	used := map[string]bool{}
	for _, p := range rulesFlow.Params.All() {
		if p.Rule != "" && p.Kind != "count or percentage" {
			for _, tag := range strings.Split(p.Rule, ",") {
				name, _, _ := strings.Cut(tag, "=")
				used[name] = true
			}
		}
	}
	assert.Equal(t, flow.JSONSchemaRules(), slices.Sorted(maps.Keys(used)), "rulesFlow uses every rule of the table")
}

// TestSchemaDefaultsAreValid: every default is a value its own schema
// accepts.
func TestSchemaDefaultsAreValid(t *testing.T) {
	for _, f := range schemaFlows() {
		cs := compile(t, f)
		for _, p := range f.Params.All() {
			if p.Default == nil {
				continue
			}
			ptr := "#/properties/" + strings.ReplaceAll(p.Path, ".", "/properties/")
			sch, err := cs.c.Compile(schemaURL(f) + ptr)
			require.NoError(t, err, "%s %s", f.Name, p.Path)
			b, err := json.Marshal(p.Default)
			require.NoError(t, err)
			assert.NoError(t, sch.Validate(parseJSON(t, b)), "%s: default of %s", f.Name, p.Path)
		}
	}
}

// TestSchemaSaysTheRules pins what the schema says for the rules that were
// once dropped or wrong.
func TestSchemaSaysTheRules(t *testing.T) {
	props := func(f *flow.Flow) map[string]any {
		return compile(t, f).doc["properties"].(map[string]any)
	}
	nightly := compile(t, flows.NightlyETL.Flow).doc
	assert.Equal(t, []any{"sources"}, nightly["required"], "a list with min=1 and no default must be given; a default makes a parameter optional")
	sources := nightly["properties"].(map[string]any)["sources"].(map[string]any)
	assert.Equal(t, true, sources["uniqueItems"])
	assert.Equal(t, json.Number("1"), sources["minItems"])
	assert.Equal(t, "array", sources["type"], "a parameter that must be given is not nullable")
	assert.Contains(t, sources["items"].(map[string]any)[flow.RulesKeyword], "source_url")

	dp := compile(t, flows.DataPipeline.Flow).doc
	assert.NotContains(t, dp, "required", "source_url is required by its rule but has a default")
	assert.Contains(t, dp[flow.RulesKeyword], flow.CheckParamsRule)

	timeout := props(flowstest.Kinds)["timeout"].(map[string]any)
	assert.Equal(t, json.Number("1000000000"), timeout["minimum"])
	assert.Equal(t, json.Number("3600000000000"), timeout["maximum"])
	assert.Contains(t, timeout[flow.RulesKeyword], "min=1s")
	assert.Contains(t, timeout[flow.RulesKeyword], "max=1h")

	hook := props(rulesFlow)["hook"].(map[string]any)
	assert.Contains(t, hook[flow.RulesKeyword], "http_url")
	assert.Contains(t, hook, "pattern")
}

// agreement is every flow's compiled schema with a document it accepts:
// what TestSchemaAgreesWithDecoder and FuzzSchemaAgreesWithDecoder check.
type agreement struct {
	schemas []compiled
	index   map[string]int
	// bases are a valid document of each flow, by name.
	bases map[string]map[string]any
	// shipped are every shipped deployment's parameters: as in the
	// manifest, and complete (defaults filled in, as the workflow gets
	// them).
	shipped []shippedDoc
}

type shippedDoc struct {
	flow string
	doc  []byte
}

func newAgreement(t testing.TB) agreement {
	a := agreement{index: map[string]int{}, bases: map[string]map[string]any{}}
	for i, f := range schemaFlows() {
		a.index[f.Name] = i
		a.schemas = append(a.schemas, compile(t, f))
	}
	docs := maps.Clone(validDocs)
	m, err := deployments.Load(flows.Registry.Flows(), "../deployments/deployments.yaml")
	require.NoError(t, err)
	for _, d := range m.Deployments {
		f, err := d.Flow()
		require.NoError(t, err)
		full, err := d.Params()
		require.NoError(t, err)
		for _, v := range []any{d.Parameters, full} {
			b, err := json.Marshal(v)
			require.NoError(t, err)
			a.shipped = append(a.shipped, shippedDoc{f.Name, b})
			if _, ok := docs[f.Name]; !ok {
				docs[f.Name] = string(b)
			}
		}
	}
	for _, f := range schemaFlows() {
		base := map[string]any{}
		if doc, ok := docs[f.Name]; ok {
			require.NoError(t, json.Unmarshal([]byte(doc), &base))
		}
		a.bases[f.Name] = base
	}
	return a
}

// check fails the test where the schema and the decoder disagree on doc:
// what the schema refuses, the decoder must refuse; what the decoder
// refuses and the schema accepts must be for a rule the schema lists under
// flow.RulesKeyword, on the parameter a problem names (or at the top, for
// a problem of the whole document).
//
// The document is first written the way JSON Schema sees it (the
// json_text rule): decoded, a key once, a number where the schema takes
// an integer written as one if it is integral, one where it takes a number
// rounded to a float64. Input that is not JSON is one parameter's value
// (see oneValue). A document with a part of the input that is not a
// parameter (param:"-", filled in by the blueprint CLI) is outside the
// schema.
func (a agreement) check(t *testing.T, which int, doc []byte) {
	cs := a.schemas[which%len(a.schemas)]
	canon, ok := canonical(doc, cs.doc)
	if !ok {
		canon, ok = oneValue(cs, a.bases[cs.flow.Name], doc)
	}
	if !ok || hasHidden(cs.flow, canon) {
		return
	}
	b, err := json.Marshal(canon)
	require.NoError(t, err)
	schemaErr := cs.schema.Validate(parseJSON(t, b))
	_, decodeErr := cs.flow.Params.Decode(b)
	switch {
	case schemaErr != nil && decodeErr == nil:
		t.Fatalf("%s: the schema refuses what the decoder accepts: %s\n%v", cs.flow.Name, b, schemaErr)
	case schemaErr == nil && decodeErr != nil:
		var ve *flow.ValidationError
		require.True(t, errors.As(decodeErr, &ve), "%v", decodeErr)
		for _, p := range ve.Problems {
			if !ruleListed(cs.doc, p.Path) {
				t.Fatalf("%s: the schema accepts what the decoder refuses, for no rule it lists: %s\n%v", cs.flow.Name, b, decodeErr)
			}
		}
	}
}

// badValues are tried on every parameter of every flow.
var badValues = []any{nil, "", "x", -1, 1.5, json.Number("1.0"), json.Number("1e400"), json.Number("-0"), true, []any{"a", "a"}, map[string]any{},
	"0s", "9999999999h", 100000001, "2025-02-30", "2025-01-01T9:00:00Z", "source:nope", "http://u:p@h/x", "Local", "101%"}

// wholeDocs are documents that are wrong as a whole.
var wholeDocs = []string{`{"nope": 1}`, `{"nope": null}`, `[]`, `null`, `"x"`, `{"a": 1, "a": 2}`}

// TestSchemaAgreesWithDecoder: the schema and the decoder agree on every
// shipped deployment's parameters, each flow's defaults and a valid
// document, every bad value on every parameter and documents wrong as a
// whole (FuzzSchemaAgreesWithDecoder then tries more).
func TestSchemaAgreesWithDecoder(t *testing.T) {
	a := newAgreement(t)
	run := func(name string, f *flow.Flow, doc []byte) {
		t.Run(name, func(t *testing.T) { a.check(t, a.index[f.Name], doc) })
	}
	for _, d := range a.shipped {
		run("shipped "+d.flow, a.schemas[a.index[d.flow]].flow, d.doc)
	}
	for _, f := range schemaFlows() {
		run(f.Name+" defaults", f, marshal(t, f.Params.Complete(map[string]any{})))
		run(f.Name+" valid", f, marshal(t, a.bases[f.Name]))
		for _, p := range f.Params.All() {
			for _, v := range badValues {
				run(fmt.Sprintf("%s %s=%v", f.Name, p.Path, v), f, marshal(t, with(a.bases[f.Name], p.Path, v)))
			}
		}
		for _, doc := range wholeDocs {
			run(f.Name+" "+doc, f, []byte(doc))
		}
	}
}

// FuzzSchemaAgreesWithDecoder: for every flow and any parameter document,
// the JSON Schema (compiled with santhosh-tekuri/jsonschema, formats
// asserted) and the flow's decoder agree (agreement.check says how).
// Seeds: every shipped deployment's parameters, each flow's defaults, a
// valid document, and some bad values (TestSchemaAgreesWithDecoder tries
// them all on every parameter); a seed that is not JSON is a parameter's
// index and its value.
func FuzzSchemaAgreesWithDecoder(f *testing.F) {
	a := newAgreement(f)
	for _, d := range a.shipped {
		f.Add(uint8(a.index[d.flow]), d.doc)
	}
	for i, fl := range schemaFlows() {
		f.Add(uint8(i), marshal(f, fl.Params.Complete(map[string]any{})))
		f.Add(uint8(i), marshal(f, a.bases[fl.Name]))
		for _, doc := range wholeDocs {
			f.Add(uint8(i), []byte(doc))
		}
		for j, v := range badValues {
			if j%3 == i%3 {
				f.Add(uint8(i), append([]byte{byte(j)}, marshal(f, v)...))
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, doc []byte) { a.check(t, int(which), doc) })
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// oneValue reads input that is not a JSON document as one parameter's
// value in a valid document, so that mutated bytes reach the rules of
// each kind: its first byte picks the parameter, the rest is the value,
// JSON or else a string.
func oneValue(cs compiled, base map[string]any, input []byte) (any, bool) {
	params := cs.flow.Params.All()
	if len(input) == 0 {
		return nil, false
	}
	p := params[int(input[0])%len(params)]
	var v any = string(input[1:])
	if j, err := jsonschema.UnmarshalJSON(bytes.NewReader(input[1:])); err == nil {
		v = j
	}
	b, err := json.Marshal(with(base, p.Path, v))
	if err != nil {
		return nil, false
	}
	return canonical(b, cs.doc)
}

// with returns a copy of doc with the parameter at a dotted path set.
func with(doc map[string]any, path string, v any) map[string]any {
	out := maps.Clone(doc)
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		out[head] = v
		return out
	}
	sub, _ := out[head].(map[string]any)
	if sub == nil {
		sub = map[string]any{}
	}
	out[head] = with(sub, rest, v)
	return out
}

// canonical decodes doc and writes its numbers as JSON Schema sees them,
// by the schema s of where they are; false for what is not JSON, or
// a number too large to be worth the big-number arithmetic.
func canonical(doc []byte, s map[string]any) (any, bool) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, false
	}
	return canon(v, s)
}

func canon(v any, s map[string]any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		out := make(map[string]any, len(x))
		for k, e := range x {
			ps, _ := props[k].(map[string]any)
			c, ok := canon(e, ps)
			if !ok {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case []any:
		items, _ := s["items"].(map[string]any)
		out := make([]any, len(x))
		for i, e := range x {
			c, ok := canon(e, items)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	case json.Number:
		return canonNumber(x, s)
	}
	return v, true
}

func canonNumber(n json.Number, s map[string]any) (any, bool) {
	text := string(n)
	if len(text) > 400 {
		return nil, false
	}
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		if exp, err := strconv.Atoi(text[i+1:]); err != nil || exp > 1000 || exp < -1000 {
			return nil, false
		}
	}
	types := map[string]bool{}
	switch t := s["type"].(type) {
	case string:
		types[t] = true
	case []any:
		for _, e := range t {
			types[fmt.Sprint(e)] = true
		}
	}
	switch {
	case types["number"]:
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
		}
	case types["integer"]:
		if r, ok := new(big.Rat).SetString(text); ok && r.IsInt() {
			return json.Number(r.Num().String()), true
		}
	}
	return n, true
}

// hasHidden reports whether a document has a top-level part of the input
// that is not a parameter: one Normalize neither refuses nor knows.
func hasHidden(f *flow.Flow, doc any) bool {
	m, _ := doc.(map[string]any)
	for k, v := range m {
		if v == nil || f.Params.IsParam(k) {
			continue
		}
		if _, problems := f.Params.Normalize(map[string]any{k: "x"}); len(problems) == 0 {
			return true
		}
	}
	return false
}

// ruleListed reports whether the schema lists a rule under
// flow.RulesKeyword for the value at a problem's path ("window.start",
// "sources[2]"; "" for the document, where json_text does not count: the
// documents compared are written canonically).
func ruleListed(root map[string]any, path string) bool {
	s := root
	if path != "" {
		for part := range strings.SplitSeq(path, ".") {
			name, index, _ := strings.Cut(part, "[")
			props, _ := s["properties"].(map[string]any)
			s, _ = props[name].(map[string]any)
			for range strings.Count(index, "]") {
				s, _ = s["items"].(map[string]any)
			}
		}
	}
	rules, _ := s[flow.RulesKeyword].(map[string]any)
	if path == "" {
		rules = maps.Clone(rules)
		delete(rules, flow.JSONTextRule)
	}
	return len(rules) > 0
}
