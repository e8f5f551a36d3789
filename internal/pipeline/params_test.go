package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"

	"github.com/blueprint-etl/blueprint/internal/source/restapi"
)

// decode unmarshals a workflow input the way the Temporal SDK's JSON
// converter does.
func decode(t *testing.T, input string) Params {
	t.Helper()
	var p Params
	require.NoError(t, json.Unmarshal([]byte(input), &p), "UnmarshalJSON never fails on valid JSON")
	return p
}

// problems returns the problems Validate reports, or nil.
func problems(t *testing.T, p Params) []string {
	t.Helper()
	err := p.Validate()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.NotEmpty(t, ve.Problems)
	assert.Equal(t, "invalid parameters: "+strings.Join(ve.Problems, "; "), err.Error())
	return ve.Problems
}

func TestParamsDecodeValid(t *testing.T) {
	tests := []struct {
		input string
		want  Params
	}{
		{`{}`, Params{BatchSize: 100, SourceURL: "demo://orders"}},
		{` { } `, Params{BatchSize: 100, SourceURL: "demo://orders"}},
		{`{"batch_size":5}`, Params{BatchSize: 5, SourceURL: "demo://orders"}},
		{`{"batch_size":100000000}`, Params{BatchSize: 100000000, SourceURL: "demo://orders"}},
		{`{"source_url":"file:///data/orders.csv"}`, Params{BatchSize: 100, SourceURL: "file:///data/orders.csv"}},
		{`{"source_url":"https://api.example.com/orders","batch_size":7}`, Params{BatchSize: 7, SourceURL: "https://api.example.com/orders"}},
		{`{"batch_size":null}`, Params{BatchSize: 100, SourceURL: "demo://orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			p := decode(t, tt.input)
			assert.Equal(t, tt.want.BatchSize, p.BatchSize)
			assert.Equal(t, tt.want.SourceURL, p.SourceURL)
			assert.NoError(t, p.Validate())
		})
	}
}

// TestParamsDecodeProblems covers inputs that are valid JSON but not valid
// parameters: each problem names the field, what was wrong and what is
// expected, and Validate reports it.
func TestParamsDecodeProblems(t *testing.T) {
	tests := []struct {
		input string
		want  []string
	}{
		{`{"batch_size":"10"}`, []string{"batch_size: got a JSON string, must be an integer"}},
		{`{"batch_size":1.5}`, []string{"batch_size: got a JSON number 1.5, must be an integer"}},
		{`{"batch_size":1e9}`, []string{"batch_size: got a JSON number 1e9, must be an integer"}},
		{`{"batch_size":2.0e2}`, []string{"batch_size: got a JSON number 2.0e2, must be an integer"}},
		{`{"batch_size":99999999999999999999}`, []string{"batch_size=99999999999999999999: is out of range for an integer"}},
		{`{"batch_size":true}`, []string{"batch_size: got a JSON bool, must be an integer"}},
		{`{"batch_size":[1]}`, []string{"batch_size: got a JSON array, must be an integer"}},
		{`{"source_url":5}`, []string{"source_url: got a JSON number, must be a string"}},
		{`{"source_url":{"x":1}}`, []string{"source_url: got a JSON object, must be a string"}},
		{`{"batchsize":10}`, []string{`batchsize: unknown parameter (valid: batch_size, source_url); did you mean "batch_size"?`}},
		{`{"source":"demo://orders"}`, []string{`source: got a JSON string, must be an object (the definition of source_url's source:NAME, filled in by the blueprint CLI); did you mean "source_url"?`}},
		{`{"zzz":1}`, []string{`zzz: unknown parameter (valid: batch_size, source_url)`}},
		{`[1]`, []string{"parameters must be a JSON object"}},
		{`"x"`, []string{"parameters must be a JSON object"}},
		{`42`, []string{"parameters must be a JSON object"}},
		// null is not "no input" (that is a zero Params, see WithDefaults):
		// a client that sends null sent something that is not an object.
		{`null`, []string{"parameters must be a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			assert.Equal(t, tt.want, problems(t, decode(t, tt.input)))
		})
	}
}

