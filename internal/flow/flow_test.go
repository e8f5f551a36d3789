package flow_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

// window is a nested object parameter.
type window struct {
	Start flow.Date `json:"start" validate:"required" help:"first day"`
	Days  int       `json:"days" validate:"min=1,max=31" default:"1" help:"how many days"`
}

// every has one parameter of each supported kind.
type every struct {
	Name    string        `json:"name" validate:"required,max=20" help:"a name"`
	Count   int           `json:"count" validate:"min=1,max=10" default:"3" help:"how many"`
	Ratio   float64       `json:"ratio" validate:"gte=0,lte=1" default:"0.5" help:"a fraction"`
	Dry     bool          `json:"dry" default:"false" help:"change nothing"`
	Timeout time.Duration `json:"timeout" validate:"min=1000000000" default:"30s" help:"how long"`
	Day     flow.Date     `json:"day" help:"a day"`
	At      time.Time     `json:"at" help:"an instant"`
	Mode    string        `json:"mode" validate:"oneof=fast safe" default:"safe" help:"how"`
	Sources []string      `json:"sources" validate:"max=3,dive,source_url" default:"[\"demo://orders\"]" help:"where from"`
	Window  window        `json:"window" help:"a range of days"`
}

func schema(t *testing.T) *flow.Schema {
	t.Helper()
	s, err := flow.NewSchema(reflect.TypeFor[every]())
	require.NoError(t, err)
	return s
}

func TestSchemaFromStruct(t *testing.T) {
	s := schema(t)
	assert.Equal(t, []string{"name", "count", "ratio", "dry", "timeout", "day", "at", "mode", "sources", "window"}, s.Names())
	kinds := map[string]flow.Kind{}
	defaults := map[string]any{}
	for _, p := range s.All() {
		kinds[p.Path] = p.Kind
		defaults[p.Path] = p.Default
	}
	assert.Equal(t, map[string]flow.Kind{
		"name": flow.String, "count": flow.Integer, "ratio": flow.Number, "dry": flow.Boolean,
		"timeout": flow.Duration, "day": flow.DateKind, "at": flow.DateTime, "mode": flow.Enum,
		"sources": flow.StringList, "window": flow.Object, "window.start": flow.DateKind, "window.days": flow.Integer,
	}, kinds)
	assert.Equal(t, int64(3), defaults["count"])
	assert.Equal(t, 0.5, defaults["ratio"])
	assert.Equal(t, false, defaults["dry"])
	assert.Equal(t, "30s", defaults["timeout"])
	assert.Equal(t, []string{"demo://orders"}, defaults["sources"])
	assert.Nil(t, defaults["day"])
	mode, ok := s.Lookup("mode")
	require.True(t, ok)
	assert.Equal(t, []string{"fast", "safe"}, mode.Enum)
	name, _ := s.Lookup("name")
	assert.True(t, name.Required())
	assert.Equal(t, "a name", name.Help)
	_, ok = s.Lookup("window.nope")
	assert.False(t, ok)
}

func TestSchemaRejectsWhatItCannotDescribe(t *testing.T) {
	for name, typ := range map[string]reflect.Type{
		"not a struct": reflect.TypeFor[int](),
		"map field": reflect.TypeFor[struct {
			M map[string]int `json:"m"`
		}](),
		"no json name": reflect.TypeFor[struct{ N int }](),
		"bad default": reflect.TypeFor[struct {
			N int `json:"n" default:"ten"`
		}](),
		"object default": reflect.TypeFor[struct {
			W window `json:"w" default:"{}"`
		}](),
		"list of ints": reflect.TypeFor[struct {
			L []int `json:"l"`
		}](),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := flow.NewSchema(typ)
			require.Error(t, err)
		})
	}
}

