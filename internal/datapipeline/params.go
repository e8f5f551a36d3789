package datapipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Defaults applied to fields the input does not mention. The `default:`
// tags below must say the same (a test checks it).
const (
	DefaultDataset   = "orders"
	DefaultBatchSize = 100
	DefaultSourceURL = "demo://orders"
	MaxBatchSize     = 100_000_000
)

// BatchSizeRule is the rule of every parameter that is a batch size for
// DataPipeline: DataPipeline's own and NightlyETL's per-source one. A
// struct field says validate:"batch_size" and internal/flow expands the
// name to this rule (for the validator, `flows inspect` and the JSON
// Schema alike), so the limit is written here only.
var BatchSizeRule = fmt.Sprintf("min=1,max=%d", MaxBatchSize)

// SourceURLLengthRule bounds every parameter that is a source URL
// (validate:"source_url_length", expanded like batch_size), to the limit
// the HTTP source applies to every URL it reads.
var SourceURLLengthRule = fmt.Sprintf("max=%d", restapi.MaxURLLength)

// Params is the DataPipeline workflow's input (the Prefect original's
// ExtractConfig). JSON names are snake_case so that a run can be started
// from the Temporal CLI or Web UI with the same document the blueprint CLI
// sends. Its schema (types, defaults, rules, descriptions) is derived from
// the tags by internal/flow, which also decodes and checks the input
// before the workflow sees it.
type Params struct {
	// BatchSize is how many records one run extracts.
	BatchSize int `json:"batch_size" validate:"batch_size" default:"100" help:"records to extract in one run"`
	// SourceURL says where to extract from: http(s)://, file://, demo://
	// or source:NAME, a source declared in the manifest's sources: section.
	SourceURL string `json:"source_url" validate:"required,source_url_length,source_url" default:"demo://orders" help:"http(s):// JSON API, file:// JSON/NDJSON/CSV file, demo://orders, or source:NAME from the manifest's sources:"`
	// MaxRejected is how many rejected records fail the run: a count or a
	// percentage of the extracted records; by default, all of them (see
	// RejectLimit). It is the only way a record's content fails a run.
	MaxRejected RejectLimit `json:"max_rejected,omitzero" help:"rejected records a run may have and still load the rest: a count (10) or a percentage of the extracted records (5%); more fails the run, nothing loaded (default: fail only when every record is rejected)"`
	// Source is the definition of the source:NAME that SourceURL names.
	// The blueprint CLI fills it from the manifest, so the worker needs no
	// copy of the manifest; it holds environment variable names, never
	// secrets. It is not a parameter one sets by hand (param:"-"): it is
	// part of the input, not of the schema.
	Source *restapi.Definition `json:"source,omitempty" validate:"-" param:"-"`
	// Dataset names the dataset the run loads: the built-in orders, or
	// one of the manifest's datasets:, whose records, rules and table the
	// manifest declares. Empty means DefaultDataset: the parameter has no
	// default tag so that the input of a run, a schedule or a trigger that
	// loads orders is what it was before datasets existed, and upgrading
	// blueprint changes no deployed schedule (see DatasetName).
	Dataset string `json:"dataset,omitempty" validate:"dataset" help:"the dataset the run loads: orders (built in; the default) or a dataset of the manifest's datasets:"`
	// DatasetDefinition is the definition of a Dataset the manifest
	// declares. The blueprint CLI fills it from the manifest, like Source,
	// so that a worker needs no manifest and a schedule keeps the
	// definition it was deployed with; a built-in dataset has none.
	DatasetDefinition *dataset.Definition `json:"dataset_definition,omitempty" validate:"-" param:"-"`
}

// CheckParams is the rule no struct tag can say: a source:NAME comes with
// its definition, and a definition only with the source:NAME it defines.
// internal/flow calls it after the tag rules.
func (p Params) CheckParams() []string { return append(p.checkSource(), p.checkDataset()...) }

