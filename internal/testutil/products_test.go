package testutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/dataset"
)

// TestProductsCompiles: the bench and demo://products' tests compile it.
func TestProductsCompiles(t *testing.T) {
	_, err := dataset.Compile(Products())
	require.NoError(t, err)
	assert.Empty(t, Products().Validate())
}

// TestProductsMatchesYAML reads ProductsYAML field by field, in order,
// and checks it declares what Products does: the YAML the docs and the
// manifest ship and the Go value the bench loads are one dataset. (The
// manifest parser's own test of it belongs to package deployments.)
func TestProductsMatchesYAML(t *testing.T) {
	var doc struct {
		Datasets yaml.Node `yaml:"datasets"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(ProductsYAML), &doc))
	require.Equal(t, yaml.MappingNode, doc.Datasets.Kind)
	require.Len(t, doc.Datasets.Content, 2, "one dataset")
	var ds struct {
		Description string    `yaml:"description"`
		Key         []string  `yaml:"key"`
		Fields      yaml.Node `yaml:"fields"`
	}
	require.NoError(t, doc.Datasets.Content[1].Decode(&ds))
	got := dataset.Definition{Name: doc.Datasets.Content[0].Value, Description: ds.Description, Key: ds.Key}
	for i := 0; i+1 < len(ds.Fields.Content); i += 2 {
		var f struct {
			Type      string   `yaml:"type"`
			Required  bool     `yaml:"required"`
			MaxLength int      `yaml:"max_length"`
			Precision int      `yaml:"precision"`
			Scale     int      `yaml:"scale"`
			Min       string   `yaml:"min"`
			OneOf     []string `yaml:"one_of"`
		}
		require.NoError(t, ds.Fields.Content[i+1].Decode(&f))
		got.Fields = append(got.Fields, dataset.Field{Name: ds.Fields.Content[i].Value, Type: dataset.Type(f.Type),
			Required: f.Required, MaxLength: f.MaxLength, Precision: f.Precision, Scale: f.Scale, Min: f.Min, OneOf: f.OneOf})
	}
	assert.Equal(t, Products(), got)
}

// TestProductsFresh: a caller changing its copy changes no one else's.
func TestProductsFresh(t *testing.T) {
	a := Products()
	a.Fields[8].OneOf[0] = "changed"
	a.Key[0] = "changed"
	assert.Equal(t, "free", Products().Fields[8].OneOf[0])
	assert.Equal(t, "sku", Products().Key[0])
}
