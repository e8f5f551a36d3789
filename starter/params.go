package starter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// MaxParamsSize bounds a --params document; the parameters are a few
// hundred bytes, and a workflow input must stay far below the server's
// payload limit.
const MaxParamsSize = 256 << 10

// ParseParams builds the run's Params: manifest defaults < paramsJSON (a JSON
// object; may be empty) < kv ("k=v" strings, in order; later wins).
//
// Values are typed by the parameter's declared type (pipeline.ParamSpecs):
// batch_size=1000 is an integer; batch_size=10.5, =abc or =1e3 is an error
// naming the parameter, the value and the type. Every error is a one-line
// *pipeline.InputError, and the result has passed Params.Validate.
func ParseParams(d deployments.Deployment, paramsJSON []byte, kv []string) (pipeline.Params, error) {
	values := make(map[string]any, len(pipeline.ParamSpecs))
	for name, v := range d.Parameters {
		spec, ok := pipeline.LookupParam(name)
		if !ok {
			return pipeline.Params{}, pipeline.Inputf("deployment %q: %w", d.Name, pipeline.UnknownParamError(name))
		}
		tv, err := manifestValue(spec, v)
		if err != nil {
			return pipeline.Params{}, pipeline.Inputf("deployment %q: parameter %s: %w", d.Name, name, err)
		}
		values[name] = tv
	}
	if err := mergeJSON(values, paramsJSON); err != nil {
		return pipeline.Params{}, err
	}
	for _, s := range kv {
		if err := mergeKV(values, s); err != nil {
			return pipeline.Params{}, err
		}
	}
	p, err := deployments.BuildParams(values, d.Sources)
	if err != nil {
		return pipeline.Params{}, &pipeline.InputError{Err: err}
	}
	return p, nil
}

// manifestValue accepts the Go types a hand-built Deployment may hold for
// a parameter (a loaded manifest holds int64 and string).
func manifestValue(spec pipeline.ParamSpec, v any) (any, error) {
	switch spec.Type {
	case "integer":
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		case int32:
			return int64(n), nil
		}
	default:
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("holds %T %v, must be %s", v, v, article(spec.Type))
}

// mergeJSON lays a --params JSON object over values. It reads the object
// token by token so that a key given twice is an error rather than a
// silent "last one wins".
func mergeJSON(values map[string]any, doc []byte) error {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		return nil
	}
	if doc[0] != '{' {
		return pipeline.Inputf(`--params: must be a JSON object such as {"batch_size": 500}, got %s`, jsonKind(doc[0]))
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the '{'
		return pipeline.Inputf("--params: not valid JSON: %s", jsonErr(err))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return pipeline.Inputf("--params: not valid JSON: %s", jsonErr(err))
		}
		name, ok := tok.(string)
		if !ok {
			return pipeline.Inputf("--params: not valid JSON: expected a key, got %v", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return pipeline.Inputf("--params: not valid JSON after %q: %s", name, jsonErr(err))
		}
		if seen[name] {
			return pipeline.Inputf("--params: parameter %q is given twice", name)
		}
		seen[name] = true
		spec, ok := pipeline.LookupParam(name)
		if !ok {
			return pipeline.Inputf("--params: %w", pipeline.UnknownParamError(name))
		}
		v, err := jsonValue(spec, raw)
		if err != nil {
			return pipeline.Inputf("--params: %s %w", name, err)
		}
		values[name] = v
	}
	if _, err := dec.Token(); err != nil { // the '}'
		return pipeline.Inputf("--params: not valid JSON: %s", jsonErr(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return pipeline.Inputf("--params: unexpected text after the JSON object")
	}
	return nil
}

// jsonValue converts one JSON value to the parameter's declared type.
// Integers must be written as integers: 1e3 and 1000.0 are refused, as on
// the command line.
func jsonValue(spec pipeline.ParamSpec, raw json.RawMessage) (any, error) {
	switch spec.Type {
	case "integer":
		if !isJSONNumber(raw) {
			return nil, fmt.Errorf("must be an integer, got %s", describeJSON(raw))
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("must be an integer, got %s, which is out of range", shorten(string(raw)))
		}
		if err != nil {
			return nil, fmt.Errorf("must be an integer, got %s", describeJSON(raw))
		}
		return n, nil
	default:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			// The value is not shown: a string parameter may hold a
			// credential (an API key in a URL), even when mistyped.
			if raw[0] == 'n' {
				return nil, fmt.Errorf("must be a string, got %s", describeJSON(raw))
			}
			return nil, fmt.Errorf("must be a string, got %s", jsonKind(raw[0]))
		}
		return s, nil
	}
}

func isJSONNumber(raw []byte) bool { return raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') }

// describeJSON names a JSON value's type and shows it, for messages.
func describeJSON(raw []byte) string {
	if raw[0] == 'n' {
		return "null (leave the parameter out to use its default)"
	}
	kind := jsonKind(raw[0])
	if kind == "a number" {
		kind = "the number"
	} else if kind == "a string" {
		kind = "the string"
	}
	return kind + " " + shorten(string(raw))
}

// mergeKV lays one --param key=value over values. Messages echo a value
// only where it cannot be a secret (an integer parameter's); anything else
// is shown through pipeline.RedactURL.
func mergeKV(values map[string]any, s string) error {
	name, value, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return pipeline.Inputf("--param %q: must be key=value, e.g. batch_size=500", pipeline.RedactURL(s))
	case name == "":
		return pipeline.Inputf("--param %q: the key before '=' is empty", pipeline.RedactURL(s))
	}
	spec, known := pipeline.LookupParam(name)
	if !known {
		return pipeline.Inputf("--param %q: %w", name+"=...", pipeline.UnknownParamError(name))
	}
	if value == "" {
		return pipeline.Inputf("--param %q: the value is empty; leave the parameter out to use its default (%v)", s, spec.Default)
	}
	switch spec.Type {
	case "integer":
		n, err := strconv.ParseInt(value, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return pipeline.Inputf("--param %q: %s must be an integer, got %q, which is out of range", s, name, value)
		}
		if err != nil {
			return pipeline.Inputf("--param %q: %s must be an integer, got %q", s, name, value)
		}
		values[name] = n
	default:
		values[name] = value
	}
	return nil
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

// jsonKind names the JSON type that starts with c.
func jsonKind(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '{':
		return "an object"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	default:
		return "something that is not JSON"
	}
}

// jsonErr shortens encoding/json's messages.
func jsonErr(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// shorten keeps a value readable and on one line in a message.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return strings.ToValidUTF8(s[:60], "") + "..."
	}
	return s
}

func article(typ string) string {
	if typ == "integer" {
		return "an integer"
	}
	return "a " + typ
}