func TestDecodeEveryKind(t *testing.T) {
	v, err := schema(t).Decode([]byte(`{"name":"x","count":2,"ratio":1,"dry":true,"timeout":"1m30s",
		"day":"2025-01-31","at":"2025-01-31T09:00:00Z","mode":"fast","sources":["demo://orders?seed=1","demo://orders?seed=2"],
		"window":{"start":"2025-02-01"}}`))
	require.NoError(t, err)
	got := *v.(*every)
	assert.Equal(t, every{
		Name: "x", Count: 2, Ratio: 1, Dry: true, Timeout: 90 * time.Second,
		Day: flow.Date{Year: 2025, Month: 1, Day: 31}, At: time.Date(2025, 1, 31, 9, 0, 0, 0, time.UTC),
		Mode: "fast", Sources: []string{"demo://orders?seed=1", "demo://orders?seed=2"},
		Window: window{Start: flow.Date{Year: 2025, Month: 2, Day: 1}, Days: 1},
	}, got)

	v, err = schema(t).Decode([]byte(`{"name":"x","window":{"start":"2025-02-01","days":null},"timeout":60000000000}`))
	require.NoError(t, err)
	got = *v.(*every)
	assert.Equal(t, 3, got.Count, "default")
	assert.Equal(t, "safe", got.Mode, "default")
	assert.Equal(t, time.Minute, got.Timeout, "nanoseconds, as encoding/json writes a time.Duration")
	assert.Equal(t, 1, got.Window.Days, "null is absent: the default applies")
}

// TestDecodeReportsEveryBadField: one field of the wrong JSON type does not
// hide the others (issue 13): type errors, broken rules and unknown names
// are all listed, in parameter order, unknown names last.
func TestDecodeReportsEveryBadField(t *testing.T) {
	_, err := schema(t).Decode([]byte(`{"count":"10","ratio":2,"mode":"fsat","sources":["ftp://u:hunter2@h/x",5],
		"window":{"days":40},"timeout":"soon","nmae":"x"}`))
	var ve *flow.ValidationError
	require.ErrorAs(t, err, &ve)
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.String())
	}
	assert.Equal(t, []string{
		"name: is required",
		`count: must be an integer, got the string "10"`,
		"ratio=2: must be at most 1",
		`timeout: must be a duration such as 90s, 15m or 1h30m, got "soon"`,
		`mode="fsat": must be one of fast, safe; did you mean "fast"?`,
		"sources[1]: must be a string, got the number 5",
		"window.start: is required",
		"window.days=40: must be at most 31",
		`unknown parameter "nmae" (valid: name, count, ratio, dry, timeout, day, at, mode, sources, window); did you mean "name"?`,
	}, got)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.True(t, strings.HasPrefix(err.Error(), "invalid parameters: name: is required; count: "), err.Error())

	_, again := schema(t).Decode([]byte(`{"count":"10","ratio":2,"mode":"fsat","sources":["ftp://u:hunter2@h/x",5],
		"window":{"days":40},"timeout":"soon","nmae":"x"}`))
	assert.Equal(t, err.Error(), again.Error(), "deterministic: workflow code decodes with it")
}