// checkDataset checks that a declared dataset comes with its definition,
// that a definition comes only with the dataset it defines, and that the
// definition follows the rules of every dataset (dataset.Validate).
func (p Params) checkDataset() []string {
	name := p.DatasetName()
	_, builtin := dataset.Lookup(name)
	def := p.DatasetDefinition
	switch {
	case dataset.CheckName(name) != nil: // reported by the dataset rule
		return nil
	case def == nil && builtin:
		return nil
	case def == nil:
		return []string{fmt.Sprintf("dataset=%s: the input carries no definition of dataset %q; start the run with the blueprint CLI, which takes it from the manifest's datasets:", name, name)}
	case builtin:
		return []string{fmt.Sprintf("dataset_definition: %s is built in: the input carries no definition of it", name)}
	case def.Name != name:
		return []string{fmt.Sprintf("dataset_definition: the definition is of dataset %q, but dataset names %q", def.Name, name)}
	}
	var problems []string
	for _, pr := range def.Validate() {
		problems = append(problems, "dataset_definition."+pr.String())
	}
	return problems
}

// checkSource checks that a source:NAME comes with its definition, that a
// definition comes only with the source:NAME it defines, and that
// DataPipeline can read the source it defines (CheckSource).
func (p Params) checkSource() []string {
	spec, err := sourceurl.Parse(p.SourceURL)
	if err != nil { // reported by the source_url rule
		return nil
	}
	switch {
	case spec.Kind != sourceurl.Named && p.Source != nil:
		return []string{fmt.Sprintf("source: a source definition (for %q) goes with source_url=source:%s only", p.Source.Name, p.Source.Name)}
	case spec.Kind != sourceurl.Named:
		return nil
	case p.Source == nil:
		return []string{fmt.Sprintf("source_url=%s: the input carries no definition of source %q; start the run with the blueprint CLI, which takes it from the manifest's sources:", p.SourceURL, spec.Name)}
	case p.Source.Name != spec.Name:
		return []string{fmt.Sprintf("source: the definition is of source %q, but source_url names %q", p.Source.Name, spec.Name)}
	}
	check := p.Source.Validate()
	if fields, known := p.datasetFields(); known {
		check = CheckSource(*p.Source, fields)
	} // else the mapping cannot be checked without the dataset, whose own rule says so
	var problems []string
	for _, pr := range check {
		problems = append(problems, "source."+pr.String())
	}
	return problems
}

// CheckSource checks a named source's definition as DataPipeline reads
// it into a dataset whose record fields are fields: the definition's own
// rules (restapi.Definition.Validate), and DataPipeline's: its fields:
// mapping may name only the fields of the run's dataset (for the built-in
// orders, restapi.RecordFields), since a mapped field no dataset field
// reads would be dropped without a word. A definition is any flow's to
// use, so the second rule is DataPipeline's, checked wherever a definition
// is given to a DataPipeline run: its own source (checkSource), each
// source:NAME NightlyETL hands to a child, and `blueprint source check`.
func CheckSource(def restapi.Definition, fields []string) []restapi.Problem {
	problems := def.Validate()
	for _, target := range slices.Sorted(maps.Keys(def.Fields)) {
		if !slices.Contains(fields, target) && restapi.CheckFieldName(target) == nil {
			problems = append(problems, restapi.Problem{Field: "fields." + target, Msg: fmt.Sprintf("%q is not a record field (valid: %s)%s",
				target, strings.Join(fields, ", "), suggest.DidYouMean(target, fields))})
		}
	}
	return problems
}

// datasetFields are the record fields of the run's dataset, which a named
// source's fields: mapping may name: those of the definition the input
// carries, else of the built-in dataset. ok is false for a dataset the
// input has no definition of (its own rule says so).
func (p Params) datasetFields() (fields []string, ok bool) {
	def := p.DatasetDefinition
	if def == nil {
		builtin, found := dataset.Lookup(p.DatasetName())
		if !found {
			return nil, false
		}
		def = &builtin
	}
	fields = make([]string, len(def.Fields))
	for i, f := range def.Fields {
		fields[i] = f.Name
	}
	return fields, true
}

// DatasetName is the dataset the run loads: Dataset, or DefaultDataset.
func (p Params) DatasetName() string {
	if p.Dataset == "" {
		return DefaultDataset
	}
	return p.Dataset
}

// Spec returns the parsed source of p: its SourceURL, or for a
// source:NAME the http(s) source its definition describes.
func (p Params) Spec() (sourceurl.Spec, error) {
	if problems := p.checkSource(); len(problems) > 0 {
		return sourceurl.Spec{}, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return sourceurl.Resolve(p.SourceURL, p.Source)
}