// TestParamsUnmarshalJSONDirect covers bytes json.Unmarshal would refuse
// before calling UnmarshalJSON, for callers that call it directly: it
// still never fails and Validate reports the problem.
func TestParamsUnmarshalJSONDirect(t *testing.T) {
	tests := []struct {
		input, want string
	}{
		{``, "parameters must be a JSON object"},
		{`   `, "parameters must be a JSON object"},
		{`{"batch_size":`, "parameters are not valid JSON: unexpected EOF"},
		{`{"batch_size":1,}`, "parameters are not valid JSON: invalid character '}' looking for beginning of object key string"},
		{`{'batch_size':1}`, "parameters are not valid JSON: invalid character '\\'' looking for beginning of object key string"},
		{`{} {"batch_size":0}`, "parameters are not valid JSON: data after the object"},
		{`{}}`, "parameters are not valid JSON: data after the object"},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			var p Params
			require.NoError(t, p.UnmarshalJSON([]byte(tt.input)))
			assert.Equal(t, []string{tt.want}, problems(t, p))
		})
	}
}

func TestParamsValidateProblems(t *testing.T) {
	tests := []struct {
		name   string
		params Params
		want   []string
	}{
		{"batch_size 0", Params{BatchSize: 0, SourceURL: "demo://orders"}, []string{"batch_size=0: must be at least 1"}},
		{"batch_size -1", Params{BatchSize: -1, SourceURL: "demo://orders"}, []string{"batch_size=-1: must be at least 1"}},
		{"batch_size too big", Params{BatchSize: 100000001, SourceURL: "demo://orders"}, []string{"batch_size=100000001: must be at most 100000000"}},
		{"empty source_url", Params{BatchSize: 1, SourceURL: ""}, []string{"source_url: is required"}},
		{"blank source_url", Params{BatchSize: 1, SourceURL: "  "}, []string{`source_url="  ": is empty; use http(s)://, file://, demo:// or source:NAME`}},
		{"too long source_url", Params{BatchSize: 1, SourceURL: "demo://orders?seed=" + strings.Repeat("1", 4096)}, []string{"source_url: must be at most 4096 characters"}},
		{"no scheme", Params{BatchSize: 1, SourceURL: "orders.csv"}, []string{`source_url="orders.csv": has no scheme; use http(s)://, file://, demo:// or source:NAME`}},
		{"ftp", Params{BatchSize: 1, SourceURL: "ftp://x"}, []string{`source_url="ftp://x": scheme "ftp" is not supported; use http, https, file, demo or source`}},
		{"http without host", Params{BatchSize: 1, SourceURL: "http://"}, []string{`source_url="http://": has no host`}},
		{"http port only", Params{BatchSize: 1, SourceURL: "http://:8080/x"}, []string{`source_url="http://:8080/x": has no host`}},
		{"port 0", Params{BatchSize: 1, SourceURL: "https://example.com:0/x"}, []string{`source_url="https://example.com:0/x": port "0" is not between 1 and 65535`}},
		{"port too big", Params{BatchSize: 1, SourceURL: "https://example.com:65536/x"}, []string{`source_url="https://example.com:65536/x": port "65536" is not between 1 and 65535`}},
		{"file with host", Params{BatchSize: 1, SourceURL: "file://host/x"}, []string{`source_url="file://host/x": file URLs name a local path (file:///abs/path or file:rel/path), not host "host"`}},
		{"file without path", Params{BatchSize: 1, SourceURL: "file:///data/"}, []string{`source_url="file:///data/": has no file path`}},
		{"unknown demo dataset", Params{BatchSize: 1, SourceURL: "demo://nope"}, []string{`source_url="demo://nope": unknown demo dataset "nope"; available: orders`}},
		{"demo latency too long", Params{BatchSize: 1, SourceURL: "demo://orders?latency=2h"}, []string{`source_url="demo://orders?latency=2h": latency="2h" must be a duration from 0s to 1m0s (like 200ms)`}},
		{"demo failure_rate above 1", Params{BatchSize: 1, SourceURL: "demo://orders?failure_rate=1.5"}, []string{`source_url="demo://orders?failure_rate=1.5": failure_rate="1.5" must be a number from 0 to 1`}},
		{"demo unknown option", Params{BatchSize: 1, SourceURL: "demo://orders?bogus=1"}, []string{`source_url="demo://orders?bogus=1": unknown demo option "bogus" (valid: seed, latency, failure_rate, fail)`}},
		{"space", Params{BatchSize: 1, SourceURL: "http://example.com/a b"}, []string{`source_url="http://example.com/a b": must not contain white space`}},
		{"space in host", Params{BatchSize: 1, SourceURL: "http://exa mple.com/"}, []string{`source_url="http://exa mple.com/": must not contain white space`}},
		{"trailing newline", Params{BatchSize: 1, SourceURL: "demo://orders\n"}, []string{`source_url="demo://orders%0A": must not contain white space`}},
		{"credentials", Params{BatchSize: 1, SourceURL: "https://etl:hunter2@example.com/x?api_key=k"}, []string{`source_url="https://etl:xxxxx@example.com/x?api_key=xxxxx": must not carry credentials (user info before the host): the URL is stored in the run's history on the Temporal server; give them to the worker instead (BLUEPRINT_HTTP_BEARER_TOKEN, or a named source's auth read from the worker's environment)`}},
		{"bad escape", Params{BatchSize: 1, SourceURL: "http://example.com/%zz"}, []string{`source_url="http://example.com/%zz": is not a URL: invalid URL escape "%zz"`}},
		{
			"every field at once, in field order", Params{BatchSize: 0, SourceURL: "x"},
			[]string{"batch_size=0: must be at least 1", `source_url="x": has no scheme; use http(s)://, file://, demo:// or source:NAME`},
		},
		{"zero value", Params{}, []string{"batch_size=0: must be at least 1", "source_url: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, problems(t, tt.params))
		})
	}
}