func TestDecodeDataPipelineParams(t *testing.T) {
	s, err := flow.NewSchema(reflect.TypeFor[datapipeline.Params]())
	require.NoError(t, err)
	for _, tt := range []struct{ input, want string }{
		{`{}`, ""},
		{`{"batch_size":1000000,"source_url":"file:///data/orders.csv"}`, ""},
		{`{"batch_size":"10","source_url":"ftp://example.com/x"}`, `invalid parameters: batch_size: must be an integer, got the string "10"; source_url="ftp://example.com/x": `},
		{`{"batch_size":1.5}`, "batch_size: must be an integer, got the number 1.5"},
		{`{"batch_size":99999999999999999999}`, "batch_size=99999999999999999999: is out of range for an integer"},
		{`{"batch_size":0}`, "batch_size=0: must be at least 1"},
		{`{"source_url":""}`, "source_url: is required"},
		{`{"sourceurl":"demo://orders"}`, `unknown parameter "sourceurl" (valid: batch_size, source_url, max_rejected, dataset); did you mean "source_url"?`},
		{`{"source":"demo://orders"}`, `source: is not valid (it is not a parameter: the blueprint CLI fills it in)`},
		{`[1]`, "parameters must be a JSON object, got an array"},
		{`null`, "parameters must be a JSON object, got null"},
		{`{"batch_size": 5`, "parameters are not valid JSON: unexpected end of input"},
		{`{} {}`, "unexpected text after the JSON object"},
		{`{"batch_size":1,"batch_size":2}`, `parameter "batch_size" is given twice`},
	} {
		t.Run(tt.input, func(t *testing.T) {
			_, err := s.Decode([]byte(tt.input))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestDecodeNamedSource: a field tagged param:"-" is part of the input
// but not a parameter, and a CheckParams rule runs after the tags'.
func TestDecodeNamedSource(t *testing.T) {
	s, err := flow.NewSchema(reflect.TypeFor[datapipeline.Params]())
	require.NoError(t, err)
	assert.Equal(t, []string{"batch_size", "source_url", "max_rejected", "dataset"}, s.Names(), "source and dataset_definition are not parameters")
	assert.False(t, s.IsParam("source"))
	def := &restapi.Definition{Name: "shop", URL: "https://api.example.com/orders", Paginate: restapi.Paginate{Style: restapi.StylePage}}
	doc, err := json.Marshal(datapipeline.Params{BatchSize: 1, SourceURL: "source:shop", Source: def})
	require.NoError(t, err)
	v, err := s.Decode(doc)
	require.NoError(t, err)
	assert.Equal(t, def, v.(*datapipeline.Params).Source)

	for _, tt := range []struct{ doc, want string }{
		{`{"source_url":"source:shop"}`, `source_url=source:shop: the input carries no definition of source "shop"`},
		{`{"source_url":"demo://orders","source":{"name":"shop","url":"https://a.example.com"}}`, `source: a source definition (for "shop") goes with source_url=source:shop only`},
		{`{"source_url":"source:crm","source":{"name":"shop","url":"https://a.example.com"}}`, `source: the definition is of source "shop", but source_url names "crm"`},
	} {
		_, err := s.Decode([]byte(tt.doc))
		require.ErrorContains(t, err, tt.want)
	}
	full, err := s.Check(map[string]any{"source_url": "source:shop", "source": def})
	require.NoError(t, err)
	assert.Equal(t, def, full["source"], "hidden values pass through")
}

func TestDecodePayload(t *testing.T) {
	s, err := flow.NewSchema(reflect.TypeFor[datapipeline.Params]())
	require.NoError(t, err)
	v, err := s.DecodePayload(nil)
	require.NoError(t, err)
	assert.Equal(t, datapipeline.Params{BatchSize: datapipeline.DefaultBatchSize, SourceURL: datapipeline.DefaultSourceURL}, *v.(*datapipeline.Params),
		"the default tags say what the constants say")
	_, err = s.DecodePayload(&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte("x")})
	require.ErrorContains(t, err, `encoding "binary/plain"`)
	v, err = s.DecodePayload(&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}})
	require.NoError(t, err)
	assert.Equal(t, datapipeline.DefaultBatchSize, v.(*datapipeline.Params).BatchSize)
}

func TestParseString(t *testing.T) {
	s := schema(t)
	for _, tt := range []struct {
		param, in string
		want      any
		err       string
	}{
		{"name", "x y", "x y", ""},
		{"count", "7", int64(7), ""},
		{"count", "7.5", nil, `must be an integer, got "7.5"`},
		{"count", "99999999999999999999", nil, "which is out of range"},
		{"ratio", "0.25", 0.25, ""},
		{"ratio", "NaN", nil, `must be a number, got "NaN"`},
		{"dry", "true", true, ""},
		{"dry", "yes", nil, `must be true or false, got "yes"`},
		{"timeout", "1h30m", "1h30m0s", ""},
		{"timeout", "90", nil, "must be a duration"},
		{"day", "2025-01-31", "2025-01-31", ""},
		{"day", "31/01/2025", nil, "must be a date YYYY-MM-DD"},
		{"at", "2025-01-31T09:00:00+01:00", "2025-01-31T09:00:00+01:00", ""},
		{"at", "2025-01-31", nil, "must be a date-time in RFC 3339"},
		{"mode", "fast", "fast", ""},
		{"sources", "demo://orders", []string{"demo://orders"}, ""},
		{"window", "x", nil, "window is an object; set its fields one by one, e.g. window.start=..."},
		{"window.days", "2", int64(2), ""},
	} {
		t.Run(tt.param+"="+tt.in, func(t *testing.T) {
			p, ok := s.Lookup(tt.param)
			require.True(t, ok)
			v, err := p.ParseString(tt.in)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, v)
		})
	}
}

