package flow

import (
	"reflect"
	"slices"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/dataset"
)

// DatasetRule is the validate rule of a parameter that names a dataset:
// a built-in one (orders) or one of the manifest's datasets:; empty means
// the flow's default dataset. Like
// SourceURLRule, the rule, not the parameter's name, marks it: the
// manifest loader and the CLI give a declared dataset's definition to the
// flow's DatasetInput, so that a worker needs no manifest.
const DatasetRule = "dataset"

// IsDataset reports whether the parameter names a dataset (DatasetRule).
func (p *Param) IsDataset() bool { return slices.Contains(strings.Split(p.Rule, ","), DatasetRule) }

var datasetDefinition = reflect.TypeFor[*dataset.Definition]()

// DatasetInput returns the JSON name of the member of the input that
// carries the definition of the dataset a parameter names: a top-level
// field tagged param:"-" of type *dataset.Definition. ok is false when the
// flow has none; then its parameters may name built-in datasets only.
func (s *Schema) DatasetInput() (name string, ok bool) {
	names := make([]string, 0, len(s.hidden))
	for name := range s.hidden {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if s.typ.Field(s.hidden[name]).Type == datasetDefinition {
			return name, true
		}
	}
	return "", false
}