// TestParamsValidateHidesSecrets: a bad source_url is quoted in the
// message, redacted.
func TestParamsValidateHidesSecrets(t *testing.T) {
	const secret = "s3cr3tV4lue"
	for _, u := range []string{
		"https://user:" + secret + "@example.com:0/x",
		"https://user:" + secret + "@exa mple.com/x",
		"http:user:" + secret + "@example.com/x",
		"ftp://user:" + secret + "@example.com/x",
		"https://example.com:99999/x?api_key=" + secret,
		"https://example.com:0/x?token=" + secret + ";page=2",
		"https://example.com:0/x?page=2;token=" + secret,
		"https://example.com:0/x?access_token=%zz" + secret,
		"https://" + secret + "@example.com:0/x",
		"demo://orders?bogus=1&auth=" + secret,
	} {
		t.Run(u, func(t *testing.T) {
			err := Params{BatchSize: 1, SourceURL: u}.Validate()
			require.Error(t, err)
			assert.NotContains(t, err.Error(), secret)
			assert.Contains(t, err.Error(), "source_url=")
		})
	}
}

func TestParamsValidateValid(t *testing.T) {
	for _, u := range []string{
		"http://example.com",
		"http://example.com/orders.json",
		"HTTP://EXAMPLE.COM/x",
		"https://api.example.com:8443/v1/orders?page=1&api_key=k",
		"http://[::1]:8080/orders",
		"http://localhost:1/x",
		"https://example.com:65535/x",
		"file:///abs/orders.ndjson",
		"file://localhost/abs/orders.csv",
		"file:rel/orders.csv",
		"file:orders.json",
		"demo://orders",
		"demo://orders/",
		"demo:orders",
		"demo://orders?seed=42&latency=200ms&failure_rate=0.25&fail=never",
		"demo://orders?fail=always",
		"demo://orders?latency=0s&failure_rate=1&seed=0",
		"demo://orders?latency=1m",
		"demo://orders?seed=18446744073709551615",
	} {
		t.Run(u, func(t *testing.T) {
			assert.NoError(t, Params{BatchSize: 1, SourceURL: u}.Validate())
			assert.NoError(t, Params{BatchSize: MaxBatchSize, SourceURL: u}.Validate())
		})
	}
}

// TestParamsValidateDeterministic: Validate runs in workflow code, so the
// same input must give the same message every time (a replay compares
// them).
func TestParamsValidateDeterministic(t *testing.T) {
	inputs := []Params{
		{BatchSize: 0, SourceURL: "demo://orders?zeta=1&alpha=2&beta=3&latency=x&seed=y"},
		{BatchSize: -5, SourceURL: "https://u:p@h:0/x?token=a&key=b&sig=c&z=1&a=2"},
		{BatchSize: 1000001, SourceURL: ""},
		decode(t, `{"zz":1,"batchsize":2}`),
		decode(t, `{"batch_size":"x"}`),
	}
	for _, p := range inputs {
		first := p.Validate()
		require.Error(t, first)
		for range 50 {
			assert.Equal(t, first.Error(), p.Validate().Error())
		}
	}
}