func TestCheckCompletesAndValidates(t *testing.T) {
	s := schema(t)
	full, err := s.Check(map[string]any{"name": "x", "count": 2, "window": map[string]any{"start": "2025-01-01"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"name": "x", "count": int64(2), "ratio": 0.5, "dry": false, "timeout": "30s", "mode": "safe",
		"sources": []string{"demo://orders"}, "window": map[string]any{"start": "2025-01-01", "days": int64(1)},
	}, full)
	_, err = s.Check(map[string]any{"count": 20})
	require.ErrorContains(t, err, "invalid parameters: name: is required; count=20: must be at most 10")
}

func TestJSONSchema(t *testing.T) {
	f := flow.New("Every", func(workflow.Context, every) (string, error) { return "", nil }, flow.Options{Description: "one of each"})
	b, err := json.Marshal(f.JSONSchema())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, flow.JSONSchemaDialect, got["$schema"])
	assert.Equal(t, "Every", got["title"])
	assert.Equal(t, map[string]any{"type": "null"}, got["additionalProperties"], "an unknown name is refused unless null")
	assert.Equal(t, []any{"name", "window"}, got["required"], "window.start must be given, so window must")
	props := got["properties"].(map[string]any)
	assert.Equal(t, map[string]any{"type": []any{"integer", "null"}, "minimum": 1.0, "maximum": 10.0, "default": 3.0, "description": "how many"}, props["count"])
	assert.Equal(t, map[string]any{"type": []any{"string", "null"}, "enum": []any{"fast", "safe", nil}, "default": "safe", "description": "how"}, props["mode"])
	assert.Equal(t, map[string]any{"type": "string", "minLength": 1.0, "maxLength": 20.0, "description": "a name"}, props["name"])
	sources := props["sources"].(map[string]any)
	assert.Equal(t, []any{"array", "null"}, sources["type"])
	assert.Equal(t, 3.0, sources["maxItems"])
	assert.Equal(t, []any{"demo://orders"}, sources["default"])
	assert.Contains(t, sources["items"].(map[string]any)[flow.RulesKeyword], "source_url")
	assert.Equal(t, "date", props["day"].(map[string]any)["format"])
	assert.Equal(t, "date-time", props["at"].(map[string]any)["format"])
	assert.Equal(t, []any{"boolean", "null"}, props["dry"].(map[string]any)["type"])
	assert.Equal(t, []any{"number", "null"}, props["ratio"].(map[string]any)["type"])
	timeout := props["timeout"].(map[string]any)
	assert.Contains(t, timeout, "pattern")
	assert.Equal(t, 1e9, timeout["minimum"], "a duration's bound on its nanoseconds")
	assert.Contains(t, timeout[flow.RulesKeyword], "min=1000000000", "and on its text")
	win := props["window"].(map[string]any)
	assert.Equal(t, "object", win["type"])
	assert.Equal(t, []any{"start"}, win["required"])
	assert.Contains(t, got[flow.RulesKeyword], flow.JSONTextRule)
}

