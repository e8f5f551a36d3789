package flow

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Kind is a parameter's type as users see it: in `blueprint flows
// inspect`, in messages and (mapped to JSON Schema) in `-o json`.
type Kind string

// The parameter kinds and the Go field types they come from.
const (
	String     Kind = "string"          // string
	Integer    Kind = "integer"         // int, int8...int64
	Number     Kind = "number"          // float32, float64
	Boolean    Kind = "boolean"         // bool
	Duration   Kind = "duration"        // time.Duration, written "90s", "15m", "1h30m"
	DateKind   Kind = "date"            // flow.Date, written "2025-01-31"
	DateTime   Kind = "date-time"       // time.Time, written in RFC 3339
	Enum       Kind = "enum"            // string with a validate:"oneof=a b c" rule
	StringList Kind = "list of strings" // []string
	Object     Kind = "object"          // a nested struct with parameters of its own
	// A TextValue type's kind is the name it gives itself.
)

// TextValue is a parameter type that reads and checks a text form of its
// own, for a value no kind above can say: datapipeline.RejectLimit is "10" or
// "5%". Its pointer type also implements encoding.TextUnmarshaler, whose
// error message is the rule a bad value broke ("must be ..."). Its
// canonical value is the text MarshalText writes; an integer, in JSON or
// YAML, is read as its decimal text.
type TextValue interface {
	encoding.TextMarshaler
	// ParamKind names the type in `blueprint flows inspect` and messages
	// ("count or percentage").
	ParamKind() string
	// ParamRule says in words what the text may be, for `flows inspect`.
	ParamRule() string
	// ParamJSONSchema describes the accepted values in JSON Schema.
	ParamJSONSchema() map[string]any
}

// Param is one parameter of a flow, derived from a field of its parameter
// struct:
//
//	Days int `json:"days" validate:"min=1,max=31" default:"7" help:"how many days to report"`
//
// json names it, validate gives its rules (go-playground/validator/v10,
// plus the named rule batch_size: DataPipeline's batch size bounds),
// default its value when absent (written as on the command line; a list as
// a JSON array) and help is its one-line description.
type Param struct {
	Name string
	// Path is the dotted path from the top, e.g. "window.start" for a
	// field of a nested object; Name for a top-level parameter.
	Path string
	Kind Kind
	Help string
	// Rule is the validate tag, with named rules (validate:"batch_size")
	// spelled out.
	Rule string
	// Enum lists the values of an enum parameter.
	Enum []string
	// Default is the value when the parameter is absent, in its canonical
	// JSON form (string, int64, float64, bool, []string); nil for none.
	Default any
	// Fields are the parameters of an object.
	Fields []*Param

	index int
	typ   reflect.Type
	// text is set for a TextValue type.
	text bool
}

// Required reports whether the parameter must be given.
func (p *Param) Required() bool { return slices.Contains(strings.Split(p.Rule, ","), "required") }

// Schema is a flow's parameter list, derived from its parameter struct.
type Schema struct {
	Params []*Param
	typ    reflect.Type
	// hidden are top-level fields tagged param:"-": part of the workflow
	// input (filled in by a tool, e.g. a source's definition), but not
	// parameters a user sets, lists or sees in the schema. They travel as
	// plain JSON.
	hidden map[string]int
}

var (
	durationType      = reflect.TypeFor[time.Duration]()
	timeType          = reflect.TypeFor[time.Time]()
	dateType          = reflect.TypeFor[Date]()
	textValueType     = reflect.TypeFor[TextValue]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// isTextValue reports whether t is a TextValue a parameter can be
// decoded into.
func isTextValue(t reflect.Type) bool {
	return t.Implements(textValueType) && reflect.PointerTo(t).Implements(textUnmarshalType)
}

// textValue returns a new zero value of the parameter's TextValue type.
func (p *Param) textValue() reflect.Value { return reflect.New(p.typ) }

// NewSchema derives the schema of a parameter struct type. It fails on a
// field type it cannot offer as a parameter or a default that does not
// parse: both are mistakes in the flow's code, found when it registers.
func NewSchema(t reflect.Type) (*Schema, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("parameters must be a struct, not %s", t)
	}
	params, err := fields(t, "")
	if err != nil {
		return nil, fmt.Errorf("parameters %s: %w", t, err)
	}
	hidden := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); f.IsExported() && f.Tag.Get("param") == "-" && name != "" && name != "-" {
			hidden[name] = i
		}
	}
	return &Schema{Params: params, typ: t, hidden: hidden}, nil
}

