package pipeline_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

func TestParamsObjectIsTheWorkflowInput(t *testing.T) {
	p := pipeline.Params{BatchSize: 250, SourceURL: "https://api.example.com/orders?api_key=k"}
	obj := p.Object()
	assert.Equal(t, map[string]any{"batch_size": float64(250), "source_url": p.SourceURL}, obj)

	// Decoding the object gives back the same parameters.
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	var back pipeline.Params
	require.NoError(t, json.Unmarshal(b, &back))
	require.NoError(t, back.Validate())
	assert.Equal(t, p.BatchSize, back.BatchSize)
	assert.Equal(t, p.SourceURL, back.SourceURL)
}

func TestRedactObject(t *testing.T) {
	in := map[string]any{"batch_size": float64(5), "source_url": "https://user:s3cret@api.example.com/orders?api_key=k", "note": "plain"}
	out := pipeline.RedactObject(in)
	assert.NotContains(t, out["source_url"], "s3cret")
	assert.NotContains(t, out["source_url"], "api_key=k")
	assert.Equal(t, float64(5), out["batch_size"])
	assert.Equal(t, "plain", out["note"])
	assert.Contains(t, in["source_url"], "s3cret", "the input is left alone")
}