func TestParamsWithDefaults(t *testing.T) {
	defaults := Params{BatchSize: DefaultBatchSize, SourceURL: DefaultSourceURL}
	tests := []struct {
		name string
		in   Params
		want Params
	}{
		{"no input at all", Params{}, defaults},
		{"set fields are kept", Params{BatchSize: 7, SourceURL: "file:x"}, Params{BatchSize: 7, SourceURL: "file:x"}},
		{"a partly set value is not filled in", Params{BatchSize: 7}, Params{BatchSize: 7}},
		{"a partly set value is not filled in", Params{SourceURL: "file:x"}, Params{SourceURL: "file:x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.WithDefaults()
			assert.Equal(t, tt.want.BatchSize, got.BatchSize)
			assert.Equal(t, tt.want.SourceURL, got.SourceURL)
		})
	}
	t.Run("a decoded input keeps its zeros", func(t *testing.T) {
		p := decode(t, `{"batch_size":0,"source_url":""}`).WithDefaults()
		assert.Equal(t, 0, p.BatchSize)
		assert.Empty(t, p.SourceURL)
		assert.Error(t, p.Validate())
	})
	t.Run("a decoded input keeps its problems", func(t *testing.T) {
		p := decode(t, `[1]`).WithDefaults()
		assert.Equal(t, []string{"parameters must be a JSON object"}, problems(t, p))
	})
	assert.NoError(t, Params{}.WithDefaults().Validate())
}

// TestParamsJSONRoundTrip: what a client sends is what the workflow gets.
func TestParamsJSONRoundTrip(t *testing.T) {
	in := Params{BatchSize: 250, SourceURL: "demo://orders?seed=9"}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"batch_size":250,"source_url":"demo://orders?seed=9"}`, string(b))
	out := decode(t, string(b))
	assert.Equal(t, in.BatchSize, out.BatchSize)
	assert.Equal(t, in.SourceURL, out.SourceURL)
	assert.NoError(t, out.Validate())
}

func TestParamSpecs(t *testing.T) {
	require.Len(t, ParamSpecs, 2)
	assert.Equal(t, ParamSpec{Name: "batch_size", Type: "integer", Default: 100, Help: "records to extract in one run"}, ParamSpecs[0])
	assert.Equal(t, "source_url", ParamSpecs[1].Name)
	assert.Equal(t, "string", ParamSpecs[1].Type)
	assert.Equal(t, "demo://orders", ParamSpecs[1].Default)
	assert.NotEmpty(t, ParamSpecs[1].Help)

	assert.Equal(t, []string{"batch_size", "source_url"}, ParamNames())
	spec, ok := LookupParam("source_url")
	assert.True(t, ok)
	assert.Equal(t, ParamSpecs[1], spec)
	_, ok = LookupParam("Source_URL")
	assert.False(t, ok, "names are exact")
	_, ok = LookupParam("")
	assert.False(t, ok)

	b, err := json.Marshal(ParamSpecs[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"batch_size","type":"integer","default":100,"help":"records to extract in one run"}`, string(b))
}

func TestUnknownParamError(t *testing.T) {
	tests := []struct {
		name, suggest string
	}{
		{"batchsize", "batch_size"},
		{"batch-size", "batch_size"},
		{"BatchSize", "batch_size"},
		{"batch_szie", "batch_size"},
		{"batch", "batch_size"},
		{"source", "source_url"},
		{"sourceurl", "source_url"},
		{"sorce_url", "source_url"},
		{"url", "source_url"},
		{"zzz", ""},
		{"x", ""},
		{"", ""},
		{"parallelism", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := UnknownParamError(tt.name)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, `unknown parameter "`+tt.name+`" (valid: batch_size, source_url)`), msg)
			if tt.suggest == "" {
				assert.NotContains(t, msg, "did you mean")
			} else {
				assert.True(t, strings.HasSuffix(msg, `; did you mean "`+tt.suggest+`"?`), msg)
			}
		})
	}
}

