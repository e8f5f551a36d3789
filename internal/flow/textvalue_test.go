package flow_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/report"
)

// DataPipeline's max_rejected is a flow.TextValue: its type reads and
// checks its text; every way a value arrives (JSON, YAML's decoded values,
// --param strings, the workflow's own input) goes through that one parser.
func TestMaxRejectedParameter(t *testing.T) {
	s, err := flow.NewSchema(reflect.TypeFor[datapipeline.Params]())
	require.NoError(t, err)
	p, ok := s.Lookup("max_rejected")
	require.True(t, ok)
	assert.Equal(t, flow.Kind("count or percentage"), p.Kind)
	assert.Equal(t, datapipeline.MaxRejectedRule, p.Rule)
	assert.Nil(t, p.Default, "the default is no limit value: fail only when every record is rejected")
	assert.False(t, p.Required())

	rule := "must be " + datapipeline.MaxRejectedRule
	for _, tt := range []struct {
		name string
		in   any
		want any
		err  string
	}{
		{"count string", "10", "10", ""},
		{"percent", "5%", "5%", ""},
		{"percent canonical", "5.50%", "5.5%", ""},
		{"JSON integer", json.Number("25"), "25", ""},
		{"YAML integer", int64(0), "0", ""},
		{"Go int", 3, "3", ""},
		{"JSON fraction", json.Number("1.5"), nil, `max_rejected=1.5: ` + rule},
		{"negative integer", int64(-1), nil, `max_rejected=-1: ` + rule},
		{"word", "lots", nil, `max_rejected="lots": ` + rule},
		{"above 100%", "150%", nil, `max_rejected="150%": ` + rule},
		{"empty", "", nil, `max_rejected="": must not be empty; leave the parameter out to use its default`},
		{"boolean", true, nil, "max_rejected: must be a count or percentage, got the boolean true"},
		{"float", 2.5, nil, "max_rejected: must be a count or percentage, got the number 2.5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, problems := p.Coerce(tt.in)
			if tt.err != "" {
				require.Len(t, problems, 1)
				assert.Equal(t, tt.err, problems[0].String())
				return
			}
			require.Empty(t, problems)
			assert.Equal(t, tt.want, v)
		})
	}

	v, err := p.ParseString("0.5%")
	require.NoError(t, err)
	assert.Equal(t, "0.5%", v)
	_, err = p.ParseString("5x")
	require.EqualError(t, err, rule)

	// The workflow's input: decoded into the struct, checked, and every
	// problem reported with the others.
	got, err := s.Decode([]byte(`{"max_rejected": 10}`))
	require.NoError(t, err)
	assert.Equal(t, datapipeline.MaxRejectedCount(10), got.(*datapipeline.Params).MaxRejected)
	got, err = s.Decode([]byte(`{"max_rejected": "2.5%"}`))
	require.NoError(t, err)
	assert.Equal(t, "2.5%", got.(*datapipeline.Params).MaxRejected.String())
	got, err = s.Decode([]byte(`{}`))
	require.NoError(t, err)
	assert.True(t, got.(*datapipeline.Params).MaxRejected.IsZero())
	_, err = s.Decode([]byte(`{"batch_size": 0, "max_rejected": "5 %"}`))
	require.EqualError(t, err, `invalid parameters: batch_size=0: must be at least 1; max_rejected="5 %": `+rule)

	full, err := s.Check(map[string]any{"max_rejected": int64(7)})
	require.NoError(t, err)
	assert.Equal(t, "7", full["max_rejected"], "the canonical value is the text")
	full, err = s.Check(map[string]any{})
	require.NoError(t, err)
	assert.NotContains(t, full, "max_rejected")
}

func TestMaxRejectedJSONSchema(t *testing.T) {
	for _, f := range []*flow.Flow{
		flow.New(datapipeline.WorkflowType, func(workflow.Context, datapipeline.Params) (string, error) { return "", nil }, flow.Options{}),
		flow.New(report.NightlyETLWorkflow, func(workflow.Context, report.NightlyParams) (string, error) { return "", nil }, flow.Options{}),
	} {
		t.Run(f.Name, func(t *testing.T) {
			b, err := json.Marshal(f.JSONSchema())
			require.NoError(t, err)
			var got struct {
				Properties map[string]map[string]any `json:"properties"`
			}
			require.NoError(t, json.Unmarshal(b, &got))
			mr := got.Properties["max_rejected"]
			require.NotNil(t, mr)
			assert.Equal(t, []any{"integer", "string", "null"}, mr["type"], "null: left out")
			assert.Equal(t, 0.0, mr["minimum"])
			assert.Equal(t, float64(datapipeline.MaxBatchSize), mr["maximum"])
			assert.Equal(t, datapipeline.MaxRejectedPattern, mr["pattern"])
			assert.NotEmpty(t, mr["description"])
			assert.NotContains(t, mr, "default")
		})
	}
}
