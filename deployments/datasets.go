package deployments

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// Datasets are the manifest's datasets (its `datasets:` section), by name:
// record types DataPipeline loads into a table of their own. A parameter
// with the dataset rule names one (or a built-in such as orders); the
// loader and the CLI then put its definition in the flow's input
// (flow.Schema.DatasetInput), so the worker needs no copy of the manifest
// and a schedule keeps the definition it was deployed with.
type Datasets map[string]dataset.Definition

// Names lists the declared dataset names, sorted.
func (d Datasets) Names() []string { return slices.Sorted(maps.Keys(d)) }

// Lookup returns the dataset called name: a declared one, or a built-in
// (whose Builtin is true). ok is false for a name neither has.
func (d Datasets) Lookup(name string) (def dataset.Definition, ok bool) {
	if def, ok := dataset.Lookup(name); ok {
		return def, true
	}
	def, ok = d[name]
	return def, ok
}

// All lists every dataset a run may name: the built-in ones, then the
// declared ones, each group by name.
func (d Datasets) All() []dataset.Definition {
	out := dataset.Builtins()
	for _, name := range d.Names() {
		out = append(out, d[name])
	}
	return out
}

// Get returns the dataset called name, declared or built in. An unknown
// name is a *badinput.Error that lists every name and the nearest one.
func (d Datasets) Get(name string) (dataset.Definition, error) {
	if def, ok := d.Lookup(name); ok {
		return def, nil
	}
	return dataset.Definition{}, badinput.Errorf("%s", d.unknown(name))
}

// unknown says that no dataset is called name, and which are.
func (d Datasets) unknown(name string) string {
	names := d.AllNames()
	return fmt.Sprintf("unknown dataset %q (datasets: %s)%s", name, strings.Join(names, ", "), suggest.DidYouMean(name, names))
}

// AllNames lists the names of All.
func (d Datasets) AllNames() []string {
	var names []string
	for _, def := range d.All() {
		names = append(names, def.Name)
	}
	return names
}

// Keys of a dataset and of its fields, in documented order.
var (
	datasetKeys = []string{"description", "key", "fields"}
	fieldKeys   = []string{"type", "required", "max_length", "precision", "scale", "min", "max", "one_of", "pattern"}
)

// datasets parses the `datasets:` section.
func (p *parser) datasets(n *yaml.Node) Datasets {
	out := Datasets{}
	if isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "datasets", "must be a mapping of dataset names to definitions (e.g. products: {key: [sku], fields: {...}}), got %s", describe(n))
		return out
	}
	for _, e := range p.entries("datasets", n) {
		if p.full() {
			p.omitted++
			return out
		}
		field := join("datasets", e.name)
		if _, builtin := dataset.Lookup(e.name); builtin {
			p.add(e.key.Line, field, "%s is built in; name the dataset otherwise (a run names %s without declaring it)", e.name, e.name)
			continue
		}
		if err := dataset.CheckName(e.name); err != nil {
			p.add(e.key.Line, field, "%v", err)
			continue
		}
		if def, ok := p.dataset(field, e); ok {
			out[e.name] = def
		} else {
			p.brokenDatasets = append(p.brokenDatasets, e.name)
		}
	}
	return out
}

// where is a node of a dataset: its line, and its field path as messages
// show it.
type where struct {
	line  int
	field string
}

// dataset parses one definition; ok is false when it has a problem. Every
// problem dataset.Definition.Validate finds is reported at the line of
// the node it names.
func (p *parser) dataset(field string, e entry) (def dataset.Definition, ok bool) {
	def.Name = e.name
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping with `key:` and `fields:`, got %s", describe(n))
		return def, false
	}
	before := len(p.problems) + p.omitted
	// at maps a problem path of Validate ("key[0]", "fields.price.min")
	// to its node.
	at := map[string]where{"": {e.key.Line, field}, "name": {e.key.Line, field}}
	hasKey, hasFields := false, false
	for _, de := range p.entries(field, n) {
		df := join(field, de.name)
		switch de.name {
		case "description":
			if s, good := p.text(df, de.val); good {
				def.Description = s
			}
		case "key":
			hasKey = true
			at["key"] = where{de.key.Line, df}
			def.Key = p.textList(df, "key", "field names such as [sku]", de.val, at)
		case "fields":
			hasFields = true
			at["fields"] = where{de.key.Line, df}
			def.Fields = p.datasetFields(df, de.val, at)
		default:
			p.unknownKey(de, field, datasetKeys)
		}
	}
	if !hasKey {
		p.add(e.key.Line, field+".key", "missing; a dataset needs a key: the field or fields a load upserts by, e.g. key: [sku]")
	}
	if !hasFields {
		p.add(e.key.Line, field+".fields", "missing; a dataset needs fields, e.g. fields: {sku: {type: string, required: true}}")
	}
	if len(p.problems)+p.omitted > before {
		return def, false
	}
	for _, pr := range def.Validate() {
		w := whereOf(at, pr.Path)
		p.add(w.line, w.field, "%s", pr.Msg)
	}
	return def, len(p.problems)+p.omitted == before
}

