package flow

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/suggest"
)

// A parameter value travels in its canonical JSON form: string, int64,
// float64, bool, []string, or map[string]any for an object; a duration is
// its Go string ("1m30s"), a date "2025-01-31" and a date-time RFC 3339.
// Every source of values (the manifest's YAML, --params JSON, --param
// strings, the workflow's own input) is converted to that form by the
// functions below, so a type has one set of rules wherever it is written.

// Problem is one thing wrong with one parameter.
type Problem struct {
	// Path is the parameter's dotted path, with an index for a list item
	// ("sources[2]"); empty for the document as a whole.
	Path string
	// Value is the offending value as it may be shown (credentials in
	// URLs hidden, long values shortened); empty when not shown.
	Value string
	Msg   string

	order int
}

func (p Problem) String() string {
	switch {
	case p.Path == "":
		return p.Msg
	case p.Value != "":
		return p.Path + "=" + p.Value + ": " + p.Msg
	default:
		return p.Path + ": " + p.Msg
	}
}

// Top is the top-level parameter the problem is about ("window" for
// "window.start", "sources" for "sources[2]").
func (p Problem) Top() string {
	end := strings.IndexAny(p.Path, ".[")
	if end < 0 {
		return p.Path
	}
	return p.Path[:end]
}

// ValidationError lists every problem of a parameter document, in
// parameter order, unknown parameters last.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid parameters: " + strings.Join(parts, "; ")
}

// UnknownError says a parameter does not exist, lists the valid ones and
// suggests the nearest.
func UnknownError(name string, valid []string) error {
	return fmt.Errorf("unknown parameter %q (valid: %s)%s", name, strings.Join(valid, ", "), suggest.DidYouMean(name, valid))
}

// Coerce converts a decoded value (from JSON decoded with UseNumber, from
// YAML, or built in Go) to the parameter's canonical form. The problems
// name the parameter or, inside an object or list, the exact field.
func (p *Param) Coerce(v any) (any, []Problem) {
	bad := func(format string, args ...any) (any, []Problem) {
		return nil, []Problem{{Path: p.Path, Msg: fmt.Sprintf(format, args...)}}
	}
	if v == nil {
		return bad("must be %s, got %s", p.Kind.article(), Describe(v))
	}
	if p.text {
		return p.coerceText(v)
	}
	switch p.Kind {
	case String, Enum:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case Integer:
		switch n := v.(type) {
		case json.Number:
			if !strings.ContainsAny(string(n), ".eE") {
				i, err := strconv.ParseInt(string(n), 10, 64)
				if err == nil {
					return i, nil
				}
				return nil, []Problem{{Path: p.Path, Value: shorten(string(n)), Msg: "is out of range for an integer"}}
			}
		case int:
			return int64(n), nil
		case int8:
			return int64(n), nil
		case int16:
			return int64(n), nil
		case int32:
			return int64(n), nil
		case int64:
			return n, nil
		case uint:
			if uint64(n) <= math.MaxInt64 {
				return int64(n), nil
			}
		case uint64:
			if n <= math.MaxInt64 {
				return int64(n), nil
			}
			return nil, []Problem{{Path: p.Path, Value: strconv.FormatUint(n, 10), Msg: "is out of range for an integer"}}
		}
	case Number:
		switch n := v.(type) {
		case json.Number:
			f, err := strconv.ParseFloat(string(n), 64)
			if err == nil {
				return f, nil
			}
			return nil, []Problem{{Path: p.Path, Value: shorten(string(n)), Msg: "is out of range for a number"}}
		case float64:
			return n, nil
		case float32:
			return float64(n), nil
		case int:
			return float64(n), nil
		case int64:
			return float64(n), nil
		}
	case Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case Duration:
		switch d := v.(type) {
		case string:
			return p.fromString(d)
		case time.Duration:
			return d.String(), nil
		case json.Number:
			// What encoding/json writes for a Go time.Duration.
			if n, err := strconv.ParseInt(string(d), 10, 64); err == nil {
				return time.Duration(n).String(), nil
			}
		}
	case DateKind:
		switch d := v.(type) {
		case string:
			return p.fromString(d)
		case Date:
			return d.String(), nil
		case time.Time: // YAML reads an unquoted 2025-01-31 as a timestamp
			return DateOf(d).String(), nil
		}
	case DateTime:
		switch d := v.(type) {
		case string:
			return p.fromString(d)
		case time.Time:
			return d.Format(time.RFC3339Nano), nil
		}
	case StringList:
		switch l := v.(type) {
		case []string:
			return slices.Clone(l), nil
		case []any:
			out := make([]string, 0, len(l))
			var problems []Problem
			for i, item := range l {
				s, ok := item.(string)
				if !ok {
					problems = append(problems, Problem{Path: fmt.Sprintf("%s[%d]", p.Path, i), Msg: "must be a string, got " + Describe(item)})
					continue
				}
				out = append(out, s)
			}
			if len(problems) > 0 {
				return nil, problems
			}
			return out, nil
		}
	case Object:
		if m, ok := v.(map[string]any); ok {
			return coerceObject(p.Fields, m)
		}
	}
	return bad("must be %s, got %s", p.Kind.article(), Describe(v))
}

