package datapipeline_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
)

func TestParamsObjectIsTheWorkflowInput(t *testing.T) {
	p := datapipeline.Params{BatchSize: 250, SourceURL: "https://api.example.com/orders?api_key=k"}
	obj := p.Object()
	assert.Equal(t, map[string]any{"batch_size": float64(250), "source_url": p.SourceURL}, obj)

	// Decoding the object gives back the same parameters.
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	var back datapipeline.Params
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, p.BatchSize, back.BatchSize)
	assert.Equal(t, p.SourceURL, back.SourceURL)
}
