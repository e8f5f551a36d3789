package starter

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// MaxParamsSize bounds a --params document; the parameters are a few
// hundred bytes, and a workflow input must stay far below the server's
// payload limit.
const MaxParamsSize = 256 << 10

// ParseParams builds the run's parameters, the complete JSON document the
// workflow receives: the flow's defaults < the manifest's values <
// paramsJSON (a JSON object; may be empty) < kv ("k=v" strings, in order;
// later wins).
//
// Everything is typed and checked by the deployment's flow's parameter
// schema (internal/flow): batch_size=1000 is an integer, batch_size=10.5 is
// an error naming the parameter, the value and the type. A list parameter
// takes one item per --param (the first replaces the list from the
// manifest or --params, the next ones append); a field of an object
// parameter is set with a dotted key (window.start=...). Every error is a
// one-line *pipeline.InputError.
func ParseParams(d deployments.Deployment, paramsJSON []byte, kv []string) (map[string]any, error) {
	f, err := d.Flow()
	if err != nil {
		return nil, err
	}
	schema := f.Params
	values, problems := schema.Normalize(d.Parameters)
	if len(problems) > 0 {
		return nil, pipeline.Inputf("deployment %q: %s", d.Name, joinProblems(problems))
	}
	if len(bytes.TrimSpace(paramsJSON)) > 0 && bytes.TrimSpace(paramsJSON)[0] != '{' {
		return nil, pipeline.Inputf(`--params: must be a JSON object such as {"%s": ...}, got %s`, schema.Names()[0], flow.JSONKind(bytes.TrimSpace(paramsJSON)))
	}
	doc, problems := schema.ParseJSON(paramsJSON)
	if len(problems) > 0 {
		return nil, pipeline.Inputf("--params: %s", joinProblems(problems))
	}
	for k := range doc {
		if !schema.IsParam(k) { // a part of the input the CLI fills in
			return nil, pipeline.Inputf("--params: %w", flow.UnknownError(k, schema.Names()))
		}
	}
	merge(values, doc)
	replaced := map[string]bool{}
	for _, s := range kv {
		if err := mergeKV(schema, values, s, replaced); err != nil {
			return nil, err
		}
	}
	values, err = d.Input(values)
	var full map[string]any
	if err == nil {
		full, err = schema.Check(values)
	}
	if err != nil {
		return nil, &pipeline.InputError{Err: err}
	}
	return full, nil
}

func joinProblems(problems []flow.Problem) string {
	parts := make([]string, len(problems))
	for i, p := range problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// merge lays src over dst; objects are merged field by field.
func merge(dst, src map[string]any) {
	for k, v := range src {
		sub, isObj := v.(map[string]any)
		cur, hasObj := dst[k].(map[string]any)
		if isObj && hasObj {
			merge(cur, sub)
			continue
		}
		dst[k] = v
	}
}

// mergeKV lays one --param key=value over values. Messages show the value
// with credentials in URLs hidden.
func mergeKV(schema *flow.Schema, values map[string]any, s string, replaced map[string]bool) error {
	name, value, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return pipeline.Inputf("--param %q: must be key=value, e.g. %s=...", pipeline.RedactURL(s), schema.Names()[0])
	case name == "":
		return pipeline.Inputf("--param %q: the key before '=' is empty", pipeline.RedactURL(s))
	}
	p, known := schema.Lookup(name)
	if !known {
		return pipeline.Inputf("--param %q: %w", name+"=...", unknownPath(schema, name))
	}
	shown := pipeline.RedactURL(s)
	if value == "" {
		def := "none"
		if p.Default != nil {
			def = flow.Show(p.Default)
		}
		return pipeline.Inputf("--param %q: the value is empty; leave the parameter out to use its default (%s)", shown, def)
	}
	v, err := p.ParseString(value)
	if err != nil {
		return pipeline.Inputf("--param %q: %s %w", shown, name, err)
	}
	parts := strings.Split(name, ".")
	m := values
	for _, part := range parts[:len(parts)-1] {
		sub, ok := m[part].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[part] = sub
		}
		m = sub
	}
	last := parts[len(parts)-1]
	if item, isList := v.([]string); isList && replaced[name] {
		cur, _ := m[last].([]string)
		v = append(cur, item...)
	}
	replaced[name] = true
	m[last] = v
	return nil
}

// unknownPath says which part of a dotted parameter name is unknown.
func unknownPath(schema *flow.Schema, name string) error {
	parts := strings.Split(name, ".")
	valid := schema.Names()
	for i := 1; i < len(parts); i++ {
		p, ok := schema.Lookup(strings.Join(parts[:i], "."))
		if !ok {
			break
		}
		valid = valid[:0]
		for _, f := range p.Fields {
			valid = append(valid, f.Name)
		}
		if len(p.Fields) == 0 {
			return fmt.Errorf("parameter %q is a %s, not an object", strings.Join(parts[:i], "."), p.Kind)
		}
	}
	return flow.UnknownError(name, valid)
}

// ReadParamsArg resolves the --params flag: "" is no document, "@FILE"
// reads FILE, "-" reads stdin, anything else is the JSON itself. Errors
// are *pipeline.InputError.
func ReadParamsArg(arg string, stdin io.Reader) ([]byte, error) {
	switch {
	case arg == "":
		return nil, nil
	case arg == "-":
		if stdin == nil {
			return nil, pipeline.Inputf("--params -: no standard input to read")
		}
		b, err := readLimited(stdin)
		if err != nil {
			return nil, pipeline.Inputf("--params -: read standard input: %w", err)
		}
		return b, nil
	case strings.HasPrefix(arg, "@"):
		path := arg[1:]
		if path == "" {
			return nil, pipeline.Inputf("--params @: name the file after '@', e.g. @params.json")
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, pipeline.Inputf("--params: %w", err)
		}
		defer f.Close()
		b, err := readLimited(f)
		if err != nil {
			return nil, pipeline.Inputf("--params %s: %w", arg, err)
		}
		return b, nil
	default:
		return []byte(arg), nil
	}
}

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxParamsSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxParamsSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxParamsSize)
	}
	return b, nil
}
