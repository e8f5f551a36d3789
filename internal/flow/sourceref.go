package flow

import (
	"reflect"
	"slices"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/restapi"
)

// SourceURLRule is the validate rule of a parameter that names a source:
// its value (a string), or each of its items (a list, after dive), is an
// http(s)://, file:// or demo:// URL or a source:NAME of the manifest's
// sources:. The rule, not the parameter's name, is what marks it: the
// manifest loader and the CLI give every source:NAME they find in such a
// parameter its definition, in the flow's SourceInput.
const SourceURLRule = "source_url"

// IsSourceURL reports whether the parameter names a source (SourceURLRule).
func (p *Param) IsSourceURL() bool { return slices.Contains(strings.Split(p.Rule, ","), SourceURLRule) }

// SourceInput is the member of a flow's input that carries the
// definitions of the source:NAME its parameters name: a top-level field
// tagged param:"-" (part of the input, not a parameter), of type
// map[string]restapi.Definition (by NAME), or *restapi.Definition for the
// one source of a flow with a single source_url (DataPipeline's source).
type SourceInput struct {
	// Name is the member's JSON name.
	Name string
	// One is true for a *restapi.Definition: the input carries one
	// definition, so its parameters may name one source:NAME.
	One bool
}

var (
	oneDefinition     = reflect.TypeFor[*restapi.Definition]()
	definitionsByName = reflect.TypeFor[map[string]restapi.Definition]()
)

// SourceInput returns the member of the input that carries source
// definitions; ok is false when the flow has none, and then its
// parameters cannot name a source:NAME.
func (s *Schema) SourceInput() (in SourceInput, ok bool) {
	names := make([]string, 0, len(s.hidden))
	for name := range s.hidden {
		names = append(names, name)
	}
	slices.Sort(names) // the first of several, always the same one
	for _, name := range names {
		switch s.typ.Field(s.hidden[name]).Type {
		case definitionsByName:
			return SourceInput{Name: name}, true
		case oneDefinition:
			return SourceInput{Name: name, One: true}, true
		}
	}
	return SourceInput{}, false
}
