package flow_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/flow"
)

func jsonSchemaOf[P any](t *testing.T) (map[string]any, *flow.Flow) {
	t.Helper()
	f := flow.New("F", func(workflow.Context, P) (string, error) { return "", nil }, flow.Options{})
	b, err := json.Marshal(f.JSONSchema())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	return got, f
}

// A rule the table of rules does not know, or knows for other kinds, is
// reported (a test holds every flow to none) and still listed under the
// vendor keyword: never silently dropped.
func TestJSONSchemaReportsUnmappedRules(t *testing.T) {
	type params struct {
		Code  string   `json:"code" validate:"alphanum"`
		Word  string   `json:"word" validate:"unique"`
		Tags  []string `json:"tags" validate:"dive,alpha"`
		Ratio float32  `json:"ratio"`
		Count int      `json:"count" validate:"oneof=1 2"`
	}
	got, f := jsonSchemaOf[params](t)
	unmapped := f.Params.UnmappedRules()
	require.Len(t, unmapped, 5, "%q", unmapped)
	for i, prefix := range []string{"code: alphanum", "word: unique", "tags[]: alpha", "ratio: float32", "count: oneof=1 2"} {
		assert.Contains(t, unmapped[i], prefix)
	}
	props := got["properties"].(map[string]any)
	assert.Contains(t, props["code"].(map[string]any)[flow.RulesKeyword], "alphanum")
	assert.Contains(t, props["tags"].(map[string]any)["items"].(map[string]any)[flow.RulesKeyword], "alpha")
	assert.Contains(t, flow.JSONSchemaRules(), "http_url")
	assert.NotContains(t, flow.JSONSchemaRules(), "alphanum")
}

// A parameter must be given ("required") when it has no default and its
// zero value breaks its rules; otherwise null is allowed and means "left
// out".
func TestJSONSchemaRequired(t *testing.T) {
	type inner struct {
		Since flow.Date `json:"since" validate:"required"`
	}
	type params struct {
		Zone    string   `json:"zone" validate:"required,timezone" default:"UTC"`
		Name    string   `json:"name" validate:"required"`
		Sources []string `json:"sources" validate:"min=1,unique"`
		Tags    []string `json:"tags" validate:"max=3"`
		Step    int      `json:"step" validate:"min=1"`
		Level   int      `json:"level" validate:"min=0"`
		Inner   inner    `json:"inner"`
	}
	got, _ := jsonSchemaOf[params](t)
	assert.Equal(t, []any{"name", "sources", "step", "inner"}, got["required"])
	props := got["properties"].(map[string]any)
	for name, typ := range map[string]any{
		"zone": []any{"string", "null"}, "name": "string", "sources": "array", "tags": []any{"array", "null"},
		"step": "integer", "level": []any{"integer", "null"}, "inner": "object",
	} {
		assert.Equal(t, typ, props[name].(map[string]any)["type"], name)
	}
	sources := props["sources"].(map[string]any)
	assert.Equal(t, 1.0, sources["minItems"])
	assert.Equal(t, true, sources["uniqueItems"])
	assert.Equal(t, 1.0, props["zone"].(map[string]any)["minLength"], `"" breaks required`)
}

// A date-time is RFC 3339's, as its JSON Schema pattern says: time.Parse
// alone takes more.
func TestDateTimeIsRFC3339(t *testing.T) {
	s, err := flow.NewSchema(reflect.TypeFor[struct {
		At time.Time `json:"at"`
	}]())
	require.NoError(t, err)
	p, ok := s.Lookup("at")
	require.True(t, ok)
	for _, tt := range []struct {
		in   string
		want string
	}{
		{"2025-01-31T09:00:00Z", "2025-01-31T09:00:00Z"},
		{"2025-01-31T09:00:00.25+05:30", "2025-01-31T09:00:00.25+05:30"},
		{"2025-01-31T9:00:00Z", ""},
		{"2025-01-31T09:00:00,5Z", ""},
		{"2025-01-31T09:00:00+24:00", ""},
		{"2025-01-31T09:00:00+23:60", ""},
		{"2025-01-31t09:00:00z", ""},
		{"2025-02-30T09:00:00Z", ""},
	} {
		t.Run(tt.in, func(t *testing.T) {
			v, err := p.ParseString(tt.in)
			if tt.want == "" {
				require.ErrorContains(t, err, "must be a date-time in RFC 3339")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, v)
		})
	}
}