// lastStep matches the last step of a problem path: ".name" or "[i]".
var lastStep = regexp.MustCompile(`(\.[^.\[\]]*|\[\d+\])$`)

// whereOf finds the node of a problem path, or of the nearest path above
// it that has one; the field shown is that node's, followed by the rest.
func whereOf(at map[string]where, path string) where {
	for p := path; ; {
		if w, ok := at[p]; ok {
			rest := strings.TrimPrefix(path, p)
			if p == "" && rest != "" {
				rest = "." + rest
			}
			return where{w.line, w.field + rest}
		}
		loc := lastStep.FindStringIndex(p)
		if loc == nil {
			p = ""
			continue
		}
		p = p[:loc[0]]
	}
}

// textList parses a list of texts: a dataset's key (field names) or a
// field's one_of (values). Each item's line is noted in at under
// path[i], where the model's problems name it; example shows the form in
// the message for a value that is no list.
func (p *parser) textList(field, path, example string, n *yaml.Node, at map[string]where) []string {
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, field, "must be a list of %s, got %s", example, describe(n))
		return nil
	}
	out := []string{}
	for i, item := range n.Content {
		item = resolve(item)
		f := fmt.Sprintf("%s[%d]", field, i)
		at[fmt.Sprintf("%s[%d]", path, i)] = where{item.Line, f}
		if s, good := p.text(f, item); good {
			out = append(out, s)
		}
	}
	return out
}

// datasetFields parses a dataset's fields:, in the order the file has
// them: the table's columns follow it.
func (p *parser) datasetFields(field string, n *yaml.Node, at map[string]where) []dataset.Field {
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "must be a mapping of field names to their type and rules (e.g. sku: {type: string, required: true}), got %s", describe(n))
		return nil
	}
	var out []dataset.Field
	for _, fe := range p.entries(field, n) {
		ff := join(field, fe.name)
		path := "fields." + fe.name
		at[path] = where{fe.key.Line, ff}
		f := dataset.Field{Name: fe.name}
		if fe.val.Kind != yaml.MappingNode {
			p.add(fe.val.Line, ff, "must be a mapping with at least a type, e.g. {type: string}, got %s", describe(fe.val))
			continue
		}
		for _, re := range p.entries(ff, fe.val) {
			rf := join(ff, re.name)
			at[path+"."+re.name] = where{re.val.Line, rf}
			switch re.name {
			case "type":
				if s, good := p.text(rf, re.val); good {
					f.Type = dataset.Type(s)
				}
			case "required":
				f.Required = p.boolean(rf, re.val)
			case "max_length":
				f.MaxLength = p.integer(rf, re.val)
			case "precision":
				f.Precision = p.integer(rf, re.val)
			case "scale":
				f.Scale = p.integer(rf, re.val)
			case "min":
				f.Min = p.number(rf, re.val)
			case "max":
				f.Max = p.number(rf, re.val)
			case "pattern":
				f.Pattern, _ = p.text(rf, re.val)
			case "one_of":
				f.OneOf = p.textList(rf, path+".one_of", "values such as [free, pro]", re.val, at)
			default:
				p.unknownKey(re, ff, fieldKeys)
			}
		}
		out = append(out, f)
	}
	return out
}

// text returns a string value; a number, a boolean or null is reported
// (quote it if you mean the text).
func (p *parser) text(field string, n *yaml.Node) (string, bool) {
	s, good := p.scalar(field, n)
	if good && n.ShortTag() != "!!str" {
		p.add(n.Line, field, "must be a string, got %s (quote it if you mean the text)", describe(n))
		return "", false
	}
	return s, good
}

// boolean returns a true or false value.
func (p *parser) boolean(field string, n *yaml.Node) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		p.add(n.Line, field, "must be true or false, got %s", describe(n))
	}
	return b
}

// integer returns a whole number that fits an int; its range is the
// model's to check.
func (p *parser) integer(field string, n *yaml.Node) int {
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil {
		p.add(n.Line, field, "must be a whole number, got %s", describe(n))
		return 0
	}
	return i
}