// coerceText converts the value of a TextValue parameter: its text, or an
// integer read as its decimal text.
func (p *Param) coerceText(v any) (any, []Problem) {
	var text string
	switch n := v.(type) {
	case string:
		return p.fromString(n)
	case json.Number:
		text = string(n)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		text = fmt.Sprint(n)
	default:
		return nil, []Problem{{Path: p.Path, Msg: fmt.Sprintf("must be %s, got %s", p.Kind.article(), Describe(v))}}
	}
	out, problems := p.fromString(text)
	for i := range problems {
		problems[i].Value = shorten(text) // a number, shown as written
	}
	return out, problems
}

// coerceObject converts every value of m, reporting every problem.
func coerceObject(params []*Param, m map[string]any) (map[string]any, []Problem) {
	out := make(map[string]any, len(m))
	var problems []Problem
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] == nil {
			continue // JSON null: absent, the default applies
		}
		p := find(params, k)
		if p == nil {
			problems = append(problems, unknown(params, k))
			continue
		}
		v, ps := p.Coerce(m[k])
		if len(ps) > 0 {
			problems = append(problems, ps...)
			continue
		}
		out[k] = v
	}
	return out, problems
}

func find(params []*Param, name string) *Param {
	for _, p := range params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func unknown(params []*Param, name string) Problem {
	names := make([]string, len(params))
	prefix := ""
	for i, p := range params {
		names[i] = p.Name
		prefix = strings.TrimSuffix(p.Path, p.Name)
	}
	// No Path: the message names the parameter already.
	return Problem{Msg: UnknownError(prefix+name, names).Error(), order: math.MaxInt}
}

// ParseString converts a command-line value (--param k=v) by the
// parameter's type. A list takes one item per --param; an object is set
// field by field (--param window.start=...).
func (p *Param) ParseString(s string) (any, error) {
	switch p.Kind {
	case StringList:
		return []string{s}, nil
	case Object:
		names := make([]string, len(p.Fields))
		for i, f := range p.Fields {
			names[i] = f.Name
		}
		return nil, fmt.Errorf("%s is an object; set its fields one by one, e.g. %s.%s=... (fields: %s)", p.Path, p.Path, names[0], strings.Join(names, ", "))
	}
	return p.parseString(s)
}

func (p *Param) parseString(s string) (any, error) {
	v, problems := p.fromString(s)
	if len(problems) > 0 {
		return nil, errors.New(problems[0].Msg)
	}
	return v, nil
}

// fromString reads the text form of a scalar.
func (p *Param) fromString(s string) (any, []Problem) {
	bad := func(format string, args ...any) (any, []Problem) {
		return nil, []Problem{{Path: p.Path, Msg: fmt.Sprintf(format, args...)}}
	}
	if p.text {
		v := p.textValue()
		if err := v.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil || s == "" {
			msg := "must not be empty; leave the parameter out to use its default"
			if err != nil {
				msg = err.Error()
			}
			return nil, []Problem{{Path: p.Path, Value: strconv.Quote(shorten(s)), Msg: msg}}
		}
		b, err := v.Elem().Interface().(TextValue).MarshalText()
		if err != nil {
			return bad("cannot be written back as text: %v", err)
		}
		return string(b), nil
	}
	switch p.Kind {
	case Integer:
		n, err := strconv.ParseInt(s, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return bad("must be an integer, got %q, which is out of range", shorten(s))
		}
		if err != nil {
			return bad("must be an integer, got %q", shorten(s))
		}
		return n, nil
	case Number:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return bad("must be a number, got %q", shorten(s))
		}
		return f, nil
	case Boolean:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return bad("must be true or false, got %q", shorten(s))
	case Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad("must be a duration such as 90s, 15m or 1h30m, got %q", shorten(s))
		}
		return d.String(), nil
	case DateKind:
		d, err := ParseDate(s)
		if err != nil {
			return bad("must be a date YYYY-MM-DD such as 2025-01-31, got %q", shorten(s))
		}
		return d.String(), nil
	case DateTime:
		t, err := parseDateTime(s)
		if err != nil {
			return bad("must be a date-time in RFC 3339 such as 2025-01-31T09:00:00Z, got %q", shorten(s))
		}
		return t.Format(time.RFC3339Nano), nil
	default:
		return s, nil
	}
}

func (k Kind) article() string {
	switch k {
	case Integer, Enum:
		return "an " + string(k)
	case StringList:
		return "a list of strings"
	case Object:
		return "an object"
	case Duration, DateKind, DateTime:
		return "a " + string(k) + " string"
	default:
		return "a " + string(k)
	}
}

// Describe names a decoded value's type and shows it, for messages. A
// string is shown with credentials in URLs hidden.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null (leave the parameter out to use its default)"
	case string:
		return fmt.Sprintf("the string %q", shorten(redact.URL(x)))
	case json.Number:
		return "the number " + shorten(string(x))
	case float64, float32:
		return fmt.Sprintf("the number %v", x)
	case int, int8, int16, int32, int64, uint, uint64:
		return fmt.Sprintf("the integer %v", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	case time.Time:
		return "the timestamp " + x.Format(time.RFC3339)
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// shorten keeps a value readable and on one line in a message.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return strings.ToValidUTF8(s[:60], "") + "..."
	}
	return s
}

// Show renders a canonical value for a message, hiding credentials.
func Show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(shorten(redact.URL(x)))
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = strconv.Quote(shorten(redact.URL(s)))
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		return fmt.Sprint(v)
	}
}