func TestRegistry(t *testing.T) {
	a := flow.New("Alpha", func(workflow.Context, every) (string, error) { return "", nil }, flow.Options{})
	b := flow.New("Beta", func(workflow.Context, every) (string, error) { return "", nil }, flow.Options{TaskQueue: "q"})
	_, err := flow.NewRegistry(a, a)
	require.ErrorContains(t, err, "two flows are called Alpha")
	r := flow.MustRegistry(a, b)
	assert.Equal(t, []string{"Alpha", "Beta"}, r.Names())
	assert.Equal(t, runinfo.TaskQueue, a.TaskQueue, "default task queue")
	assert.Equal(t, "q", b.TaskQueue)
	_, err = r.Get("Alhpa")
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	assert.Equal(t, `unknown flow "Alhpa" (valid: Alpha, Beta); did you mean "Alpha"?`, err.Error())
	assert.Nil(t, r.Lookup("Gamma"))
}

// TestWorkflowRevalidates: the registered workflow decodes its raw input
// itself, and bad input ends it with a non-retryable InvalidParameters
// naming every bad field, before the flow's own code runs.
func TestWorkflowRevalidates(t *testing.T) {
	ran := false
	f := flow.New("Every", func(_ workflow.Context, p every) (string, error) {
		ran = true
		return p.Name + "/" + p.Mode, nil
	}, flow.Options{})
	var s testsuite.WorkflowTestSuite
	run := func(input any) (string, error) {
		env := s.NewTestWorkflowEnvironment()
		flow.MustRegistry(f).RegisterWorkflows(env)
		env.ExecuteWorkflow("Every", input)
		require.True(t, env.IsWorkflowCompleted())
		if err := env.GetWorkflowError(); err != nil {
			return "", err
		}
		var out string
		require.NoError(t, env.GetWorkflowResult(&out))
		return out, nil
	}
	out, err := run(map[string]any{"name": "n", "window": map[string]any{"start": "2025-01-01"}})
	require.NoError(t, err)
	assert.Equal(t, "n/safe", out)
	assert.True(t, ran)

	ran = false
	_, err = run(map[string]any{"count": "ten", "mode": "slow"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	assert.Equal(t, runinfo.ErrInvalidParameters, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	for _, want := range []string{"name: is required", `count: must be an integer, got the string "ten"`, `mode="slow": must be one of fast, safe`, "window.start: is required"} {
		assert.Contains(t, appErr.Error(), want)
	}
	assert.False(t, ran, "the flow's code does not run on bad input")

	_, err = run(converter.NewRawValue(&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"name":`)}))
	require.True(t, errors.As(err, &appErr), "%v", err)
	assert.Contains(t, appErr.Error(), "parameters are not valid JSON")
}

func TestDate(t *testing.T) {
	d, err := flow.ParseDate("2024-02-28")
	require.NoError(t, err)
	assert.Equal(t, "2024-02-29", d.AddDays(1).String())
	assert.Equal(t, "2024-03-01", d.AddDays(2).String())
	assert.True(t, d.Before(d.AddDays(1)))
	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.Equal(t, `"2024-02-28"`, string(b))
	var back flow.Date
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d, back)
	b, err = json.Marshal(flow.Date{})
	require.NoError(t, err)
	assert.Equal(t, "null", string(b))
	loc, err := time.LoadLocation("America/Chicago")
	require.NoError(t, err)
	assert.Equal(t, "2024-02-28T06:00:00Z", d.In(loc).UTC().Format(time.RFC3339))
	_, err = flow.ParseDate("2024-02-30")
	require.Error(t, err)
}

// FuzzDecode: decoding any workflow input never panics; what it accepts
// keeps every rule of the DataPipeline parameters, and what it refuses it
// refuses with the same message every time. Seeds are in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"batch_size":10,"source_url":"demo://orders?seed=3"}`, `{"batch_size":"10"}`,
		`{"batch_size":1.5}`, `{"batch_size":1e9}`, `{"batch_size":-1}`, `{"batchsize":1}`,
		`{"source_url":"https://u:p@h:8080/x?token=t"}`, `{"source_url":"file:rel"}`,
		`[1]`, `"x"`, `null`, `{`, ``, `{"batch_size":1000000}`, `{} {}`,
	} {
		f.Add([]byte(seed))
	}
	s, err := flow.NewSchema(reflect.TypeFor[datapipeline.Params]())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := s.Decode(data)
		if err == nil {
			p := v.(*datapipeline.Params)
			if p.BatchSize < 1 || p.BatchSize > datapipeline.MaxBatchSize {
				t.Fatalf("batch_size %d passed", p.BatchSize)
			}
			if _, err := sourceurl.Parse(p.SourceURL); err != nil {
				t.Fatalf("source_url %q passed but: %v", p.SourceURL, err)
			}
			return
		}
		var ve *flow.ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) == 0 {
			t.Fatalf("Decode returned %T %v", err, err)
		}
		if _, again := s.Decode(data); again.Error() != err.Error() {
			t.Fatalf("not deterministic: %q then %q", err, again)
		}
	})
}

// TestBatchSizeRuleHasOneOwner: every flow that passes a batch size on to
// DataPipeline says validate:"batch_size", so DataPipeline and NightlyETL
// refuse, show and describe the same bounds: datapipeline.MaxBatchSize's.
func TestBatchSizeRuleHasOneOwner(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[datapipeline.Params](), reflect.TypeFor[report.NightlyParams]()} {
		t.Run(typ.String(), func(t *testing.T) {
			s, err := flow.NewSchema(typ)
			require.NoError(t, err)
			p, ok := s.Lookup("batch_size")
			require.True(t, ok)
			assert.Equal(t, fmt.Sprintf("min=1,max=%d", datapipeline.MaxBatchSize), p.Rule, "flows inspect shows the bounds")
			js := (&flow.Flow{Name: "x", Params: s}).JSONSchema()
			bs := js["properties"].(map[string]any)["batch_size"].(map[string]any)
			assert.Equal(t, int64(datapipeline.MaxBatchSize), bs["maximum"])
			assert.Equal(t, int64(1), bs["minimum"])

			doc := fmt.Sprintf(`{"batch_size": %d, "sources": ["demo://orders"]}`, datapipeline.MaxBatchSize)
			if typ == reflect.TypeFor[datapipeline.Params]() {
				doc = fmt.Sprintf(`{"batch_size": %d}`, datapipeline.MaxBatchSize)
			}
			_, err = s.Decode([]byte(doc))
			require.NoError(t, err, "the maximum itself is allowed")
			_, err = s.Decode([]byte(strings.Replace(doc, fmt.Sprint(datapipeline.MaxBatchSize), fmt.Sprint(datapipeline.MaxBatchSize+1), 1)))
			require.ErrorContains(t, err, fmt.Sprintf("batch_size=%d: must be at most %d", datapipeline.MaxBatchSize+1, datapipeline.MaxBatchSize))
			_, err = s.Decode([]byte(strings.Replace(doc, fmt.Sprint(datapipeline.MaxBatchSize), "0", 1)))
			require.ErrorContains(t, err, "batch_size=0: must be at least 1")
		})
	}
}

// A duration's bound is said as a duration, whether the rule gives it in
// nanoseconds (the validator's unit) or as a duration.
func TestDurationBoundMessage(t *testing.T) {
	type p struct {
		Short time.Duration `json:"short" validate:"min=1000000000" default:"1s"`
		Long  time.Duration `json:"long" validate:"max=1h" default:"1m"`
	}
	s, err := flow.NewSchema(reflect.TypeFor[p]())
	require.NoError(t, err)
	_, err = s.Decode([]byte(`{"short": "500ms", "long": "90m"}`))
	require.EqualError(t, err, "invalid parameters: short=500ms: must be at least 1s; long=1h30m0s: must be at most 1h")
	_, err = s.Decode([]byte(`{"short": "1s", "long": "1h"}`))
	require.NoError(t, err)
}