func TestStageDurationsJSONIsMilliseconds(t *testing.T) {
	d := StageDurations{Extract: 1500 * time.Millisecond, Transform: 2 * time.Millisecond, Load: time.Second, Total: 2502 * time.Millisecond}
	b, err := json.Marshal(Summary{Durations: d})
	require.NoError(t, err)
	require.Contains(t, string(b), `"durations":{"extract_ms":1500,"transform_ms":2,"load_ms":1000,"total_ms":2502}`)
	var back Summary
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, d, back.Durations)
}

func TestDecodeParams(t *testing.T) {
	jsonPayload := func(s string) *commonpb.Payload {
		return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(s)}
	}
	for _, tt := range []struct {
		name    string
		payload *commonpb.Payload
		want    Params // after WithDefaults
		problem string // "" when valid
	}{
		{"no input", nil, Params{BatchSize: DefaultBatchSize, SourceURL: DefaultSourceURL}, ""},
		{"null", &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}, Params{BatchSize: DefaultBatchSize, SourceURL: DefaultSourceURL}, ""},
		{"object", jsonPayload(`{"batch_size":7}`), Params{BatchSize: 7, SourceURL: DefaultSourceURL}, ""},
		{"truncated JSON", jsonPayload(`{"batch_size": 5`), Params{}, "parameters are not valid JSON"},
		{"trailing data", jsonPayload(`{"batch_size": 5} {}`), Params{}, "data after the object"},
		{"not an object", jsonPayload(`[1]`), Params{}, "must be a JSON object"},
		{"other encoding", &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte("x")}, Params{}, `encoding "binary/plain"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := DecodeParams(tt.payload).WithDefaults()
			err := p.Validate()
			if tt.problem == "" {
				require.NoError(t, err)
				require.Equal(t, tt.want.BatchSize, p.BatchSize)
				require.Equal(t, tt.want.SourceURL, p.SourceURL)
				return
			}
			require.ErrorContains(t, err, tt.problem)
		})
	}
}

func TestParamsNamedSource(t *testing.T) {
	def := &restapi.Definition{Name: "shop", URL: "https://api.example.com/orders", Paginate: restapi.Paginate{Style: restapi.StylePage}}
	tests := []struct {
		name string
		p    Params
		want []string
	}{
		{"named with its definition", Params{BatchSize: 1, SourceURL: "source:shop", Source: def}, nil},
		{"named without a definition", Params{BatchSize: 1, SourceURL: "source:shop"},
			[]string{`source_url=source:shop: the input carries no definition of source "shop"; start the run with the blueprint CLI, which takes it from the manifest's sources:`}},
		{"definition of another source", Params{BatchSize: 1, SourceURL: "source:crm", Source: def},
			[]string{`source: the definition is of source "shop", but source_url names "crm"`}},
		{"definition with a plain URL", Params{BatchSize: 1, SourceURL: "demo://orders", Source: def},
			[]string{`source: a source definition (for "shop") goes with source_url=source:shop only`}},
		{"broken definition", Params{BatchSize: 1, SourceURL: "source:shop", Source: &restapi.Definition{Name: "shop", URL: "https://a.example.com", Paginate: restapi.Paginate{Style: "pages"}}},
			[]string{`source.paginate.style: unknown pagination style "pages" (valid: auto, link, next_url, page, offset, cursor, single); did you mean "page"?`}},
		{"bad name", Params{BatchSize: 1, SourceURL: "source:Shop"},
			[]string{`source_url="source:Shop": source:NAME names a source of the manifest's sources: section; NAME is lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				spec, err := tt.p.Spec()
				require.NoError(t, err)
				require.Equal(t, SourceHTTP, spec.Kind)
				require.Equal(t, def, spec.API)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.want, ve.Problems)
		})
	}

	// The definition travels through the workflow input's JSON.
	b, err := json.Marshal(Params{BatchSize: 1, SourceURL: "source:shop", Source: def})
	require.NoError(t, err)
	var p Params
	require.NoError(t, json.Unmarshal(b, &p))
	require.NoError(t, p.Validate())
	require.Equal(t, def, p.Source)
	_, ok := LookupParam("source")
	require.False(t, ok, "source is not a parameter one sets")
}
