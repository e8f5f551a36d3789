package flow_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/restapi"
)

// TestSourceInput: the source_url rule marks the parameters that name
// sources, whatever their names; the input member that carries the
// definitions is found by its type.
func TestSourceInput(t *testing.T) {
	type own struct {
		From    string                        `json:"from" validate:"required,source_url"`
		Extra   []string                      `json:"extra" validate:"dive,source_url_length,source_url"`
		Other   string                        `json:"other"`
		Defs    map[string]restapi.Definition `json:"defs" param:"-"`
		Comment string                        `json:"comment" param:"-"`
	}
	for _, tc := range []struct {
		params  any
		marked  []string
		in      flow.SourceInput
		carries bool
	}{
		{datapipeline.Params{}, []string{"source_url"}, flow.SourceInput{Name: "source", One: true}, true},
		{report.NightlyParams{}, []string{"sources"}, flow.SourceInput{Name: "source_definitions"}, true},
		{report.Params{}, nil, flow.SourceInput{}, false},
		{own{}, []string{"from", "extra"}, flow.SourceInput{Name: "defs"}, true},
	} {
		s, err := flow.NewSchema(reflect.TypeOf(tc.params))
		require.NoError(t, err)
		var marked []string
		for _, p := range s.All() {
			if p.IsSourceURL() {
				marked = append(marked, p.Name)
			}
		}
		assert.Equal(t, tc.marked, marked)
		in, ok := s.SourceInput()
		assert.Equal(t, tc.carries, ok)
		assert.Equal(t, tc.in, in)
	}
}