// number returns a bound as the file writes it: a YAML number's literal
// text, never read through float64 (min: 0.1 stays 0.1, and a bound
// beyond float64's precision stays exact), or a quoted one. Whether it is
// a number is the model's to check, with the field's type.
func (p *parser) number(field string, n *yaml.Node) string {
	s, good := p.scalar(field, n)
	if !good {
		return ""
	}
	switch n.ShortTag() {
	case "!!int", "!!float", "!!str":
		if strings.TrimSpace(s) == "" {
			p.add(n.Line, field, "is empty (give a number, or leave the key out)")
			return ""
		}
		return s
	}
	p.add(n.Line, field, "must be a number, got %s", describe(n))
	return ""
}

// datasetRef is a dataset a parameter with the dataset rule names.
type datasetRef struct {
	path string // the parameter's path
	name string
}

// datasetRefs lists the datasets that values name in the parameters with
// the dataset rule, in parameter order. A value that breaks the rule (not
// a name) is left to the rule, which says what is wrong with it.
func datasetRefs(schema *flow.Schema, values map[string]any) []datasetRef {
	var refs []datasetRef
	for _, p := range schema.All() {
		if !p.IsDataset() {
			continue
		}
		v, _ := valueAt(values, p.Path)
		if s, _ := v.(string); dataset.CheckName(s) == nil {
			refs = append(refs, datasetRef{path: p.Path, name: s})
		}
	}
	return refs
}

// usesBrokenDataset reports whether values name one of the broken
// datasets, whose problems are reported at their own lines.
func usesBrokenDataset(schema *flow.Schema, values map[string]any, broken []string) bool {
	return slices.ContainsFunc(datasetRefs(schema, values), func(r datasetRef) bool { return slices.Contains(broken, r.name) })
}

// resolveDataset completes a flow's input with the definition of the
// declared dataset its dataset parameter names, in the member the flow's
// input carries it in (flow.Schema.DatasetInput), as resolveSources does
// for a source:NAME: the worker then needs no manifest, and a schedule
// keeps the definition it was deployed with. A built-in dataset gets no
// definition: the worker has it. An unknown name, or a declared dataset
// in a flow whose input cannot carry its definition, is a problem of the
// parameter that names it, so the loader points at its line; errors are
// a *flow.ValidationError.
func resolveDataset(schema *flow.Schema, values map[string]any, datasets Datasets) (map[string]any, error) {
	member, carries := schema.DatasetInput()
	var def *dataset.Definition
	var problems []flow.Problem
	for _, r := range datasetRefs(schema, values) {
		if _, builtin := dataset.Lookup(r.name); builtin {
			continue
		}
		d, declared := datasets[r.name]
		switch {
		case !declared:
			problems = append(problems, flow.Problem{Path: r.path, Value: r.name, Msg: datasets.unknown(r.name)})
		case !carries:
			problems = append(problems, flow.Problem{Path: r.path, Value: r.name, Msg: "names a dataset of the manifest, but the flow's input has no member to carry its definition " +
				"(a field tagged param:\"-\" of type *dataset.Definition); only a built-in dataset can be named"})
		case def != nil && def.Name != r.name:
			problems = append(problems, flow.Problem{Path: r.path, Value: r.name, Msg: fmt.Sprintf("is a second declared dataset, but the flow's input carries one definition (%s)", member)})
		default:
			def = &d
		}
	}
	if len(problems) > 0 {
		return nil, &flow.ValidationError{Problems: problems}
	}
	if def == nil {
		return values, nil
	}
	out := maps.Clone(values)
	out[member] = *def
	return out, nil
}

// DatasetOf returns the declared dataset whose definition a run's input
// carries (the document Deployment.Params or starter.ParseParams
// returns), for a check of its table before the run starts. ok is false
// when the run loads a built-in dataset, or its flow loads none.
func DatasetOf(f *flow.Flow, input map[string]any) (def dataset.Definition, ok bool, err error) {
	member, carries := f.Params.DatasetInput()
	v, has := input[member]
	if !carries || !has || v == nil {
		return def, false, nil
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &def)
	}
	if err != nil {
		return def, false, fmt.Errorf("the input's %s: %w", member, err)
	}
	return def, def.Name != "", nil
}

// DeclaredDatasets returns the declared datasets the deployment's runs load: its
// own parameters' and each schedule's, by name. A deployment whose
// parameters have problems names none (they are reported elsewhere).
func (d Deployment) DeclaredDatasets() []dataset.Definition {
	f, err := d.Flow()
	if err != nil {
		return nil
	}
	var out []dataset.Definition
	for i := -1; i < len(d.Schedules); i++ {
		dd := d
		if i >= 0 {
			dd = d.ForSchedule(i)
		}
		doc, err := dd.Params()
		if err != nil {
			continue
		}
		if def, ok, _ := DatasetOf(f, doc); ok && !slices.ContainsFunc(out, func(o dataset.Definition) bool { return o.Name == def.Name }) {
			out = append(out, def)
		}
	}
	return out
}