func fields(t reflect.Type, prefix string) ([]*Param, error) {
	var out []*Param
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || f.Tag.Get("param") == "-" {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("field %s has no json name", f.Name)
		}
		if seen[name] {
			return nil, fmt.Errorf("two fields are called %q", name)
		}
		seen[name] = true
		p := &Param{Name: name, Path: prefix + name, Help: f.Tag.Get("help"), Rule: expandRule(f.Tag.Get("validate")), index: i, typ: f.Type}
		kind, err := kindOf(f.Type, p.Rule)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		p.Kind = kind
		if isTextValue(f.Type) {
			tv := reflect.Zero(f.Type).Interface().(TextValue)
			p.Kind, p.text = Kind(tv.ParamKind()), true
			if p.Rule == "" {
				p.Rule = tv.ParamRule()
			}
		}
		switch kind {
		case Enum:
			p.Enum = enumValues(p.Rule)
		case Object:
			if p.Fields, err = fields(f.Type, p.Path+"."); err != nil {
				return nil, err
			}
		}
		if def, ok := f.Tag.Lookup("default"); ok {
			v, err := p.parseDefault(def)
			if err != nil {
				return nil, fmt.Errorf("field %s: default %q: %w", f.Name, def, err)
			}
			p.Default = v
		}
		out = append(out, p)
	}
	return out, nil
}

func kindOf(t reflect.Type, rule string) (Kind, error) {
	if isTextValue(t) {
		return "", nil // named by the type itself
	}
	switch t {
	case durationType:
		return Duration, nil
	case timeType:
		return DateTime, nil
	case dateType:
		return DateKind, nil
	}
	switch t.Kind() {
	case reflect.String:
		if len(enumValues(rule)) > 0 {
			return Enum, nil
		}
		return String, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Integer, nil
	case reflect.Float32, reflect.Float64:
		return Number, nil
	case reflect.Bool:
		return Boolean, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return StringList, nil
		}
	case reflect.Struct:
		return Object, nil
	}
	return "", fmt.Errorf("type %s cannot be a parameter (use string, int, float64, bool, time.Duration, time.Time, flow.Date, []string, a struct or a flow.TextValue)", t)
}

// enumValues reads the values of a oneof rule.
func enumValues(rule string) []string {
	for _, r := range strings.Split(rule, ",") {
		if v, ok := strings.CutPrefix(r, "oneof="); ok {
			return strings.Fields(v)
		}
	}
	return nil
}

func (p *Param) parseDefault(s string) (any, error) {
	switch p.Kind {
	case Object:
		return nil, fmt.Errorf("an object takes its defaults from its fields")
	case StringList:
		var list []string
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, fmt.Errorf("a list default is a JSON array of strings: %w", err)
		}
		return list, nil
	}
	return p.parseString(s)
}

// Names lists the top-level parameter names in declaration order.
func (s *Schema) Names() []string {
	names := make([]string, 0, len(s.Params))
	for _, p := range s.Params {
		names = append(names, p.Name)
	}
	return names
}

// Lookup finds a parameter by its dotted path.
func (s *Schema) Lookup(path string) (*Param, bool) {
	list := s.Params
	var found *Param
	for part := range strings.SplitSeq(path, ".") {
		found = nil
		for _, p := range list {
			if p.Name == part {
				found = p
				break
			}
		}
		if found == nil {
			return nil, false
		}
		list = found.Fields
	}
	return found, found != nil
}

// All lists every parameter, nested ones after their object, in
// declaration order.
func (s *Schema) All() []*Param {
	var out []*Param
	var walk func([]*Param)
	walk = func(ps []*Param) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Fields)
		}
	}
	walk(s.Params)
	return out
}
